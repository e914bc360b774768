"""``summary.md``: the key numbers of the analysis for readers without Snakemake's report."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onerep.evaluate.scores import PROTOCOLS, UNRECORDED
from onerep.util import setting, write_text_atomic

from . import SUMMARY_TABLES
from .coding import baseline_label, strategy_label
from .figures import FIGURES, TRAINING, metric_label, table_paths

DEMO_NOTE = (
    "**This study runs on the simulated demo world**: each track's audio is synthesised from latent "
    "factors (genre style, tempo, key, instruments, mood, era) and each learning source observes some "
    "of the same factors with noise (tags, tempo with octave errors, release year, listening counts, "
    "lyrics topics). The networks can learn only what the audio shares with the labels, in a small "
    "study (few runs, short training); the numbers exercise the pipeline and show what the analysis "
    "reports, and are not evidence about music or about the paper's claims."
)


def _fmt(v: Any, digits: int = 3) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(f):
        return "NA"
    return f"{f:.{digits}f}"


def _p(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "NA"
    if not np.isfinite(f):
        return "NA"
    return "<0.001" if f < 0.001 else f"{f:.3f}"


def md_table(df: pd.DataFrame) -> str:
    """A pipe table (cells already formatted as text)."""
    if df.empty:
        return "_(none)_\n"
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def _read(path: Path) -> pd.DataFrame:
    from .tables import read_tsv

    return read_tsv(path) if path.exists() else pd.DataFrame()


def effects_table(model: pd.DataFrame) -> pd.DataFrame:
    """Fixed effects formatted for the summary: estimate, 95% interval, Wald p."""
    fixed = model[model.kind == "fixed"]
    boot = fixed.ci_low.notna().all() and len(fixed)
    lo, hi = (fixed.ci_low, fixed.ci_high) if boot else (fixed.wald_low, fixed.wald_high)
    return pd.DataFrame({
        "parameter": fixed.parameter,
        "estimate": [_fmt(v) for v in fixed.estimate],
        "95% interval" + (" (bootstrap)" if boot else " (Wald)"): [f"[{_fmt(a)}, {_fmt(b)}]" for a, b in zip(lo, hi)],
        "SE": [_fmt(v) for v in fixed.se],
        "p (Wald)": [_p(v) for v in fixed.p_wald],
    })


def variance_table(model: pd.DataFrame) -> pd.DataFrame:
    """Variance components of a model with their intervals."""
    var = model[model.kind == "variance"]
    return pd.DataFrame({
        "component": var.parameter,
        "estimate": [_fmt(v, 4) for v in var.estimate],
        "95% interval (bootstrap)": [f"[{_fmt(a, 4)}, {_fmt(b, 4)}]" for a, b in zip(var.ci_low, var.ci_high)],
        "at boundary": ["yes" if b else "" for b in var.boundary.astype(bool)],
    })


def best_per_target(std: pd.DataFrame, protocols: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Best design run, best baseline and mean SS-R score on each target (raw metric),
    with the target's scoring protocol (``collect.json``'s ``protocols``)."""
    protocols = protocols or {}
    rows = []
    for target, d in std.groupby("target", sort=False):
        runs = d[d.kind == "run"]
        base = d[d.kind == "baseline"]
        metric = d.metric.iloc[0]
        best = runs.loc[runs.y.idxmax()] if len(runs) else None
        bb = base.loc[base.y.idxmax()] if len(base) else None
        rows.append({
            "target": target, "metric": metric_label(metric),
            "best run": f"{best.run_id} ({_fmt(best.y)})" if best is not None else "NA",
            "best strategy": strategy_label(best.strategy) if best is not None else "NA",
            "mean SS-R": _fmt(runs[runs.strategy == "ssr"].y.mean()),
            "mean multi-source": _fmt(runs[runs.strategy != "ssr"].y.mean()),
            "best baseline": f"{baseline_label(bb.run_id)} ({_fmt(bb.y)})" if bb is not None else "NA",
            "protocol": f"`{protocols.get(target, UNRECORDED)}`",
        })
    return pd.DataFrame(rows)


def protocol_lines(targets: Iterable[str], protocols: Mapping[str, str]) -> list[str]:
    """One Markdown list item per protocol: its code, the targets scored with it, its meaning."""
    by_code: dict[str, list[str]] = {}
    for target in targets:
        by_code.setdefault(protocols.get(target, UNRECORDED), []).append(target)
    return [f"- `{code}` ({', '.join(names)}): {PROTOCOLS.get(code, code)}." for code, names in by_code.items()]


