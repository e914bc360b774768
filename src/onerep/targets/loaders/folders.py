"""Data sets laid out as one folder of audio per class: GTZAN (with an optional
split list), Ballroom and IRMAS (groups from the file names)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from ..common import (
    SPLIT_VALUES,
    TargetData,
    audio_files,
    class_folders,
    require_dir,
    require_file,
    target_from_rows,
    track_id_from_path,
)
from .shared import abs_location, class_counts, split_value, strip_audio_ext

# --------------------------------------------------------------------------- GTZAN

def _gtzan_genre_dir(root: Path) -> Path:
    """The folder holding one sub-folder per genre (``genres/`` or the root itself)."""
    for name in ("genres", "genres_original"):
        if (root / name).is_dir():
            return root / name
    if class_folders(root):
        return root
    raise ValueError(f"GTZAN: no genres/<genre>/ folders with audio under {root}")



def read_gtzan_split(path: Path) -> dict[str, str]:
    """Read a GTZAN split: file key (file name without extension) -> 'train'/'test'.

    Two formats: a folder of lists (``train*.txt``, ``valid*.txt`` / ``val*.txt`` /
    ``evaluate*.txt``, ``test*.txt``; one ``genre/genre.000NN.wav`` per line, as in
    the fault-filtered split of Kereliuk et al.), or one table with a path and a
    split column per line (tab, comma or space separated; a header line is
    allowed). Training and validation lists both become 'train'.
    """
    out: dict[str, str] = {}
    origin: dict[str, str] = {}

    def add(entry: str, fold: str, where: str) -> None:
        key = strip_audio_ext(Path(entry.strip().replace("\\", "/")).name)
        if key in out and out[key] != fold:
            raise ValueError(f"{where}: '{entry}' is already listed as {out[key]} at {origin[key]}")
        out[key] = fold
        origin[key] = where

    if path.is_dir():
        folds_seen = set()
        for f in sorted(path.glob("*.txt")):
            stem = f.stem.lower()
            if stem.startswith("train"):
                fold = "train"
            elif stem.startswith(("valid", "val", "evaluate")):
                fold = "train"
            elif stem.startswith("test"):
                fold = "test"
            else:
                continue
            folds_seen.add(fold)
            for lineno, line in enumerate(f.read_text().splitlines(), 1):
                if line.strip() and not line.lstrip().startswith("#"):
                    add(line, fold, f"{f}:{lineno}")
        if folds_seen != {"train", "test"}:
            raise ValueError(f"GTZAN split folder {path}: needs train*.txt and test*.txt lists "
                             f"(found folds {sorted(folds_seen)})")
        return out

    require_file(path, "GTZAN split_file")
    first = True
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = [f for f in re.split(r"\t|,|\s+", text) if f]
        where = f"{path}:{lineno}"
        if len(fields) < 2:
            raise ValueError(f"{where}: expected '<path><TAB><split>', got '{text}'")
        if first and fields[-1].lower() not in SPLIT_VALUES:
            first = False
            continue  # a header line
        first = False
        add(fields[0], split_value(fields[-1], where), where)
    if set(out.values()) != {"train", "test"}:
        raise ValueError(f"{path}: a split needs both train and test tracks")
    return out


def load_gtzan(cfg: dict[str, Any]) -> TargetData:
    """GTZAN: ``ROOT/genres/<genre>/<genre>.000NN.wav``; label = genre folder.

    With ``split_file`` the data set's fault-filtered split is used (train + valid vs
    test) and tracks not listed in it are left out; without it the split is drawn
    at random (stratified) by the split stage.
    """
    name = cfg["name"]
    root = require_dir(Path(cfg["root"]), f"target '{name}' root")
    genre_dir = _gtzan_genre_dir(root)
    rows = []
    for folder in class_folders(genre_dir):
        for f in audio_files(folder):
            rel = f.relative_to(genre_dir)
            rows.append({"track_id": track_id_from_path(rel), "location": abs_location(f),
                         "label": folder.name, "key": strip_audio_ext(f.name)})
    if not rows:
        raise ValueError(f"GTZAN: no audio files under {genre_dir}")
    listed_missing: list[str] = []
    unlisted: list[str] = []
    split_file = cfg.get("split_file")
    if split_file:
        split = read_gtzan_split(Path(split_file))
        keys = Counter(r["key"] for r in rows)
        dup = sorted(k for k, c in keys.items() if c > 1)
        if dup:
            raise ValueError(f"GTZAN {genre_dir}: file names {dup[:5]} occur in several genre "
                             "folders; the split file cannot tell them apart")
        kept = []
        for r in rows:
            if r["key"] in split:
                r["split"] = split[r["key"]]
                kept.append(r)
            else:
                unlisted.append(r["track_id"])
        listed_missing = sorted(set(split) - set(keys))
        if not kept:
            raise ValueError(f"{split_file}: none of its {len(split)} entries matches an audio "
                             f"file under {genre_dir} (entries look like "
                             f"'{next(iter(split))}')")
        rows = kept
    data = target_from_rows(name, "gtzan", "classification", rows)
    data.note("tracks", len(rows))
    class_counts(data)
    if split_file:
        data.note("split", f"split_file {split_file}")
        data.note("not_in_split_file", len(unlisted), unlisted)
        data.note("split_file_entries_without_audio", len(listed_missing), listed_missing)
    else:
        data.note("split", "stratified random")
    return data


# --------------------------------------------------------------------------- Ballroom

def load_ballroom(cfg: dict[str, Any]) -> TargetData:
    """Extended Ballroom: ``ROOT/<Dance>/<id>.mp3``; label = dance folder; random split.

    When the root holds a single folder (``extendedballroom_v1.1/``) the dance
    folders are looked up inside it.
    """
    name = cfg["name"]
    root = require_dir(Path(cfg["root"]), f"target '{name}' root")
    folders = class_folders(root)
    if not folders:
        subs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
        if len(subs) == 1:
            root = subs[0]
            folders = class_folders(root)
    if not folders:
        raise ValueError(f"Ballroom {root}: no <Dance>/ folders with audio")
    rows = [{"track_id": track_id_from_path(f.relative_to(root)), "location": abs_location(f),
             "label": d.name} for d in folders for f in audio_files(d)]
    data = target_from_rows(name, "ballroom", "classification", rows)
    data.note("tracks", len(rows))
    class_counts(data)
    data.note("split", "stratified random")
    return data


# --------------------------------------------------------------------------- IRMAS

# [ins][dru|nod]?[genre]NNNN__k, optionally preceded by "NNN__".
IRMAS_NAME = re.compile(r"^(?:\d+__)?\[([^\]]+)\]((?:\[[^\]]*\])*)\s*(\d+)__(\d+)$")


def irmas_group(stem: str) -> str | None:
    """Source-track group of an IRMAS file name (without extension), or None.

    The group is the part that does not depend on the predominant instrument: the
    remaining tags and the track number (``[cel][cla]0001__1`` -> ``[cla]0001``), so
    the excerpts ``__1``, ``__2``, ... of one source track share it.
    """
    m = IRMAS_NAME.match(stem.strip())
    if not m:
        return None
    return f"{m.group(2)}{m.group(3)}"


def load_irmas(cfg: dict[str, Any]) -> TargetData:
    """IRMAS training set: ``ROOT/IRMAS-TrainingData/<inst>/<file>.wav``.

    Label = instrument folder; group = source track (see :func:`irmas_group`), so the
    split stage keeps a source track on one side. Files whose names do not parse
    form their own group and are counted in the report.
    """
    name = cfg["name"]
    root = require_dir(Path(cfg["root"]), f"target '{name}' root")
    base = root / "IRMAS-TrainingData" if (root / "IRMAS-TrainingData").is_dir() else root
    folders = class_folders(base)
    if not folders:
        raise ValueError(f"IRMAS {base}: no <instrument>/ folders with audio")
    rows, unparsed = [], []
    for d in folders:
        for f in audio_files(d):
            tid = track_id_from_path(f.relative_to(base))
            group = irmas_group(f.stem)
            if group is None:
                unparsed.append(f.name)
                group = tid
            rows.append({"track_id": tid, "location": abs_location(f), "label": d.name, "group": group})
    data = target_from_rows(name, "irmas", "classification", rows)
    data.note("tracks", len(rows))
    class_counts(data)
    data.note("groups", int(data.labels["group"].nunique()))
    data.note("unparsed_names", len(unparsed), unparsed)
    data.note("split", "stratified random, grouped by source track")
    return data
