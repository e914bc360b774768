"""Multi-label tagging targets: MTG-Jamendo's autotagging splits and MagnaTagATune.

Both have task ``tagging``: labels.tsv holds each track's tags joined by ``|``
(:func:`onerep.targets.files.join_tags`) and the data set's own split; the evaluation
fits one sigmoid output per tag and reports macro ROC-AUC and PR-AUC.

- ``mtg_jamendo``: ``root`` is the checkout's ``data/`` folder (the checkout itself
  also works), ``audio_root`` the folder of ``NN/<id>.mp3`` (the TSVs' PATH column;
  ``NN/<id>.low.mp3`` of the audio-low archives is taken when the MP3 is absent).
  ``subset`` (genre, instrument, moodtheme, top50tags (default), all) and ``split``
  (0-4, default 0) pick ``splits/split-<split>/autotagging_<subset>-<part>.tsv``
  (``autotagging-<part>.tsv`` for ``all``; a checkout that lacks one of those gets
  the union of the genre, instrument and mood/theme files of that part). The rows are
  read by :func:`onerep.sources.open_corpora.read_autotagging` (shared with the
  learning sources); track ids are its canonical ``track_<n>`` (unpadded); group =
  artist.
- ``magnatagatune``: ``root`` holds ``annotations_final.csv`` (tab-separated) and the
  audio folders ``0``-``9``, ``a``-``f`` (or set ``audio_root``). Tags: ``tags`` (a
  list of annotation columns; the ``top50_tags.txt`` spelling ``noVocals`` is also
  accepted) or the ``top_tags`` (default 50) columns with most positive clips, ties by
  column order, counted over every row of the annotations. Clips with none of them
  are left out. Split by folder, ``split_folders`` (default train ``0123456789ab``,
  validation ``c``, test ``def``). Group = song (:func:`mtt_song`); a song whose clips
  fall into both training and test goes wholly to the side with more of its clips
  (test on a tie), counted in the report. Track ids are the clip ids.

``validation``: ``train`` (default) folds the validation part into training, as the
study does with FMA's and GTZAN's own splits; ``exclude`` leaves its tracks out.
Tracks whose audio file is missing or empty (zero bytes) are left out and counted.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from onerep.sources.open_corpora import JamendoTrack, read_autotagging
from onerep.sources.open_corpora.jamendo import audio_path

from .common import TargetData, require_dir, require_file, target_from_rows
from .files import TAG_SEPARATOR, join_tags

PARTS = ("train", "validation", "test")
VALIDATION_CHOICES = ("train", "exclude")


def part_fold(part: str, validation: str) -> str | None:
    """The evaluation fold of a data set part ('train'/'test'; None: left out)."""
    if part == "validation":
        return "train" if validation == "train" else None
    return part


def _validation(cfg: dict[str, Any]) -> str:
    value = cfg.get("validation") or "train"
    if value not in VALIDATION_CHOICES:
        raise ValueError(f"target '{cfg['name']}': validation must be one of {VALIDATION_CHOICES}, got {value!r}")
    return value


def _audio_state(path: Path) -> str:
    """'ok', 'missing' or 'empty' (a zero-byte file)."""
    try:
        size = path.stat().st_size
    except OSError:
        return "missing"
    return "ok" if size > 0 else "empty"


def _tag_counts(data: TargetData) -> None:
    """Report the number of tags and the positives of each (most frequent first)."""
    counts: Counter[str] = Counter()
    for label in data.labels["label"]:
        counts.update(label.split(TAG_SEPARATOR))
    data.note("tags", len(counts), [f"{t}={c}" for t, c in sorted(counts.items(), key=lambda x: (-x[1], x[0]))])


# --------------------------------------------------------------------------- MTG-Jamendo

MTG_SUBSETS = ("genre", "instrument", "moodtheme", "top50tags", "all")
MTG_CATEGORY_SUBSETS = ("genre", "instrument", "moodtheme")


def _union_of_categories(split_dir: Path, part: str) -> tuple[list[JamendoTrack], list[Path]]:
    """One part of the ``all`` subset as the union of the category files (tags merged)."""
    merged: dict[str, JamendoTrack] = {}
    files = [split_dir / f"autotagging_{c}-{part}.tsv" for c in MTG_CATEGORY_SUBSETS]
    for f in files:
        for t in read_autotagging(f).tracks:
            old = merged.get(t.track_id)
            if old is None:
                merged[t.track_id] = t
            elif old.path != t.path:
                raise ValueError(f"{f}, line {t.line}: track {t.track_id} has PATH {t.path} but {old.path} "
                                 "in another category file")
            else:
                merged[t.track_id] = replace(old, tags=tuple(dict.fromkeys(old.tags + t.tags)))
    return list(merged.values()), files


def _mtg_data_dir(root: Path) -> Path:
    return root / "data" if (root / "data" / "splits").is_dir() else root


def load_mtg_jamendo(cfg: dict[str, Any]) -> TargetData:
    """MTG-Jamendo autotagging: one subset of one official split (see the module docstring)."""
    name = cfg["name"]
    data_dir = _mtg_data_dir(require_dir(Path(cfg["root"]), f"target '{name}' root"))
    subset = cfg.get("subset") or "top50tags"
    if subset not in MTG_SUBSETS:
        raise ValueError(f"target '{name}': subset must be one of {MTG_SUBSETS}, got {subset!r}")
    split = int(cfg.get("split") or 0)
    split_dir = require_dir(data_dir / "splits" / f"split-{split}", f"target '{name}' (MTG-Jamendo split {split})")
    if not cfg.get("audio_root"):
        raise ValueError(f"target '{name}': mtg_jamendo needs 'audio_root' (the folder of NN/<id>.mp3)")
    audio_root = require_dir(Path(cfg["audio_root"]), f"target '{name}' audio_root")
    validation = _validation(cfg)
    prefix = "autotagging" if subset == "all" else f"autotagging_{subset}"
    rows: list[dict[str, Any]] = []
    seen: dict[int, str] = {}
    per_part: dict[str, int] = {}
    missing, empty, low, untagged, used_files, example = [], [], 0, [], [], ""
    for part in PARTS:
        path = split_dir / f"{prefix}-{part}.tsv"
        if subset == "all" and not path.is_file():
            part_rows, files = _union_of_categories(split_dir, part)
        else:
            part_rows, files = read_autotagging(path).tracks, [path]
        used_files += files
        per_part[part] = len(part_rows)
        example = example or next((r.path for r in part_rows), "")
        fold = part_fold(part, validation)
        for r in part_rows:
            tid = r.track_id
            where = f"{files[0] if len(files) == 1 else split_dir}, line {r.line}"
            if tid in seen:
                raise ValueError(f"{where}: track {tid} is already in {seen[tid]}; "
                                 "the parts of a split must not share tracks")
            seen[tid] = f"{files[0].name if len(files) == 1 else part}, line {r.line}"
            if not r.tags:
                untagged.append(tid)
                continue
            if fold is None:
                continue
            audio = audio_root / r.path
            state = _audio_state(audio)
            if state == "missing":
                alt = audio_root / audio_path(r.path, low=True)
                if _audio_state(alt) == "ok":
                    audio, state, low = alt, "ok", low + 1
            if state != "ok":
                (missing if state == "missing" else empty).append(tid)
                continue
            rows.append({"track_id": tid, "location": os.path.abspath(audio),
                         "label": join_tags(r.tags, f"{where} (track {tid})"), "group": r.artist_id,
                         "split": fold})
    if not rows:
        raise ValueError(f"MTG-Jamendo {split_dir}: none of the {len(seen)} tracks of subset {subset} has "
                         f"audio under {audio_root} (looked for e.g. {audio_root / example})")
    data = target_from_rows(name, "mtg_jamendo", "tagging", rows)
    data.note("subset", subset)
    data.note("split", f"split-{split}, the data set's own (artist-disjoint); validation "
                       + ("folded into training" if validation == "train" else "left out"))
    data.note("split_files", len(used_files), [str(f) for f in used_files])
    for part in PARTS:
        data.note(f"tracks_{part}", per_part[part])
    data.note("tracks", len(rows))
    data.note("missing_audio", len(missing), missing)
    data.note("empty_audio", len(empty), empty)
    data.note("low_quality_audio", low)
    data.note("tracks_without_tags", len(untagged), untagged)
    _tag_counts(data)
    return data


# --------------------------------------------------------------------------- MagnaTagATune

MTT_ANNOTATIONS = "annotations_final.csv"
MTT_SPLIT_FOLDERS = {"train": "0123456789ab", "validation": "c", "test": "def"}
MTT_TOP_TAGS = 50
_MTT_SEGMENT = re.compile(r"-\d+-\d+$")


@dataclass(frozen=True)
class MTTClip:
    """One row of MagnaTagATune's annotations: clip id, mp3 path, positive tags, file line."""

    clip_id: str
    path: str
    tags: frozenset[str]
    line: int


