"""The paper's Figs. 7 to 16 (and the training curves), each a PNG with its data as TSV.

Every function takes tables produced upstream (:mod:`onerep.analysis.tables`; the
parameter counts of the models stage, :func:`onerep.models.summary.parameter_counts`;
the t-SNE map of :mod:`onerep.analysis.tsne`): it computes nothing, writes
``<out>/<name>.png`` and ``<out>/<name>.tsv`` (the plotted numbers) and returns the
PNG path. Colours of strategies are fixed (:data:`onerep.analysis.coding.STRATEGY_COLOURS`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onerep.util import atomic_path

from . import FIGURE_TABLES
from .coding import BASELINE, SINGLE, STRATEGY_COLOURS, baseline_label, order_strategies, strategy_label

log = logging.getLogger(__name__)

#: File stems of the figures, by the paper's numbering.
FIGURES: dict[int, str] = {
    7: "fig07_alias",
    8: "fig08_ssr_by_source",
    9: "fig09_by_strategy",
    10: "fig10_standardised_vs_n",
    11: "fig11_model1_effects",
    12: "fig12_model2_effects",
    13: "fig13_best_source",
    14: "fig14_variance_vs_ssr",
    15: "fig15_parameters",
    16: "fig16_tsne",
}
TRAINING = "training_curves"

METRIC_LABELS = {"accuracy": "accuracy", "r2": "R²", "roc_auc": "ROC-AUC (macro)", "pr_auc": "PR-AUC (macro)"}
BASELINE_STYLES = ["--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1))]
BASELINE_COLOURS = ["#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#8c564b"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
                         "figure.dpi": 100})
    return plt


def save(fig: Any, out_dir: str | Path, name: str, data: pd.DataFrame) -> Path:
    """Write ``fig`` as ``<name>.png`` and ``data`` as ``<name>.tsv`` in ``out_dir`` (atomically)."""
    plt = _plt()
    out_dir = Path(out_dir)
    png = out_dir / f"{name}.png"
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
    plt.close(fig)
    with atomic_path(out_dir / f"{name}.tsv") as tmp:
        data.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")
    return png


def metric_label(metric: str) -> str:
    """Axis label of a score metric (``ndcg@500`` -> ``nDCG@500``)."""
    if metric.startswith("ndcg"):
        return "nDCG" + metric[4:]
    return METRIC_LABELS.get(metric, metric)


def _grid(n: int, ncols: int = 4, size: tuple[float, float] = (3.2, 2.7)):
    plt = _plt()
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows + 0.9), squeeze=False,
                             constrained_layout=True)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _target_order(std: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(std.target))


def _baselines(std: pd.DataFrame, keep: Sequence[str] | None = None) -> pd.DataFrame:
    b = std[std.kind == BASELINE]
    if keep is not None:
        b = b[b.run_id.isin(keep) | b.run_id.str.startswith("user-")]
    return b


def _draw_baselines(ax, base: pd.DataFrame, target: str, column: str, handles: dict) -> None:
    names = sorted(base.run_id.unique())
    for i, rep in enumerate(names):
        row = base[(base.run_id == rep) & (base.target == target)]
        if row.empty or not np.isfinite(row[column].iloc[0]):
            continue
        line = ax.axhline(row[column].iloc[0], color=BASELINE_COLOURS[i % len(BASELINE_COLOURS)],
                          linestyle=BASELINE_STYLES[i % len(BASELINE_STYLES)], linewidth=1.2, zorder=1)
        handles.setdefault(baseline_label(rep), line)


def _legend_below(fig, handles: dict, ncol: int = 6) -> None:
    if handles:
        fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center",
                   ncol=min(ncol, len(handles)), frameon=False)


def _jitter(n: int, seed: int, width: float = 0.12) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-width, width, size=n)


# -- Fig. 7 -----------------------------------------------------------------------------
def fig07_alias(alias: pd.DataFrame, out_dir: str | Path, alias_phase3: pd.DataFrame | None = None,
                title: str = "") -> Path:
    """The alias matrix of the design (main-effect correlations), drawn by the design stage's plotter."""
    from onerep.design.plots import plot_alias

    panels = {"all runs": alias}
    if alias_phase3 is not None and alias_phase3.shape[0] and np.isfinite(alias_phase3.to_numpy(float)).any():
        panels["phase-3 runs"] = alias_phase3
    out_dir = Path(out_dir)
    name = FIGURES[7]
    plot_alias(panels, out_dir / f"{name}.png", title=title or "Aliasing among main effects of the design")
    rows = []
    for panel, mat in panels.items():
        long = mat.rename_axis("effect_a").reset_index().melt(id_vars="effect_a", var_name="effect_b",
                                                               value_name="correlation")
        long.insert(0, "panel", panel)
        rows.append(long)
    with atomic_path(out_dir / f"{name}.tsv") as tmp:
        pd.concat(rows).to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")
    return out_dir / f"{name}.png"


