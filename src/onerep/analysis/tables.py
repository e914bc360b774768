"""The statistical steps of the analysis, from score files to the result tables.

:func:`collect_step` writes ``scores.tsv`` (every repetition),
``standardised.tsv`` (one row per representation and target, with y*, n*, r*) and
``collect.json`` (counts, each target's scoring protocol, notes);
:func:`models_step` fits models 1 and 2, bootstraps them, compares the strategies,
estimates the per-source variance components and writes ``model1.tsv``,
``model2.tsv``, ``pairwise.tsv``, ``variance_components.tsv``,
``variance_correlation.tsv``, the bootstrap replicates and ``fits.json`` (notes on
convergence and boundary fits, seeds, formulas).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onerep.design.runs import read_runs
from onerep.util import atomic_path, derive_seed, setting, write_text_atomic

from .bootstrap import BootstrapResult, bootstrap
from .collect import (
    collect_scores,
    expected_score_files,
    match_score_files,
    model_data,
    run_means,
    source_names,
    standardise,
    target_protocols,
)
from .compare import PAIRWISE_COLUMNS, pairwise
from .models import estimates_table, fit_mixed, formula_text, model1_spec, model2_spec
from .variance import correlation, source_components, ssr_performance

log = logging.getLogger(__name__)


def write_tsv(df: pd.DataFrame, path: str | Path) -> None:
    """A table as TSV, written atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")


def read_tsv(path: str | Path) -> pd.DataFrame:
    """A TSV written by this stage (``NA`` as missing)."""
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=True,
                       dtype={"run_id": str, "target": str, "sources": str})


def collect_step(scores: str | Path | Sequence[str | Path], runs_path: str | Path, settings: dict[str, Any],
                 out_dir: str | Path, allow_missing: bool = False) -> dict[str, Any]:
    """Read every expected score file, check it, and write the tidy and standardised tables.

    ``scores``: the score files (a list, as the workflow passes them; each named
    ``<rep>/<target>.tsv``), or the folder that holds them. The study's runs, targets
    and baselines say which files are expected; they are read in that order whatever
    the order given.
    """
    runs = read_runs(runs_path)
    targets = setting(settings, "targets")
    if not targets:
        raise ValueError("settings: 'targets' (the study's target names) is empty")
    folder = isinstance(scores, (str, Path))
    files = expected_score_files(
        scores if folder else "scores", list(runs.run_id), targets,
        baselines=setting(settings, "extract.baselines"),
        strategies=setting(settings, "design.strategies"),
        user_features=setting(settings, "extract.user_features"),
    )
    if folder:
        present = [f for f in files if f.exists()]
        missing: list[Any] = [f for f in files if not f.exists()]
    else:
        given = match_score_files(scores, files)
        present = [g for g in given if g is not None and g.exists()]
        missing = [g if g is not None else f"{f.parent.name}/{f.name} (not given)" for f, g in zip(files, given)
                   if g is None or not g.exists()]
    notes = []
    if missing:
        if not allow_missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise ValueError(f"{len(missing)} of {len(files)} score files are missing: "
                             f"{', '.join(map(str, missing[:5]))}{more}")
        notes.append(f"{len(missing)} of {len(files)} score files were missing and are left out "
                     f"(e.g. {missing[0]})")
        log.warning(notes[-1])
    from onerep.util import progress

    scores = collect_scores(progress(present, desc="score files"), runs)
    protocols, protocol_notes = target_protocols(scores)
    notes += protocol_notes
    design_sources = source_names(runs)
    means = run_means(scores)
    std, std_notes = standardise(means, design_sources)
    notes += std_notes
    out = Path(out_dir)
    write_tsv(scores.drop(columns=["source_file"]), out / "scores.tsv")
    write_tsv(std, out / "standardised.tsv")
    info = {"score_files": len(present), "missing_files": len(missing), "rows": len(scores),
            "representations": int(std.run_id.nunique()), "targets": sorted(std.target.unique()),
            "sources": design_sources, "protocols": protocols, "notes": notes}
    write_text_atomic(out / "collect.json", json.dumps(info, indent=2) + "\n")
    for n in notes:
        log.info("note: %s", n)
    return info


#: Columns of model1.tsv and model2.tsv.
MODEL_COLUMNS = ["model", "kind", "parameter", "term", "strategy", "strategy_label", "estimate", "se", "z", "p_wald",
                 "wald_low", "wald_high", "ci_low", "ci_high", "boot_se", "boot_n", "boundary", "converged",
                 "bootstrap_scheme", "bootstrap_seed", "formula"]


