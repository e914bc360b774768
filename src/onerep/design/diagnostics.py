"""Properties of a design: the alias matrix of main effects, balance counts, a summary.

The main-effect columns are those of :mod:`onerep.design.greedy`: the strategy
effect-coded (one column per level but the last, the last level coded -1) and one 0/1
indicator per source. The alias matrix is their Pearson correlation matrix over a set of
runs; a column without variance has no correlation (NaN, written as ``NA``).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onerep.util import atomic_path

from .greedy import STRATEGIES, count_candidates
from .runs import Design


def effect_columns(table: pd.DataFrame, sources: Sequence[str]) -> pd.DataFrame:
    """Main-effect columns of the runs of ``table`` (one row per run).

    The strategy is effect-coded over the strategies present in ``table`` in canonical
    order (the last present is the reference level); sources follow ``sources``' order.
    """
    levels = [s for s in STRATEGIES if s in set(table.strategy)]
    cols: dict[str, np.ndarray] = {}
    strat = table.strategy.to_numpy()
    for lev in levels[:-1]:
        cols[f"strategy:{lev}"] = np.where(strat == lev, 1, np.where(strat == levels[-1], -1, 0))
    members = [set(s.split(",")) for s in table.sources]
    for src in sources:
        cols[f"source:{src}"] = np.array([src in m for m in members], dtype=np.int64)
    return pd.DataFrame(cols, index=table.run_id.to_numpy())


def reference_level(table: pd.DataFrame) -> str | None:
    """The strategy coded -1 in the effect coding of ``table`` (the last present, canonical order)."""
    levels = [s for s in STRATEGIES if s in set(table.strategy)]
    return levels[-1] if levels else None


def alias_matrix(table: pd.DataFrame, sources: Sequence[str]) -> pd.DataFrame:
    """Correlation matrix of the main-effect columns over the runs of ``table``."""
    eff = effect_columns(table, sources)
    cols = list(eff.columns)
    if len(table) < 2:
        return pd.DataFrame(np.nan, index=cols, columns=cols)
    x = eff.to_numpy(dtype=np.float64)
    xc = x - x.mean(axis=0)
    ss = np.sqrt((xc * xc).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xc.T @ xc) / np.outer(ss, ss)
    r[:, ss == 0] = np.nan
    r[ss == 0, :] = np.nan
    np.fill_diagonal(r, np.where(ss > 0, 1.0, np.nan))
    return pd.DataFrame(r, index=cols, columns=cols)


def max_abs_correlations(alias: pd.DataFrame) -> dict[str, float | None]:
    """Largest |r| between two source columns and between a strategy and a source column."""
    src = [c for c in alias.columns if c.startswith("source:")]
    strat = [c for c in alias.columns if c.startswith("strategy:")]
    out: dict[str, float | None] = {}
    ss = alias.loc[src, src].to_numpy(dtype=np.float64).copy()
    if ss.size:
        np.fill_diagonal(ss, np.nan)
    st = alias.loc[strat, src].to_numpy(dtype=np.float64)
    for key, block in (("source_source", ss), ("strategy_source", st)):
        vals = np.abs(block[np.isfinite(block)])
        out[key] = float(vals.max()) if vals.size else None
    return out


def balance_table(design: Design) -> pd.DataFrame:
    """Run counts per level of each factor and phase, with the phase-3 candidates per level.

    Columns: factor (strategy / n / source), level, phase1, phase2, phase3, total,
    candidates (phase-3 candidates with the level), remaining (candidates not chosen).
    """
    spec, table = design.spec, design.table
    m = len(spec.sources)
    members = [set(s.split(",")) for s in table.sources]
    multi = spec.multi_source
    k = len(multi)
    rows: list[dict[str, Any]] = []

    def add(factor: str, level: str, mask: np.ndarray, cands: int) -> None:
        counts = {f"phase{p}": int((mask & (table.phase.to_numpy() == p)).sum()) for p in (1, 2, 3)}
        rows.append({"factor": factor, "level": level, **counts, "total": int(mask.sum()),
                     "candidates": cands, "remaining": cands - counts["phase3"]})

    strat = table.strategy.to_numpy()
    for s in spec.strategies:
        add("strategy", s, strat == s, count_candidates(1, m) if s in multi else 0)
    nn = table.n.to_numpy()
    for n in range(1, m + 1):
        add("n", str(n), nn == n, k * comb(m, n) if 2 <= n <= m - 1 else 0)
    for src in spec.sources:
        holding = sum(comb(m - 1, n - 1) for n in range(2, m))  # sets of 2..m-1 sources with src
        add("source", src, np.array([src in mm for mm in members], dtype=bool), k * holding)
    return pd.DataFrame(rows, columns=["factor", "level", "phase1", "phase2", "phase3", "total",
                                       "candidates", "remaining"])


def phase3_spreads(balance: pd.DataFrame) -> dict[str, int | None]:
    """Spread (max - min) of each factor's phase-3 counts over its levels not exhausted at the
    end of the design (candidates left); over all its phase-3 levels when every one is exhausted."""
    out: dict[str, int | None] = {}
    for factor, grp in balance.groupby("factor", sort=False):
        grp = grp[grp.candidates > 0]
        live = grp[grp.remaining > 0]
        use = live if len(live) else grp
        out[str(factor)] = int(use.phase3.max() - use.phase3.min()) if len(use) else None
    return out


def summary(design: Design) -> dict[str, Any]:
    """Key numbers of a design (written as ``summary.json`` and printed by ``onerep design``)."""
    from onerep import __version__

    spec, table = design.spec, design.table
    multi = spec.multi_source
    phase3 = table[table.phase == 3]
    balance = balance_table(design)
    out: dict[str, Any] = {
        "design_seed": spec.seed,
        "sources": list(spec.sources),
        "strategies": list(spec.strategies),
        "replicates_single": spec.replicates_single,
        "replicates_all": spec.replicates_all,
        "budget": spec.budget,
        "candidates": count_candidates(len(multi), len(spec.sources)) if multi and len(spec.sources) >= 3 else 0,
        "runs": {f"phase{p}": int((table.phase == p).sum()) for p in (1, 2, 3)} | {"total": len(table)},
        "max_abs_correlation": {
            "phase3": max_abs_correlations(alias_matrix(phase3, spec.sources)),
            "all_runs": max_abs_correlations(alias_matrix(table, spec.sources)),
        },
        "phase3_spread": phase3_spreads(balance),
        "onerep_version": __version__,
    }
    if design.greedy is not None and design.greedy.steps:
        out["greedy_ties"] = {
            "mean_size_o": float(np.mean([s.size_o for s in design.greedy.steps])),
            "mean_size_p": float(np.mean([s.size_p for s in design.greedy.steps])),
        }
    return out


def write_alias(path: str | Path, matrix: pd.DataFrame) -> None:
    """Write a main-effect correlation matrix (``design/alias*.tsv``) atomically; NA where undefined."""
    with atomic_path(path) as tmp:
        matrix.rename_axis("effect").to_csv(tmp, sep="\t", float_format="%.6f", na_rep="NA")


def read_alias(path: str | Path) -> pd.DataFrame:
    """A correlation matrix written by :func:`write_alias` (effects as index and columns)."""
    return pd.read_csv(path, sep="\t", index_col=0, na_values=["NA"])
