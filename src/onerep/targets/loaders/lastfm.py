"""Last.fm-1K: the listening log TSV joined to an audio manifest of its tracks."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from ..common import (
    INTERACTION_COLUMNS,
    TargetData,
    require_dir,
    require_file,
)

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
