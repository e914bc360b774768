"""Variance components of the learning sources within each target (paper's Table 6, Fig. 14).

Within one target, over the multi-source (non-SS-R) runs, the standardised score is
modelled as crossed random effects::

    y*_i = mu + sum_s a_s[has_s(i)] + c[strategy(i)] + e_i,
    a_s[0], a_s[1] ~ N(0, s_s^2),  c[r] ~ N(0, s_strategy^2),  e_i ~ N(0, s_e^2)

one random factor per source (its two levels: absent / present) and one for the
strategy, fitted by REML (:mod:`onerep.analysis.reml`, a single group). A source's
component s_s^2 is large when having it or not changes the score much on that
target. Components are reported as percent of the total (all components plus the
residual). A source present in every run (or in none) of a target has no component
there (noted). Fig. 14 relates each (target, source) component to the mean y* of
the SS-R runs of that source on that target (Pearson correlation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .coding import SINGLE, order_strategies
from .reml import VCModel

COLUMNS = ["target", "component", "kind", "variance", "percent", "boundary", "runs", "converged"]


def source_components(data: pd.DataFrame, sources: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Per-target variance components (long table) and notes.

    ``data``: the standardised table restricted to design runs (columns target,
    strategy, y_std and ``has_<source>``).
    """
    rows, notes = [], []
    multi = data[(data.kind == "run") & (data.strategy != SINGLE) & np.isfinite(data.y_std)]
    for target in sorted(multi.target.unique()):
        d = multi[multi.target == target]
        cols, comp_idx, names, kinds = [], [], [], []
        for s in sources:
            h = d[f"has_{s}"].to_numpy()
            if h.min() == h.max():
                notes.append(f"variance components, {target}: source {s} is {'in every' if h.min() else 'in no'} "
                             "multi-source run; it has no component there")
                continue
            k = len(names)
            cols += [(h == 0).astype(float), (h == 1).astype(float)]
            comp_idx += [k, k]
            names.append(s)
            kinds.append("source")
        strategies = order_strategies(d.strategy)
        if len(strategies) > 1:
            k = len(names)
            for r in strategies:
                cols.append((d.strategy == r).to_numpy(dtype=float))
                comp_idx.append(k)
            names.append("strategy")
            kinds.append("strategy")
        if not names or len(d) < 3:
            notes.append(f"variance components, {target}: {len(d)} multi-source runs; nothing to estimate")
            continue
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise"):
                fit = VCModel(d.y_std.to_numpy(dtype=float), np.ones((len(d), 1)), np.column_stack(cols),
                              np.zeros(len(d), dtype=int), np.array(comp_idx)).fit()
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            notes.append(f"variance components, {target}: fit failed ({exc})")
            continue
        var = np.append(fit.vcomp, fit.sigma2)
        total = var.sum()
        pct = 100 * var / total if total > 0 else np.full(len(var), np.nan)
        if not fit.converged:
            notes.append(f"variance components, {target}: the optimiser did not converge ({fit.message})")
        for name, kind, v, p in zip(names + ["residual"], kinds + ["residual"], var, pct):
            rows.append(dict(target=target, component=name, kind=kind, variance=float(v), percent=float(p),
                             boundary=bool(kind != "residual" and v <= 1e-4 * max(fit.sigma2, 1e-12)),
                             runs=len(d), converged=fit.converged))
        zero = [n for n, v in zip(names, fit.vcomp) if v <= 1e-4 * max(fit.sigma2, 1e-12)]
        if zero:
            notes.append(f"variance components, {target}: {', '.join(zero)} estimated at zero (boundary)")
    return pd.DataFrame(rows, columns=COLUMNS), notes


def table6(components: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 6 layout: sources x targets, percent of total variance."""
    src = components[components.kind == "source"]
    if src.empty:
        return pd.DataFrame()
    return src.pivot(index="component", columns="target", values="percent")


def ssr_performance(data: pd.DataFrame, sources: Sequence[str]) -> pd.DataFrame:
    """Mean standardised score of the SS-R runs of each source on each target."""
    ssr = data[(data.kind == "run") & (data.strategy == SINGLE) & np.isfinite(data.y_std)]
    rows = []
    for target, d in ssr.groupby("target"):
        for s in sources:
            hit = d[d[f"has_{s}"] == 1]
            if len(hit):
                rows.append(dict(target=target, source=s, ssr_y_std=float(hit.y_std.mean()), ssr_runs=len(hit)))
    return pd.DataFrame(rows, columns=["target", "source", "ssr_y_std", "ssr_runs"])


def correlation(components: pd.DataFrame, ssr: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Pairs (target, source) of component percent and SS-R y*, and their Pearson correlation."""
    src = components[components.kind == "source"].rename(columns={"component": "source"})
    pairs = src.merge(ssr, on=["target", "source"], how="inner")[
        ["target", "source", "percent", "variance", "ssr_y_std", "ssr_runs"]]
    info: dict[str, float] = {"pairs": float(len(pairs)), "pearson_r": float("nan"), "p_value": float("nan")}
    if len(pairs) >= 3 and pairs.percent.std() > 0 and pairs.ssr_y_std.std() > 0:
        r, p = stats.pearsonr(pairs.ssr_y_std, pairs.percent)
        info.update(pearson_r=float(r), p_value=float(p))
    return pairs, info
