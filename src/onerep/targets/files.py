"""The files of a target under ``results/targets/<target>/``: writers and readers.

- ``manifest.tsv``: track_id, location, md5. A location is written relative to the
  manifest's folder when both lie inside the working directory (the project), so the
  project can move as a whole; otherwise it stays absolute. URLs are kept.
- ``labels.tsv``: track_id, label, group, split.
- ``interactions.tsv`` (recommendation targets): user, track_id, count.
- ``report.tsv``: item, value, detail (counts, missing audio with examples).
- ``splits.tsv`` (split stage): repetition, track_id, fold, seed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from onerep.util import atomic_path

from .common import INTERACTION_COLUMNS, LABEL_COLUMNS, MANIFEST_COLUMNS, TargetData

SPLIT_COLUMNS = ["repetition", "track_id", "fold", "seed"]
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def relative_location(location: str, folder: Path) -> str:
    """``location`` relative to ``folder`` when both are inside the working directory."""
    if _URL.match(location):
        return location
    cwd = os.path.abspath(os.getcwd())
    loc = os.path.abspath(location)
    base = os.path.abspath(folder)
    try:
        inside = (os.path.commonpath([cwd, loc]) == cwd and os.path.commonpath([cwd, base]) == cwd)
    except ValueError:  # different drives
        inside = False
    return os.path.relpath(loc, base) if inside else loc


def write_tsv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a DataFrame as a tab-separated file with header, atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, lineterminator="\n")


def write_target(data: TargetData, out_dir: str | Path) -> dict[str, Path]:
    """Write manifest.tsv, labels.tsv, report.tsv (and interactions.tsv) of one target."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = data.manifest[MANIFEST_COLUMNS].copy()
    manifest["location"] = [relative_location(x, out) for x in manifest["location"]]
    paths = {"manifest": out / "manifest.tsv", "labels": out / "labels.tsv",
             "report": out / "report.tsv"}
    write_tsv(manifest, paths["manifest"])
    write_tsv(data.labels[LABEL_COLUMNS], paths["labels"])
    if data.interactions is not None:
        paths["interactions"] = out / "interactions.tsv"
        write_tsv(data.interactions[INTERACTION_COLUMNS], paths["interactions"])
    rows = [("name", data.name, ""), ("kind", data.kind, ""), ("task", data.task, "")]
    rows += [(k, v, d) for k, (v, d) in data.report.items()]
    write_tsv(pd.DataFrame(rows, columns=["item", "value", "detail"]), paths["report"])
    return paths


def _read(path: str | Path, columns: list[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: columns {missing} missing (columns: {list(df.columns)})")
    return df


def read_labels(path: str | Path) -> pd.DataFrame:
    """labels.tsv as text columns track_id, label, group, split ('' where empty)."""
    return _read(path, LABEL_COLUMNS)[LABEL_COLUMNS]


def read_interactions(path: str | Path) -> pd.DataFrame:
    """interactions.tsv: user, track_id (text), count (int)."""
    df = _read(path, INTERACTION_COLUMNS)[INTERACTION_COLUMNS]
    df["count"] = df["count"].astype("int64")
    return df


def read_splits(path: str | Path) -> pd.DataFrame:
    """splits.tsv: repetition (int), track_id, fold ('train'/'test'), seed (int)."""
    df = _read(path, SPLIT_COLUMNS)[SPLIT_COLUMNS]
    df["repetition"] = df["repetition"].astype("int64")
    df["seed"] = df["seed"].astype("int64")
    return df


def read_report(path: str | Path) -> dict[str, str]:
    """report.tsv as item -> value."""
    df = _read(path, ["item", "value"])
    return dict(zip(df["item"], df["value"], strict=True))
