"""Loaders of the target data sets, each reading the data set's own native layout.

Every loader takes the target's config entry (see the ``target`` definition in the
config schema) and returns a :class:`TargetData`; those of the multi-label corpora
(MTG-Jamendo, MagnaTagATune) are in :mod:`onerep.targets.tagging`. Paths in the
config are relative to the working directory. Tracks whose audio file is missing are
left out of the manifest and counted in the report; files that exist but cannot be
decoded are the audio stage's business (it records them).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .common import (
    AUDIO_EXTENSIONS,
    INTERACTION_COLUMNS,
    SPLIT_VALUES,
    TargetData,
    audio_files,
    bad_name,
    class_folders,
    is_audio,
    log,
    require_dir,
    require_file,
    target_from_rows,
    track_id_from_path,
)
from .tagging import load_magnatagatune, load_mtg_jamendo


def _abs(path: Path) -> str:
    """Absolute path (symlinks kept as given)."""
    return os.path.abspath(path)


def _strip_audio_ext(name: str) -> str:
    """A file name without its audio extension (other dots kept: ``blues.00000``)."""
    p = Path(name)
    return p.stem if p.suffix.lower() in AUDIO_EXTENSIONS else p.name


def _class_counts(data: TargetData) -> None:
    counts = data.labels["label"].value_counts().sort_index()
    data.note("classes", len(counts), [f"{k}={v}" for k, v in counts.items()])


# --------------------------------------------------------------------------- GTZAN

def _gtzan_genre_dir(root: Path) -> Path:
    """The folder holding one sub-folder per genre (``genres/`` or the root itself)."""
    for name in ("genres", "genres_original"):
        if (root / name).is_dir():
            return root / name
    if class_folders(root):
        return root
    raise ValueError(f"GTZAN: no genres/<genre>/ folders with audio under {root}")


def _split_value(raw: str, where: str) -> str:
    value = SPLIT_VALUES.get(raw.strip().lower())
    if value is None:
        raise ValueError(f"{where}: unknown split '{raw.strip()}' "
                         f"(expected one of {sorted(SPLIT_VALUES)})")
    return value


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
        key = _strip_audio_ext(Path(entry.strip().replace("\\", "/")).name)
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
        add(fields[0], _split_value(fields[-1], where), where)
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
            rows.append({"track_id": track_id_from_path(rel), "location": _abs(f),
                         "label": folder.name, "key": _strip_audio_ext(f.name)})
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
    _class_counts(data)
    if split_file:
        data.note("split", f"split_file {split_file}")
        data.note("not_in_split_file", len(unlisted), unlisted)
        data.note("split_file_entries_without_audio", len(listed_missing), listed_missing)
    else:
        data.note("split", "stratified random")
    return data


# --------------------------------------------------------------------------- FMA

FMA_AUDIO_DIRS = ("fma_medium", "fma_large", "fma_small", "fma_full")


def load_fma(cfg: dict[str, Any]) -> TargetData:
    """FMA-medium: ``fma_metadata/tracks.csv`` top genre and split; audio ``fma_medium/NNN/NNNNNN.mp3``.

    Tracks of the medium subset are those whose (set, subset) is small or medium
    with a non-empty (track, genre_top); (set, split) training and validation become
    'train', test 'test'. Audio is looked up in fma_medium, then fma_large, fma_small
    and fma_full. Track ids are the six-digit FMA ids.
    """
    name = cfg["name"]
    root = require_dir(Path(cfg["root"]), f"target '{name}' root")
    csv = root / "fma_metadata" / "tracks.csv"
    if not csv.is_file() and (root / "tracks.csv").is_file():
        csv = root / "tracks.csv"
    require_file(csv, f"target '{name}' (FMA tracks.csv)")
    try:
        tracks = pd.read_csv(csv, index_col=0, header=[0, 1], low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ValueError(f"{csv}: cannot be read as FMA tracks.csv (3 header rows): {exc}") from None
    for col in (("set", "subset"), ("set", "split"), ("track", "genre_top")):
        if col not in tracks.columns:
            raise ValueError(f"{csv}: column {col} missing (is it FMA's tracks.csv?)")
    subset = tracks[("set", "subset")].astype("string").str.strip().str.lower()
    genre = tracks[("track", "genre_top")].astype("string").str.strip()
    split = tracks[("set", "split")].astype("string").str.strip().str.lower()
    medium = subset.isin(["small", "medium"]) & genre.notna() & (genre != "")
    audio_dirs = [root / d for d in FMA_AUDIO_DIRS if (root / d).is_dir()]
    if not audio_dirs:
        raise ValueError(f"FMA {root}: no audio folder ({', '.join(FMA_AUDIO_DIRS)})")
    rows, missing = [], []
    for tid in tracks.index[medium.to_numpy()]:
        try:
            num = int(tid)
        except (TypeError, ValueError):
            raise ValueError(f"{csv}: track id '{tid}' is not a number") from None
        track_id = f"{num:06d}"
        fold = SPLIT_VALUES.get(str(split.loc[tid]))
        if fold is None:
            raise ValueError(f"{csv}: track {track_id} has split '{split.loc[tid]}' "
                             "(expected training, validation or test)")
        path = next((p for p in (d / track_id[:3] / f"{track_id}.mp3" for d in audio_dirs)
                     if p.is_file()), None)
        if path is None:
            missing.append(track_id)
            continue
        rows.append({"track_id": track_id, "location": _abs(path), "label": str(genre.loc[tid]),
                     "split": fold})
    if not rows:
        raise ValueError(f"FMA {root}: none of the {int(medium.sum())} medium tracks has audio "
                         f"under {', '.join(str(d) for d in audio_dirs)}")
    data = target_from_rows(name, "fma", "classification", rows)
    data.note("tracks_in_metadata", int(medium.sum()))
    data.note("tracks", len(rows))
    data.note("missing_audio", len(missing), missing)
    _class_counts(data)
    data.note("split", "the data set's own (training + validation vs test)")
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
    rows = [{"track_id": track_id_from_path(f.relative_to(root)), "location": _abs(f),
             "label": d.name} for d in folders for f in audio_files(d)]
    data = target_from_rows(name, "ballroom", "classification", rows)
    data.note("tracks", len(rows))
    _class_counts(data)
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
            rows.append({"track_id": tid, "location": _abs(f), "label": d.name, "group": group})
    data = target_from_rows(name, "irmas", "classification", rows)
    data.note("tracks", len(rows))
    _class_counts(data)
    data.note("groups", int(data.labels["group"].nunique()))
    data.note("unparsed_names", len(unparsed), unparsed)
    data.note("split", "stratified random, grouped by source track")
    return data


# --------------------------------------------------------------------------- MediaEval 2013

def _read_csv_stripped(path: Path) -> pd.DataFrame:
    """A CSV with whitespace around cells and header names removed, all as text."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except UnicodeDecodeError:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                         encoding="latin-1")
    df.columns = [str(c).strip() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip()
    return df


def load_mediaeval2013(cfg: dict[str, Any]) -> TargetData:
    """MediaEval 2013 emotion: regression on ``mean_<dimension>``; the data set's own split.

    ``annotations/static_annotations.csv`` gives the ratings, ``songs_info.csv`` the set
    (development = train, evaluation = test); audio ``clips_45seconds/<song_id>.mp3``
    (or the file named in songs_info's file_name). Track ids are the song ids.
    """
    name = cfg["name"]
    dim = cfg.get("dimension")
    if dim not in ("arousal", "valence"):
        raise ValueError(f"target '{name}': dimension must be arousal or valence, got {dim!r}")
    root = require_dir(Path(cfg["root"]), f"target '{name}' root")
    ann_path = require_file(root / "annotations" / "static_annotations.csv", f"target '{name}'")
    info_path = require_file(root / "songs_info.csv", f"target '{name}'")
    clips = require_dir(root / "clips_45seconds", f"target '{name}'")
    ann = _read_csv_stripped(ann_path)
    col = f"mean_{dim}"
    for c in ("song_id", col):
        if c not in ann.columns:
            raise ValueError(f"{ann_path}: column '{c}' missing (columns: {list(ann.columns)})")
    info = _read_csv_stripped(info_path)
    set_col = next((c for c in info.columns if "2013" in c and "set" in c.lower()), None)
    if "song_id" not in info.columns or set_col is None:
        raise ValueError(f"{info_path}: needs columns 'song_id' and 'Mediaeval 2013 set' "
                         f"(columns: {list(info.columns)})")
    sets = {"development": "train", "evaluation": "test"}
    info_by_id: dict[str, tuple[str, str]] = {}
    for i, r in info.iterrows():
        value = r[set_col].lower()
        if value not in sets:
            raise ValueError(f"{info_path}:{int(i) + 2}: '{set_col}' is '{r[set_col]}' "
                             "(expected development or evaluation)")
        info_by_id[r["song_id"]] = (sets[value], r.get("file_name", ""))
    rows, missing, no_set = [], [], []
    for i, r in ann.iterrows():
        sid = r["song_id"]
        try:
            value = float(r[col])
        except ValueError:
            raise ValueError(f"{ann_path}:{int(i) + 2}: {col} '{r[col]}' of song {sid} "
                             "is not a number") from None
        if sid not in info_by_id:
            no_set.append(sid)
            continue
        fold, file_name = info_by_id[sid]
        path = clips / f"{sid}.mp3"
        if not path.is_file() and file_name:
            path = clips / file_name
        if not path.is_file():
            missing.append(sid)
            continue
        rows.append({"track_id": sid, "location": _abs(path), "label": repr(value), "split": fold})
    if not rows:
        raise ValueError(f"MediaEval {root}: no annotated song has audio in {clips}")
    data = target_from_rows(name, "mediaeval2013", "regression", rows)
    data.note("annotated_songs", len(ann))
    data.note("tracks", len(rows))
    data.note("missing_audio", len(missing), missing)
    data.note("not_in_songs_info", len(no_set), no_set)
    data.note("label", col)
    data.note("split", "the data set's own (development vs evaluation)")
    return data


# --------------------------------------------------------------------------- Last.fm-1K

LASTFM_LOG = "userid-timestamp-artid-artname-traid-traname.tsv"


def read_manifest_file(path: Path) -> pd.DataFrame:
    """A manifest TSV (track_id, location, md5): locations resolved against its folder."""
    require_file(path, "audio manifest")
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for c in ("track_id", "location"):
        if c not in df.columns:
            raise ValueError(f"{path}: column '{c}' missing (columns: {list(df.columns)})")
    if "md5" not in df.columns:
        df["md5"] = ""
    empty = df.index[(df["track_id"] == "") | (df["location"] == "")]
    if len(empty):
        raise ValueError(f"{path}:{int(empty[0]) + 2}: empty track_id or location")
    dup = df["track_id"][df["track_id"].duplicated()]
    if len(dup):
        raise ValueError(f"{path}: track id '{dup.iloc[0]}' listed twice")
    base = path.parent

    def resolve(loc: str) -> str:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", loc) or os.path.isabs(loc):
            return loc
        return os.path.abspath(base / loc)

    df["location"] = [resolve(x) for x in df["location"]]
    return df[["track_id", "location", "md5"]]


def read_lastfm_log(path: Path, audio_ids: set[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Count plays per (user, track) for tracks in ``audio_ids`` from the 1K listening log.

    Lines: user, timestamp, artist mbid, artist name, track mbid, track name (tab
    separated, no header). Lines without a track mbid, and lines with fewer than 5
    fields, are skipped and counted. Returns (interactions, counts).
    """
    plays: Counter[tuple[str, str]] = Counter()
    without_audio: set[str] = set()
    n_lines = no_mbid = malformed = 0
    first_malformed: list[str] = []
    with open(path, encoding="utf-8", errors="replace", newline="\n") as fh:
        for n_lines, line in enumerate(fh, 1):
            fields = line.split("\t", 5)  # the track name (field 6) is never needed
            if len(fields) < 5 or not fields[0]:
                malformed += 1
                if len(first_malformed) < 20:
                    first_malformed.append(f"line {n_lines}")
                continue
            tid = fields[4].strip()  # strip also drops the newline when field 6 is absent
            if not tid:
                no_mbid += 1
            elif tid in audio_ids:
                plays[(fields[0], tid)] += 1
            else:
                without_audio.add(tid)
    inter = pd.DataFrame([(u, t, c) for (u, t), c in plays.items()], columns=INTERACTION_COLUMNS)
    inter = inter.sort_values(["user", "track_id"], kind="stable").reset_index(drop=True)
    counts = {"lines": n_lines, "no_mbid": no_mbid, "malformed": malformed,
              "malformed_examples": first_malformed, "without_audio": without_audio}
    return inter, counts


def load_lastfm1k(cfg: dict[str, Any]) -> TargetData:
    """Last.fm-1K: listening log plus an audio manifest (track mbid -> audio location).

    Interactions (user, track_id, play count) are kept for tracks with audio; the
    tracks of the log without audio are counted in the report. The manifest holds
    the audio-manifest tracks that occur in the log.
    """
    name = cfg["name"]
    root = require_dir(Path(cfg["root"]), f"target '{name}' root")
    log_path = root / LASTFM_LOG
    if not log_path.is_file():
        found = sorted(root.glob("userid-timestamp*.tsv"))
        if not found:
            raise ValueError(f"Last.fm-1K {root}: listening log {LASTFM_LOG} not found")
        log_path = found[0]
    if not cfg.get("audio_manifest"):
        raise ValueError(f"target '{name}': lastfm1k needs 'audio_manifest' "
                         "(track_id = track mbid, location, md5)")
    audio = read_manifest_file(Path(cfg["audio_manifest"]))
    inter, counts = read_lastfm_log(log_path, set(audio["track_id"]))
    if inter.empty:
        raise ValueError(f"{log_path}: no listening event of a track in {cfg['audio_manifest']}")
    used = set(inter["track_id"])
    manifest = audio[audio["track_id"].isin(used)].reset_index(drop=True)
    unused = audio["track_id"][~audio["track_id"].isin(used)].tolist()
    labels = pd.DataFrame({"track_id": manifest["track_id"], "label": "", "group": "", "split": ""})
    data = TargetData(name=name, kind="lastfm1k", task="recommendation", manifest=manifest,
                      labels=labels, interactions=inter)
    data.note("log_lines", counts["lines"])
    data.note("lines_without_track_mbid", counts["no_mbid"])
    data.note("malformed_lines", counts["malformed"], counts["malformed_examples"])
    data.note("tracks_in_log", len(used) + len(counts["without_audio"]))
    data.note("tracks_without_audio", len(counts["without_audio"]))
    data.note("tracks", len(manifest))
    data.note("audio_manifest_tracks_not_in_log", len(unused), unused)
    data.note("users", int(inter["user"].nunique()))
    data.note("interactions", len(inter))
    data.note("plays", int(inter["count"].sum()))
    data.note("split", "held-out tracks (random)")
    return data


# --------------------------------------------------------------------------- custom

def load_custom(cfg: dict[str, Any]) -> TargetData:
    """A user data set: a CSV of audio paths and labels (classification or regression).

    Paths are relative to ``root`` (default: the CSV's folder) or absolute. An
    optional ``group_column`` keeps tracks of a group on one side of the split. A
    column named ``split`` (train/valid/test), when present, is the data set's own
    split; otherwise the split is drawn at random (stratified for classification).
    Rows without a label or whose audio file is missing are skipped and counted.
    """
    name = cfg["name"]
    task = cfg.get("task")
    if task not in ("classification", "regression"):
        raise ValueError(f"target '{name}': a custom target's task must be classification or "
                         f"regression, got {task!r}")
    csv = require_file(Path(cfg.get("labels_csv") or ""), f"target '{name}' labels_csv")
    root = Path(cfg["root"]) if cfg.get("root") else csv.parent
    require_dir(root, f"target '{name}' root")
    df = _read_csv_stripped(csv)
    path_col = cfg.get("path_column") or "path"
    label_col = cfg.get("label_column") or "label"
    group_col = cfg.get("group_column")
    split_col = cfg.get("split_column") or ("split" if "split" in df.columns else None)
    for c in (path_col, label_col, group_col, split_col):
        if c and c not in df.columns:
            raise ValueError(f"{csv}: column '{c}' missing (columns: {list(df.columns)})")
    rows, missing, unlabeled, bad = [], [], [], []
    seen: dict[str, int] = {}
    for i, r in df.iterrows():
        line = int(i) + 2
        where = f"{csv}:{line}"
        rel = r[path_col].replace("\\", "/")
        if not rel:
            raise ValueError(f"{where}: empty '{path_col}'")
        if bad_name(rel):
            bad.append(where)
            continue
        path = Path(rel) if os.path.isabs(rel) else root / rel
        if not r[label_col]:
            unlabeled.append(where)
            continue
        label = r[label_col]
        if task == "regression":
            try:
                label = repr(float(label))
            except ValueError:
                raise ValueError(f"{where}: label '{label}' in column '{label_col}' is not a "
                                 "number (task regression)") from None
        try:
            tid = track_id_from_path(Path(os.path.abspath(path)).relative_to(os.path.abspath(root)))
        except ValueError:
            tid = track_id_from_path(Path(os.path.abspath(path)).relative_to("/"))
        if tid in seen:
            raise ValueError(f"{where}: '{rel}' is the same track as line {seen[tid]}")
        seen[tid] = line
        if not path.is_file():
            missing.append(rel)
            continue
        row = {"track_id": tid, "location": _abs(path), "label": label,
               "group": r[group_col] if group_col else ""}
        if split_col:
            row["split"] = _split_value(r[split_col], f"{where} column '{split_col}'")
        rows.append(row)
    if not rows:
        raise ValueError(f"{csv}: no row names an existing audio file under {root}")
    data = target_from_rows(name, "custom", task, rows)
    data.note("rows", len(df))
    data.note("tracks", len(rows))
    data.note("missing_audio", len(missing), missing)
    data.note("rows_without_label", len(unlabeled), unlabeled)
    data.note("rows_with_tab_or_newline_in_path", len(bad), bad)
    if task == "classification":
        _class_counts(data)
    if group_col:
        data.note("groups", int(data.labels["group"].nunique()))
    data.note("split", f"column '{split_col}'" if split_col else
              ("stratified random" if task == "classification" else "random"))
    return data


LOADERS: dict[str, Callable[[dict[str, Any]], TargetData]] = {
    "gtzan": load_gtzan,
    "fma": load_fma,
    "ballroom": load_ballroom,
    "irmas": load_irmas,
    "mediaeval2013": load_mediaeval2013,
    "lastfm1k": load_lastfm1k,
    "custom": load_custom,
    "mtg_jamendo": load_mtg_jamendo,
    "magnatagatune": load_magnatagatune,
}


def load_target(target_cfg: dict[str, Any]) -> TargetData:
    """Read one target data set (a ``targets`` entry of the config) from its native layout."""
    kind = target_cfg.get("kind")
    if kind not in LOADERS:
        raise ValueError(f"target '{target_cfg.get('name')}': unknown kind {kind!r} "
                         f"(known: {', '.join(LOADERS)})")
    if not target_cfg.get("name"):
        raise ValueError(f"a target of kind {kind} has no name")
    data = LOADERS[kind](target_cfg)
    labels = data.labels
    if data.task == "regression":
        y = labels["label"].astype(float).to_numpy()
        data.note("label_mean", round(float(np.mean(y)), 6))
        data.note("label_std", round(float(np.std(y)), 6))
    if data.fixed_split:
        n_test = int((labels["split"] == "test").sum())
        data.note("own_split_train", len(labels) - n_test)
        data.note("own_split_test", n_test)
    log.info("target %s (%s): %d tracks", data.name, kind, len(data.manifest))
    return data


__all__ = ["load_target", "LOADERS", "read_gtzan_split", "irmas_group", "read_manifest_file",
           "read_lastfm_log", "is_audio"]
