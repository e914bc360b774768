"""Probabilistic latent semantic analysis (pLSA) fitted by EM on a sparse count matrix.

The aspect model in its asymmetric form: P(w|d) = sum_z P(z|d) P(w|z). For a
document-term matrix N (documents x terms, non-negative weights n(d, w)) one EM
iteration is

    q(z|d,w) = P(z|d) P(w|z) / P(w|d)                                   (E step)
    P(w|z)  ∝ sum_d n(d,w) q(z|d,w) = P(w|z) * sum_d [n(d,w)/P(w|d)] P(z|d)
    P(z|d)  = (1/n(d)) sum_w n(d,w) q(z|d,w) = P(z|d)/n(d) * sum_w [n(d,w)/P(w|d)] P(w|z)

so the posterior q is never stored: per non-zero we need only the ratio
r(d,w) = n(d,w) / P(w|d), and both updates are sparse-dense products with r.
The kernels are compiled with numba and run in parallel without two threads ever
writing the same memory:

- ``fused`` (default when it fits): one pass over the rows computes P(w|d), r, the
  P(z|d) update and, per block of rows, a private P(w|z) accumulator (terms x k);
  the blocks' accumulators are summed afterwards. Fastest; needs
  threads x terms x k x 8 bytes of buffers.
- ``two_pass``: a pass over the columns (a CSC copy of the index) computes r and the
  P(w|z) accumulator, then a pass over the rows the P(z|d) update. Its working
  memory is a few arrays of the size of the non-zeros whatever the number of
  terms, so it is used when the fused buffers would exceed ``buffer_mb``
  (the Taste Profile has about a million users).

The log-likelihood sum_{d,w} n(d,w) log P(w|d) is computed in the same pass and
recorded after every iteration (EM never decreases it). ``PLSAReference`` is a
plain NumPy/SciPy version of the same update, kept as the test oracle and the
benchmark's reference.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

log = logging.getLogger(__name__)

_TINY = 1e-300
# Re-association lets LLVM vectorise the k-long dot products; no NaN/Inf assumptions.
_FM = {"reassoc", "contract", "arcp", "nsz"}


# --------------------------------------------------------------------------- kernels


@numba.njit(parallel=True, fastmath=_FM, cache=True)
def _fused_pass(indptr, indices, data, theta, phi_t, acc_local, doc_len, bounds):
    """One EM iteration in a single pass over the rows.

    Row block c (rows ``bounds[c]:bounds[c+1]``) accumulates sum_d r(d,w) theta[d]
    into its own buffer ``acc_local[c]`` (terms x k), so threads never share writes;
    theta is updated in place. Returns sum n log P(w|d) before the update."""
    n_blocks = bounds.shape[0] - 1
    k = theta.shape[1]
    total = 0.0
    for c in numba.prange(n_blocks):
        acc_phi = acc_local[c]
        acc_phi[:] = 0.0
        acc = np.empty(k)
        part = 0.0
        for d in range(bounds[c], bounds[c + 1]):
            td = theta[d]
            acc[:] = 0.0
            for j in range(indptr[d], indptr[d + 1]):
                w = indices[j]
                pw = phi_t[w]
                s = 0.0
                for z in range(k):
                    s += td[z] * pw[z]
                if s < _TINY:
                    s = _TINY
                n = data[j]
                r = n / s
                part += n * math.log(s)
                aw = acc_phi[w]
                for z in range(k):
                    acc[z] += r * pw[z]
                    aw[z] += r * td[z]
            inv = 1.0 / doc_len[d] if doc_len[d] > 0 else 0.0
            for z in range(k):
                theta[d, z] = td[z] * acc[z] * inv
        total += part
    return total


@numba.njit(parallel=True, fastmath=_FM, cache=True)
def _column_pass(csc_indptr, csc_rows, csc_data, csc_to_csr, theta, phi_t, ratio, acc_phi_t):
    """Over columns: P(w|d) per non-zero, r = n / P(w|d) (stored in CSR order),
    acc_phi_t[w] = sum_d r(d,w) theta[d]. Returns sum n log P(w|d)."""
    n_cols = csc_indptr.shape[0] - 1
    k = theta.shape[1]
    total = 0.0
    for w in numba.prange(n_cols):
        acc = np.zeros(k)
        pw = phi_t[w]
        part = 0.0
        for j in range(csc_indptr[w], csc_indptr[w + 1]):
            d = csc_rows[j]
            td = theta[d]
            s = 0.0
            for z in range(k):
                s += td[z] * pw[z]
            if s < _TINY:
                s = _TINY
            n = csc_data[j]
            r = n / s
            ratio[csc_to_csr[j]] = r
            part += n * math.log(s)
            for z in range(k):
                acc[z] += r * td[z]
        for z in range(k):
            acc_phi_t[w, z] = acc[z]
        total += part
    return total


@numba.njit(parallel=True, fastmath=_FM, cache=True)
def _row_pass(indptr, indices, ratio, phi_t, theta, doc_len):
    """Over rows: theta[d] <- theta[d] * (sum_w r(d,w) phi_t[w]) / n(d), in place."""
    n_rows = indptr.shape[0] - 1
    k = theta.shape[1]
    for d in numba.prange(n_rows):
        acc = np.zeros(k)
        for j in range(indptr[d], indptr[d + 1]):
            r = ratio[j]
            pw = phi_t[indices[j]]
            for z in range(k):
                acc[z] += r * pw[z]
        inv = 1.0 / doc_len[d] if doc_len[d] > 0 else 0.0
        for z in range(k):
            theta[d, z] = theta[d, z] * acc[z] * inv


@numba.njit(parallel=True, fastmath=_FM, cache=True)
def _fold_in_pass(indptr, indices, data, phi_t, theta, doc_len):
    """One EM step for P(z|d) with P(w|z) fixed (rows only). Returns the log-likelihood
    of ``theta`` before the step."""
    n_rows = indptr.shape[0] - 1
    k = theta.shape[1]
    total = 0.0
    for d in numba.prange(n_rows):
        acc = np.zeros(k)
        td = theta[d]
        part = 0.0
        for j in range(indptr[d], indptr[d + 1]):
            pw = phi_t[indices[j]]
            s = 0.0
            for z in range(k):
                s += td[z] * pw[z]
            if s < _TINY:
                s = _TINY
            n = data[j]
            part += n * math.log(s)
            r = n / s
            for z in range(k):
                acc[z] += r * pw[z]
        inv = 1.0 / doc_len[d] if doc_len[d] > 0 else 0.0
        for z in range(k):
            theta[d, z] = td[z] * acc[z] * inv
        total += part
    return total


@numba.njit(parallel=True, fastmath=_FM, cache=True)
def _loglik_rows(indptr, indices, data, phi_t, theta):
    """sum n(d,w) log P(w|d) over the non-zeros."""
    n_rows = indptr.shape[0] - 1
    k = theta.shape[1]
    total = 0.0
    for d in numba.prange(n_rows):
        td = theta[d]
        part = 0.0
        for j in range(indptr[d], indptr[d + 1]):
            pw = phi_t[indices[j]]
            s = 0.0
            for z in range(k):
                s += td[z] * pw[z]
            if s < _TINY:
                s = _TINY
            part += data[j] * math.log(s)
        total += part
    return total


# --------------------------------------------------------------------------- helpers


def _as_counts(X: Any, what: str = "X") -> sp.csr_matrix:
    """Validate a (sparse or dense) non-negative matrix and return canonical CSR float64."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    else:
        X = sp.csr_matrix(np.asarray(X, dtype=np.float64))
    X.sum_duplicates()
    X.sort_indices()
    if X.data.size and not np.all(np.isfinite(X.data)):
        raise ValueError(f"{what} has non-finite entries")
    if X.data.size and X.data.min() < 0:
        raise ValueError(f"{what} has negative entries; pLSA needs counts or non-negative weights")
    X.eliminate_zeros()
    X.indices = X.indices.astype(np.int32, copy=False) if X.shape[1] < 2**31 else X.indices
    X.indptr = X.indptr.astype(np.int64, copy=False)
    return X


