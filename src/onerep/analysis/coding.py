"""Codings of the analysis (SPEC section 9): strategy names, labels, r* and n*.

The strategy table mirrors :data:`onerep.models.strategies.STRATEGIES` (a test checks
that they agree); it is repeated here so that the analysis does not import torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Strategy ids in the canonical (network size) order.
STRATEGY_ORDER: tuple[str, ...] = ("ssr", "mssr_fc", "mscr6", "mscr4", "mscr2", "msscr")

#: The paper's names of the strategies.
STRATEGY_LABELS: dict[str, str] = {
    "ssr": "SS-R",
    "mssr_fc": "MS-SR@FC",
    "mscr6": "MS-CR@6",
    "mscr4": "MS-CR@4",
    "mscr2": "MS-CR@2",
    "msscr": "MSS-CR",
}

#: Ordinal coding r* of model 2 (network size): SS-R 0 ... MSS-CR 1.
R_STAR: dict[str, float] = {
    "ssr": 0.0,
    "mssr_fc": 0.2,
    "mscr6": 0.4,
    "mscr4": 0.6,
    "mscr2": 0.8,
    "msscr": 1.0,
}

#: The single-source strategy, whose slope on n* is not identified (n* = 0 always).
SINGLE = "ssr"

#: Colours of the strategies in every figure (colour-blind safe, Okabe-Ito).
STRATEGY_COLOURS: dict[str, str] = {
    "ssr": "#000000",
    "mssr_fc": "#E69F00",
    "mscr6": "#56B4E9",
    "mscr4": "#009E73",
    "mscr2": "#0072B2",
    "msscr": "#D55E00",
}

#: The strategy column's value for baselines in the score tables.
BASELINE = "baseline"


def strategy_label(strategy: str) -> str:
    """The paper's name of a strategy id (the id itself when unknown)."""
    return STRATEGY_LABELS.get(strategy, strategy)


def baseline_label(rep: str) -> str:
    """A readable name of a baseline representation (``mfcc``, ``rand-<s>``, ``user-<n>``)."""
    if rep == "mfcc":
        return "MFCC"
    if rep.startswith("rand-"):
        return f"Rand ({strategy_label(rep[5:])})"
    if rep.startswith("user-"):
        return rep[5:]
    return rep


def order_strategies(names) -> list[str]:
    """``names`` (an iterable of strategy ids) in canonical order, unknown ids last."""
    names = list(dict.fromkeys(names))
    known = [s for s in STRATEGY_ORDER if s in names]
    return known + sorted(s for s in names if s not in STRATEGY_ORDER)


def n_star(strategy: pd.Series, n: pd.Series) -> pd.Series:
    """n* = 0 for SS-R and n - 2 otherwise (intercepts then mean the simplest case)."""
    out = pd.Series(np.where(strategy == SINGLE, 0, n.astype(int) - 2), index=n.index)
    return out.astype(int)


def r_star(strategy: pd.Series) -> pd.Series:
    """The ordinal coding r* of each strategy; ``ValueError`` on an unknown id."""
    unknown = sorted(set(strategy) - set(R_STAR))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; r* is defined for {list(R_STAR)}")
    return strategy.map(R_STAR).astype(float)