def write_summary(tables: str | Path | Mapping[str, str | Path], out: str | Path,
                  settings: dict[str, Any] | None = None, figures: Iterable[str | Path] | None = None) -> Path:
    """Write ``summary.md`` from the tables of :data:`SUMMARY_TABLES` (a mapping from
    their names to files, or the analysis folder that holds them), figures linked
    relatively.

    ``figures``: the figure files to link (all in one folder); by default those in the
    analysis folder's ``figures/``.
    """
    settings = settings or {}
    files = table_paths(tables, SUMMARY_TABLES)
    out = Path(out)
    if figures is None:
        if not isinstance(tables, (str, Path)):
            raise ValueError("write_summary: name the figure files when the tables are given one by one")
        fig_dir = Path(tables) / "figures"

        def shown(name: str) -> bool:
            return (fig_dir / name).exists()
    else:
        given = [Path(f) for f in figures]
        folders = sorted({str(f.parent) for f in given})
        if len(folders) > 1:
            raise ValueError(f"the figure files are in several folders ({', '.join(folders)}); give one folder's")
        fig_dir = given[0].parent if given else out.parent / "figures"
        names = {f.name for f in given}

        def shown(name: str) -> bool:
            return name in names
    std = _read(files["standardised"])
    m1, m2 = _read(files["model1"]), _read(files["model2"])
    pw = _read(files["pairwise"])
    vc = _read(files["components"])
    fits = json.loads(files["fits"].read_text()) if files["fits"].exists() else {}
    collect = json.loads(files["collect"].read_text()) if files["collect"].exists() else {}
    design = _read(files["design"])
    acq = _read(files["acquisition"])
    vers = _read(files["versions"])
    study = setting(settings, "study")
    boot = fits.get("bootstrap", {})
    L: list[str] = [f"# {study}: analysis summary\n"]
    if setting(settings, "demo.enabled"):
        L.append(DEMO_NOTE + "\n")
    runs = std[std.kind == "run"] if len(std) else std
    L.append(
        f"{runs.run_id.nunique() if len(std) else 0} trained representations and "
        f"{std[std.kind == 'baseline'].run_id.nunique() if len(std) else 0} baselines scored on "
        f"{std.target.nunique() if len(std) else 0} targets ({collect.get('rows', 'NA')} score rows, the "
        f"mean over repetitions taken per representation and target). Scores are standardised within each "
        f"target (y* = (y - mean) / sd over the trained representations). Bootstrap: "
        f"{boot.get('replicates', 'NA')} replicates, '{boot.get('scheme', 'NA')}' scheme, seed "
        f"{boot.get('seed', 'NA')}.\n")
    L.append("## Design\n")
    L.append(md_table(design.astype(str)) if len(design) else "_(design summary not available)_\n")
    if len(acq):
        L.append("\n## Tracks lost in acquisition\n")
        t = acq.copy()
        t["lost_percent"] = [_fmt(v, 1) for v in t.lost_percent]
        L.append(md_table(t.fillna("NA").astype(str)))
    L.append("\n## Scores per target\n")
    protocols = collect.get("protocols", {})
    L.append(md_table(best_per_target(std, protocols)) if len(std) else "_(no scores)_\n")
    if len(std):
        L.append("\nHow each target was scored (the `protocol` column of the score files and of scores.tsv):\n")
        L.append("\n".join(protocol_lines(std.target.unique(), protocols)) + "\n")
    for name, model, fig in (("Model 1", m1, 11), ("Model 2", m2, 12)):
        L.append(f"\n## {name}\n")
        if model.empty:
            L.append("_(not fitted; see the notes)_\n")
            continue
        L.append(f"`{model.formula.iloc[0]}`\n")
        L.append(md_table(effects_table(model)))
        L.append("\nVariance components:\n\n" + md_table(variance_table(model)))
        L.append(f"\n![{name}](figures/{FIGURES[fig]}.png)\n")
    if len(pw):
        L.append("\n## Pairwise comparisons (model 1)\n")
        L.append(f"{pw.method.iloc[0]}.\n\n")
        t = pd.DataFrame({"family": pw.family, "comparison": pw.a + " - " + pw.b,
                          "difference": [_fmt(v) for v in pw.difference],
                          "95% interval (bootstrap)": [f"[{_fmt(x)}, {_fmt(y)}]"
                                                       for x, y in zip(pw.ci_low, pw.ci_high)],
                          "p (Wald)": [_p(v) for v in pw.p_wald], "p (Wald, Holm)": [_p(v) for v in pw.p_wald_holm],
                          "p (bootstrap)": [_p(v) for v in pw.p_boot]})
        L.append(md_table(t))
    if len(vc):
        L.append("\n## Variance components of the sources (percent of total, multi-source runs)\n")
        wide = vc.pivot(index="component", columns="target", values="percent")
        kinds = vc.drop_duplicates("component").set_index("component").kind
        wide = wide.loc[sorted(wide.index, key=lambda c: ({"source": 0, "strategy": 1, "residual": 2}[kinds[c]], c))]
        L.append(md_table(wide.map(lambda v: _fmt(v, 1)).reset_index()))
        corr = fits.get("variance_components", {}).get("correlation", {})
        L.append(f"\nPearson correlation between a source's component and its standardised SS-R score: "
                 f"r = {_fmt(corr.get('pearson_r'), 2)} (p = {_p(corr.get('p_value'))}, "
                 f"{int(corr.get('pairs', 0) or 0)} target-source pairs; the paper: 0.38).\n")
    notes = list(dict.fromkeys(collect.get("notes", []) + fits.get("notes", [])))
    L.append("\n## Notes on the fits\n")
    L.append("\n".join(f"- {n}" for n in notes) + "\n" if notes else "No convergence or boundary problems.\n")
    L.append("\n## Figures\n")
    for k, stem in FIGURES.items():
        if shown(f"{stem}.png"):
            L.append(f"- Fig. {k}: [{stem}.png](figures/{stem}.png) (data: [{stem}.tsv](figures/{stem}.tsv))")
    if shown(f"{TRAINING}.png"):
        L.append(f"- Training curves: [{TRAINING}.png](figures/{TRAINING}.png)")
    if len(vers):
        L.append("\n\n## Software\n")
        L.append(", ".join(f"{r.package} {r.version}" for r in vers.itertuples()) + "\n")
    text = "\n".join(L) + "\n"
    prefix = os.path.relpath(os.path.abspath(fig_dir), os.path.abspath(out.parent))
    if prefix != "figures":  # links are written relative to the summary's folder
        text = text.replace("](figures/", f"]({prefix}/")
    write_text_atomic(out, text)
    return out