def _set_threads(n_threads: int | None) -> int:
    """Set numba's thread count (bounded by what numba was started with); return it."""
    if n_threads is not None:
        numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    return numba.get_num_threads()


def _random_simplex(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Rows drawn uniformly at random in (0, 1), normalised to sum to 1."""
    a = rng.random(shape) + 1e-3
    a /= a.sum(axis=1, keepdims=True)
    return a


class _CscPlan:
    """The column-major view of a CSR matrix plus the CSC -> CSR position map."""

    def __init__(self, X: sp.csr_matrix):
        nnz = X.nnz
        rows = np.repeat(np.arange(X.shape[0], dtype=np.int32), np.diff(X.indptr))
        order = np.argsort(X.indices, kind="stable")  # columns, rows ascending inside
        self.indptr = np.zeros(X.shape[1] + 1, dtype=np.int64)
        np.cumsum(np.bincount(X.indices, minlength=X.shape[1]), out=self.indptr[1:])
        self.rows = rows[order]
        self.data = X.data[order]
        self.to_csr = order.astype(np.int64 if nnz >= 2**31 else np.int32)


# --------------------------------------------------------------------------- estimator


class PLSA(TransformerMixin, BaseEstimator):
    """pLSA (aspect model) fitted by EM, in the style of a scikit-learn estimator.

    Parameters
    ----------
    n_components: number of topics k (the paper: 50).
    max_iter: EM iterations (the paper: 100).
    tol: stop early when the relative log-likelihood gain of an iteration is below
        ``tol`` (0 = always run ``max_iter`` iterations, as the paper did).
    random_state: seed of the random initialisation.
    n_threads: numba threads (None = numba's default).
    fold_in_iter: EM iterations of ``transform`` (None = ``max_iter``).
    algorithm: ``fused``, ``two_pass`` or ``auto`` (fused when its buffers fit in
        ``buffer_mb``); both give the same result up to rounding.

    Attributes after ``fit``
    ------------------------
    components_: (k, n_terms) P(w|z), rows sum to 1.
    doc_topic_: (n_docs, k) P(z|d) of the training documents, rows sum to 1.
    loglik_: (n_iter_ + 1,) log-likelihood sum n log P(w|d): index 0 at the random
        start, index i after i EM iterations.
    n_iter_: iterations run; ``seconds_per_iteration_``: mean wall time per iteration;
    ``algorithm_``: the kernel used.
    """

    def __init__(
        self,
        n_components: int = 50,
        max_iter: int = 100,
        tol: float = 0.0,
        random_state: int | None = None,
        n_threads: int | None = None,
        fold_in_iter: int | None = None,
        algorithm: str = "auto",
        buffer_mb: float = 1024.0,
        verbose: bool = False,
    ):
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_threads = n_threads
        self.fold_in_iter = fold_in_iter
        self.algorithm = algorithm
        self.buffer_mb = buffer_mb
        self.verbose = verbose

    # -- fitting
    def fit(self, X: Any, y: Any = None) -> "PLSA":
        """Fit P(w|z) and P(z|d) to the count matrix ``X`` (documents x terms)."""
        self._fit(X)
        return self

    def fit_transform(self, X: Any, y: Any = None, **_: Any) -> np.ndarray:
        """Fit and return P(z|d) of the training documents."""
        self._fit(X)
        return self.doc_topic_.copy()

    def _choose_algorithm(self, n_terms: int, k: int, threads: int) -> str:
        if self.algorithm not in ("auto", "fused", "two_pass"):
            raise ValueError(f"algorithm must be auto, fused or two_pass, got {self.algorithm!r}")
        if self.algorithm != "auto":
            return self.algorithm
        need_mb = threads * n_terms * k * 8 / 2**20
        return "fused" if need_mb <= self.buffer_mb else "two_pass"

    def _fit(self, X: Any) -> None:
        X = _as_counts(X)
        n_docs, n_terms = X.shape
        k = int(self.n_components)
        if k < 1:
            raise ValueError(f"n_components must be >= 1, got {k}")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        doc_len = np.asarray(X.sum(axis=1)).ravel()
        empty = int(np.count_nonzero(doc_len <= 0))
        if empty:
            raise ValueError(
                f"{empty} of {n_docs} documents have no counts; drop them before fitting pLSA"
            )
        threads = _set_threads(self.n_threads)
        algorithm = self._choose_algorithm(n_terms, k, threads)
        rng = np.random.default_rng(self.random_state)
        theta = _random_simplex(rng, (n_docs, k))
        phi_t = np.ascontiguousarray(_random_simplex(rng, (k, n_terms)).T)  # (terms, k)
        if algorithm == "fused":
            n_blocks = min(threads, n_docs)
            cuts = np.searchsorted(X.indptr, np.linspace(0, X.nnz, n_blocks + 1), side="left")
            bounds = np.clip(cuts, 0, n_docs).astype(np.int64)
            bounds[0], bounds[-1] = 0, n_docs
            acc_local = np.empty((n_blocks, n_terms, k))
        else:
            plan = _CscPlan(X)
            ratio = np.empty(X.nnz, dtype=np.float64)
            acc_phi_t = np.empty_like(phi_t)
        trace: list[float] = []
        t0 = time.perf_counter()
        n_iter = 0
        for it in range(int(self.max_iter)):
            if algorithm == "fused":
                ll = _fused_pass(X.indptr, X.indices, X.data, theta, phi_t, acc_local, doc_len, bounds)
                acc_phi_t = acc_local.sum(axis=0)
            else:
                ll = _column_pass(
                    plan.indptr, plan.rows, plan.data, plan.to_csr, theta, phi_t, ratio, acc_phi_t
                )
                _row_pass(X.indptr, X.indices, ratio, phi_t, theta, doc_len)
            trace.append(float(ll))
            np.multiply(phi_t, acc_phi_t, out=phi_t)
            phi_t /= np.maximum(phi_t.sum(axis=0, keepdims=True), _TINY)
            n_iter = it + 1
            if self.verbose:
                log.info("pLSA iteration %d/%d: log-likelihood %.6e", n_iter, self.max_iter, ll)
            if self.tol > 0 and it > 0 and abs(trace[-1] - trace[-2]) <= self.tol * abs(trace[-2]):
                break
        elapsed = time.perf_counter() - t0
        trace.append(float(_loglik_rows(X.indptr, X.indices, X.data, phi_t, theta)))
        theta /= theta.sum(axis=1, keepdims=True)  # exact renormalisation of rounding
        self.components_ = np.ascontiguousarray(phi_t.T)
        self.doc_topic_ = theta
        self.loglik_ = np.asarray(trace)
        self.n_iter_ = n_iter
        self.n_features_in_ = n_terms
        self.algorithm_ = algorithm
        self.seconds_per_iteration_ = elapsed / max(n_iter, 1)

    # -- folding in
    def transform(self, X: Any) -> np.ndarray:
        """P(z|d) of new documents with P(w|z) fixed (EM fold-in); empty rows get NaN."""
        if not hasattr(self, "components_"):
            raise ValueError("this PLSA instance is not fitted yet; call fit first")
        X = _as_counts(X)
        if X.shape[1] != self.components_.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} terms but the model was fitted on {self.components_.shape[1]}"
            )
        _set_threads(self.n_threads)
        rng = np.random.default_rng(self.random_state)
        theta = _random_simplex(rng, (X.shape[0], self.components_.shape[0]))
        phi_t = np.ascontiguousarray(self.components_.T)
        doc_len = np.asarray(X.sum(axis=1)).ravel()
        iters = int(self.fold_in_iter if self.fold_in_iter is not None else self.max_iter)
        for _ in range(iters):
            _fold_in_pass(X.indptr, X.indices, X.data, phi_t, theta, doc_len)
        theta[doc_len <= 0] = np.nan
        ok = doc_len > 0
        theta[ok] /= theta[ok].sum(axis=1, keepdims=True)
        return theta

    def score(self, X: Any, y: Any = None) -> float:
        """Log-likelihood of ``X`` under the model, P(z|d) folded in."""
        X = _as_counts(X)
        theta = np.nan_to_num(self.transform(X))
        return float(_loglik_rows(X.indptr, X.indices, X.data, np.ascontiguousarray(self.components_.T), theta))


class PLSAReference:
    """The same EM update written with NumPy gathers and SciPy sparse products.

    Slower and memory-hungrier than :class:`PLSA`; it exists as an independent
    oracle (tests check parity) and as the benchmark's reference.
    """

    def __init__(self, theta: np.ndarray, phi: np.ndarray, chunk: int = 1 << 18):
        self.theta = np.array(theta, dtype=np.float64)
        self.phi = np.array(phi, dtype=np.float64)  # (k, terms)
        self.chunk = chunk

    def step(self, X: sp.csr_matrix) -> float:
        """One EM iteration in place; returns the log-likelihood before it."""
        X = _as_counts(X)
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        cols = X.indices
        phi_t = self.phi.T
        denom = np.empty(X.nnz)
        for s in range(0, X.nnz, self.chunk):
            e = min(s + self.chunk, X.nnz)
            denom[s:e] = np.einsum("ij,ij->i", self.theta[rows[s:e]], phi_t[cols[s:e]])
        denom = np.maximum(denom, _TINY)
        ll = float(np.sum(X.data * np.log(denom)))
        R = sp.csr_matrix((X.data / denom, X.indices, X.indptr), shape=X.shape)
        acc_theta = R @ phi_t  # (docs, k)
        acc_phi = (R.T @ self.theta).T  # (k, terms)
        doc_len = np.asarray(X.sum(axis=1)).ravel()
        self.theta = self.theta * acc_theta / doc_len[:, None]
        self.phi = self.phi * acc_phi
        self.phi /= np.maximum(self.phi.sum(axis=1, keepdims=True), _TINY)
        return ll


def top_terms(components: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and weights of the ``n`` strongest terms of each topic (descending)."""
    n = min(n, components.shape[1])
    idx = np.argsort(-components, axis=1, kind="stable")[:, :n]
    return idx, np.take_along_axis(components, idx, axis=1)
