"""The musiXmatch bag-of-words lyrics (``mxm_dataset_train.txt``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .records import (
    CountLabels,
    LabelFileError,
    LoadStats,
    Problems,
    finish_counts,
)

_MXM_PAIR = re.compile(r"\d+:\d+\Z")
_MXM_PAIRS = re.compile(r"\d+:\d+(?:,\d+:\d+)*\Z")


# --------------------------------------------------------------------------- musiXmatch


def load_musixmatch(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> CountLabels:
    """musiXmatch bag of words (``mxm_dataset_train.txt``): corpus track x word counts.

    Format: ``#`` comment lines, one ``%word1,word2,...`` vocabulary line, then
    ``track_id,mxm_track_id,idx:count,...`` with 1-based word indices."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"musiXmatch file not found: {path}")
    stats = LoadStats("lyrics", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    corpus = {t: i for i, t in enumerate(manifest_ids)}
    vocab: list[str] | None = None
    first_line: dict[str, int] = {}
    acc_r, acc_c, acc_v = [], [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("%"):
                if vocab is not None:
                    problems("malformed", f"{path}: line {lineno}", "a second vocabulary line")
                    continue
                vocab = line[1:].split(",")
                continue
            if vocab is None:
                raise LabelFileError(f"{path}: line {lineno}: data before the '%word,...' vocabulary line")
            stats.rows += 1
            parts = line.split(",")
            if len(parts) < 2 or not parts[0]:
                problems("malformed", f"{path}: line {lineno}",
                         "expected track_id,mxm_track_id,idx:count,...")
                continue
            tid = parts[0]
            if tid in first_line:
                problems("malformed", f"{path}: line {lineno}",
                         f"track {tid!r} already listed at line {first_line[tid]}")
                continue
            first_line[tid] = lineno
            row = corpus.get(tid)
            if row is None:
                continue
            pairs = parts[2:]
            if not pairs:
                continue
            if not _MXM_PAIRS.match(line, len(parts[0]) + len(parts[1]) + 2):
                bad = next(p for p in pairs if not _MXM_PAIR.match(p))
                problems("malformed", f"{path}: line {lineno}", f"word count {bad!r} is not idx:count")
                continue
            ic = np.array([p.split(":") for p in pairs], dtype=np.int64)
            if (ic[:, 1] <= 0).any():
                problems("malformed", f"{path}: line {lineno}", "a word count is not positive")
                continue
            out = (ic[:, 0] < 1) | (ic[:, 0] > len(vocab))
            if out.any():
                problems("unknown_ids", f"{path}: line {lineno}",
                         f"word index {int(ic[out][0, 0])} outside the vocabulary 1..{len(vocab)}")
                continue
            acc_r.append(np.full(len(ic), row, dtype=np.int64))
            acc_c.append(ic[:, 0] - 1)
            acc_v.append(ic[:, 1].astype(np.float64))
    if vocab is None:
        raise LabelFileError(f"{path}: no '%word,...' vocabulary line")
    stats.labelled_ids = len(first_line)
    stats.outside_corpus = sum(1 for t in first_line if t not in corpus)
    cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
    X, rows, cols = finish_counts(cat(acc_r, np.int64), cat(acc_c, np.int64),
                                   cat(acc_v, np.float64), len(manifest_ids), len(vocab))
    stats.with_labels = len(rows)
    return CountLabels(manifest_ids[rows], X, np.asarray(vocab, dtype=object)[cols].astype(str),
                       stats, term_kind="word")