@dataclass(frozen=True)
class MTTAnnotations:
    """``annotations_final.csv``: the tag columns in file order and the clips."""

    tags: tuple[str, ...]
    clips: tuple[MTTClip, ...]
    path: Path

    def positives(self) -> Counter[str]:
        """Positive clips per tag column (over every row)."""
        counts: Counter[str] = Counter({t: 0 for t in self.tags})
        for c in self.clips:
            counts.update(c.tags)
        return counts


def read_mtt_annotations(path: str | Path) -> MTTAnnotations:
    """MagnaTagATune's ``annotations_final.csv``: tab-separated (quoted fields allowed),
    header ``clip_id``, the tag columns (names may contain spaces), ``mp3_path``;
    values 0/1. Errors name the file, the line and the clip."""
    path = Path(path)
    require_file(path, "MagnaTagATune annotations")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = [h.strip() for h in next(reader, [])]
        if len(header) < 3 or header[0] != "clip_id" or header[-1] != "mp3_path":
            raise ValueError(f"{path}, line 1: header must be clip_id, the tag columns, mp3_path "
                             f"(tab-separated); got {header[:3]}...{header[-1:]}")
        tags = tuple(header[1:-1])
        dup = sorted(t for t, c in Counter(tags).items() if c > 1)
        if dup:
            raise ValueError(f"{path}, line 1: tag columns {dup} occur twice")
        clips, seen = [], {}
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise ValueError(f"{path}, line {line}: {len(fields)} fields, the header has {len(header)}")
            clip_id = fields[0].strip()
            where = f"{path}, line {line} (clip {clip_id})"
            if not clip_id:
                raise ValueError(f"{path}, line {line}: empty clip_id")
            if clip_id in seen:
                raise ValueError(f"{where}: clip id already on line {seen[clip_id]}")
            seen[clip_id] = line
            values = [v.strip() for v in fields[1:-1]]
            bad = next((i for i, v in enumerate(values) if v not in ("0", "1")), None)
            if bad is not None:
                raise ValueError(f"{where}: column '{tags[bad]}' is {values[bad]!r}, not 0 or 1")
            clips.append(MTTClip(clip_id=clip_id, path=fields[-1].strip().replace("\\", "/"),
                                 tags=frozenset(t for t, v in zip(tags, values) if v == "1"), line=line))
    return MTTAnnotations(tags=tags, clips=tuple(clips), path=path)


