"""Bootstrap confidence intervals of the mixed models' parameters (seeded, parallel).

Three schemes; every replicate ``b`` draws from its own generator
``numpy.random.default_rng([seed, b])``, so the result does not depend on the number
of worker processes.

``residual`` (default)
    The design stays as observed. Each replicate draws new data-set effects
    u[k,d] ~ N(0, s_k^2) from the fitted variance components and adds to the fitted
    fixed part the conditional residuals of runs resampled with replacement within
    each data set (centred per data set and rescaled to the fitted residual
    variance). Runs are the resampled unit, and the between-data-set variation the
    fixed effects are generalised over enters through the fresh data-set effects, so
    the intervals cover the population fixed effects (checked by simulation in
    ``tests/test_analysis_models.py``).
``parametric``
    As ``residual``, but the residuals are drawn from N(0, s_e^2) (lme4's
    ``bootMer`` default).
``runs``
    Plain case resampling: within every (data set, strategy) cell the runs are drawn
    with replacement and the model refitted. The data sets are held fixed, so these
    intervals are conditional on the observed data sets: they measure run-to-run
    variation only and are too narrow for the population fixed effects when the data
    sets differ (the simulation test shows it).

Intervals are percentiles (2.5 %, 97.5 %) of the replicates whose fit succeeded.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .models import MixedFit, ModelSpec, fit_mixed

log = logging.getLogger(__name__)

SCHEMES = ("residual", "parametric", "runs")
DEFAULT_SCHEME = "residual"


@dataclass
class BootstrapResult:
    """Replicate estimates: ``draws`` is B x (fixed effects, variance components, s_e^2)."""

    names: list[str]
    draws: np.ndarray
    ok: np.ndarray
    converged: np.ndarray
    boundary: np.ndarray
    seed: int
    scheme: str

    @property
    def n_ok(self) -> int:
        """Replicates whose fit succeeded."""
        return int(self.ok.sum())

    def frame(self) -> pd.DataFrame:
        """The replicates as a table (one row per replicate)."""
        df = pd.DataFrame(self.draws, columns=self.names)
        df.insert(0, "replicate", np.arange(len(df)))
        df["ok"] = self.ok
        df["converged"] = self.converged
        df["boundary"] = self.boundary
        return df

    def intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Percentile interval, bootstrap SE and replicate count of every parameter."""
        good = self.draws[self.ok]
        a = (1 - level) / 2 * 100
        if len(good) == 0:
            nan = np.full(len(self.names), np.nan)
            return pd.DataFrame({"parameter": self.names, "ci_low": nan, "ci_high": nan, "boot_se": nan,
                                 "boot_n": 0})
        lo, hi = np.percentile(good, [a, 100 - a], axis=0)
        se = good.std(axis=0, ddof=1) if len(good) > 1 else np.full(len(self.names), np.nan)
        return pd.DataFrame({"parameter": self.names, "ci_low": lo, "ci_high": hi, "boot_se": se,
                             "boot_n": len(good)})


# -- worker state: set once per process by the pool's initializer ----------------------
_STATE: dict[str, Any] = {}


def _init(state: dict[str, Any], limit_threads: bool = True) -> None:
    _STATE.clear()
    _STATE.update(state)
    if not limit_threads:
        return
    try:
        from threadpoolctl import threadpool_limits

        _STATE["_limits"] = threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def _centred_scaled_residuals(spec: ModelSpec, fit: MixedFit) -> np.ndarray:
    r = np.asarray(fit.resid, dtype=float).copy()
    for g in np.unique(spec.groups):
        m = spec.groups == g
        r[m] -= r[m].mean()
    ms = float(np.mean(r ** 2))
    if ms > 0 and np.isfinite(fit.scale) and fit.scale > 0:
        r *= np.sqrt(fit.scale / ms)
    return r