# -- Fig. 8 -----------------------------------------------------------------------------
def fig08_ssr_by_source(std: pd.DataFrame, out_dir: str | Path) -> Path:
    """SS-R score of each source on each target (points: runs, large: mean), baselines as lines."""
    ssr = std[(std.kind == "run") & (std.strategy == SINGLE)].copy()
    targets = _target_order(std)
    sources = sorted(ssr.sources.unique())
    fig, axes = _grid(len(targets))
    base = _baselines(std, ["mfcc", "rand-ssr"])
    handles: dict = {}
    rows = []
    for ax, target in zip(axes, targets):
        d = ssr[ssr.target == target]
        for i, s in enumerate(sources):
            v = d[d.sources == s]
            if v.empty:
                continue
            h = ax.scatter(i + _jitter(len(v), i), v.y, s=14, facecolors="none", edgecolors="#333333",
                           linewidths=0.8, zorder=3)
            handles.setdefault("SS-R run", h)
            m = ax.scatter([i], [v.y.mean()], s=46, color="#000000", zorder=4)
            handles.setdefault("mean per source", m)
            rows += [dict(target=target, source=s, run_id=r.run_id, y=r.y, kind="run") for r in v.itertuples()]
        _draw_baselines(ax, base, target, "y", handles)
        for r in base[base.target == target].itertuples():
            rows.append(dict(target=target, source=baseline_label(r.run_id), run_id=r.run_id, y=r.y, kind="baseline"))
        ax.set_xticks(range(len(sources)), sources, rotation=45, ha="right")
        ax.set_title(target)
        metric = d.metric.iloc[0] if len(d) else std[std.target == target].metric.iloc[0]
        ax.set_ylabel(metric_label(metric))
        ax.set_xlabel("learning source")
        ax.grid(axis="y", alpha=0.3)
    _legend_below(fig, handles)
    fig.suptitle("Single-source representations (SS-R) per learning source")
    return save(fig, out_dir, FIGURES[8], pd.DataFrame(rows, columns=["target", "source", "run_id", "y", "kind"]))


# -- Fig. 9 -----------------------------------------------------------------------------
def fig09_by_strategy(std: pd.DataFrame, out_dir: str | Path) -> Path:
    """Scores by strategy per target (boxes, runs as points, means), baselines as lines."""
    runs = std[std.kind == "run"]
    targets = _target_order(std)
    strategies = order_strategies(runs.strategy)
    fig, axes = _grid(len(targets), size=(3.4, 2.8))
    base = _baselines(std, ["mfcc", "rand-ssr"])
    handles: dict = {}
    rows = []
    for ax, target in zip(axes, targets):
        d = runs[runs.target == target]
        data = [d[d.strategy == r].y.to_numpy() for r in strategies]
        bp = ax.boxplot(data, positions=range(len(strategies)), widths=0.6, patch_artist=True, showfliers=False,
                        medianprops={"color": "black"})
        for patch, r in zip(bp["boxes"], strategies):
            patch.set_facecolor(STRATEGY_COLOURS.get(r, "#cccccc"))
            patch.set_alpha(0.35)
        for i, (r, v) in enumerate(zip(strategies, data)):
            ax.scatter(i + _jitter(len(v), i), v, s=9, color=STRATEGY_COLOURS.get(r, "#555555"), zorder=3)
            if len(v):
                h = ax.scatter([i], [v.mean()], marker="D", s=30, color="black", zorder=4)
                handles.setdefault("mean per strategy", h)
                rows.append(dict(target=target, strategy=r, runs=len(v), mean=v.mean(),
                                 median=np.median(v), q1=np.percentile(v, 25), q3=np.percentile(v, 75),
                                 min=v.min(), max=v.max()))
        _draw_baselines(ax, base, target, "y", handles)
        ax.set_xticks(range(len(strategies)), [strategy_label(r) for r in strategies], rotation=45, ha="right")
        ax.set_title(target)
        metric = d.metric.iloc[0] if len(d) else ""
        ax.set_ylabel(metric_label(metric))
        ax.grid(axis="y", alpha=0.3)
    _legend_below(fig, handles)
    fig.suptitle("Scores by representation strategy")
    cols = ["target", "strategy", "runs", "mean", "median", "q1", "q3", "min", "max"]
    return save(fig, out_dir, FIGURES[9], pd.DataFrame(rows, columns=cols))


