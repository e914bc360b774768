"""The run table: which representations the study trains (SPEC section 6, paper Sect. 4.3).

Phase 1: SS-R for each source, ``design.replicates_single`` replicates (paper 6 x 8 = 48).
Phase 2: each multi-source strategy with all sources, ``design.replicates_all``
replicates (paper 5 x 5 = 25). Phase 3: ``design.budget`` runs chosen greedily among the
multi-source strategies with 2 <= n <= m-1 sources (paper 352 of 1,230; see
:mod:`onerep.design.greedy`).

Run ids are readable and stable, built from the content only:
``<strategy>_<sorted sources joined by '-'>_r<replicate>`` (e.g. ``ssr_tag_r1``,
``mscr2_bpm-self-tag_r1``); the run's seed is ``derive_seed(study seed, "run", run_id)``
(the study seed is the config's master ``seed``), so the same run has the same id and
seed in every study with the same master seed, and a new master seed gives every run,
repeated ones included, a new seed and hence a new network. Phase-3 runs are distinct (strategy, source
set) combinations with replicate 1 (they cannot equal a phase-2 run since n < m).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from onerep.util import atomic_path, derive_seed

from .greedy import MULTI_SOURCE, STRATEGIES, Candidates, GreedyResult, enumerate_candidates, greedy_order

#: Columns of the run table, in order.
COLUMNS: tuple[str, ...] = ("run_id", "phase", "strategy", "sources", "n", "replicate", "seed")

_SOURCE_NAME = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class DesignSpec:
    """Everything the design depends on.

    ``sources`` keep the config's order (used in the ``sources`` column);
    ``strategies`` are the study's strategies in canonical order; ``seed`` is the design
    seed driving the random choices of phase 3; ``study_seed`` is the config's master seed,
    from which every run's own seed is derived.
    """

    sources: tuple[str, ...]
    strategies: tuple[str, ...]
    replicates_single: int
    replicates_all: int
    budget: int
    seed: int
    study_seed: int

    @property
    def multi_source(self) -> tuple[str, ...]:
        """The study's multi-source strategies (phases 2 and 3), canonical order."""
        return tuple(s for s in self.strategies if s in MULTI_SOURCE)


def _design_schema() -> dict[str, Any]:
    from onerep.config import load_schema

    return load_schema()["properties"]["design"]


def design_spec(config: Mapping[str, Any], budget: int | None = None, seed: int | None = None) -> DesignSpec:
    """The :class:`DesignSpec` of a config (``config["design"]``, ``config["seed"]``).

    Missing ``design`` keys take the schema's defaults. ``budget`` and ``seed``, when
    given, override ``design.budget`` and the design seed; otherwise the design seed is
    ``design.seed`` when the config has one, else ``derive_seed(config["seed"], "design")``.
    Raises ``ValueError`` naming the key on an invalid combination.
    """
    from onerep.config import fill_defaults

    schema = _design_schema()
    design = fill_defaults(copy.deepcopy(dict(config.get("design") or {})), schema)
    if budget is not None:
        design["budget"] = budget
    own_seed = design.pop("seed", None)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(design),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"key 'design.{'.'.join(map(str, e.absolute_path)) or '<section>'}': {e.message}" for e in errors]
        raise ValueError("invalid design:\n  " + "\n  ".join(lines))
    sources = tuple(design["sources"])
    bad = [s for s in sources if not _SOURCE_NAME.match(s)]
    if bad:
        raise ValueError(f"key 'design.sources': names {bad} must use only a-z, 0-9 and '_' (they enter run ids)")
    names = (config.get("sources") or {}).get("names")
    if names is not None:
        unknown = [s for s in sources if s not in names]
        if unknown:
            raise ValueError(f"key 'design.sources': {unknown} are not among 'sources.names' {list(names)}")
    strategies = tuple(s for s in STRATEGIES if s in set(design["strategies"]))
    if "seed" not in config:
        raise ValueError("key 'seed': the config has no master seed to derive the run seeds from")
    study_seed = int(config["seed"])
    if seed is None:
        seed = int(own_seed) if own_seed is not None else derive_seed(study_seed, "design")
    spec = DesignSpec(sources=sources, strategies=strategies,
                      replicates_single=int(design["replicates_single"]),
                      replicates_all=int(design["replicates_all"]),
                      budget=int(design["budget"]), seed=int(seed), study_seed=study_seed)
    _check(spec)
    return spec


