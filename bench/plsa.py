"""Benchmark: pLSA EM on a count matrix of Last.fm-tag scale.

    .venv/bin/python bench/plsa.py                 # 500,000 x 50,000, 8M non-zeros, k=50
    .venv/bin/python bench/plsa.py --docs 50000 --terms 5000 --nnz 800000   # quick

Fits ``onerep.sources.plsa.PLSA`` for a few iterations on a random sparse matrix
(rows uniform, columns heavy-tailed like tag popularity, values 1..100 like tag
intensities), then times one iteration of the NumPy/SciPy reference implementation
of the same update in the same run and prints the ratio (both from a random start;
the timed iterations are plain EM iterations, without the restarts the labels use). Prints peak memory (the
process's maximum resident set) and, as its last line,
``seconds_per_iteration: X.XX``. Goal: under 2 s per iteration on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp


def random_counts(n_docs: int, n_terms: int, nnz: int, seed: int) -> sp.csr_matrix:
    """A random sparse count matrix with about ``nnz`` non-zeros and Zipf-like columns."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_docs, size=nnz, dtype=np.int64)
    pop = 1.0 / np.arange(1, n_terms + 1) ** 0.8
    cols = rng.choice(n_terms, size=nnz, p=pop / pop.sum()).astype(np.int64)
    cols = rng.permutation(n_terms)[cols]  # popular terms scattered over the columns
    vals = rng.integers(1, 101, size=nnz).astype(np.float64)
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n_docs, n_terms))
    X.sum_duplicates()
    keep = np.diff(X.indptr) > 0
    return X[keep]


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=500_000)
    p.add_argument("--terms", type=int, default=50_000)
    p.add_argument("--nnz", type=int, default=8_000_000)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--iters", type=int, default=5, help="timed EM iterations of PLSA")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--reference-iters", type=int, default=1, help="0 skips the reference")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--algorithm", choices=["auto", "fused", "two_pass"], default="auto")
    a = p.parse_args(argv)

    from onerep.sources.plsa import PLSA, PLSAReference, _random_simplex

    t = time.perf_counter()
    X = random_counts(a.docs, a.terms, a.nnz, a.seed)
    print(f"matrix: {X.shape[0]:,} x {X.shape[1]:,}, {X.nnz:,} non-zeros "
          f"(built in {time.perf_counter() - t:.1f} s); k={a.k}; threads={a.threads}")
    print(f"peak memory after building the matrix: {peak_rss_mb():,.0f} MB")

    load_before = os.getloadavg()[0]
    # Compile the kernels on a small matrix so compilation is not timed.
    PLSA(n_components=3, max_iter=1, random_state=0, n_threads=a.threads, algorithm=a.algorithm).fit(X[:50])

    t = time.perf_counter()
    cpu = time.process_time()
    model = PLSA(n_components=a.k, max_iter=a.iters, random_state=a.seed, n_threads=a.threads,
                 algorithm=a.algorithm, init="random")
    model.fit(X)
    total = time.perf_counter() - t
    cpu = time.process_time() - cpu
    spi = model.seconds_per_iteration_
    ll = model.loglik_
    print(f"PLSA ({model.algorithm_} kernel): {a.iters} iterations in {total:.2f} s including setup; "
          f"{spi:.3f} s per EM iteration (process CPU {cpu:.1f} s in all; load average before "
          f"{load_before:.1f}, after {os.getloadavg()[0]:.1f})")
    monotone = bool(np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1])))
    print(f"log-likelihood: {ll[0]:.6e} -> {ll[-1]:.6e}; monotone: {monotone}")
    print(f"peak memory after PLSA: {peak_rss_mb():,.0f} MB")

    if a.reference_iters > 0:
        rng = np.random.default_rng(a.seed)
        ref = PLSAReference(_random_simplex(rng, (X.shape[0], a.k)), _random_simplex(rng, (a.k, X.shape[1])))
        t = time.perf_counter()
        for _ in range(a.reference_iters):
            ref.step(X)
        ref_spi = (time.perf_counter() - t) / a.reference_iters
        print(f"reference (NumPy gathers + SciPy sparse products): {ref_spi:.3f} s per iteration; "
              f"speed-up of PLSA: {ref_spi / spi:.1f}x")
        print(f"peak memory after reference: {peak_rss_mb():,.0f} MB")
    print(f"seconds_per_iteration: {spi:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