def _camel(tag: str) -> str:
    """``no vocals`` -> ``noVocals`` (the spelling of top50_tags.txt)."""
    words = tag.split()
    return "".join([words[0], *(w[:1].upper() + w[1:] for w in words[1:])]) if words else tag


def mtt_tags(ann: MTTAnnotations, wanted: Iterable[str] | None = None, top: int = MTT_TOP_TAGS) -> list[str]:
    """The target's tag columns: ``wanted`` (column names, or their camel-case spelling)
    or the ``top`` columns with most positive clips (ties by column order)."""
    if wanted is not None:
        by_name = {t: t for t in ann.tags} | {_camel(t): t for t in ann.tags if _camel(t) not in ann.tags}
        out = []
        for w in wanted:
            if w not in by_name:
                close = difflib.get_close_matches(w, list(by_name), n=3)
                raise ValueError(f"{ann.path}: tag {w!r} is not a column" + (f" (close: {close})" if close else ""))
            out.append(by_name[w])
        if not out:
            raise ValueError(f"{ann.path}: the list of tags is empty")
        return list(dict.fromkeys(out))
    counts = ann.positives()
    order = {t: i for i, t in enumerate(ann.tags)}
    return sorted(ann.tags, key=lambda t: (-counts[t], order[t]))[:top]