def _check(spec: DesignSpec) -> None:
    """Cross-key checks of a design; ``ValueError`` naming the key."""
    m = len(spec.sources)
    multi = spec.multi_source
    if spec.replicates_all > 0 and multi and m < 2:
        raise ValueError(
            f"key 'design.replicates_all': phase 2 trains multi-source strategies on all sources, "
            f"but 'design.sources' has only {m}; set design.replicates_all to 0 or add sources")
    if spec.budget > 0:
        if not multi:
            raise ValueError(
                f"key 'design.budget': phase 3 ({spec.budget} runs) needs a multi-source strategy in "
                f"'design.strategies' (one of {list(MULTI_SOURCE)}); got {list(spec.strategies)}")
        if m < 3:
            raise ValueError(
                f"key 'design.budget': phase 3 needs at least 3 sources in 'design.sources' "
                f"(runs with 2 <= n <= m-1 sources); got {m}: {list(spec.sources)}")
        from .greedy import count_candidates

        total = count_candidates(len(multi), m)
        if spec.budget > total:
            raise ValueError(
                f"key 'design.budget': {spec.budget} runs requested but phase 3 has only {total} "
                f"candidates ({len(multi)} strategies x {total // len(multi)} source sets of "
                f"2..{m - 1} of {m} sources)")


def run_id(strategy: str, sources: tuple[str, ...] | list[str], replicate: int) -> str:
    """The readable, stable id of a run: ``<strategy>_<sorted sources joined by '-'>_r<replicate>``."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {list(STRATEGIES)}")
    if not sources:
        raise ValueError("a run needs at least one source")
    return f"{strategy}_{'-'.join(sorted(sources))}_r{int(replicate)}"


@dataclass
class Design:
    """A generated design: the spec, the run table, the candidates and the greedy trace."""

    spec: DesignSpec
    table: pd.DataFrame
    candidates: Candidates | None
    greedy: GreedyResult | None


def run_seed(study_seed: int, rid: str) -> int:
    """The seed of run ``rid`` in a study with master seed ``study_seed``."""
    return derive_seed(int(study_seed), "run", rid)


def _row(spec: DesignSpec, phase: int, strategy: str, members: tuple[str, ...], replicate: int) -> dict[str, Any]:
    rid = run_id(strategy, members, replicate)
    ordered = [s for s in spec.sources if s in set(members)]
    return {"run_id": rid, "phase": phase, "strategy": strategy, "sources": ",".join(ordered),
            "n": len(ordered), "replicate": replicate,
            "seed": run_seed(spec.study_seed, rid)}


def build_design(spec: DesignSpec, show_progress: bool = False) -> Design:
    """Generate the three phases of ``spec``; rows in order phase 1, 2, 3.

    Phases 1 and 2 are listed replicate by replicate (all sources or strategies of
    replicate 1, then of replicate 2, ...), so raising a replicate count appends runs;
    phase 3 is listed in the order the greedy generator chose its runs, so raising the
    budget appends runs too.
    """
    rows: list[dict[str, Any]] = []
    if "ssr" in spec.strategies:
        for rep in range(1, spec.replicates_single + 1):
            for src in spec.sources:
                rows.append(_row(spec, 1, "ssr", (src,), rep))
    if len(spec.sources) >= 2:
        for rep in range(1, spec.replicates_all + 1):
            for strat in spec.multi_source:
                rows.append(_row(spec, 2, strat, spec.sources, rep))
    cands: Candidates | None = None
    result: GreedyResult | None = None
    if spec.budget > 0:
        cands = enumerate_candidates(spec.multi_source, spec.sources)
        result = greedy_order(cands, spec.budget, spec.seed, show_progress=show_progress)
        for c in result.order:
            rows.append(_row(spec, 3, cands.strategies[cands.strategy[c]], cands.source_names(int(c)), 1))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table = table.astype({"phase": "int64", "n": "int64", "replicate": "int64", "seed": "int64"})
    dup = table.run_id[table.run_id.duplicated()].tolist()
    if dup:  # cannot happen by construction; a guard against a future edit
        raise AssertionError(f"duplicate run ids in the design: {dup[:5]}")
    return Design(spec=spec, table=table, candidates=cands, greedy=result)


@functools.lru_cache(maxsize=16)
def _cached_table(spec_json: str) -> pd.DataFrame:
    d = json.loads(spec_json)
    spec = DesignSpec(**{**d, "sources": tuple(d["sources"]), "strategies": tuple(d["strategies"])})
    return build_design(spec).table


def runs_table(config: Mapping[str, Any]) -> pd.DataFrame:
    """The study's run table: run_id, phase, strategy, sources, n, replicate, seed.

    A pure function of ``config["design"]`` and ``config["seed"]`` (design seed
    ``derive_seed(seed, "design")``, run seeds :func:`run_seed`); ``sources`` are comma-separated in the order of
    ``design.sources``. Cached within the process; the caller gets a copy.
    """
    spec = design_spec(config)
    return _cached_table(json.dumps(spec.__dict__, sort_keys=True)).copy()


#: Columns every reader of a run table needs.
NEEDED_COLUMNS: tuple[str, ...] = ("run_id", "strategy", "sources", "n")


def write_runs(table: pd.DataFrame, path: str | Path) -> None:
    """Write the run table (``design/runs.tsv``) atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)


def read_runs(path: str | Path) -> pd.DataFrame:
    """The run table written by :func:`write_runs` (run ids and sources as text).

    Raises ValueError naming the file when it lacks a column of :data:`NEEDED_COLUMNS`."""
    table = pd.read_csv(path, sep="\t", dtype={"run_id": str, "sources": str})
    missing = [c for c in NEEDED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return table
