"""Small per-track tables: a tempo TSV or the MSD summary HDF5 (bpm), and a
track-to-genre TSV (the CD2C genre labels)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .records import (
    CountLabels,
    LabelFileError,
    LoadStats,
    Problems,
    ScalarLabels,
    finish_counts,
)

# --------------------------------------------------------------------------- small TSVs


def _tsv_lines(path: Path, header_first: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a small TSV; a first line whose first field is
    ``header_first`` (any case) is a header and skipped; blank lines are skipped."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if lineno == 1 and fields[0].strip().lower() == header_first:
                continue
            yield lineno, fields


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89HDF\r\n\x1a\n"


def load_tempo(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> ScalarLabels:
    """Tempo in bpm: a ``track_id<TAB>bpm`` TSV (header optional) or the MSD summary
    HDF5 (``/analysis/songs`` with fields ``track_id`` and ``tempo``).
    A tempo of 0 is the Echo Nest's 'unknown' and is a missing value."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"tempo file not found: {path}")
    stats = LoadStats("bpm", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    if _is_hdf5(path):
        ids, bpm, where = _tempo_from_summary(path)
    else:
        ids_l, bpm_l, where_l = [], [], []
        for lineno, fields in _tsv_lines(path, "track_id"):
            ids_l.append(fields[0].strip())
            try:
                if len(fields) != 2:
                    raise ValueError
                bpm_l.append(float(fields[1]))
            except ValueError:
                bpm_l.append(math.nan)
            where_l.append(lineno)
        ids = np.asarray(ids_l, dtype=object)
        bpm = np.asarray(bpm_l, dtype=np.float64)
        where = [f"line {n}" for n in where_l]
    stats.rows = len(ids)
    bad = ~np.isfinite(bpm) | (bpm < 0) | (ids == "")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problems("malformed", f"{path}: {where[i]}", "expected track_id<TAB>bpm with a non-negative number",
                 int(bad.sum()))
    dup = pd.Index(ids).duplicated() & ~bad
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        problems("malformed", f"{path}: {where[i]}", f"track {str(ids[i])!r} listed twice", int(dup.sum()))
    ok = ~bad & ~dup
    ids, bpm = ids[ok], bpm[ok]
    stats.labelled_ids = len(ids)
    pos = pd.Index(manifest_ids).get_indexer(ids)
    stats.outside_corpus = int((pos < 0).sum())
    in_corpus = pos >= 0
    unknown = in_corpus & (bpm == 0)
    stats.missing_values = int(unknown.sum())
    use = in_corpus & ~unknown
    order = np.argsort(pos[use], kind="stable")
    stats.with_labels = int(use.sum())
    return ScalarLabels(manifest_ids[pos[use][order]], bpm[use][order], "bpm", stats)


def _tempo_from_summary(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "analysis/songs" not in f:
                raise LabelFileError(f"{path}: no /analysis/songs table (expected the MSD summary file)")
            ds = f["analysis/songs"]
            names = ds.dtype.names or ()
            if "track_id" not in names or "tempo" not in names:
                raise LabelFileError(f"{path}: /analysis/songs lacks the fields track_id and tempo (has {names})")
            tids = ds.fields("track_id")[:]
            tempo = ds.fields("tempo")[:].astype(np.float64)
    except OSError as exc:
        raise LabelFileError(f"{path}: cannot read as HDF5 ({exc})") from None
    ids = np.array([t.decode() if isinstance(t, bytes) else str(t) for t in tids], dtype=object)
    return ids, tempo, [f"/analysis/songs row {i}" for i in range(len(ids))]


def load_cdr(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> CountLabels:
    """Track-to-genre TSV (``track_id<TAB>genre[,genre...]``, header optional):
    corpus track x genre indicator. Genres are kept as written (``Parent/Child`` paths)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"genre file not found: {path}")
    stats = LoadStats("cdr_tag", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    corpus = {t: i for i, t in enumerate(manifest_ids)}
    genres: dict[str, int] = {}
    first_line: dict[str, int] = {}
    acc_r: list[int] = []
    acc_c: list[int] = []
    for lineno, fields in _tsv_lines(path, "track_id"):
        stats.rows += 1
        if len(fields) != 2 or not fields[0].strip():
            problems("malformed", f"{path}: line {lineno}", f"expected track_id<TAB>genres, got {len(fields)} fields")
            continue
        tid = fields[0].strip()
        if tid in first_line:
            problems("malformed", f"{path}: line {lineno}", f"track {tid!r} already listed at line {first_line[tid]}")
            continue
        first_line[tid] = lineno
        names = sorted({g.strip() for g in fields[1].split(",") if g.strip()})
        row = corpus.get(tid)
        if row is None or not names:
            continue
        for g in names:
            acc_r.append(row)
            acc_c.append(genres.setdefault(g, len(genres)))
    stats.labelled_ids = len(first_line)
    stats.outside_corpus = sum(1 for t in first_line if t not in corpus)
    X, rows, cols = finish_counts(np.asarray(acc_r, np.int64), np.asarray(acc_c, np.int64),
                                   np.ones(len(acc_r)), len(manifest_ids), len(genres))
    stats.with_labels = len(rows)
    names = np.asarray(list(genres), dtype=object)
    return CountLabels(manifest_ids[rows], X, names[cols].astype(str), stats, term_kind="genre")