# -- Fig. 10 ----------------------------------------------------------------------------
def _ols_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope)


def fig10_standardised_vs_n(std: pd.DataFrame, out_dir: str | Path) -> Path:
    """y* against the number of sources n, per target and over all: means and linear fits per strategy."""
    runs = std[(std.kind == "run") & np.isfinite(std.y_std)]
    targets = _target_order(runs) + ["all targets"]
    strategies = order_strategies(runs.strategy)
    fig, axes = _grid(len(targets))
    handles: dict = {}
    rows = []
    nmax = int(runs.n.max()) if len(runs) else 1
    for ax, target in zip(axes, targets):
        d = runs if target == "all targets" else runs[runs.target == target]
        ssr_mean = d[d.strategy == SINGLE].y_std.mean()
        if np.isfinite(ssr_mean):
            h = ax.axhline(ssr_mean, color="black", linewidth=1.0)
            handles.setdefault("SS-R mean", h)
        for k, r in enumerate(strategies):
            v = d[d.strategy == r]
            colour = STRATEGY_COLOURS.get(r, "#555555")
            offset = (k - (len(strategies) - 1) / 2) * 0.06
            ax.scatter(v.n + offset, v.y_std, s=7, color=colour, alpha=0.35, linewidths=0)
            means = v.groupby("n").y_std.mean()
            h = ax.scatter(means.index + offset, means.values, s=22, color=colour, zorder=4)
            handles.setdefault(strategy_label(r), h)
            for n_val, m in means.items():
                rows.append(dict(target=target, strategy=r, n=int(n_val), mean_y_std=m,
                                 runs=int((v.n == n_val).sum()), fit_intercept=np.nan, fit_slope=np.nan))
            if r != SINGLE:
                fit = _ols_line(v.n.to_numpy(float), v.y_std.to_numpy(float))
                if fit:
                    xs = np.array([v.n.min(), v.n.max()], dtype=float)
                    ax.plot(xs, fit[0] + fit[1] * xs, color=colour, linewidth=1.4)
                    rows.append(dict(target=target, strategy=r, n=np.nan, mean_y_std=np.nan, runs=len(v),
                                     fit_intercept=fit[0], fit_slope=fit[1]))
        ax.set_xticks(range(1, nmax + 1))
        ax.set_xlabel("number of learning sources n")
        ax.set_ylabel("standardised score y*")
        ax.set_title(target)
        ax.grid(alpha=0.3)
    _legend_below(fig, handles, ncol=7)
    fig.suptitle("Standardised score by number of sources (points: runs; large: means; lines: linear fits)")
    cols = ["target", "strategy", "n", "mean_y_std", "runs", "fit_intercept", "fit_slope"]
    return save(fig, out_dir, FIGURES[10], pd.DataFrame(rows, columns=cols))


# -- Figs. 11 and 12 ----------------------------------------------------------------------
def _not_fitted(out_dir: str | Path, name: str, text: str) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 2.5), constrained_layout=True)
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return save(fig, out_dir, name, pd.DataFrame({"note": [text]}))


def _interval(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str]:
    if df["ci_low"].notna().all() and len(df):
        return df["ci_low"].to_numpy(float), df["ci_high"].to_numpy(float), "bootstrap 95% interval"
    return df["wald_low"].to_numpy(float), df["wald_high"].to_numpy(float), "Wald 95% interval (no bootstrap)"


def _effects_panel(ax, df: pd.DataFrame, labels: list[str], colours: list[str], title: str, ylabel: str) -> str:
    lo, hi, what = _interval(df)
    est = df["estimate"].to_numpy(float)
    x = np.arange(len(df))
    for i in range(len(df)):
        # The interval drawn from its own ends: a percentile bootstrap interval need not
        # contain the estimate (few replicates, a boundary), which error bars cannot show.
        ax.vlines(x[i], lo[i], hi[i], color=colours[i], linewidth=1.5)
        ax.plot([x[i], x[i]], [lo[i], hi[i]], linestyle="none", marker="_", markersize=10, color=colours[i])
        ax.plot(x[i], est[i], "o", color=colours[i], markersize=6)
    ax.axhline(0, color="#888888", linewidth=0.8, linestyle="--")
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return what


