"""The label file of a source (``{R}/labels/{source}.h5``) and its topic table: one
writer and one reader, light enough for the training jobs to import (h5py, numpy,
pandas only).

Layout: ``track_id`` (N,) strings, ``z`` (N, k) float32 rows that sum to 1, optional
string datasets (``artist_id``, ``group_id``), attributes ``source``, ``method`` and what
the reduction recorded (``k``, ``seed``, ``stats`` JSON, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from ..util import atomic_path, write_text_atomic


@dataclass
class LabelResult:
    """z of one source and everything recorded with it."""

    source: str
    method: str
    track_ids: np.ndarray
    z: np.ndarray  # float32 (N, k), rows sum to 1
    topics: pd.DataFrame  # topic, rank, term, weight
    attrs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def write_labels(path: str | Path, result: LabelResult) -> None:
    """Write ``{R}/labels/{source}.h5`` (atomic)."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("track_id", data=np.asarray(result.track_ids, dtype=object),
                             dtype=h5py.string_dtype())
            f.create_dataset("z", data=result.z.astype(np.float32), compression="gzip", shuffle=True)
            for name, arr in result.extra.items():
                f.create_dataset(name, data=np.asarray(arr, dtype=object), dtype=h5py.string_dtype())
            f.attrs["source"] = result.source
            f.attrs["method"] = result.method
            for key, val in result.attrs.items():
                f.attrs[key] = val


def write_topics(path: str | Path, table: pd.DataFrame) -> None:
    """Write the topic table (topic, rank, term, weight) as TSV (atomic)."""
    write_text_atomic(path, table.to_csv(sep="\t", index=False, float_format="%.6g"))


TOPIC_COLUMNS = ("topic", "rank", "term", "weight")


def read_topics(path: str | Path) -> pd.DataFrame:
    """The topic table written by :func:`write_topics` (terms as text); ValueError naming
    the file when a column is missing."""
    table = pd.read_csv(path, sep="\t", dtype={"term": str})
    missing = [c for c in TOPIC_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: topic table lacks columns {missing}")
    return table


def load_labels(path: str | Path, source: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(track ids (N,) str, z (N, k) float32) of one source's label file, checked: every
    row finite, non-negative and summing to 1 (errors name the file and the track)."""
    path = Path(path)
    what = f"labels of source '{source}'" if source else "label file"
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: {what} cannot be read as HDF5 ({exc})") from None
    with f:
        if "track_id" not in f or "z" not in f:
            raise ValueError(f"{path}: not a label file (needs datasets track_id and z)")
        ids = np.array([t.decode() if isinstance(t, bytes) else str(t) for t in f["track_id"][:]])
        z = f["z"][:].astype(np.float32, copy=False)
    if z.ndim != 2 or z.shape[0] != ids.shape[0] or z.shape[1] < 2:
        raise ValueError(f"{path}: 'z' must be (N, k) with N = {ids.shape[0]} tracks and k >= 2, "
                         f"got {z.shape}")
    sums = z.sum(axis=1, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(z).all(axis=1) | (z < 0).any(axis=1) | (np.abs(sums - 1.0) > 1e-3))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{path}: track '{ids[i]}' has an invalid label row "
                         f"(must be finite, non-negative and sum to 1; sum = {sums[i]:.4g}); "
                         f"{bad.size} bad rows in all")
    return ids, z


def label_attrs(path: str | Path) -> dict[str, Any]:
    """The attributes of a label file (``stats`` decoded from JSON)."""
    with h5py.File(path, "r") as f:
        attrs = {k: f.attrs[k] for k in f.attrs}
        attrs["n_tracks"] = int(f["track_id"].shape[0])
    if "stats" in attrs:
        attrs["stats"] = json.loads(attrs["stats"])
    return attrs
