"""Speed of the REML engine against statsmodels' MixedLM on model 1 (paper-sized data).

    python bench/reml.py [--runs-per-strategy 75] [--replicates 20]

simulates scores of the paper's design size from model 1 (``tests/support/simulate.py``),
fits it with :mod:`onerep.analysis.reml` and with statsmodels (``MixedLM`` with the same
variance components, its default optimiser list), and prints the time of each, their
ratio and the REML log-likelihoods reached; then the time per bootstrap replicate. Both
run in this process, one BLAS thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from onerep.analysis.bootstrap import bootstrap
from onerep.analysis.models import fit_mixed, fit_statsmodels, model1_spec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.simulate import PAPER_LIKE, simple_design, simulate_model1  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs-per-strategy", type=int, default=75)
    p.add_argument("--replicates", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    with threadpool_limits(1):
        runs = simple_design(["ssr", "mssr_fc", "mscr6", "mscr4", "mscr2", "msscr"], 8, 6, a.runs_per_strategy,
                             seed=a.seed)
        data = simulate_model1(runs, [f"d{i}" for i in range(7)], PAPER_LIKE, a.seed)
        spec = model1_spec(data)
        fit_mixed(spec)  # warm-up: first-use imports are not timed
        t0 = time.perf_counter()
        ours = fit_mixed(spec, keep_resid=True)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = fit_statsmodels(spec, method=["lbfgs", "bfgs", "cg"])
        t_sm = time.perf_counter() - t0
        print(f"model 1 on {len(data)} rows ({len(runs)} runs x 7 targets), {len(spec.fe_names)} fixed effects, "
              f"{len(spec.vc_names)} variance components")
        print(f"onerep REML:  {t_ours:.3f} s  llf {ours.llf:.4f}  converged {ours.converged}")
        print(f"statsmodels:  {t_sm:.3f} s  llf {theirs.llf:.4f}  converged {theirs.converged}")
        print(f"speed ratio statsmodels / onerep: {t_sm / t_ours:.1f}x; max |fixed-effect difference| "
              f"{np.max(np.abs(ours.fe - theirs.fe)):.2e}")
        t0 = time.perf_counter()
        boot = bootstrap(spec, ours, a.replicates, seed=a.seed)
        per = (time.perf_counter() - t0) / max(a.replicates, 1)
        print(f"bootstrap (residual scheme): {per * 1000:.1f} ms per replicate ({boot.n_ok}/{a.replicates} ok); "
              f"1000 replicates ~ {per * 1000:.0f} s on one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