def fig11_model1_effects(model1: pd.DataFrame, out_dir: str | Path) -> Path:
    """Model 1's fixed effects with 95% intervals: intercepts b0[r] (left), slopes b1[r] (right)."""
    plt = _plt()
    fixed = model1[model1.kind == "fixed"]
    if fixed.empty:
        return _not_fitted(out_dir, FIGURES[11], "Model 1 was not fitted (see fits.json)")
    b0 = fixed[fixed.term == "intercept"]
    b1 = fixed[fixed.term == "n*"]
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8), constrained_layout=True)
    what = _effects_panel(axes[0], b0, list(b0.strategy_label), [STRATEGY_COLOURS.get(s, "#333") for s in b0.strategy],
                          "intercepts b0[r] (SS-R, or n = 2)", "effect on y* (standardised units)")
    if len(b1):
        _effects_panel(axes[1], b1, list(b1.strategy_label), [STRATEGY_COLOURS.get(s, "#333") for s in b1.strategy],
                       "slopes b1[r] per extra source", "change of y* per source")
    else:
        axes[1].text(0.5, 0.5, "no slope identified\n(a single n per strategy)", ha="center", va="center",
                     transform=axes[1].transAxes)
        axes[1].set_axis_off()
    fig.suptitle(f"Model 1: fixed effects and {what}s")
    cols = ["parameter", "term", "strategy", "estimate", "se", "ci_low", "ci_high", "wald_low", "wald_high",
            "boot_n", "bootstrap_scheme"]
    return save(fig, out_dir, FIGURES[11], fixed[cols])


def fig12_model2_effects(model2: pd.DataFrame, out_dir: str | Path) -> Path:
    """Model 2's fixed effects (b0, b10 network size, b20 sources, b30 interaction) with 95% intervals."""
    plt = _plt()
    fixed = model2[model2.kind == "fixed"]
    if fixed.empty:
        return _not_fitted(out_dir, FIGURES[12], "Model 2 was not fitted (see fits.json)")
    labels = {"b0": "b0 intercept", "b10": "b10 size r*", "b20": "b20 sources n*", "b30": "b30 r* × n*"}
    fig, ax = plt.subplots(figsize=(5.5, 3.8), constrained_layout=True)
    what = _effects_panel(ax, fixed, [labels.get(p, p) for p in fixed.parameter], ["#0072B2"] * len(fixed),
                          "", "effect on y* (standardised units)")
    fig.suptitle(f"Model 2: fixed effects and {what}s")
    cols = ["parameter", "term", "estimate", "se", "ci_low", "ci_high", "wald_low", "wald_high", "boot_n",
            "bootstrap_scheme"]
    return save(fig, out_dir, FIGURES[12], fixed[cols])


# -- Fig. 13 ----------------------------------------------------------------------------
def best_sources(std: pd.DataFrame) -> dict[str, str]:
    """The source whose SS-R runs score best (mean y) on each target."""
    ssr = std[(std.kind == "run") & (std.strategy == SINGLE)]
    out = {}
    for target, d in ssr.groupby("target", sort=False):
        means = d.groupby("sources").y.mean()
        if len(means):
            out[target] = str(means.idxmax())
    return out


