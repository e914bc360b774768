"""Experimental design (SPEC section 6, the paper's Sect. 4.3 and Algorithm 2).

:func:`runs_table` is the single source of truth for which runs a study trains; the
Snakefile calls it at parse time. :mod:`.greedy` holds the phase-3 generator and the
exact definitions of its balance and aliasing criteria; :mod:`.diagnostics` the alias
matrix and balance counts; ``onerep design`` writes them all.
"""

from .greedy import MULTI_SOURCE, STRATEGIES, GreedyState, count_candidates, enumerate_candidates, greedy_order
from .runs import COLUMNS, Design, DesignSpec, build_design, design_spec, run_id, runs_table

__all__ = [
    "COLUMNS",
    "MULTI_SOURCE",
    "STRATEGIES",
    "Design",
    "GreedyState",
    "DesignSpec",
    "build_design",
    "count_candidates",
    "design_spec",
    "enumerate_candidates",
    "greedy_order",
    "run_id",
    "runs_table",
]
