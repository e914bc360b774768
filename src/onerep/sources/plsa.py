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


def _seed_documents(rng: np.random.Generator, X: sp.csr_matrix, k: int) -> np.ndarray:
    """k documents chosen k-means++-style on the cosine distance of their term profiles:
    each next seed with probability proportional to its squared distance to the nearest
    seed so far, so the seeds spread over the corpus."""
    n = X.shape[0]
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    Xc = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, _TINY)) @ X)
    seeds = [int(rng.integers(n))]
    dist = 1.0 - (Xc @ Xc[seeds[0]].T).toarray().ravel()
    for _ in range(k - 1):
        p = np.maximum(dist, 0.0) ** 2
        total = p.sum()
        j = int(rng.choice(n, p=p / total)) if total > 0 else int(rng.integers(n))
        seeds.append(j)
        dist = np.minimum(dist, 1.0 - (Xc @ Xc[j].T).toarray().ravel())
    return np.asarray(seeds)


def _init_params(rng: np.random.Generator, X: sp.csr_matrix, k: int, init: str) -> tuple[np.ndarray, np.ndarray]:
    """(theta (docs, k), phi (k, terms)) to start EM from.

    ``random``: both uniform at random on the simplex. ``docs``: theta at random,
    P(w|z) of topic z = the term profile of seed document z (``_seed_documents``)
    mixed 2:1 with a random profile so that every term keeps a non-zero weight."""
    n_docs, n_terms = X.shape
    theta = _random_simplex(rng, (n_docs, k))
    noise = _random_simplex(rng, (k, n_terms))
    if init == "random":
        return theta, noise
    if init != "docs":
        raise ValueError(f"init must be 'docs' or 'random', got {init!r}")
    seeds = _seed_documents(rng, X, k)
    prof = X[seeds].toarray()
    prof /= prof.sum(axis=1, keepdims=True)
    phi = (2.0 * prof + noise) / 3.0
    return theta, phi


class _EM:
    """EM state and kernels for one matrix (the CSC plan and buffers are built once)."""

    def __init__(self, X: sp.csr_matrix, k: int, algorithm: str, threads: int):
        self.X = X
        self.k = k
        self.algorithm = algorithm
        self.doc_len = np.asarray(X.sum(axis=1)).ravel()
        n_docs, n_terms = X.shape
        if algorithm == "fused":
            n_blocks = max(1, min(threads, n_docs))
            cuts = np.searchsorted(X.indptr, np.linspace(0, X.nnz, n_blocks + 1), side="left")
            self.bounds = np.clip(cuts, 0, n_docs).astype(np.int64)
            self.bounds[0], self.bounds[-1] = 0, n_docs
            self.acc_local = np.empty((n_blocks, n_terms, k))
        else:
            self.plan = _CscPlan(X)
            self.ratio = np.empty(X.nnz, dtype=np.float64)
            self.acc_phi_t = np.empty((n_terms, k))

    def step(self, theta: np.ndarray, phi_t: np.ndarray) -> float:
        """One EM iteration in place; returns the log-likelihood before it."""
        X = self.X
        if self.algorithm == "fused":
            ll = _fused_pass(X.indptr, X.indices, X.data, theta, phi_t, self.acc_local, self.doc_len,
                             self.bounds)
            acc = self.acc_local.sum(axis=0)
        else:
            pl = self.plan
            ll = _column_pass(pl.indptr, pl.rows, pl.data, pl.to_csr, theta, phi_t, self.ratio, self.acc_phi_t)
            _row_pass(X.indptr, X.indices, self.ratio, phi_t, theta, self.doc_len)
            acc = self.acc_phi_t
        np.multiply(phi_t, acc, out=phi_t)
        phi_t /= np.maximum(phi_t.sum(axis=0, keepdims=True), _TINY)
        return float(ll)

    def loglik(self, theta: np.ndarray, phi_t: np.ndarray) -> float:
        X = self.X
        return float(_loglik_rows(X.indptr, X.indices, X.data, phi_t, theta))


