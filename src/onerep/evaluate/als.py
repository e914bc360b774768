"""Content-aware weighted matrix factorisation by alternating least squares (SPEC section 8).

The objective, with ``P`` the binary interaction matrix, ``R`` the play counts,
``C = 1 + alpha R`` the confidences and ``X`` the (standardised) track features::

    L = 1/2 sum_ui C_ui (P_ui - u_u . v_i)^2
        + lU/2 ||U||^2 + lV/2 ||V - X W||^2 + lW/2 ||W||^2

Each half-step is the exact minimiser of ``L`` in one block:

- user rows: ``(V^T C_u V + lU I) u = V^T C_u p_u``
- item rows: ``(U^T C_i U + lV I) v = U^T C_i p_i + lV (X W)_i``
- projection: ``W = (X^T X + (lW/lV) I)^{-1} X^T V`` (ridge; the dual form when D > N)

so ``L`` never increases. ``V^T C_u V`` is ``V^T V`` plus ``alpha`` times the
count-weighted outer products of the user's own items only; those sums are formed as
batched matrix products over buckets of users with similar numbers of items (padded
gathers of their factor rows), in memory-bounded blocks, and the r x r systems are
solved stacked with ``numpy.linalg.solve``. There is no Python loop over users or
items, only over a few dozen buckets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)

# Upper bound of one temporary array (gathered factor rows, stacked r x r systems), in float64 values.
_BLOCK_VALUES = 8_000_000


@dataclass
class ALSParams:
    """Hyper-parameters of the factorisation (config ``evaluate.als``)."""

    factors: int = 50
    alpha: float = 0.1
    lambda_u: float = 1e-5
    lambda_v: float = 1e-5
    lambda_w: float = 0.1
    iterations: int = 15

    @classmethod
    def from_settings(cls, als: dict) -> ALSParams:
        """Take the factorisation keys of an ``evaluate.als`` settings dict."""
        keys = ("factors", "alpha", "lambda_u", "lambda_v", "lambda_w", "iterations")
        return cls(**{k: als[k] for k in keys if k in als})


@dataclass
class ALSModel:
    """A fitted factorisation: user factors ``U``, item factors ``V``, projection ``W``."""

    U: np.ndarray
    V: np.ndarray
    W: np.ndarray
    seed: int
    losses: list[tuple[int, str, float]] = field(default_factory=list)

    def item_factors(self, X: np.ndarray) -> np.ndarray:
        """Factors of new (cold) items from their features: ``X W``."""
        return np.asarray(X, dtype=np.float64) @ self.W


def weighted_grams(S: sp.csr_matrix, F: np.ndarray) -> np.ndarray:
    """``G[o] = sum_j S[o, j] F[j] F[j]^T`` for every row ``o`` of ``S``: ``(n_out, r, r)``.

    ``S`` must be non-negative. Rows are sorted by their number of non-zeros and
    taken in buckets of similar length (at most 25% padding); a bucket's scaled factor
    rows ``Z = sqrt(S[o, j]) F[j]`` are gathered into a padded ``(B, L, r)`` array and
    ``Z^T Z`` is one batched matrix product. No temporary exceeds ``_BLOCK_VALUES``
    values besides the result.
    """
    n_out = S.shape[0]
    r = F.shape[1]
    G = np.zeros((n_out, r, r), dtype=np.float64)
    lengths = np.diff(S.indptr)
    order = np.argsort(lengths, kind="stable")
    sorted_len = lengths[order]
    i = int(np.searchsorted(sorted_len, 1))  # rows without non-zeros keep G = 0
    while i < n_out:
        cap = int(sorted_len[i] * 1.25) + 1
        j = int(np.searchsorted(sorted_len, cap, side="right"))
        j = min(j, i + max(1, _BLOCK_VALUES // (cap * r)))
        rows = order[i:j]
        L = int(sorted_len[j - 1])
        offs = np.arange(L)
        valid = offs[None, :] < lengths[rows][:, None]
        pos = np.where(valid, S.indptr[rows][:, None] + offs[None, :], 0)
        Z = F[S.indices[pos]]
        Z *= np.sqrt(np.where(valid, S.data[pos], 0.0))[..., None]
        G[rows] = np.matmul(Z.transpose(0, 2, 1), Z)
        i = j
    return G


def _solve_rows(
    counts: sp.csr_matrix, F: np.ndarray, alpha: float, reg: float, prior: np.ndarray | None
) -> np.ndarray:
    """Exact minimiser of ``L`` over the rows on the output side of ``counts``.

    ``counts``: ``(n_out, n_in)`` play counts (non-zero = interaction); ``F``: the
    fixed factors of the other side. Row ``o`` solves
    ``(F^T F + alpha F^T diag(counts_o) F + reg I) x = F^T c_o + reg prior_o`` where
    ``c_o`` is ``1 + alpha counts`` on the row's non-zeros and 0 elsewhere. Rows are
    done in blocks whose stacked r x r systems fit in ``_BLOCK_VALUES`` values.
    """
    r = F.shape[1]
    base = F.T @ F + reg * np.eye(r)
    conf = counts.copy()
    conf.data = 1.0 + alpha * conf.data
    b = conf @ F
    if prior is not None and reg:
        b += reg * prior
    out = np.empty((counts.shape[0], r), dtype=np.float64)
    step = max(1, _BLOCK_VALUES // (r * r))
    for a in range(0, counts.shape[0], step):
        A = weighted_grams(counts[a : a + step], F)
        A *= alpha
        A += base
        out[a : a + step] = np.linalg.solve(A, b[a : a + step, :, None])[..., 0]
    return out


def solve_w(X: np.ndarray, V: np.ndarray, lambda_v: float, lambda_w: float) -> np.ndarray:
    """Exact minimiser of ``lV/2 ||V - XW||^2 + lW/2 ||W||^2`` over ``W`` (ridge regression).

    With ``lambda_v = 0`` the content term is absent and the minimiser is ``W = 0``.
    """
    n, d = X.shape
    if lambda_v == 0:
        return np.zeros((d, V.shape[1]))
    ridge = lambda_w / lambda_v
    if ridge == 0:
        return np.linalg.lstsq(X, V, rcond=None)[0]
    if d <= n:
        return np.linalg.solve(X.T @ X + ridge * np.eye(d), X.T @ V)
    # Dual form: X^T (X X^T + ridge I)^{-1} V equals the primal solution, cheaper when D > N.
    return X.T @ np.linalg.solve(X @ X.T + ridge * np.eye(n), V)


def als_loss(
    counts: sp.csr_matrix, X: np.ndarray, model_or_U: ALSModel | np.ndarray,
    V: np.ndarray | None = None, W: np.ndarray | None = None, params: ALSParams | None = None,
) -> float:
    """The objective ``L`` (module docstring) of factors ``U, V, W`` on ``counts``."""
    if isinstance(model_or_U, ALSModel):
        U, V, W = model_or_U.U, model_or_U.V, model_or_U.W
    else:
        U = model_or_U
    assert V is not None and W is not None and params is not None
    coo = counts.tocoo()
    # sum over all cells of (u.v)^2, then correct the non-zero cells to C (1 - u.v)^2.
    total = float(np.sum((U.T @ U) * (V.T @ V)))
    step = max(1, _BLOCK_VALUES // U.shape[1])
    for a in range(0, coo.nnz, step):
        rows, cols = coo.row[a : a + step], coo.col[a : a + step]
        pred = np.einsum("ij,ij->i", U[rows], V[cols])
        conf = 1.0 + params.alpha * coo.data[a : a + step]
        total += float(np.sum(conf * (1.0 - pred) ** 2 - pred**2))
    loss = 0.5 * total + 0.5 * params.lambda_u * float(np.sum(U**2))
    loss += 0.5 * params.lambda_v * float(np.sum((V - X @ W) ** 2))
    loss += 0.5 * params.lambda_w * float(np.sum(W**2))
    return loss


def fit_content_als(
    counts: sp.spmatrix, X: np.ndarray, params: ALSParams, seed: int, track_loss: bool = True,
    V0: np.ndarray | None = None,
) -> ALSModel:
    """Fit ``U, V, W`` on a user x item count matrix and the items' features ``X``.

    ``counts``: ``(n_users, n_items)`` non-negative play counts (zero = no
    interaction); ``X``: ``(n_items, D)`` features of the same items, already
    standardised. ``V`` starts as ``V0`` or else small Gaussian noise from ``seed``,
    ``W`` as its ridge fit; each iteration updates ``U``, then ``V``, then ``W``. With
    ``track_loss`` the objective after every half-step is kept in ``model.losses``
    as ``(iteration, block, loss)``.
    """
    R = sp.csr_matrix(counts, dtype=np.float64)
    R.eliminate_zeros()
    if R.data.size and R.data.min() < 0:
        raise ValueError("play counts must be non-negative")
    X = np.asarray(X, dtype=np.float64)
    n_users, n_items = R.shape
    if X.shape[0] != n_items:
        raise ValueError(f"features have {X.shape[0]} rows but the count matrix has {n_items} items")
    rng = np.random.default_rng(seed)
    r = params.factors
    V = rng.normal(scale=0.01, size=(n_items, r)) if V0 is None else np.array(V0, dtype=np.float64)
    W = solve_w(X, V, params.lambda_v, params.lambda_w)
    U = np.zeros((n_users, r))
    Rt = R.T.tocsr()
    model = ALSModel(U=U, V=V, W=W, seed=seed)
    for it in range(1, params.iterations + 1):
        model.U = _solve_rows(R, model.V, params.alpha, params.lambda_u, None)
        if track_loss:
            model.losses.append((it, "U", als_loss(R, X, model, params=params)))
        model.V = _solve_rows(Rt, model.U, params.alpha, params.lambda_v, X @ model.W)
        if track_loss:
            model.losses.append((it, "V", als_loss(R, X, model, params=params)))
        model.W = solve_w(X, model.V, params.lambda_v, params.lambda_w)
        if track_loss:
            model.losses.append((it, "W", als_loss(R, X, model, params=params)))
            log.debug("ALS iteration %d: loss %.6g", it, model.losses[-1][2])
    return model


def kcore_filter(
    users: np.ndarray, items: np.ndarray, min_user_items: int, min_item_users: int
) -> tuple[np.ndarray, int]:
    """Keep interactions whose user has >= ``min_user_items`` items and whose item has
    >= ``min_item_users`` users, repeating until both hold for every kept row.

    ``users``, ``items``: one entry per distinct (user, item) interaction. Returns the
    boolean mask of kept rows and the number of passes made (the last pass removes
    nothing).
    """
    keep = np.ones(len(users), dtype=bool)
    _, uinv = np.unique(users, return_inverse=True)
    _, iinv = np.unique(items, return_inverse=True)
    passes = 0
    while True:
        passes += 1
        ucount = np.bincount(uinv[keep], minlength=uinv.max(initial=-1) + 1)
        icount = np.bincount(iinv[keep], minlength=iinv.max(initial=-1) + 1)
        new = keep & (ucount[uinv] >= min_user_items) & (icount[iinv] >= min_item_users)
        if new.sum() == keep.sum():
            return keep, passes
        keep = new
