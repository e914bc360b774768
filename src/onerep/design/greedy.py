"""Phase 3 of the design: the greedy fractional run generator (SPEC section 6, Algorithm 2).

The definitions below are exactly what :func:`greedy_order` computes.

Candidates
    Every pair (strategy, source set) with a multi-source strategy of the study and a
    set of ``2 <= n <= m - 1`` of the study's ``m`` sources; each may be chosen once.
    The paper's study has 5 x 246 = 1,230. They are listed in a canonical order that
    does not depend on how the config lists them: strategy in :data:`STRATEGIES` order,
    then ``n`` ascending, then the source set as a lexicographic combination of the
    *sorted* source names. So the design depends on the sets of sources and strategies,
    the budget and the design seed, and on nothing else.

Balance (the set O)
    Three factors, their level counts taken over the phase-3 runs chosen so far:
    ``strategy`` (runs per multi-source strategy), ``n`` (runs per n = 2..m-1) and
    ``source`` (runs containing each source). Phases 1 and 2 add the same number to
    every level of each factor (SS-R, n = 1 and n = m are not levels here), so counting
    them would change no spread; they are left out. A level is *exhausted* when no
    remaining (unchosen) candidate has it, i.e. it is judged before the step; exhausted
    levels are ignored. For a candidate c,
    ``spread_f(c)`` = max - min of factor f's non-exhausted level counts after adding c.
    The unbalance of c is the pair ``(max_f spread_f(c), sum_f spread_f(c))`` compared
    lexicographically (largest spread first, then the sum, SPEC's tie-break); O is the
    set of remaining candidates with the least pair.

Aliasing (the set P)
    The main-effect columns of a run are the strategy, effect-coded over the
    multi-source strategies s_1..s_k in canonical order (column j < k is +1 when the run
    has s_j, -1 when it has s_k, 0 otherwise), and one 0/1 indicator per source. ``n``
    is the sum of the indicators, so it is not a column (it enters the balance only).
    For a candidate c, r_ab is the Pearson correlation of columns a and b over the
    phase-3 runs chosen so far plus c (a column with zero variance, as in the first
    steps, counts as correlation 0). The aliasing of c is the largest |r_ab| over the
    pairs (strategy column, source) and (source, source'); the pairs of two strategy
    columns are left out because the coding fixes them (about 0.5 when balanced).
    Only phase-3 runs enter: this is the criterion that reproduces SPEC's reference
    figures, which are measured over the phase-3 runs (over seeds 0-7 of the paper's
    study: source-source 0.084-0.096, strategy-source 0.063-0.081, strategy counts
    within 1; ``bench/design.py``), and it keeps phase 3 unchanged when the replicate
    counts of phases 1 and 2 change. P is the set of members of O
    whose aliasing is within 1e-9 of the least.

Random choice
    ``rng = numpy.random.default_rng(seed)``; every step draws one
    ``rng.integers(len(P))`` and picks that member of P (P in candidate order).

Because every step depends only on the steps before it, the design of budget N + k
starts with the design of budget N (prefix stability).

Speed: level counts, the remaining candidates per level, and the column sums and
cross-product sums of the design are updated incrementally after each pick, so a step
costs O(candidates x pairs) array operations instead of rebuilding the design matrix
per candidate (the paper's design: well under 1 s for 352 steps; ``bench/design.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import comb

import numpy as np

#: Every strategy, in canonical order (SPEC Table 4; ordinal coding 0, 0.2, ..., 1).
STRATEGIES: tuple[str, ...] = ("ssr", "mssr_fc", "mscr6", "mscr4", "mscr2", "msscr")
#: The multi-source strategies, those of phases 2 and 3.
MULTI_SOURCE: tuple[str, ...] = STRATEGIES[1:]

# Aliasing values within this distance of the least count as ties.
_ALIAS_TOL = 1e-9


@dataclass(frozen=True)
class Candidates:
    """The phase-3 candidate runs, in canonical order.

    ``strategies`` are the multi-source strategies (canonical order), ``sources`` the
    sorted source names; row c has strategy ``strategies[strategy[c]]`` and the sources
    ``sources[j]`` where ``members[c, j]``.
    """

    strategies: tuple[str, ...]
    sources: tuple[str, ...]
    strategy: np.ndarray  # (C,) int64 index into strategies
    members: np.ndarray  # (C, m) bool
    n: np.ndarray  # (C,) int64 number of sources

    def __len__(self) -> int:
        return int(self.strategy.shape[0])

    def source_names(self, c: int) -> tuple[str, ...]:
        """The sorted source names of candidate ``c``."""
        return tuple(s for s, on in zip(self.sources, self.members[c]) if on)

    def columns(self) -> tuple[np.ndarray, list[str]]:
        """Main-effect columns (C, k-1+m) int64 and their names (see the module docstring)."""
        k = len(self.strategies)
        eff = np.zeros((len(self), max(k - 1, 0)), dtype=np.int64)
        for j in range(k - 1):
            eff[self.strategy == j, j] = 1
        if k > 1:
            eff[self.strategy == k - 1, :] = -1
        names = [f"strategy:{s}" for s in self.strategies[:-1]] + [f"source:{s}" for s in self.sources]
        return np.hstack([eff, self.members.astype(np.int64)]), names


def count_candidates(n_strategies: int, n_sources: int) -> int:
    """Number of phase-3 candidates: strategies x (2^m - m - 2) source sets with 2 <= n <= m-1."""
    return n_strategies * sum(comb(n_sources, n) for n in range(2, n_sources))


def enumerate_candidates(strategies: Sequence[str], sources: Sequence[str]) -> Candidates:
    """All phase-3 candidates of the given multi-source strategies and sources (canonical order)."""
    unknown = [s for s in strategies if s not in MULTI_SOURCE]
    if unknown:
        raise ValueError(f"not multi-source strategies: {unknown}; expected some of {list(MULTI_SOURCE)}")
    strats = tuple(s for s in MULTI_SOURCE if s in set(strategies))
    srcs = tuple(sorted(sources))
    m = len(srcs)
    sets: list[tuple[int, ...]] = [c for n in range(2, m) for c in itertools.combinations(range(m), n)]
    n_sets = len(sets)
    members = np.zeros((n_sets, m), dtype=bool)
    for i, combo in enumerate(sets):
        members[i, list(combo)] = True
    k = len(strats)
    return Candidates(
        strategies=strats,
        sources=srcs,
        strategy=np.repeat(np.arange(k, dtype=np.int64), n_sets),
        members=np.tile(members, (k, 1)),
        n=np.tile(members.sum(axis=1).astype(np.int64), k),
    )


@dataclass
class StepInfo:
    """Diagnostics of one greedy step: sizes of O and P, and the chosen run's criteria."""

    remaining: int
    size_o: int
    size_p: int
    max_spread: int
    sum_spread: int
    aliasing: float


