"""Ranking metrics: nDCG@k with binary relevance and an ideal DCG truncated at k.

Gains are 1 / log2(rank + 1) for a relevant item at 1-based ``rank``. Both the DCG of
the ranking and the ideal DCG stop at ``k``: the ideal list holds
``min(n_relevant, k)`` relevant items. (The authors' version let the ideal DCG run
over every relevant item, which deflates nDCG for users with more than k of them.)
Items with equal scores share the mean gain of the ranks they span, so a score never
depends on the order in which items happen to be stored.
"""

from __future__ import annotations

import numpy as np


def discounts(k: int) -> np.ndarray:
    """The gains 1 / log2(rank + 1) for ranks 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def ideal_dcg(n_relevant: np.ndarray | int, k: int) -> np.ndarray:
    """DCG of a perfect ranking with ``n_relevant`` relevant items, truncated at ``k``."""
    cum = np.concatenate([[0.0], np.cumsum(discounts(k))])
    return cum[np.minimum(np.asarray(n_relevant), k)]


def ndcg_from_ranked(ranked_relevance: np.ndarray, n_relevant: np.ndarray | int, k: int) -> np.ndarray:
    """nDCG@k of ranked lists.

    ``ranked_relevance``: ``(..., L)`` 0/1 relevance of the items in ranked order
    (best first; only the first ``k`` columns are used). ``n_relevant``: the number of
    relevant items of each list in the whole candidate set (it may exceed ``L``).
    Lists without any relevant item give NaN.
    """
    rel = np.asarray(ranked_relevance, dtype=np.float64)[..., :k]
    dcg = rel @ discounts(k)[: rel.shape[-1]]
    idcg = ideal_dcg(n_relevant, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), np.nan)


def _tie_averaged_dcg(scores: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    """DCG@k per row where items with equal scores share the mean gain of the ranks they
    occupy (the expected DCG over random orders of the ties; no dependence on item order)."""
    n, m = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, axis=1)
    rel = np.take_along_axis(relevant, order, axis=1).astype(np.float64)
    disc = np.zeros(m)
    disc[: min(k, m)] = discounts(min(k, m))
    # Tie groups: a new group starts wherever the sorted score changes.
    new_group = np.ones((n, m), dtype=bool)
    new_group[:, 1:] = s[:, 1:] != s[:, :-1]
    group = np.cumsum(new_group, axis=1) - 1 + (np.arange(n) * m)[:, None]
    flat = group.ravel()
    size = np.bincount(flat, minlength=n * m)
    mean_disc = np.bincount(flat, weights=np.broadcast_to(disc, (n, m)).ravel(), minlength=n * m)
    mean_disc = mean_disc / np.maximum(size, 1)
    return (rel * mean_disc[group]).sum(axis=1)


def ndcg_at_k(scores: np.ndarray, relevant: np.ndarray, k: int, block: int = 256) -> np.ndarray:
    """nDCG@k per row of a score matrix.

    ``scores``: ``(n_users, n_items)`` predicted preferences; ``relevant``: the same
    shape, boolean. Each row is ranked by decreasing score; tied items share the mean
    gain of the ranks they span (as scikit-learn's ``ndcg_score`` does), so the result
    never depends on the order of the items. Rows without relevant items give NaN.
    Rows are processed in blocks of ``block`` to bound memory.
    """
    scores = np.asarray(scores)
    relevant = np.asarray(relevant, dtype=bool)
    if scores.shape != relevant.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and relevance {relevant.shape} must be equal 2-D shapes")
    if k < 1:
        raise ValueError(f"nDCG cut-off k must be at least 1, got {k}")
    out = np.empty(scores.shape[0], dtype=np.float64)
    for start in range(0, scores.shape[0], block):
        r = relevant[start : start + block]
        dcg = _tie_averaged_dcg(scores[start : start + block], r, k)
        idcg = ideal_dcg(r.sum(axis=1), k)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + block] = np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), np.nan)
    return out