def _replicate(b: int) -> tuple[np.ndarray, bool, bool, bool]:
    spec: ModelSpec = _STATE["spec"]
    fit: MixedFit = _STATE["fit"]
    scheme: str = _STATE["scheme"]
    rng = np.random.default_rng([_STATE["seed"], b])
    if scheme == "runs":
        idx = np.empty(len(spec.y), dtype=np.int64)
        for rows in _STATE["cells"]:
            idx[rows] = rows[rng.integers(len(rows), size=len(rows))]
        out = fit_mixed(spec, y=spec.y[idx], X=spec.X[idx], Z=spec.Z[idx], groups=spec.groups[idx],
                        start=fit.params_object)
    else:
        y = spec.X @ fit.fe
        groups = _STATE["group_index"]
        u = rng.normal(size=(_STATE["n_groups"], spec.Z.shape[1])) * np.sqrt(np.clip(fit.vcomp, 0, None))
        y = y + np.einsum("ik,ik->i", spec.Z, u[groups])
        if scheme == "parametric":
            y = y + rng.normal(scale=np.sqrt(max(fit.scale, 0.0)), size=len(y))
        else:
            resid = _STATE["resid"]
            e = np.empty(len(y))
            for rows in _STATE["group_rows"]:
                e[rows] = resid[rows[rng.integers(len(rows), size=len(rows))]]
            y = y + e
        out = fit_mixed(spec, y=y, start=fit.params_object)
    if not out.ok:  # retry from the default start before giving up on the replicate
        out = fit_mixed(spec, y=spec.y[idx] if scheme == "runs" else y,
                        X=spec.X[idx] if scheme == "runs" else None,
                        Z=spec.Z[idx] if scheme == "runs" else None,
                        groups=spec.groups[idx] if scheme == "runs" else None)
    values = np.concatenate([out.fe, out.vcomp, [out.scale]])
    return values, out.ok, out.converged, bool(out.boundary)


def _state(spec: ModelSpec, fit: MixedFit, seed: int, scheme: str) -> dict[str, Any]:
    labels, group_index = np.unique(spec.groups, return_inverse=True)
    state: dict[str, Any] = {"spec": spec, "fit": fit, "seed": int(seed), "scheme": scheme,
                             "group_index": group_index, "n_groups": len(labels),
                             "group_rows": [np.flatnonzero(group_index == k) for k in range(len(labels))]}
    if scheme == "runs":
        strata = spec.strata if spec.strata is not None else spec.groups
        state["cells"] = [np.flatnonzero(strata == c) for c in pd.unique(strata)]
    elif scheme == "residual":
        if fit.resid is None:
            raise ValueError("the residual bootstrap needs the fit's residuals (fit_mixed(keep_resid=True))")
        state["resid"] = _centred_scaled_residuals(spec, fit)
    return state


def bootstrap(spec: ModelSpec, fit: MixedFit, replicates: int, seed: int, threads: int = 1,
              scheme: str = DEFAULT_SCHEME, show_progress: bool = False) -> BootstrapResult:
    """``replicates`` bootstrap refits of ``spec`` around ``fit``, over ``threads`` processes."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown bootstrap scheme '{scheme}'; one of {SCHEMES}")
    if not fit.ok:
        raise ValueError(f"{spec.name}: cannot bootstrap a failed fit ({fit.error})")
    names = spec.fe_names + spec.vc_names + ["s_e^2"]
    state = _state(spec, fit, seed, scheme)
    results: list[tuple[np.ndarray, bool, bool, bool]] = []
    idx = range(int(replicates))
    workers = max(1, min(int(threads), int(replicates)))
    if workers == 1:
        from threadpoolctl import threadpool_limits

        _init(state, limit_threads=False)
        it = map(_replicate, idx)
        if show_progress:
            from onerep.util import progress

            it = progress(it, desc=f"bootstrap {spec.name}", total=replicates)
        with threadpool_limits(1):  # small matrices: threaded BLAS only adds overhead
            results = list(it)
        _STATE.clear()
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
        chunk = max(1, replicates // (workers * 8))
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init,
                                 initargs=(state,)) as pool:
            it = pool.map(_replicate, idx, chunksize=chunk)
            if show_progress:
                from onerep.util import progress

                it = progress(it, desc=f"bootstrap {spec.name}", total=replicates)
            results = list(it)
    if results:
        draws = np.vstack([r[0] for r in results])
    else:
        draws = np.empty((0, len(names)))
    ok = np.array([r[1] for r in results], dtype=bool)
    conv = np.array([r[2] for r in results], dtype=bool)
    bnd = np.array([r[3] for r in results], dtype=bool)
    return BootstrapResult(names=names, draws=draws, ok=ok, converged=conv, boundary=bnd, seed=int(seed),
                           scheme=scheme)
