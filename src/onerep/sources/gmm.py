"""Gaussian-mixture reduction of scalar or vector labels (bpm, year, audio statistics).

A value becomes the posterior over k mixture components (SPEC section 3: 50
components for bpm and year). Values are standardised first (so the covariance floor
``reg_covar`` is a fraction of the spread, whatever the unit; ``scale="global"`` uses
one spread for all dimensions of a vector whose values share a unit, so that
near-constant dimensions are not inflated to the weight of informative ones), vectors are projected
on the principal components that carry 90 % of their variance (at most ``max_dims``)
so that noisy dimensions do not dominate the mixture, and the components are renumbered in
ascending order of their mean (of the first principal coordinate for vectors), so
topic 0 is the slowest tempo or the earliest year.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

log = logging.getLogger(__name__)


@dataclass
class GMMResult:
    """Posteriors and the fitted components in the units of the input."""

    z: np.ndarray  # (N, k) posterior, rows sum to 1
    weights: np.ndarray  # (k,) mixture weights
    means: np.ndarray  # (k, D) component means, original units
    means_std: np.ndarray  # (k, D) component means in standard units (z-scores)
    sds: np.ndarray  # (k, D) component standard deviations, original units (diagonal)
    converged: bool
    n_iter: int
    lower_bound: float
    dims: int  # dimensions the mixture was fitted in
    warnings: list[str] = field(default_factory=list)


def fit_gmm(
    values: np.ndarray,
    k: int,
    max_iter: int = 200,
    seed: int = 0,
    max_dims: int = 16,
    keep_variance: float = 0.9,
    reg_covar: float = 1e-3,
    scale: str = "feature",
    source: str = "",
) -> GMMResult:
    """Fit a k-component Gaussian mixture to ``values`` (N,) or (N, D); return posteriors.

    ``scale``: ``feature`` divides each dimension by its own standard deviation,
    ``global`` all dimensions by the overall one (both centre each dimension)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n, d = x.shape
    label = f"source {source}: " if source else ""
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{label}values contain NaN or infinity")
    if n < k:
        raise ValueError(f"{label}{n} tracks have a value but the mixture has k={k} components; "
                         "lower sources.k or add tracks")
    if scale not in ("feature", "global"):
        raise ValueError(f"scale must be 'feature' or 'global', got {scale!r}")
    mean = x.mean(axis=0)
    sd = x.std(axis=0) if scale == "feature" else np.full(d, x.std())
    sd[sd == 0] = 1.0
    xs = (x - mean) / sd
    pca = None
    if d > 1:
        # the principal components that carry `keep_variance` of the variance, at most max_dims
        full = PCA(n_components=min(d, n), svd_solver="full").fit(xs)
        need = int(np.searchsorted(np.cumsum(full.explained_variance_ratio_), keep_variance) + 1)
        pca = PCA(n_components=max(1, min(need, max_dims, d, n - 1)), svd_solver="full")
        y = pca.fit_transform(xs)
    else:
        y = xs
    gm = GaussianMixture(
        n_components=k, covariance_type="diag", max_iter=max_iter, random_state=seed,
        reg_covar=reg_covar, n_init=1,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        gm.fit(y)
    notes = sorted({str(w.message).strip() for w in caught if issubclass(w.category, ConvergenceWarning)})
    for note in notes:
        log.warning("%s%s", label, note)
    z = gm.predict_proba(y)
    order = np.argsort(gm.means_[:, 0], kind="stable")
    z = z[:, order]
    mu_y = gm.means_[order]
    var_y = gm.covariances_[order]
    if pca is not None:
        mu_std = pca.inverse_transform(mu_y)
        # diagonal of the component covariance mapped back to feature space
        var_std = (var_y @ (pca.components_ ** 2)) + 0.0
    else:
        mu_std, var_std = mu_y, var_y
    z /= z.sum(axis=1, keepdims=True)
    return GMMResult(
        z=z,
        weights=gm.weights_[order],
        means=mu_std * sd + mean,
        means_std=mu_std,
        sds=np.sqrt(var_std) * sd,
        converged=bool(gm.converged_),
        n_iter=int(gm.n_iter_),
        lower_bound=float(gm.lower_bound_),
        dims=y.shape[1],
        warnings=notes,
    )
