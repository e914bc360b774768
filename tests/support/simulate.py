"""Scores simulated from model 1 with known effects (validation of the fitting code).

:func:`simulate_model1` draws y* for every run of a run table on every target from
model 1 (SPEC section 9) with given fixed effects b0[r], b1[r] and variances s0[r]^2,
s1[r]^2, s_e^2; the analysis must recover them. Used by the tests and by
``bench/reml.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from onerep.analysis.coding import SINGLE, n_star, order_strategies, r_star, strategy_label


@dataclass(frozen=True)
class Model1Truth:
    """Known parameters of model 1, per strategy id."""

    b0: Mapping[str, float]
    b1: Mapping[str, float]
    s0: Mapping[str, float]
    """Standard deviations of the random intercepts."""
    s1: Mapping[str, float]
    """Standard deviations of the random slopes."""
    se: float

    def fixed(self) -> dict[str, float]:
        """Fixed effects by the models' parameter names (``b0[SS-R]``, ``b1[MS-CR@2]``, ...)."""
        out = {f"b0[{strategy_label(r)}]": v for r, v in self.b0.items()}
        out.update({f"b1[{strategy_label(r)}]": v for r, v in self.b1.items() if r != SINGLE})
        return out


#: Effects roughly the size of the paper's Fig. 11 (standardised units).
PAPER_LIKE = Model1Truth(
    b0={"ssr": -0.9, "mssr_fc": -0.4, "mscr6": 0.1, "mscr4": 0.2, "mscr2": 0.3, "msscr": 0.35},
    b1={"ssr": 0.0, "mssr_fc": 0.02, "mscr6": 0.12, "mscr4": 0.14, "mscr2": 0.16, "msscr": 0.16},
    s0={"ssr": 0.25, "mssr_fc": 0.2, "mscr6": 0.15, "mscr4": 0.15, "mscr2": 0.15, "msscr": 0.15},
    s1={"ssr": 0.0, "mssr_fc": 0.04, "mscr6": 0.03, "mscr4": 0.03, "mscr2": 0.03, "msscr": 0.03},
    se=0.35,
)