def _fit_band(x: np.ndarray, y: np.ndarray, grid: np.ndarray):
    """OLS line and its 95% confidence band on ``grid`` (None when not estimable)."""
    from scipy import stats

    if len(x) < 3 or np.ptp(x) == 0:
        return None
    X = np.column_stack([np.ones_like(x), x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = len(x) - 2
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(X.T @ X)
    G = np.column_stack([np.ones_like(grid), grid])
    fit = G @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", G, cov, G))
    t = stats.t.ppf(0.975, dof)
    return fit, fit - t * se, fit + t * se, beta


def fig13_best_source(std: pd.DataFrame, out_dir: str | Path) -> Path:
    """Multi-source runs with (filled, solid fit) and without (open, dashed fit) each target's best SS-R source."""
    best = best_sources(std)
    runs = std[(std.kind == "run") & np.isfinite(std.y_std)]
    targets = [t for t in _target_order(runs) if t in best]
    fig, axes = _grid(max(len(targets), 1))
    handles: dict = {}
    rows, fits = [], []
    for ax, target in zip(axes, targets):
        src = best[target]
        d = runs[runs.target == target]
        multi = d[d.strategy != SINGLE]
        ssr_best = d[(d.strategy == SINGLE) & (d.sources == src)].y_std
        if len(ssr_best):
            h = ax.scatter(np.ones(len(ssr_best)), ssr_best, s=22, color="black", zorder=4)
            handles.setdefault("SS-R of the best source", h)
        with_src = multi[multi[f"has_{src}"] == 1]
        without = multi[multi[f"has_{src}"] == 0]
        grid = np.linspace(2, max(2, multi.n.max() if len(multi) else 2), 30)
        for part, filled, style, label in ((with_src, True, "-", "with the best source"),
                                           (without, False, "--", "without it")):
            x = part.n.to_numpy(float) + _jitter(len(part), 3, 0.08)
            if filled:
                h = ax.scatter(x, part.y_std, s=14, color="#0072B2", zorder=3)
            else:
                h = ax.scatter(x, part.y_std, s=14, facecolors="none", edgecolors="#D55E00", zorder=3)
            handles.setdefault(label, h)
            band = _fit_band(part.n.to_numpy(float), part.y_std.to_numpy(float), grid)
            colour = "#0072B2" if filled else "#D55E00"
            if band is not None:
                fit, lo, hi, beta = band
                ax.plot(grid, fit, style, color=colour, linewidth=1.4)
                ax.fill_between(grid, lo, hi, color=colour, alpha=0.12, hatch=None if filled else "//",
                                linewidth=0)
                fits.append(dict(target=target, best_source=src, group=label, intercept=beta[0], slope=beta[1],
                                 runs=len(part)))
            rows += [dict(target=target, best_source=src, run_id=r.run_id, strategy=r.strategy, n=r.n,
                          y_std=r.y_std, has_best=int(filled)) for r in part.itertuples()]
        ax.set_title(f"{target} (best: {src})")
        ax.set_xlabel("number of learning sources n")
        ax.set_ylabel("standardised score y*")
        ax.grid(alpha=0.3)
    _legend_below(fig, handles)
    fig.suptitle("With and without each target's best single source (bands: 95% intervals of the fits)")
    table = pd.DataFrame(rows, columns=["target", "best_source", "run_id", "strategy", "n", "y_std", "has_best"])
    fit_table = pd.DataFrame(fits, columns=["target", "best_source", "group", "intercept", "slope", "runs"])
    table = pd.concat([table.assign(row="run"), fit_table.assign(row="fit")], ignore_index=True)
    return save(fig, out_dir, FIGURES[13], table)


# -- Fig. 14 ----------------------------------------------------------------------------
def fig14_variance_vs_ssr(pairs: pd.DataFrame, corr: dict[str, float], out_dir: str | Path) -> Path:
    """Variance component of each source (percent, per target) against its SS-R standardised score."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.8, 4.6), constrained_layout=True)
    markers = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
    sources = sorted(pairs.source.unique()) if len(pairs) else []
    targets = sorted(pairs.target.unique()) if len(pairs) else []
    cmap = _plt().get_cmap("tab10")
    for i, s in enumerate(sources):
        for j, t in enumerate(targets):
            v = pairs[(pairs.source == s) & (pairs.target == t)]
            if len(v):
                ax.scatter(v.ssr_y_std, v.percent, color=cmap(i % 10), marker=markers[j % len(markers)], s=40)
    from matplotlib.lines import Line2D

    h1 = [Line2D([], [], color=cmap(i % 10), marker="o", linestyle="", label=s) for i, s in enumerate(sources)]
    h2 = [Line2D([], [], color="#555555", marker=markers[j % len(markers)], linestyle="", label=t)
          for j, t in enumerate(targets)]
    if h1:
        leg = ax.legend(handles=h1, title="source", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.add_artist(leg)
        ax.legend(handles=h2, title="target", loc="lower left", bbox_to_anchor=(1.01, 0.0), frameon=False)
    r = corr.get("pearson_r", float("nan"))
    text = f"Pearson r = {r:.2f} over {int(corr.get('pairs', 0))} pairs" if np.isfinite(r) else \
        "too few pairs for a correlation"
    ax.set_title(f"Variance component against SS-R performance ({text})")
    ax.set_xlabel("standardised SS-R score y* of the source")
    ax.set_ylabel("variance component (% of total, multi-source runs)")
    ax.grid(alpha=0.3)
    if not len(pairs):
        ax.text(0.5, 0.5, "no (target, source) pairs: no SS-R runs or no components", ha="center",
                transform=ax.transAxes)
    data = pairs.assign(pearson_r=r)
    return save(fig, out_dir, FIGURES[14], data)


# -- Fig. 15 ----------------------------------------------------------------------------
def fig15_parameters(table: pd.DataFrame, out_dir: str | Path) -> Path:
    """Number of network parameters against n per strategy (SS-R as a reference line), from the
    models stage's parameter counts (:func:`onerep.models.summary.write_parameter_counts`: the
    counts with the ``width`` and ``k`` they were counted at)."""
    width, k = float(table.width.iloc[0]), int(table.k.iloc[0])
    counts = table.drop(columns=["width", "k"])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    for r in order_strategies(counts.strategy):
        d = counts[counts.strategy == r]
        colour = STRATEGY_COLOURS.get(r, "#555")
        if r == SINGLE:
            ax.axhline(d.params_mean.iloc[0], color=colour, linewidth=1.0, label=f"{strategy_label(r)} (n = 1)")
            continue
        ax.plot(d.n, d.params_mean, "-o", color=colour, label=strategy_label(r), markersize=4)
    ax.set_yscale("log")
    ax.set_xticks(range(1, int(counts.n.max()) + 1))
    ax.set_xlabel("number of learning sources n")
    ax.set_ylabel("trainable parameters (log scale)")
    ax.set_title(f"Network size by number of sources (width {width:g}, k = {k})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", frameon=False)
    return save(fig, out_dir, FIGURES[15], counts)


# -- Fig. 16 ----------------------------------------------------------------------------
def fig16_tsne(points: pd.DataFrame, info: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Draw Fig. 16 (t-SNE with per-class topic terms) from the t-SNE step's table and
    description (:mod:`onerep.analysis.tsne`); an explanatory figure when it drew no map."""
    plt = _plt()
    if "note" in info:
        fig, ax = plt.subplots(figsize=(6, 2.5), constrained_layout=True)
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"Fig. 16 not drawn:\n{info['note']}", ha="center", va="center", wrap=True)
        return save(fig, out_dir, FIGURES[16], points)
    labels = points.label.to_numpy().astype(str)
    xy = points[["x", "y"]].to_numpy()
    sources = [c[: -len("_terms")] for c in points.columns if c.endswith("_terms")]
    first = points.drop_duplicates("label").set_index("label")
    classes = sorted(set(labels))
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    fig, (ax, tx) = plt.subplots(1, 2, figsize=(13.5, 6.6), gridspec_kw={"width_ratios": [1.6, 1]},
                                 constrained_layout=True)
    for i, c in enumerate(classes):
        m = labels == c
        ax.scatter(xy[m, 0], xy[m, 1], s=12, color=cmap(i % cmap.N), label=c, alpha=0.8, linewidths=0)
        cx, cy = np.median(xy[m], axis=0)
        ax.text(cx, cy, str(i + 1), fontsize=9, weight="bold", ha="center", va="center",
                bbox=dict(boxstyle="circle,pad=0.2", fc="white", ec=cmap(i % cmap.N), alpha=0.85))
    ax.set_xlabel("t-SNE dimension 1")
    ax.set_ylabel("t-SNE dimension 2")
    ax.legend(title="class", loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=min(5, len(classes)),
              frameon=False, markerscale=1.8)
    run_id, target = str(info["run_id"]), str(info["target"])
    run_name = run_id.split("_")[0]
    ax.set_title(f"{target}: representation {run_id} ({strategy_label(run_name)})\n{info['reason']}", fontsize=9)
    tx.set_axis_off()
    lines = []
    for i, c in enumerate(classes):
        parts = [f"{s}: {first.loc[c, f'{s}_terms']}" for s in sources]
        lines.append(f"{i + 1}. {c}" + ("\n     " + "\n     ".join(parts) if parts else ""))
    header = "strongest topic terms per class\n(topic most raised by the class, per source)\n" if sources else ""
    notes = list(info.get("notes", []))
    text = header + "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")
    tx.text(0.0, 1.0, text, va="top", ha="left", fontsize=8 if len(classes) <= 10 else 6.5, family="monospace",
            transform=tx.transAxes)
    fig.suptitle("t-SNE map of one representation with the topic terms its sources predict")
    return save(fig, out_dir, FIGURES[16], points)


