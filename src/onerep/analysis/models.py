"""The two hierarchical linear models of the paper's Sect. 5.2, fitted with statsmodels.

Model 1 (strategy nominal)::

    y*_i = b0[r,d] + b1[r,d] n*_i + e_i,          e_i ~ N(0, s_e^2)
    b0[r,d] = b0[r] + u0[r,d],  u0[r,d] ~ N(0, s0[r]^2)
    b1[r,d] = b1[r] + u1[r,d],  u1[r,d] ~ N(0, s1[r]^2)

Model 2 (strategy as the ordinal network size r*)::

    y*_i = b0 + b1[d] r*_i + b2[d] n*_i + b3[d] r*_i n*_i + e_i
    bk[d] = bk0 + uk[d],  uk[d] ~ N(0, sk^2)   (k = 1, 2, 3)

Formulation in statsmodels (``MixedLM`` with variance components): the groups are
the target data sets; there is no per-group random intercept (``re_formula="0"``);
every random term is its own variance component whose design column is nonzero
only for its strategy. For model 1 the component ``u0[r]`` has the column
``[strategy == r]`` and ``u1[r]`` the column ``[strategy == r] * n*``: each group
(data set) then gets one independent draw per component, i.e. u0[r,d] and u1[r,d],
with one variance per strategy, uncorrelated as in the paper. SS-R has n* = 0 on
every row, so its slope b1[SS-R] and variance s1[SS-R]^2 are not identified: they
are left out (fixed at 0), as is the slope of any strategy whose n* never varies.
The fixed part has no global intercept, so b0[r] is the mean y* of strategy r at
its simplest (SS-R, or n = 2). Fits are REML. :func:`statsmodels_formulas` gives the
equivalent ``MixedLM.from_formula`` arguments, written next to the estimates. The
estimates come from :mod:`onerep.analysis.reml` (same REML criterion as statsmodels,
which it is tested against; :func:`fit_statsmodels` fits with statsmodels itself).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .coding import SINGLE, order_strategies, strategy_label

log = logging.getLogger(__name__)

#: Relative size (to the residual variance) below which a variance component counts
#: as fitted at the boundary (zero).
BOUNDARY_TOL = 1e-4

MODEL1_TEXT = (
    "y*_i = b0[r,d] + b1[r,d]*n*_i + e_i; b0[r,d] = b0[r] + u0[r,d], u0[r,d] ~ N(0, s0[r]^2); "
    "b1[r,d] = b1[r] + u1[r,d], u1[r,d] ~ N(0, s1[r]^2); e_i ~ N(0, s_e^2); "
    "r = strategy, d = target data set, n* = 0 for SS-R else n - 2; b1[SS-R] = 0 (not identified)"
)
MODEL2_TEXT = (
    "y*_i = b0 + b1[d]*r*_i + b2[d]*n*_i + b3[d]*r*_i*n*_i + e_i; bk[d] = bk0 + uk[d], "
    "uk[d] ~ N(0, sk^2) (k = 1, 2, 3); e_i ~ N(0, s_e^2); r* = SS-R 0, MS-SR@FC 0.2, MS-CR@6 0.4, "
    "MS-CR@4 0.6, MS-CR@2 0.8, MSS-CR 1"
)


@dataclass
class ModelSpec:
    """Design of one model on one data table: fixed columns, variance components, groups.

    ``X`` (N x p) is the fixed-effects design, ``Z`` (N x q) holds one column per
    variance component (the component's random coefficient multiplies it within each
    group), ``groups`` the target of each row.
    """

    name: str
    text: str
    fixed: pd.DataFrame
    """One row per fixed effect: parameter, term, strategy, label (the column names of X)."""
    components: pd.DataFrame
    """One row per variance component: component, term, strategy, column."""
    X: np.ndarray
    Z: np.ndarray
    groups: np.ndarray
    y: np.ndarray
    formulas: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    strata: np.ndarray | None = None
    """Resampling cell of each row (target and strategy) for the 'runs' bootstrap."""

    @property
    def fe_names(self) -> list[str]:
        """Names of the fixed effects, e.g. ``b0[MS-CR@2]``."""
        return list(self.fixed["parameter"])

    @property
    def vc_names(self) -> list[str]:
        """Names of the variance components, e.g. ``s0[MS-CR@2]^2``."""
        return list(self.components["component"])


def _ind(name: str) -> str:
    return f"is_{name}"


def model1_spec(data: pd.DataFrame) -> ModelSpec:
    """Model 1 on the rows of ``data`` (columns strategy, n_star, target, y_std)."""
    _check_data(data)
    strategies = order_strategies(data["strategy"])
    notes: list[str] = []
    fixed_rows, cols, comp_rows, zcols = [], [], [], []
    ind = {r: (data["strategy"] == r).to_numpy(dtype=float) for r in strategies}
    for r in strategies:
        lab = strategy_label(r)
        fixed_rows.append(dict(parameter=f"b0[{lab}]", term="intercept", strategy=r, column=_ind(r)))
        cols.append(ind[r])
        comp_rows.append(dict(component=f"s0[{lab}]^2", term="intercept", strategy=r, column=_ind(r)))
        zcols.append(ind[r])
    nstar = data["n_star"].to_numpy(dtype=float)
    for r in strategies:
        lab = strategy_label(r)
        if r == SINGLE:
            continue
        col = ind[r] * nstar
        if np.ptp(nstar[ind[r] > 0]) == 0:
            notes.append(f"model 1: {lab} has a single n ({int(nstar[ind[r] > 0][0]) + 2}) in the data; "
                         f"its slope b1[{lab}] is not identified and left out")
            continue
        fixed_rows.append(dict(parameter=f"b1[{lab}]", term="n*", strategy=r, column=f"{_ind(r)}:n_star"))
        cols.append(col)
        comp_rows.append(dict(component=f"s1[{lab}]^2", term="n*", strategy=r, column=f"{_ind(r)}:n_star"))
        zcols.append(col)
    fixed = pd.DataFrame(fixed_rows)
    comps = pd.DataFrame(comp_rows)
    spec = ModelSpec(
        name="model1", text=MODEL1_TEXT, fixed=fixed, components=comps,
        X=np.column_stack(cols), Z=np.column_stack(zcols),
        groups=data["target"].astype(str).to_numpy(), y=data["y_std"].to_numpy(dtype=float),
        formulas={}, notes=notes, strata=_strata(data),
    )
    spec.formulas = statsmodels_formulas(spec)
    return spec


def model2_spec(data: pd.DataFrame) -> ModelSpec:
    """Model 2 on the rows of ``data`` (columns r_star, n_star, target, y_std)."""
    _check_data(data)
    r = data["r_star"].to_numpy(dtype=float)
    n = data["n_star"].to_numpy(dtype=float)
    fixed = pd.DataFrame([
        dict(parameter="b0", term="intercept", strategy="", column="1"),
        dict(parameter="b10", term="r*", strategy="", column="r_star"),
        dict(parameter="b20", term="n*", strategy="", column="n_star"),
        dict(parameter="b30", term="r*:n*", strategy="", column="r_star:n_star"),
    ])
    comps = pd.DataFrame([
        dict(component="s1^2", term="r*", strategy="", column="r_star"),
        dict(component="s2^2", term="n*", strategy="", column="n_star"),
        dict(component="s3^2", term="r*:n*", strategy="", column="r_star:n_star"),
    ])
    notes: list[str] = []
    X = np.column_stack([np.ones_like(r), r, n, r * n])
    Z = X[:, 1:].copy()
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("model 2: the design has too few distinct strategies and numbers of sources to "
                         "separate r*, n* and their interaction (rank-deficient fixed effects)")
    spec = ModelSpec(name="model2", text=MODEL2_TEXT, fixed=fixed, components=comps, X=X, Z=Z,
                     groups=data["target"].astype(str).to_numpy(), y=data["y_std"].to_numpy(dtype=float),
                     formulas={}, notes=notes, strata=_strata(data))
    spec.formulas = statsmodels_formulas(spec)
    return spec


def _strata(data: pd.DataFrame) -> np.ndarray:
    return (data["target"].astype(str) + "|" + data["strategy"].astype(str)).to_numpy()


def _check_data(data: pd.DataFrame) -> None:
    need = {"strategy", "n_star", "target", "y_std"}
    missing = need - set(data.columns)
    if missing:
        raise ValueError(f"model data lack columns {sorted(missing)}")
    if len(data) == 0:
        raise ValueError("no design-run scores to fit the models on")
    if not np.isfinite(data["y_std"].to_numpy(dtype=float)).all():
        raise ValueError("model data contain non-finite standardised scores")


def statsmodels_formulas(spec: ModelSpec) -> dict[str, Any]:
    """The ``MixedLM.from_formula`` arguments equivalent to ``spec`` (documentation and tests).

    The indicator columns ``is_<strategy>`` are 0/1 per row; the fit itself builds the
    same matrices directly (faster, and free of formula parsing per bootstrap sample).
    """
    fixed_terms = list(spec.fixed["column"])
    if fixed_terms[0] == "1":
        fixed = "y_std ~ 1 + " + " + ".join(fixed_terms[1:])
    else:
        fixed = "y_std ~ 0 + " + " + ".join(fixed_terms)
    vc = {row.component: f"0 + {row.column}" for row in spec.components.itertuples()}
    return {"formula": fixed, "groups": "target", "re_formula": "0", "vc_formula": vc}


def formula_text(spec: ModelSpec) -> str:
    """One line with the model and its statsmodels formulation, for the output tables."""
    f = spec.formulas
    vc = "; ".join(f"{k}: {v}" for k, v in f["vc_formula"].items())
    return (f"{spec.text} || statsmodels MixedLM.from_formula(formula='{f['formula']}', groups='target', "
            f"re_formula='0', vc_formula={{{vc}}}), REML")


@dataclass
class MixedFit:
    """The outcome of one fit (or of a failed attempt, ``ok`` False)."""

    ok: bool
    fe: np.ndarray
    cov_fe: np.ndarray
    vcomp: np.ndarray
    scale: float
    converged: bool
    method: str
    boundary: list[str]
    warnings: list[str]
    llf: float
    resid: np.ndarray | None = None
    params_object: Any = None
    error: str = ""

    def notes(self, spec: ModelSpec) -> list[str]:
        """Human-readable notes on convergence and boundary estimates."""
        out = []
        if not self.ok:
            return [f"{spec.name}: the fit failed ({self.error})"]
        if not self.converged:
            out.append(f"{spec.name}: the optimiser did not converge ({self.method}); treat the estimates with care")
        if self.boundary:
            out.append(f"{spec.name}: variance component(s) {', '.join(self.boundary)} estimated at the boundary "
                       "(zero): the data do not show that variation; the fit is singular there")
        seen = set()
        for w in self.warnings:
            if w not in seen and "boundary" not in w:
                out.append(f"{spec.name}: {w}")
                seen.add(w)
        return out


def _vcspec(spec: ModelSpec, groups_order: np.ndarray):
    """The variance-component matrices of ``spec`` per group (``groups_order`` sorted)."""
    from statsmodels.regression.mixed_linear_model import VCSpec

    names = spec.vc_names
    mats, colnames = [], []
    rows_of = [np.flatnonzero(spec.groups == g) for g in groups_order]
    for k, name in enumerate(names):
        mats.append([spec.Z[rows, k:k + 1] for rows in rows_of])
        colnames.append([[name] for _ in groups_order])
    return VCSpec(names, colnames, mats)


def fit_mixed(spec: ModelSpec, y: np.ndarray | None = None, X: np.ndarray | None = None,
              Z: np.ndarray | None = None, groups: np.ndarray | None = None,
              start: Any = None, keep_resid: bool = False) -> MixedFit:
    """REML fit of ``spec`` (optionally with other y / rows, as the bootstrap needs).

    Uses :mod:`onerep.analysis.reml` (exact gradient, bounded optimiser);
    ``start`` is a previous fit's ``params_object`` (variance ratios). Variance
    components below :data:`BOUNDARY_TOL` times the residual variance are listed as
    boundary estimates. A fit that raises returns ``ok=False`` with the error text.
    """
    from .reml import VCModel

    y = spec.y if y is None else y
    X = spec.X if X is None else X
    Z = spec.Z if Z is None else Z
    groups = spec.groups if groups is None else groups
    p, q = X.shape[1], Z.shape[1]
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            res = VCModel(y, X, Z, groups).fit(start=start)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError) as exc:
        nan = np.full(p, np.nan)
        return MixedFit(ok=False, fe=nan, cov_fe=np.full((p, p), np.nan), vcomp=np.full(q, np.nan),
                        scale=float("nan"), converged=False, method="reml", boundary=[], warnings=[],
                        llf=float("nan"), error=f"{type(exc).__name__}: {exc}")
    vcomp = res.vcomp
    names = spec.vc_names
    boundary = [names[k] for k in range(q) if vcomp[k] <= BOUNDARY_TOL * max(res.sigma2, 1e-12)]
    msgs = [] if res.converged else [f"the optimiser stopped: {res.message}"]
    return MixedFit(ok=True, fe=res.beta, cov_fe=res.cov_beta, vcomp=vcomp, scale=res.sigma2,
                    converged=res.converged, method="reml (TNC, exact gradient)", boundary=boundary,
                    warnings=msgs, llf=res.llf, resid=res.resid if keep_resid else None,
                    params_object=res.gamma)


def fit_statsmodels(spec: ModelSpec, method: str | list[str] = "powell") -> MixedFit:
    """The same model fitted by statsmodels' ``MixedLM`` (REML), as a cross-check."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    order = np.array(sorted(set(spec.groups)))  # VCSpec wants the groups in sorted order
    p, q = spec.X.shape[1], spec.Z.shape[1]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model = MixedLM(spec.y, spec.X, spec.groups, exog_vc=_vcspec(spec, order))
        res = model.fit(reml=True, method=method)
    vcomp = np.asarray(res.vcomp, dtype=float)
    boundary = [spec.vc_names[k] for k in range(q) if vcomp[k] <= BOUNDARY_TOL * max(float(res.scale), 1e-12)]
    return MixedFit(ok=True, fe=np.asarray(res.fe_params, dtype=float),
                    cov_fe=np.asarray(res.cov_params(), dtype=float)[:p, :p], vcomp=vcomp,
                    scale=float(res.scale), converged=bool(res.converged), method=f"statsmodels {method}",
                    boundary=boundary, warnings=[str(w.message).split("\n")[0] for w in record],
                    llf=float(res.llf), resid=np.asarray(res.resid, dtype=float), params_object=res.params_object)