def simple_design(strategies: Sequence[str], sources: int, ssr_replicates: int, multi_runs: int,
                  seed: int) -> pd.DataFrame:
    """A run table: SS-R ``ssr_replicates`` x each source, ``multi_runs`` per multi-source
    strategy with n drawn uniformly from 2..``sources`` (columns run_id, strategy, n)."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in order_strategies(strategies):
        if r == SINGLE:
            rows += [dict(run_id=f"ssr_s{s}_r{k}", strategy=r, n=1)
                     for s in range(sources) for k in range(ssr_replicates)]
        else:
            ns = rng.integers(2, sources + 1, size=multi_runs)
            rows += [dict(run_id=f"{r}_{i}", strategy=r, n=int(n)) for i, n in enumerate(ns)]
    return pd.DataFrame(rows)


def simulate_model1(runs: pd.DataFrame, targets: Sequence[str], truth: Model1Truth,
                    seed: int) -> pd.DataFrame:
    """Standardised-scale scores of every run on every target drawn from model 1.

    Returns the model table: run_id, target, strategy, n, n_star, r_star, y_std, kind.
    """
    rng = np.random.default_rng(seed)
    strategies = order_strategies(runs["strategy"])
    ns = n_star(runs["strategy"], runs["n"]).to_numpy(dtype=float)
    frames = []
    for d in targets:
        u0 = {r: rng.normal(0, truth.s0[r]) for r in strategies}
        u1 = {r: rng.normal(0, truth.s1[r]) for r in strategies}
        b0 = np.array([truth.b0[r] + u0[r] for r in runs["strategy"]])
        b1 = np.array([truth.b1[r] + u1[r] for r in runs["strategy"]])
        y = b0 + b1 * ns + rng.normal(0, truth.se, size=len(runs))
        frames.append(pd.DataFrame({"run_id": runs["run_id"].to_numpy(), "target": d,
                                    "strategy": runs["strategy"].to_numpy(), "n": runs["n"].to_numpy(),
                                    "n_star": ns, "y_std": y}))
    out = pd.concat(frames, ignore_index=True)
    out["r_star"] = r_star(out["strategy"])
    out["kind"] = "run"
    return out


#: Metric and raw scale (mean, sd) of each synthetic target, like the paper's tasks.
SYNTHETIC_TARGETS: dict[str, tuple[str, float, float]] = {
    "gtzan": ("accuracy", 0.70, 0.06),
    "ballroom": ("accuracy", 0.55, 0.08),
    "emotion_arousal": ("r2", 0.50, 0.05),
    "lastfm1k": ("ndcg@500", 0.20, 0.02),
}


def write_synthetic_study(root: str | os.PathLike[str], runs: pd.DataFrame, truth: Model1Truth = PAPER_LIKE,
                          targets: Mapping[str, tuple[str, float, float]] | None = None,
                          repetitions: int = 3, seed: int = 0, baselines: Sequence[str] = ("mfcc", "rand"),
                          ) -> dict[str, object]:
    """Write a study's ``design/runs.tsv`` and ``scores/<rep>/<target>.tsv`` drawn from model 1.

    ``runs`` needs run_id, strategy, sources (comma-separated) and n. Raw scores are
    ``mean + sd * y*`` per target plus repetition noise; baselines score near the
    bottom. Returns what a settings JSON needs (targets, baselines, strategies).
    """
    from pathlib import Path

    targets = dict(targets or SYNTHETIC_TARGETS)
    root = Path(root)
    (root / "design").mkdir(parents=True, exist_ok=True)
    table = runs.copy()
    table.insert(1, "phase", np.where(table.strategy == SINGLE, 1, 3))
    table["replicate"] = 1
    table["seed"] = np.arange(len(table))
    table[["run_id", "phase", "strategy", "sources", "n", "replicate", "seed"]].to_csv(
        root / "design" / "runs.tsv", sep="\t", index=False)
    model = simulate_model1(runs, list(targets), truth, seed)
    rng = np.random.default_rng(seed + 1)
    cols = ["run_id", "target", "repetition", "metric", "value", "seed", "strategy", "sources", "n",
            "n_train", "n_test"]
    meta = runs.set_index("run_id")
    for row in model.itertuples():
        metric, mu, sd = targets[row.target]
        vals = mu + sd * row.y_std + rng.normal(0, sd * 0.1, size=repetitions)
        df = pd.DataFrame({"run_id": row.run_id, "target": row.target, "repetition": np.arange(repetitions),
                           "metric": metric, "value": vals, "seed": 0, "strategy": row.strategy,
                           "sources": meta.loc[row.run_id, "sources"], "n": row.n, "n_train": 80, "n_test": 20})
        out = root / "scores" / row.run_id / f"{row.target}.tsv"
        out.parent.mkdir(parents=True, exist_ok=True)
        df[cols].to_csv(out, sep="\t", index=False)
    strategies = order_strategies(runs.strategy)
    reps = ((["mfcc"] if "mfcc" in baselines else [])
            + ([f"rand-{r}" for r in strategies] if "rand" in baselines else []))
    for k, rep in enumerate(reps):
        for target, (metric, mu, sd) in targets.items():
            vals = mu - sd * (1.5 + 0.5 * k) + rng.normal(0, sd * 0.1, size=repetitions)
            df = pd.DataFrame({"run_id": rep, "target": target, "repetition": np.arange(repetitions),
                               "metric": metric, "value": vals, "seed": 0, "strategy": "baseline",
                               "sources": rep, "n": 0, "n_train": 80, "n_test": 20})
            out = root / "scores" / rep / f"{target}.tsv"
            out.parent.mkdir(parents=True, exist_ok=True)
            df[cols].to_csv(out, sep="\t", index=False)
    return {"targets": list(targets), "extract.baselines": [b for b in ("mfcc", "rand") if b in baselines],
            "design.strategies": strategies, "extract.user_features": {}}


def design_with_sources(sources: Sequence[str], strategies: Sequence[str], ssr_replicates: int,
                        multi_runs: int, seed: int) -> pd.DataFrame:
    """A run table with real source sets (run_id, strategy, sources, n): SS-R per source,
    every multi-source strategy with all sources once, then ``multi_runs`` random sets each."""
    rng = np.random.default_rng(seed)
    sources = list(sources)
    rows = []
    for r in order_strategies(strategies):
        if r == SINGLE:
            rows += [dict(run_id=f"ssr_{s}_r{k + 1}", strategy=r, sources=s, n=1)
                     for s in sources for k in range(ssr_replicates)]
            continue
        rows.append(dict(run_id=f"{r}_{'-'.join(sorted(sources))}_r1", strategy=r,
                         sources=",".join(sources), n=len(sources)))
        seen = set()
        for _ in range(multi_runs):
            n = int(rng.integers(2, len(sources)))
            pick = tuple(sorted(rng.choice(sources, size=n, replace=False)))
            if pick in seen:
                continue
            seen.add(pick)
            rows.append(dict(run_id=f"{r}_{'-'.join(pick)}_r1", strategy=r, sources=",".join(pick), n=n))
    return pd.DataFrame(rows)