def _model_table(spec, fit, boot: BootstrapResult | None, scheme: str, seed: int) -> pd.DataFrame:
    est = estimates_table(spec, fit)
    if boot is not None:
        est = est.merge(boot.intervals(), on="parameter", how="left")
    else:
        est = est.assign(ci_low=np.nan, ci_high=np.nan, boot_se=np.nan, boot_n=0)
    est["bootstrap_scheme"] = scheme if boot is not None else "none"
    est["bootstrap_seed"] = seed
    return est[MODEL_COLUMNS]


def _boot_notes(name: str, boot: BootstrapResult) -> list[str]:
    notes = []
    B = len(boot.ok)
    if B and boot.n_ok < B:
        notes.append(f"{name}: {B - boot.n_ok} of {B} bootstrap refits failed and are left out of the intervals")
    if B and boot.boundary.mean() > 0:
        notes.append(f"{name}: in {100 * boot.boundary.mean():.0f}% of the bootstrap refits at least one variance "
                     "component was estimated at zero (the intervals of such components include 0)")
    if B and (~boot.converged[boot.ok]).any():
        notes.append(f"{name}: {int((~boot.converged[boot.ok]).sum())} bootstrap refits stopped unconverged")
    return notes


def models_step(standardised_path: str | Path, settings: dict[str, Any], out_dir: str | Path,
                threads: int = 1, scheme: str | None = None) -> dict[str, Any]:
    """Fit, bootstrap and compare; write the model tables and ``fits.json``."""
    std = read_tsv(standardised_path)
    data = model_data(std)
    if data.empty:
        raise ValueError(f"{standardised_path}: no design-run scores with a standardised value")
    B = int(setting(settings, "analysis.bootstrap"))
    master = int(setting(settings, "seed"))
    seed = derive_seed(master, "bootstrap")
    scheme = scheme or setting(settings, "analysis.bootstrap_scheme")
    out = Path(out_dir)
    info: dict[str, Any] = {"observations": len(data), "targets": sorted(data.target.unique()),
                            "bootstrap": {"replicates": B, "seed": seed, "scheme": scheme, "threads": threads},
                            "notes": []}
    if data.target.nunique() < 2:
        info["notes"].append("only one target: the random effects per data set cannot be told from the residual")
    tables, fits = {}, {}
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        for name, make in (("model1", model1_spec), ("model2", model2_spec)):
            try:
                spec = make(data)
            except ValueError as exc:
                info["notes"].append(f"{name}: not fitted: {exc}")
                log.warning("%s: not fitted: %s", name, exc)
                write_tsv(pd.DataFrame(columns=MODEL_COLUMNS), out / f"{name}.tsv")
                write_tsv(pd.DataFrame(columns=["replicate"]), out / f"bootstrap_{name}.tsv")
                info[name] = {"ok": False, "notes": [str(exc)]}
                continue
            fit = fit_mixed(spec, keep_resid=True)
            notes = spec.notes + fit.notes(spec)
            boot = None
            if fit.ok and B > 0:
                log.info("%s: %d bootstrap replicates (%s scheme, seed %d, %d processes)", name, B, scheme, seed,
                         threads)
                boot = bootstrap(spec, fit, B, seed, threads=threads, scheme=scheme, show_progress=True)
                notes += _boot_notes(name, boot)
                write_tsv(boot.frame(), out / f"bootstrap_{name}.tsv")
            else:
                write_tsv(pd.DataFrame(columns=["replicate"] + spec.fe_names), out / f"bootstrap_{name}.tsv")
                if B == 0:
                    notes.append(f"{name}: bootstrap disabled (analysis.bootstrap = 0); only Wald intervals")
            table = _model_table(spec, fit, boot, scheme, seed)
            write_tsv(table, out / f"{name}.tsv")
            tables[name] = table
            fits[name] = (spec, fit, boot)
            info[name] = {"ok": fit.ok, "converged": fit.converged, "method": fit.method, "llf": fit.llf,
                          "boundary": fit.boundary, "formula": formula_text(spec), "statsmodels": spec.formulas,
                          "observations": len(spec.y), "notes": notes}
            info["notes"] += notes
            for n in notes:
                log.info("note: %s", n)
    pw = pd.DataFrame(columns=PAIRWISE_COLUMNS)
    if "model1" in fits and fits["model1"][1].ok:
        spec, fit, boot = fits["model1"]
        pw = pairwise(spec, fit, boot)
    write_tsv(pw, out / "pairwise.tsv")
    sources = [c[4:] for c in std.columns if c.startswith("has_")]
    comps, vnotes = source_components(std, sources)
    write_tsv(comps, out / "variance_components.tsv")
    pairs, corr = correlation(comps, ssr_performance(std, sources))
    write_tsv(pairs, out / "variance_correlation.tsv")
    info["variance_components"] = {"notes": vnotes, "correlation": corr}
    info["notes"] += vnotes
    write_text_atomic(out / "fits.json", json.dumps(info, indent=2, default=_json_default) + "\n")
    return info


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
