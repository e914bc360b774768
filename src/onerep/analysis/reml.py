"""REML for linear mixed models whose random effects are independent variance components.

The model::

    y = X b + sum_j Z[:, j] * u[g, j] + e,   u[g, j] ~ N(0, s2 * gamma[c(j)]),  e ~ N(0, s2)

with groups g (independent blocks), random columns j, each column belonging to one
variance component c(j) (a component may own several columns, e.g. the two levels
of a factor). This covers both mixed models of the paper (groups = target data sets,
one column per component) and the per-source variance components (one group, one
column per factor level).

Why not statsmodels' ``MixedLM`` alone: on these models with several components near
zero its gradient optimisers routinely stop unconverged at different likelihoods
(observed in this study's design: lbfgs, bfgs and cg all unconverged, powell a higher
REML likelihood). Here the residual variance is profiled out, the criterion and its
exact gradient reduce to Q x Q matrices per group (Woodbury identity), and a bounded
truncated-Newton optimiser (scipy's TNC) works on gamma >= 0 with the bound handled
exactly, so boundary estimates are exact zeros. (L-BFGS-B reaches the same optimum but
costs several ms per step when OpenBLAS threads are limited at run time, as the
bootstrap workers do.) ``tests/test_analysis_models.py`` checks the criterion and the estimates
against statsmodels.

Profiled REML criterion (H = I + Z G Z', G = diag(gamma), A = X' H^-1 X, N rows, p
fixed effects)::

    -2 l_R(gamma) = (N - p) log(RSS / (N - p)) + log|H| + log|A| + (N - p)(1 + log 2 pi)
    RSS = y' H^-1 y - b' A b,  b = A^-1 X' H^-1 y,  s2 = RSS / (N - p)

and with L = G^(1/2), M_g = I + L Z_g' Z_g L: H_g^-1 = I - Z_g L M_g^-1 L Z_g' and
log|H_g| = log|M_g|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

LOG2PI = float(np.log(2 * np.pi))


@dataclass
class REMLFit:
    """Estimates of one REML fit."""

    beta: np.ndarray
    cov_beta: np.ndarray
    gamma: np.ndarray
    """Variance components relative to the residual variance."""
    sigma2: float
    llf: float
    """REML log-likelihood."""
    converged: bool
    iterations: int
    message: str
    blups: np.ndarray
    """Predicted random effects, groups (sorted labels) x random columns."""
    resid: np.ndarray
    """Conditional residuals y - X b - Z u."""
    group_labels: np.ndarray

    @property
    def vcomp(self) -> np.ndarray:
        """Variance components on the scale of y (s2 * gamma)."""
        return self.sigma2 * self.gamma


class VCModel:
    """A variance-components mixed model, ready to fit by REML (see the module docstring)."""

    def __init__(self, y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray,
                 components: np.ndarray | None = None):
        y = np.asarray(y, dtype=float)
        X = np.asarray(X, dtype=float)
        Z = np.asarray(Z, dtype=float)
        if X.ndim != 2 or Z.ndim != 2 or len(X) != len(y) or len(Z) != len(y) or len(groups) != len(y):
            raise ValueError(f"inconsistent shapes: y {y.shape}, X {X.shape}, Z {Z.shape}, groups {len(groups)}")
        self.N, self.p = X.shape
        self.Q = Z.shape[1]
        if self.N - self.p <= 0:
            raise ValueError(f"{self.N} observations cannot estimate {self.p} fixed effects and a residual variance")
        if np.linalg.matrix_rank(X) < self.p:
            raise ValueError("the fixed-effects design is rank-deficient (some effect is not identified)")
        comps = np.arange(self.Q) if components is None else np.asarray(components, dtype=int)
        if len(comps) != self.Q:
            raise ValueError("one component index per random column is needed")
        self.components = comps
        self.n_comp = int(comps.max()) + 1 if self.Q else 0
        self.group_labels, gidx = np.unique(np.asarray(groups), return_inverse=True)
        self.G = len(self.group_labels)
        self.gidx = gidx
        self.X, self.Z, self.y = X, Z, y
        # Per-group cross products (G, Q, .); the fixed-part sums over all rows.
        self.ZtZ = np.empty((self.G, self.Q, self.Q))
        self.ZtX = np.empty((self.G, self.Q, self.p))
        self.Zty = np.empty((self.G, self.Q))
        for g in range(self.G):
            rows = gidx == g
            Zr = Z[rows]
            self.ZtZ[g] = Zr.T @ Zr
            self.ZtX[g] = Zr.T @ X[rows]
            self.Zty[g] = Zr.T @ y[rows]
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.yty = float(y @ y)

    # -- criterion ---------------------------------------------------------------------
    def _parts(self, gamma_c: np.ndarray):
        gam = np.clip(gamma_c, 0, None)[self.components]
        L = np.sqrt(gam)
        M = np.eye(self.Q)[None] + L[None, :, None] * self.ZtZ * L[None, None, :]
        Minv = np.linalg.inv(M)
        S = L[None, :, None] * Minv * L[None, None, :]           # L M^-1 L
        ZtZS = self.ZtZ @ S
        ZHZ = self.ZtZ - ZtZS @ self.ZtZ                         # Z' H^-1 Z
        ZHX = self.ZtX - ZtZS @ self.ZtX                         # Z' H^-1 X
        ZHy = self.Zty - np.einsum("gij,gj->gi", ZtZS, self.Zty)  # Z' H^-1 y
        SZX = S @ self.ZtX
        A = self.XtX - np.einsum("gki,gkj->ij", self.ZtX, SZX)
        b = self.Xty - np.einsum("gki,gk->i", SZX, self.Zty)
        yHy = self.yty - float(np.einsum("gi,gij,gj->", self.Zty, S, self.Zty))
        sign, logdetM = np.linalg.slogdet(M)
        sA, logdetA = np.linalg.slogdet(A)
        Ainv = np.linalg.inv(A)
        beta = Ainv @ b
        rss = yHy - float(b @ beta)
        return dict(gam=gam, ZHZ=ZHZ, ZHX=ZHX, ZHy=ZHy, A=A, Ainv=Ainv, beta=beta, rss=rss,
                    logdetH=float(logdetM.sum()), logdetA=float(logdetA), ok=bool(sA > 0 and (sign > 0).all()))

    def criterion(self, gamma_c: np.ndarray) -> tuple[float, np.ndarray]:
        """-2 REML log-likelihood (profiled) and its gradient in the component ratios."""
        P = self._parts(gamma_c)
        dof = self.N - self.p
        rss = max(P["rss"], 1e-300)
        value = dof * np.log(rss / dof) + P["logdetH"] + P["logdetA"] + dof * (1 + LOG2PI)
        w = P["ZHy"] - P["ZHX"] @ P["beta"]                          # G x Q
        trace_a = np.einsum("gjj->j", P["ZHZ"])                      # sum_g (Z'H^-1Z)_jj
        trace_b = np.einsum("gji,ik,gjk->j", P["ZHX"], P["Ainv"], P["ZHX"])
        per_col = -dof * (w ** 2).sum(axis=0) / rss + trace_a - trace_b
        grad = np.bincount(self.components, weights=per_col, minlength=self.n_comp)
        return float(value), grad

    # -- fit -------------------------------------------------------------------------------
    def fit(self, start: np.ndarray | None = None, tol: float = 1e-9, max_iter: int = 500) -> REMLFit:
        """REML estimates (best of the given start and two default starts)."""
        starts = [np.full(self.n_comp, 0.5), np.full(self.n_comp, 0.05)]
        if start is not None:
            starts.insert(0, np.clip(np.asarray(start, dtype=float), 0, None))
        best = None
        for s in starts if self.n_comp else [np.zeros(0)]:
            if self.n_comp == 0:
                res = optimize.OptimizeResult(x=s, fun=self.criterion(s)[0], success=True, nit=0,
                                              message="no components")
            else:
                res = optimize.minimize(self.criterion, s, jac=True, method="TNC",
                                        bounds=[(0.0, None)] * self.n_comp,
                                        options={"maxfun": max_iter, "ftol": 1e-12, "gtol": 1e-7})
            if best is None or res.fun < best.fun - 1e-10:
                best = res
            if start is not None and res.success and s is starts[0]:
                break  # a warm start that converged is kept (bootstrap speed)
        gamma = np.clip(best.x, 0, None)
        gamma[gamma < tol] = 0.0
        return self._result(gamma, best)

    def _result(self, gamma: np.ndarray, res) -> REMLFit:
        P = self._parts(gamma)
        dof = self.N - self.p
        sigma2 = P["rss"] / dof
        value, grad = self.criterion(gamma)
        # projected gradient: components at zero may have a positive derivative
        proj = np.where(gamma > 0, grad, np.minimum(grad, 0.0))
        converged = bool(res.success) or bool(np.max(np.abs(proj), initial=0.0) < 1e-4 * max(1.0, abs(value)))
        w = P["ZHy"] - P["ZHX"] @ P["beta"]
        blups = P["gam"][None, :] * w                              # G x Q
        fitted = self.X @ P["beta"] + np.einsum("nj,nj->n", self.Z, blups[self.gidx])
        return REMLFit(beta=P["beta"], cov_beta=sigma2 * P["Ainv"], gamma=gamma, sigma2=float(sigma2),
                       llf=-0.5 * value, converged=converged, iterations=int(getattr(res, "nit", 0)),
                       message=str(getattr(res, "message", "")), blups=blups, resid=self.y - fitted,
                       group_labels=self.group_labels)


def fit_reml(y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray,
             components: np.ndarray | None = None, start: np.ndarray | None = None) -> REMLFit:
    """Build a :class:`VCModel` and fit it."""
    return VCModel(y, X, Z, groups, components).fit(start=start)
