"""Data sets described by CSV metadata tables: FMA (``tracks.csv``, two header rows)
and MediaEval 2013 Emotion in Music (annotations and song info CSVs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..common import (
    SPLIT_VALUES,
    TargetData,
    require_dir,
    require_file,
    target_from_rows,
)
from .shared import abs_location, class_counts, read_csv_stripped

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
        rows.append({"track_id": track_id, "location": abs_location(path), "label": str(genre.loc[tid]),
                     "split": fold})
    if not rows:
        raise ValueError(f"FMA {root}: none of the {int(medium.sum())} medium tracks has audio "
                         f"under {', '.join(str(d) for d in audio_dirs)}")
    data = target_from_rows(name, "fma", "classification", rows)
    data.note("tracks_in_metadata", int(medium.sum()))
    data.note("tracks", len(rows))
    data.note("missing_audio", len(missing), missing)
    class_counts(data)
    data.note("split", "the data set's own (training + validation vs test)")
    return data


# --------------------------------------------------------------------------- MediaEval 2013

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
    ann = read_csv_stripped(ann_path)
    col = f"mean_{dim}"
    for c in ("song_id", col):
        if c not in ann.columns:
            raise ValueError(f"{ann_path}: column '{c}' missing (columns: {list(ann.columns)})")
    info = read_csv_stripped(info_path)
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
        rows.append({"track_id": sid, "location": abs_location(path), "label": repr(value), "split": fold})
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