def mtt_song(path: str) -> str:
    """The song of an MTT clip: the file stem without its ``-<start>-<end>`` suffix."""
    return _MTT_SEGMENT.sub("", Path(path).stem)


def _folder_parts(cfg: dict[str, Any]) -> dict[str, str]:
    """Audio folder -> part, from ``split_folders`` (each folder in at most one part)."""
    spec = {**MTT_SPLIT_FOLDERS, **(cfg.get("split_folders") or {})}
    out: dict[str, str] = {}
    for part in PARTS:
        for folder in spec.get(part) or "":
            if folder in out:
                raise ValueError(f"target '{cfg['name']}': split_folders puts folder '{folder}' in both "
                                 f"{out[folder]} and {part}")
            out[folder] = part
    return out


def keep_groups_together(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Move every group that has tracks in both folds to the fold holding most of them
    (test on a tie); returns (groups moved, tracks moved)."""
    folds: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        folds[r["group"]][r["split"]] += 1
    side = {g: "train" if c["train"] > c["test"] else "test" for g, c in folds.items() if len(c) > 1}
    moved = 0
    for r in rows:
        if r["group"] in side and r["split"] != side[r["group"]]:
            r["split"] = side[r["group"]]
            moved += 1
    return len(side), moved


def load_magnatagatune(cfg: dict[str, Any]) -> TargetData:
    """MagnaTagATune top tags with the folder split (see the module docstring)."""
    name = cfg["name"]
    root = require_dir(Path(cfg["root"]), f"target '{name}' root")
    audio_root = require_dir(Path(cfg["audio_root"]), f"target '{name}' audio_root") if cfg.get("audio_root") \
        else root
    parts = _folder_parts(cfg)
    validation = _validation(cfg)
    ann = read_mtt_annotations(root / MTT_ANNOTATIONS)
    tags = mtt_tags(ann, cfg.get("tags"), int(cfg.get("top_tags") or MTT_TOP_TAGS))
    chosen = set(tags)
    rows: list[dict[str, Any]] = []
    untagged, outside, missing, empty, excluded = 0, [], [], [], 0
    for clip in ann.clips:
        positive = clip.tags & chosen
        if not positive:
            untagged += 1
            continue
        where = f"{ann.path}, line {clip.line} (clip {clip.clip_id})"
        folder = clip.path.split("/", 1)[0] if "/" in clip.path else ""
        if folder not in parts:
            outside.append(clip.path or f"clip {clip.clip_id}")
            continue
        fold = part_fold(parts[folder], validation)
        if fold is None:
            excluded += 1
            continue
        audio = audio_root / clip.path
        state = _audio_state(audio)
        if state != "ok":
            (missing if state == "missing" else empty).append(clip.path)
            continue
        rows.append({"track_id": clip.clip_id, "location": os.path.abspath(audio),
                     "label": join_tags(positive, where), "group": mtt_song(clip.path), "split": fold})
    if not rows:
        raise ValueError(f"MagnaTagATune {root}: no clip with one of the {len(tags)} tags has audio "
                         f"under {audio_root}")
    moved_groups, moved_tracks = keep_groups_together(rows)
    data = target_from_rows(name, "magnatagatune", "tagging", rows)
    data.note("annotated_clips", len(ann.clips))
    data.note("tag_selection", "config list" if cfg.get("tags") is not None else f"top {len(tags)} by positives")
    data.note("clips_without_selected_tags", untagged)
    data.note("clips_outside_split_folders", len(outside), outside)
    data.note("validation_clips_left_out", excluded)
    data.note("missing_audio", len(missing), missing)
    data.note("empty_audio", len(empty), empty)
    data.note("tracks", len(rows))
    data.note("songs", int(data.labels["group"].nunique()))
    data.note("songs_moved_to_one_side", moved_groups)
    data.note("clips_moved_with_their_song", moved_tracks)
    data.note("split", "folders " + ", ".join(f"{p} {''.join(sorted(f for f, q in parts.items() if q == p))}"
                                              for p in PARTS) + "; validation "
              + ("folded into training" if validation == "train" else "left out"))
    _tag_counts(data)
    return data
