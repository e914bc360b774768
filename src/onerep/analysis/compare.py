"""Pairwise comparisons between strategies (model 1) with p-values.

For every pair of strategies (a, b) and each parameter family (intercepts b0 and
slopes b1 of model 1), the difference b[a] - b[b] is tested two ways:

- Wald: z = d / se(d) with se(d)^2 = c' V c, V the REML covariance of the fixed
  effects; two-sided normal p-value; Holm's step-down adjustment within the family.
- Bootstrap: the same difference in every bootstrap replicate; 95% percentile
  interval and the two-sided percentile p-value
  p = min(1, 2 min((#{d* <= 0} + 1) / (B + 1), (#{d* >= 0} + 1) / (B + 1))),
  also Holm-adjusted within the family.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import BootstrapResult
from .models import MixedFit, ModelSpec

METHOD = ("Wald z test of the REML fixed-effect contrast (normal reference) and bootstrap percentile "
          "p-value of the same contrast; Holm adjustment within each family (b0: intercepts, b1: slopes)")


#: Columns of pairwise.tsv.
PAIRWISE_COLUMNS = ["model", "family", "a", "b", "strategy_a", "strategy_b", "difference", "se", "z", "p_wald",
                    "p_wald_holm", "ci_low", "ci_high", "p_boot", "p_boot_holm", "boot_n", "method"]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN kept)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def bootstrap_p(d: np.ndarray) -> float:
    """Two-sided percentile bootstrap p-value of H0: difference = 0."""
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return float("nan")
    B = len(d)
    lo = (np.sum(d <= 0) + 1) / (B + 1)
    hi = (np.sum(d >= 0) + 1) / (B + 1)
    return float(min(1.0, 2 * min(lo, hi)))


def pairwise(spec: ModelSpec, fit: MixedFit, boot: BootstrapResult | None = None) -> pd.DataFrame:
    """All pairwise strategy contrasts of model 1's intercepts and slopes."""
    fixed = spec.fixed.reset_index(drop=True)
    rows = []
    for family, term in (("b0", "intercept"), ("b1", "n*")):
        idx = fixed.index[fixed.term == term].tolist()
        fam_rows = []
        for i, j in itertools.combinations(idx, 2):
            c = np.zeros(len(fixed))
            c[i], c[j] = 1.0, -1.0
            diff = float(c @ fit.fe)
            se = float(np.sqrt(max(c @ fit.cov_fe @ c, 0.0)))
            z = diff / se if se > 0 else np.nan
            row = dict(model=spec.name, family=family, a=fixed.parameter[i], b=fixed.parameter[j],
                       strategy_a=fixed.strategy[i], strategy_b=fixed.strategy[j], difference=diff, se=se, z=z,
                       p_wald=float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan)
            if boot is not None and boot.n_ok > 0:
                d = boot.draws[boot.ok][:, i] - boot.draws[boot.ok][:, j]
                lo, hi = np.percentile(d, [2.5, 97.5])
                row.update(ci_low=float(lo), ci_high=float(hi), p_boot=bootstrap_p(d), boot_n=int(len(d)))
            else:
                row.update(ci_low=np.nan, ci_high=np.nan, p_boot=np.nan, boot_n=0)
            fam_rows.append(row)
        if fam_rows:
            df = pd.DataFrame(fam_rows)
            df["p_wald_holm"] = holm(df["p_wald"].to_numpy())
            df["p_boot_holm"] = holm(df["p_boot"].to_numpy())
            rows.append(df)
    if not rows:
        return pd.DataFrame(columns=PAIRWISE_COLUMNS)
    out = pd.concat(rows, ignore_index=True)
    out["method"] = METHOD
    return out[PAIRWISE_COLUMNS]
