"""Ranking metrics: nDCG@k with binary relevance and an ideal DCG truncated at k.

Gains are 1 / log2(rank + 1) for a relevant item at 1-based ``rank``. Both the DCG of
the ranking and the ideal DCG stop at ``k``: the ideal list holds
``min(n_relevant, k)`` relevant items. (The authors' version let the ideal DCG run
over every relevant item, which deflates nDCG for users with more than k of them.)
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


def rank_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores per row, best first.

    Ties are broken by the lower column index, so results never depend on the sort
    algorithm.
    """
    scores = np.asarray(scores)
    k = min(k, scores.shape[1])
    # A stable sort of the negated scores keeps equal scores in column order.
    order = np.argsort(-scores, axis=1, kind="stable")
    return order[:, :k]


def ndcg_at_k(scores: np.ndarray, relevant: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    """nDCG@k per row of a score matrix.

    ``scores``: ``(n_users, n_items)`` predicted preferences; ``relevant``: the same
    shape, boolean. Each row is ranked by decreasing score (ties: lower index first)
    and scored against its relevant items. Rows without relevant items give NaN.
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
        s = scores[start : start + block]
        r = relevant[start : start + block]
        top = rank_top_k(s, k)
        ranked = np.take_along_axis(r, top, axis=1)
        out[start : start + block] = ndcg_from_ranked(ranked, r.sum(axis=1), k)
    return out