def estimates_table(spec: ModelSpec, fit: MixedFit) -> pd.DataFrame:
    """Fixed effects (estimate, SE, Wald z and p, Wald 95% interval) and variance components."""
    from scipy import stats

    se = np.sqrt(np.clip(np.diag(fit.cov_fe), 0, None)) if fit.ok else np.full(len(fit.fe), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = fit.fe / se
    p = 2 * stats.norm.sf(np.abs(z))
    q = stats.norm.ppf(0.975)
    fixed = spec.fixed.assign(
        model=spec.name, kind="fixed", strategy_label=[strategy_label(s) if s else "" for s in spec.fixed.strategy],
        estimate=fit.fe, se=se, z=z, p_wald=p, wald_low=fit.fe - q * se, wald_high=fit.fe + q * se,
    )
    comps = spec.components.rename(columns={"component": "parameter"}).assign(
        model=spec.name, kind="variance",
        strategy_label=[strategy_label(s) if s else "" for s in spec.components.strategy],
        estimate=fit.vcomp, boundary=[c in fit.boundary for c in spec.vc_names],
    )
    resid = pd.DataFrame([dict(parameter="s_e^2", term="residual", strategy="", column="", model=spec.name,
                               kind="variance", strategy_label="", estimate=fit.scale, boundary=False)])
    out = pd.concat([fixed, comps, resid], ignore_index=True)
    out["boundary"] = out["boundary"].astype("boolean").fillna(False).astype(bool)
    out["converged"] = fit.converged
    out["formula"] = formula_text(spec)
    return out