class PLSA(TransformerMixin, BaseEstimator):
    """pLSA (aspect model) fitted by EM, in the style of a scikit-learn estimator.

    Parameters
    ----------
    n_components: number of topics k (the paper: 50).
    max_iter: EM iterations of the fitted model (the paper: 100).
    tol: stop early when the relative log-likelihood gain of an iteration is below
        ``tol`` (0 = always run ``max_iter`` iterations, as the paper did).
    random_state: seed of the initialisation.
    init: ``docs`` (topics seeded from k spread-out documents, k-means++ style) or
        ``random``.
    n_init: EM is a local method; with ``n_init > 1`` that many starts each run
        ``init_iter`` iterations and the one with the highest log-likelihood is
        continued to ``max_iter`` iterations (the others cost ``init_iter`` each).
    init_iter: iterations of each start when ``n_init > 1``.
    n_threads: numba threads (None = numba's default).
    fold_in_iter: EM iterations of ``transform`` (None = ``max_iter``).
    algorithm: ``fused``, ``two_pass`` or ``auto`` (fused when its buffers fit in
        ``buffer_mb``); both give the same result up to rounding.

    Attributes after ``fit``
    ------------------------
    components_: (k, n_terms) P(w|z), rows sum to 1.
    doc_topic_: (n_docs, k) P(z|d) of the training documents, rows sum to 1.
    loglik_: (n_iter_ + 1,) log-likelihood sum n log P(w|d) of the kept start: index 0
        at its initialisation, index i after i EM iterations.
    n_iter_: iterations of the kept start; ``restart_logliks_``: log-likelihood of each
        start after ``init_iter`` iterations; ``seconds_per_iteration_``: mean wall time
        per iteration; ``algorithm_``: the kernel used.
    """

    def __init__(
        self,
        n_components: int = 50,
        max_iter: int = 100,
        tol: float = 0.0,
        random_state: int | None = None,
        init: str = "docs",
        n_init: int = 1,
        init_iter: int = 10,
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
        self.init = init
        self.n_init = n_init
        self.init_iter = init_iter
        self.n_threads = n_threads
        self.fold_in_iter = fold_in_iter
        self.algorithm = algorithm
        self.buffer_mb = buffer_mb
        self.verbose = verbose

    # -- fitting
    def fit(self, X: Any, y: Any = None) -> PLSA:
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

    def _run(self, em: _EM, theta: np.ndarray, phi_t: np.ndarray, n: int, trace: list[float]) -> int:
        """Up to ``n`` EM iterations appending to ``trace``; returns the iterations run."""
        done = 0
        for _ in range(n):
            trace.append(em.step(theta, phi_t))
            done += 1
            if self.verbose and (len(trace) % 10 == 0 or len(trace) == 1):
                log.info("pLSA iteration %d: log-likelihood %.6e", len(trace), trace[-1])
            if self.tol > 0 and len(trace) > 1 and abs(trace[-1] - trace[-2]) <= self.tol * abs(trace[-2]):
                break
        return done

    def _fit(self, X: Any) -> None:
        X = _as_counts(X)
        n_docs, n_terms = X.shape
        k = int(self.n_components)
        if k < 1:
            raise ValueError(f"n_components must be >= 1, got {k}")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if int(self.n_init) < 1:
            raise ValueError(f"n_init must be >= 1, got {self.n_init}")
        doc_len = np.asarray(X.sum(axis=1)).ravel()
        empty = int(np.count_nonzero(doc_len <= 0))
        if empty:
            raise ValueError(
                f"{empty} of {n_docs} documents have no counts; drop them before fitting pLSA"
            )
        threads = _set_threads(self.n_threads)
        algorithm = self._choose_algorithm(n_terms, k, threads)
        em = _EM(X, k, algorithm, threads)
        rng = np.random.default_rng(self.random_state)
        t0 = time.perf_counter()
        total_iters = 0
        n_init = int(self.n_init)
        first = min(int(self.init_iter), int(self.max_iter)) if n_init > 1 else 0
        best: tuple[float, np.ndarray, np.ndarray, list[float]] | None = None
        restart_ll = []
        for c in range(n_init):
            theta, phi = _init_params(rng, X, k, self.init)
            phi_t = np.ascontiguousarray(phi.T)
            trace: list[float] = []
            total_iters += self._run(em, theta, phi_t, first, trace)
            ll = em.loglik(theta, phi_t) if n_init > 1 else -np.inf
            restart_ll.append(ll)
            if n_init > 1 and self.verbose:
                log.info("pLSA start %d/%d: log-likelihood %.6e after %d iterations", c + 1, n_init, ll, first)
            if best is None or ll > best[0]:
                best = (ll, theta, phi_t, trace)
            del theta, phi_t
        _, theta, phi_t, trace = best
        total_iters += self._run(em, theta, phi_t, int(self.max_iter) - len(trace), trace)
        elapsed = time.perf_counter() - t0
        trace.append(em.loglik(theta, phi_t))
        theta /= theta.sum(axis=1, keepdims=True)  # exact renormalisation of rounding
        self.components_ = np.ascontiguousarray(phi_t.T)
        self.doc_topic_ = theta
        self.loglik_ = np.asarray(trace)
        self.n_iter_ = len(trace) - 1
        self.restart_logliks_ = np.asarray(restart_ll) if n_init > 1 else np.asarray([trace[-1]])
        self.n_features_in_ = n_terms
        self.algorithm_ = algorithm
        self.seconds_per_iteration_ = elapsed / max(total_iters, 1)

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
