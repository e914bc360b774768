"""Benchmark: the greedy phase-3 generator on the paper's design (8 sources, 5 strategies, 352 of 1,230).

    .venv/bin/python bench/design.py               # 8 seeds
    .venv/bin/python bench/design.py --seeds 2 --budget 1230

For each seed: the time of ``build_design`` (incremental criteria), the strategy, n and
per-source counts of phase 3, and the largest |correlation| between two source columns
and between a strategy and a source column over the phase-3 runs (the published design:
strategy counts 68..75, source-source 0.19; SPEC's reference implementation: counts
within 1, 0.08-0.10, < 0.09, about 1 s). Then, in the same run, the time per step of a
naive step that rebuilds the design matrix and its correlation matrix for every
candidate (sampled at five points of the design and extrapolated to the whole budget),
and the ratio. Goal: the paper's design in under 10 s. Last line: ``seconds: X.XX``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from onerep.design import MULTI_SOURCE, build_design, design_spec, enumerate_candidates  # noqa: E402

SOURCES = ["self", "bpm", "year", "taste", "tag", "lyrics", "cdr_tag", "artist"]


def naive_step(cands, chosen: list[int], z: np.ndarray) -> int:
    """One greedy step with every criterion recomputed from the full design matrix per candidate."""
    k, m = len(cands.strategies), len(cands.sources)
    remaining = np.setdiff1d(np.arange(len(cands)), chosen)
    best, best_c = None, -1
    for c in remaining:
        rows = np.array(chosen + [int(c)])
        spreads = []
        for counts, alive in (
            (np.bincount(cands.strategy[rows], minlength=k), np.bincount(cands.strategy[remaining], minlength=k) > 0),
            (np.bincount(cands.n[rows], minlength=m)[2:], np.bincount(cands.n[remaining], minlength=m)[2:] > 0),
            (cands.members[rows].sum(0), cands.members[remaining].any(0)),
        ):
            live = counts[alive]
            spreads.append(int(live.max() - live.min()) if live.size else 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.nan_to_num(np.corrcoef(z[rows].astype(float), rowvar=False)) if len(rows) > 1 else np.zeros((1, 1))
        if r.shape[0] > 1:
            r[: k - 1, : k - 1] = 0
            np.fill_diagonal(r, 0)
        key = (max(spreads), sum(spreads), float(np.abs(r).max()))
        if best is None or key < best:
            best, best_c = key, int(c)
    return best_c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--budget", type=int, default=352)
    args = ap.parse_args()
    config = {"seed": 0, "design": {"sources": SOURCES, "budget": args.budget}}
    times = []
    print("seed  seconds  strategy_counts      n_counts (2..7)          source_counts  max|r| src-src  strat-src")
    last = None
    for seed in range(args.seeds):
        spec = design_spec(config, seed=seed)
        t0 = time.perf_counter()
        design = build_design(spec)
        times.append(time.perf_counter() - t0)
        p3 = design.table[design.table.phase == 3]
        cands = design.candidates
        order = design.greedy.order
        z, _ = cands.columns()
        r = np.corrcoef(z[order].astype(float), rowvar=False)
        k = len(cands.strategies) - 1
        ss = np.abs(r[k:, k:] - np.eye(len(SOURCES))).max()
        st = np.abs(r[:k, k:]).max()
        sc = p3.strategy.value_counts().reindex(list(MULTI_SOURCE)).tolist()
        nc = p3.n.value_counts().sort_index().tolist()
        src = cands.members[order].sum(0)
        print(f"{seed:4d}  {times[-1]:7.2f}  {str(sc):19s}  {str(nc):23s}  {src.min()}..{src.max():<9d}  "
              f"{ss:14.3f}  {st:9.3f}")
        last = design
    mean = float(np.mean(times))
    # naive reference, same run: time single steps at five points of the last design
    cands = enumerate_candidates(MULTI_SOURCE, SOURCES)
    z, _ = cands.columns()
    order = last.greedy.order.tolist()
    points = np.linspace(0, args.budget - 1, 5).astype(int)
    step_times = []
    for t in points:
        t0 = time.perf_counter()
        naive_step(cands, order[:t], z)
        step_times.append(time.perf_counter() - t0)
    naive = float(np.mean(step_times)) * args.budget
    print(f"incremental: {mean:.2f} s per design (mean of {len(times)}); naive recomputation: "
          f"~{naive:.1f} s (extrapolated from {len(points)} steps); ratio naive/incremental {naive / mean:.0f}x")
    print(f"seconds: {mean:.2f}")


if __name__ == "__main__":
    main()
