"""Cold-start recommendation on a listening data set (Last.fm-1K; SPEC section 8).

For one repetition:

1. Interactions are restricted to tracks that have features and belong to the
   repetition's split, then filtered: users with fewer than ``min_user_tracks``
   tracks and tracks with fewer than ``min_track_users`` users are dropped, repeatedly
   until no more fall below either threshold (a k-core; one pass can leave new
   users or tracks under the thresholds).
2. The split's ``test`` tracks are held out: their columns are removed from the
   training matrix.
3. The features are standardised with the mean and deviation of the training tracks,
   the content-aware ALS (``als.py``) is fitted on the training tracks, and each
   held-out track gets the factors ``X W``.
4. Each user ranks the held-out tracks (``candidates='heldout'``, the default) by
   ``u . v``; with ``candidates='all'`` the user ranks every track except those in
   their own training interactions (warm tracks by their fitted factors). Relevant =
   the held-out tracks the user listened to; nDCG@k with the ideal DCG truncated at k,
   averaged over users with at least one relevant held-out track and at least one
   training interaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .als import ALSParams, fit_content_als, kcore_filter
from .ranking import ndcg_at_k

log = logging.getLogger(__name__)

CANDIDATES = ("heldout", "all")


@dataclass
class RecommendationResult:
    """nDCG of one repetition and the sizes behind it."""

    ndcg: float
    n_users: int
    n_train_tracks: int
    n_heldout_tracks: int
    filter_passes: int
    per_user: np.ndarray


def standardise(X_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Standardise with the training rows' mean and deviation (constant columns become 0)."""
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return [(np.asarray(a, dtype=np.float64) - mean) / std for a in (X_train, *others)]


def filter_interactions(
    interactions: pd.DataFrame, tracks: pd.Index, min_user_tracks: int, min_track_users: int
) -> tuple[pd.DataFrame, int]:
    """Interactions on ``tracks`` that survive the iterated user/track thresholds; and the pass count."""
    df = interactions[interactions["track_id"].isin(tracks)]
    keep, passes = kcore_filter(
        df["user"].to_numpy(), df["track_id"].to_numpy(), min_user_tracks, min_track_users
    )
    return df[keep].reset_index(drop=True), passes


def evaluate_split(
    interactions: pd.DataFrame,
    track_ids: np.ndarray,
    X: np.ndarray,
    folds: pd.Series,
    params: ALSParams,
    seed: int,
    k: int = 500,
    min_user_tracks: int = 5,
    min_track_users: int = 5,
    candidates: str = "heldout",
) -> RecommendationResult:
    """nDCG@k of one held-out split.

    ``interactions``: user, track_id, count (distinct pairs, counts > 0);
    ``track_ids``, ``X``: the tracks with features and their feature rows;
    ``folds``: 'train'/'test' per track id (the split of this repetition).
    """
    if candidates not in CANDIDATES:
        raise ValueError(f"evaluate.als.candidates must be one of {CANDIDATES}, got '{candidates}'")
    feat_index = pd.Index(track_ids)
    universe = feat_index.intersection(folds.index)
    df, passes = filter_interactions(interactions, universe, min_user_tracks, min_track_users)
    if df.empty:
        raise ValueError(
            f"no interaction is left after keeping tracks with features and a split ({len(universe)}) and "
            f"dropping users with < {min_user_tracks} tracks and tracks with < {min_track_users} users"
        )
    tracks = pd.Index(np.sort(df["track_id"].unique()))
    fold = folds.reindex(tracks)
    train_tracks = tracks[(fold == "train").to_numpy()]
    test_tracks = tracks[(fold == "test").to_numpy()]
    if len(train_tracks) == 0 or len(test_tracks) == 0:
        raise ValueError(
            f"after filtering, {len(train_tracks)} training and {len(test_tracks)} held-out tracks are left; "
            "both must be non-empty"
        )
    users = pd.Index(np.sort(df["user"].unique()))
    u = users.get_indexer(df["user"])
    all_tracks = train_tracks.append(test_tracks)
    col = all_tracks.get_indexer(df["track_id"])
    n_train = len(train_tracks)
    full = sp.csr_matrix((df["count"].to_numpy(float), (u, col)), shape=(len(users), len(all_tracks)))
    train = full[:, :n_train]
    test = full[:, n_train:]

    rows = feat_index.get_indexer(all_tracks)
    X_train, X_test = standardise(X[rows[:n_train]], X[rows[n_train:]])
    model = fit_content_als(train, X_train, params, seed, track_loss=False)
    V_test = model.item_factors(X_test)

    has_train = np.diff(train.indptr) > 0
    relevant_test = test.toarray() > 0
    scored = has_train & relevant_test.any(axis=1)
    if not scored.any():
        raise ValueError("no user has both a training interaction and a held-out track; nDCG is undefined")
    U = model.U[scored]
    if candidates == "heldout":
        scores = U @ V_test.T
        relevant = relevant_test[scored]
    else:
        scores = U @ np.vstack([model.V, V_test]).T
        seen = train[scored].toarray() > 0
        scores[:, :n_train][seen] = -np.inf  # a user's own training tracks are not candidates
        relevant = np.hstack([np.zeros_like(seen), relevant_test[scored]])
    per_user = ndcg_at_k(scores, relevant, k)
    log.info(
        "recommendation: %d users scored, %d training and %d held-out tracks, filter passes %d, nDCG@%d %.4f",
        int(scored.sum()), n_train, len(test_tracks), passes, k, float(np.mean(per_user)),
    )
    return RecommendationResult(
        ndcg=float(np.mean(per_user)),
        n_users=int(scored.sum()),
        n_train_tracks=n_train,
        n_heldout_tracks=len(test_tracks),
        filter_passes=passes,
        per_user=per_user,
    )