# -- training curves ------------------------------------------------------------------------
def training_curves(logs: pd.DataFrame, out_dir: str | Path) -> Path:
    """Training and validation loss per epoch for every run, one panel per source (report figure)."""
    plt = _plt()
    sources = sorted(logs.source.unique()) if len(logs) else []
    n = max(len(sources), 1)
    fig, axes = plt.subplots(2, n, figsize=(3.2 * n, 5.6), squeeze=False, constrained_layout=True)
    handles: dict = {}
    for j, s in enumerate(sources):
        d = logs[logs.source == s]
        for _run_id, v in d.groupby("run_id"):
            v = v.sort_values("epoch")
            r = v.strategy.iloc[0] if "strategy" in v else ""
            colour = STRATEGY_COLOURS.get(r, "#555")
            for i, col in enumerate(("train_loss", "valid_loss")):
                line, = axes[i, j].plot(v.epoch, v[col], color=colour, alpha=0.7, linewidth=1)
                handles.setdefault(strategy_label(r), line)
        axes[0, j].set_title(f"source {s}")
        for i, what in enumerate(("training", "validation")):
            from matplotlib.ticker import MaxNLocator

            axes[i, j].xaxis.set_major_locator(MaxNLocator(integer=True))
            axes[i, j].set_xlabel("epoch")
            axes[i, j].set_ylabel(f"{what} loss (KL)")
            axes[i, j].grid(alpha=0.3)
    if not sources:
        axes[0, 0].text(0.5, 0.5, "no training logs", ha="center", transform=axes[0, 0].transAxes)
    order = {strategy_label(s): i for i, s in enumerate(order_strategies(logs["strategy"].dropna().astype(str)
                                                                     if "strategy" in logs else []))}
    handles = dict(sorted(handles.items(), key=lambda kv: order.get(kv[0], 99)))
    _legend_below(fig, handles)
    fig.suptitle("Training curves: loss per epoch of every run (colour: strategy)")
    return save(fig, out_dir, TRAINING, logs)


