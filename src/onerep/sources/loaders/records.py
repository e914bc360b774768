"""What every native-format loader returns and shares: :class:`LabelFileError`,
:class:`LoadStats`, :class:`CountLabels`, :class:`ScalarLabels`, :class:`Problems`,
the corpus manifest's track ids and the sparse-matrix helpers."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

log = logging.getLogger("onerep.sources.loaders")

ON_BAD = ("error", "skip")
MAX_EXAMPLES = 5


class LabelFileError(ValueError):
    """A label file that cannot be used as it is; the message names the file and line."""


# --------------------------------------------------------------------------- records


@dataclass
class LoadStats:
    """What a loader read, ignored and rejected (written into the label file's attributes)."""

    source: str
    files: list[str] = field(default_factory=list)
    rows: int = 0  # label records read (lines or table rows)
    labelled_ids: int = 0  # distinct tracks (songs for taste) with labels in the file(s)
    outside_corpus: int = 0  # of these, not in the manifest: ignored
    malformed: int = 0
    unknown_ids: int = 0
    missing_values: int = 0  # corpus tracks whose value is unknown (year 0, bpm 0)
    in_manifest: int = 0
    with_labels: int = 0  # corpus tracks that have labels of this source
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return asdict(self)


@dataclass
class CountLabels:
    """Counts of terms per document; a document is a track (an artist for ``artist``).

    ``X[row_of_track[i]]`` is the label row of ``track_ids[i]``; for every source but
    ``artist`` the rows are the tracks themselves.
    """

    track_ids: np.ndarray
    X: sp.csr_matrix
    terms: np.ndarray
    stats: LoadStats
    row_of_track: np.ndarray | None = None
    doc_ids: np.ndarray | None = None
    term_kind: str = "term"

    def __post_init__(self) -> None:
        if self.row_of_track is None:
            self.row_of_track = np.arange(len(self.track_ids), dtype=np.int64)
        if self.doc_ids is None:
            self.doc_ids = self.track_ids


@dataclass
class ScalarLabels:
    """One value per track (bpm, year)."""

    track_ids: np.ndarray
    values: np.ndarray
    unit: str
    stats: LoadStats


class Problems:
    """Raise on the first problem (``error``) or count problems and keep examples (``skip``)."""

    def __init__(self, on_bad_line: str, stats: LoadStats):
        if on_bad_line not in ON_BAD:
            raise ValueError(f"on_bad_line must be one of {ON_BAD}, got {on_bad_line!r}")
        self.mode = on_bad_line
        self.stats = stats

    def __call__(self, kind: str, where: str, what: str, count: int = 1) -> None:
        """One problem (or ``count`` of the same kind, ``where`` naming the first)."""
        if count <= 0:
            return
        message = f"{where}: {what}"
        if self.mode == "error":
            hint = " (set sources.on_bad_line: skip to count and skip such lines)"
            raise LabelFileError(message + hint)
        setattr(self.stats, kind, getattr(self.stats, kind) + count)
        if len(self.stats.examples) < MAX_EXAMPLES:
            self.stats.examples.append(message + (f" (and {count - 1} more like it)" if count > 1 else ""))


# --------------------------------------------------------------------------- manifest


def read_manifest_ids(path: str | Path) -> np.ndarray:
    """Track ids of a corpus manifest (TSV with a ``track_id`` column), in file order."""
    from onerep.audio.manifest import read_tsv  # the manifest's TSV reader

    path = Path(path)
    df = read_tsv(path)
    if "track_id" not in df.columns:
        raise LabelFileError(f"{path}: no 'track_id' column in the header (found {list(df.columns)})")
    ids = df["track_id"].str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(ids == "")
    if empty.size:
        raise LabelFileError(f"{path}: line {empty[0] + 2}: empty track_id")
    dup = pd.Index(ids).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise LabelFileError(f"{path}: line {i + 2}: track_id {str(ids[i])!r} appears twice")
    return ids.astype(str)


def to_float(values: Any) -> np.ndarray:
    """Numbers from mixed input (text, None) with NaN where a value is not a number."""
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)


def finish_counts(
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    n_docs: int,
    n_terms: int,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """CSR of the kept records (duplicates summed, zeros dropped); the non-empty rows
    and the used columns only. Returns (X, kept row positions, kept column positions)."""
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n_docs, n_terms), dtype=np.float64)
    X.sum_duplicates()
    X.eliminate_zeros()
    keep_rows = np.flatnonzero(np.diff(X.indptr) > 0)
    keep_cols = np.flatnonzero(np.bincount(X.indices, minlength=n_terms) > 0)
    X = X[keep_rows][:, keep_cols].tocsr()
    X.sort_indices()
    return X, keep_rows, keep_cols
