"""Experimental design (SPEC section 6, the paper's Sect. 4.3 and Algorithm 2).

:func:`runs_table` is the single source of truth for which runs a study trains; the
Snakefile calls it at parse time. :mod:`.greedy` holds the phase-3 generator and the
exact definitions of its balance and aliasing criteria; :mod:`.diagnostics` the alias
matrix and balance counts; ``onerep design`` writes them all.
"""

from onerep.util import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "greedy": ("MULTI_SOURCE", "STRATEGIES", "GreedyState", "count_candidates", "enumerate_candidates",
                   "greedy_order",),
        "runs": ("COLUMNS", "Design", "DesignSpec", "build_design", "design_spec", "run_id", "run_seed", "runs_table",),
    },
)