def table_paths(tables: str | Path | Mapping[str, str | Path], names: Mapping[str, str]) -> dict[str, Path]:
    """The file of each named table: ``tables`` maps the names to files, or is the
    analysis folder that holds them under the names' file names (``names``)."""
    if isinstance(tables, (str, Path)):
        return {k: Path(tables) / v for k, v in names.items()}
    lacking = [k for k in names if not tables.get(k)]
    if lacking:
        raise ValueError(f"no file given for the table(s) {', '.join(lacking)}")
    return {k: Path(tables[k]) for k in names}


def figures_step(tables: str | Path | Mapping[str, str | Path], out_dir: str | Path,
                 alias: str | Path | None = None, alias_phase3: str | Path | None = None) -> list[Path]:
    """Draw Figs. 7 to 16 into ``out_dir`` from the tables of :data:`FIGURE_TABLES`
    (a mapping from their names to files, or the analysis folder that holds them)."""
    import json

    from onerep.design.diagnostics import read_alias

    from .tables import read_tsv
    from .tsne import read_tsne

    t = table_paths(tables, FIGURE_TABLES)
    std = read_tsv(t["standardised"])
    out = []
    if alias is not None:
        mat = read_alias(alias)
        p3 = read_alias(alias_phase3) if alias_phase3 else None
        out.append(fig07_alias(mat, out_dir, p3))
    out.append(fig08_ssr_by_source(std, out_dir))
    out.append(fig09_by_strategy(std, out_dir))
    out.append(fig10_standardised_vs_n(std, out_dir))
    out.append(fig11_model1_effects(read_tsv(t["model1"]), out_dir))
    out.append(fig12_model2_effects(read_tsv(t["model2"]), out_dir))
    out.append(fig13_best_source(std, out_dir))
    fits = json.loads(t["fits"].read_text())
    corr = fits.get("variance_components", {}).get("correlation", {})
    out.append(fig14_variance_vs_ssr(read_tsv(t["correlation"]), corr, out_dir))
    out.append(fig15_parameters(read_tsv(t["parameters"]), out_dir))
    out.append(fig16_tsne(*read_tsne(t["tsne"], t["tsne_info"]), out_dir))
    return out