@dataclass
class GreedyResult:
    """The chosen candidate indices in order of choice, with per-step diagnostics."""

    order: np.ndarray
    steps: list[StepInfo] = field(default_factory=list)


def _level_spreads(counts: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Spread (max - min over active levels) after adding one run to each level in turn."""
    n_levels = counts.shape[0]
    trial = counts[None, :] + np.eye(n_levels, dtype=np.int64)
    hi = np.where(active[None, :], trial, np.iinfo(np.int64).min).max(axis=1)
    lo = np.where(active[None, :], trial, np.iinfo(np.int64).max).min(axis=1)
    return hi - lo


class GreedyState:
    """The design so far, with the running sums that make each step cheap.

    Holds per-level run counts and remaining candidates of the three balance factors,
    and the row count, column sums and cross-product sums of the main-effect columns of
    the chosen runs; :meth:`add` updates them in O(columns^2).
    """

    def __init__(self, cands: Candidates) -> None:
        self.cands = cands
        m, k = len(cands.sources), len(cands.strategies)
        self.k = k
        self._nlev = cands.n - 2  # level index of n = 2..m-1
        self._mem = cands.members.astype(np.int64)
        self._z, _ = cands.columns()
        p = self._z.shape[1]
        # Pairs entering the aliasing: (strategy col, source col) and (source, source').
        pairs = [(a, b) for a in range(k - 1) for b in range(k - 1, p)]
        pairs += [(a, b) for a in range(k - 1, p) for b in range(a + 1, p)]
        self._pa = np.array([a for a, _ in pairs], dtype=np.int64)
        self._pb = np.array([b for _, b in pairs], dtype=np.int64)
        # Per-candidate column values gathered per pair once (float64 holds these integer
        # sums exactly), so a step gathers whole rows only.
        self._zf = self._z.astype(np.float64)
        self._za = np.ascontiguousarray(self._zf[:, self._pa])
        self._zb = np.ascontiguousarray(self._zf[:, self._pb])
        self._zab = self._za * self._zb
        self.remaining = np.ones(len(cands), dtype=bool)
        self.cnt_s = np.zeros(k, dtype=np.int64)
        self.cnt_n = np.zeros(max(m - 2, 0), dtype=np.int64)
        self.cnt_src = np.zeros(m, dtype=np.int64)
        self.rem_s = np.bincount(cands.strategy, minlength=k).astype(np.int64)
        self.rem_n = np.bincount(self._nlev, minlength=max(m - 2, 0)).astype(np.int64)
        self.rem_src = self._mem.sum(axis=0)
        self.rows = 0
        self.col_sum = np.zeros(p, dtype=np.int64)
        self.cross = np.zeros((p, p), dtype=np.int64)

    def unbalance(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(largest spread, sum of spreads) of the three factors after adding each of ``idx``."""
        sp_s = _level_spreads(self.cnt_s, self.rem_s > 0)[self.cands.strategy[idx]]
        sp_n = _level_spreads(self.cnt_n, self.rem_n > 0)[self._nlev[idx]]
        trial = self.cnt_src[None, :] + self._mem[idx]
        act = self.rem_src > 0
        sp_src = (np.where(act, trial, np.iinfo(np.int64).min).max(axis=1)
                  - np.where(act, trial, np.iinfo(np.int64).max).min(axis=1))
        return np.maximum(np.maximum(sp_s, sp_n), sp_src), sp_s + sp_n + sp_src

    def aliasing(self, idx: np.ndarray) -> np.ndarray:
        """Largest |correlation| over the aliasing pairs after adding each of ``idx``."""
        if len(self._pa) == 0:
            return np.zeros(len(idx))
        pa, pb = self._pa, self._pb
        n1 = float(self.rows + 1)
        cs = self.col_sum.astype(np.float64)
        cross = self.cross.astype(np.float64)
        z = self._zf[idx]
        s1 = cs[None, :] + z
        var = n1 * (np.diag(cross)[None, :] + z * z) - s1 * s1
        num = n1 * (cross[pa, pb][None, :] + self._zab[idx]) - (cs[pa] + self._za[idx]) * (cs[pb] + self._zb[idx])
        den = var[:, pa] * var[:, pb]
        pos = den > 0
        r2 = np.where(pos, num * num / np.where(pos, den, 1.0), 0.0)
        return np.sqrt(r2.max(axis=1))

    def add(self, c: int) -> None:
        """Add candidate ``c`` to the design."""
        if not self.remaining[c]:
            raise ValueError(f"candidate {c} is already in the design")
        self.remaining[c] = False
        s, n = self.cands.strategy[c], self._nlev[c]
        self.cnt_s[s] += 1
        self.rem_s[s] -= 1
        self.cnt_n[n] += 1
        self.rem_n[n] -= 1
        self.cnt_src += self._mem[c]
        self.rem_src -= self._mem[c]
        z = self._z[c]
        self.rows += 1
        self.col_sum += z
        self.cross += np.outer(z, z)


def greedy_order(cands: Candidates, budget: int, seed: int, show_progress: bool = False) -> GreedyResult:
    """Choose ``budget`` candidates greedily (module docstring); return them in order."""
    total = len(cands)
    if budget < 0 or budget > total:
        raise ValueError(f"budget {budget} is outside 0..{total} (the number of candidates)")
    rng = np.random.default_rng(seed)
    state = GreedyState(cands)
    order = np.empty(budget, dtype=np.int64)
    steps: list[StepInfo] = []
    loop: Iterable[int] = range(budget)
    if show_progress and budget >= 1000:  # a bar only where it takes seconds
        from onerep.util import progress

        loop = progress(range(budget), desc="design: greedy phase 3")
    for t in loop:
        idx = np.flatnonzero(state.remaining)
        big, tot = state.unbalance(idx)
        best_big = big.min()
        sel = big == best_big
        best_tot = tot[sel].min()
        o_idx = idx[sel & (tot == best_tot)]
        alias = state.aliasing(o_idx)
        best_alias = alias.min()
        p_idx = o_idx[alias <= best_alias + _ALIAS_TOL]
        pick = int(p_idx[rng.integers(len(p_idx))])
        state.add(pick)
        order[t] = pick
        steps.append(StepInfo(remaining=len(idx), size_o=len(o_idx), size_p=len(p_idx),
                              max_spread=int(best_big), sum_spread=int(best_tot),
                              aliasing=float(best_alias)))
    return GreedyResult(order=order, steps=steps)
