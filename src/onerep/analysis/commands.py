"""CLI: ``onerep analysis <step>``, the analysis stage's commands (one per workflow rule).

collect  score files -> scores.tsv, standardised.tsv
models   models 1 and 2, bootstrap, pairwise comparisons, variance components
figures  Figs. 7-15 (PNG + TSV)
tsne     Fig. 16
context  design summary, acquisition losses, training curves, software versions
summary  summary.md
all      every step on a finished results folder (without Snakemake)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

from onerep.util import parse_settings, setup_logging

log = logging.getLogger("onerep.analysis")


_settings = parse_settings  # the shared --settings parser


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``onerep analysis`` and its steps."""
    p = subparsers.add_parser(
        "analysis", help="mixed models, variance components, figures and summary (SPEC section 9)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="step", metavar="STEP", required=True)

    def common(q: argparse.ArgumentParser, settings: bool = True) -> None:
        if settings:
            q.add_argument("--settings", default="{}", help="JSON (or @file) with the config keys the step uses")
        q.add_argument("--log", default=None, help="log file")

    q = sub.add_parser("collect", help="collect and standardise every score table")
    q.add_argument("--scores-dir", required=True, help="folder with <rep>/<target>.tsv score files")
    q.add_argument("--runs", required=True, help="design/runs.tsv")
    q.add_argument("--out", required=True, help="analysis folder")
    q.add_argument("--allow-missing", action="store_true", help="analyse the score files that exist")
    common(q)
    q.set_defaults(func=run_collect)

    q = sub.add_parser("models", help="fit models 1 and 2, bootstrap, compare strategies, variance components")
    q.add_argument("--standardised", required=True, help="standardised.tsv from 'collect'")
    q.add_argument("--out", required=True, help="analysis folder")
    q.add_argument("--threads", type=int, default=1, help="bootstrap worker processes")
    q.add_argument("--scheme", choices=("residual", "parametric", "runs"), default=None,
                   help="bootstrap scheme (default: residual; see onerep.analysis.bootstrap)")
    common(q)
    q.set_defaults(func=run_models)

    q = sub.add_parser("figures", help="draw Figs. 7-15")
    q.add_argument("--analysis-dir", required=True)
    q.add_argument("--alias", default=None, help="design/alias.tsv (Fig. 7)")
    q.add_argument("--alias-phase3", default=None, help="design/alias_phase3.tsv")
    q.add_argument("--out", required=True, help="figures folder")
    common(q)
    q.set_defaults(func=run_figures)

    q = sub.add_parser("tsne", help="draw Fig. 16 (t-SNE of one representation on a genre target)")
    q.add_argument("--standardised", required=True)
    q.add_argument("--features-dir", required=True, help="folder with <rep>/<target>.h5")
    q.add_argument("--runs-dir", required=True, help="folder with <run>/model.pt")
    q.add_argument("--targets-dir", required=True, help="folder with <target>/labels.tsv")
    q.add_argument("--labels-dir", required=True, help="folder with <source>.topics.tsv")
    q.add_argument("--out", required=True, help="figures folder")
    common(q)
    q.set_defaults(func=run_tsne)

    q = sub.add_parser("context", help="design summary, acquisition losses, training curves, versions")
    q.add_argument("--runs", required=True, help="design/runs.tsv")
    q.add_argument("--mel-dir", required=True, help="folder with <dataset>.records.tsv")
    q.add_argument("--datasets", required=True, help="comma-separated data sets (corpus and targets)")
    q.add_argument("--runs-dir", required=True, help="folder with <run>/train_log.tsv")
    q.add_argument("--labels-summary", default=None, help="labels/summary.tsv")
    q.add_argument("--out", required=True, help="context folder")
    q.add_argument("--figures", required=True, help="figures folder (training curves)")
    common(q, settings=False)
    q.set_defaults(func=run_context)

    q = sub.add_parser("summary", help="write summary.md with the key numbers")
    q.add_argument("--analysis-dir", required=True)
    q.add_argument("--out", required=True, help="summary.md")
    common(q)
    q.set_defaults(func=run_summary)

    q = sub.add_parser("all", help="every step on a results folder, without Snakemake")
    q.add_argument("--configfile", required=True, help="the study's config")
    q.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 1)), help="bootstrap processes")
    q.add_argument("--allow-missing", action="store_true", help="analyse the score files that exist")
    q.add_argument("--scheme", choices=("residual", "parametric", "runs"), default=None)
    q.add_argument("--log", default=None)
    q.set_defaults(func=run_all)


def run_collect(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis collect``."""
    from .tables import collect_step

    setup_logging(args.log)
    info = collect_step(args.scores_dir, args.runs, _settings(args.settings), args.out, args.allow_missing)
    log.info("collected %d score files (%d rows, %d representations, targets %s)", info["score_files"],
             info["rows"], info["representations"], ", ".join(info["targets"]))
    return 0


def run_models(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis models``."""
    from .tables import models_step

    setup_logging(args.log)
    info = models_step(args.standardised, _settings(args.settings), args.out, threads=args.threads,
                       scheme=args.scheme)
    log.info("models fitted on %d observations; %d notes", info["observations"], len(info["notes"]))
    return 0


def run_figures(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis figures``."""
    from .figures import figures_step

    setup_logging(args.log)
    paths = figures_step(args.analysis_dir, args.out, alias=args.alias, alias_phase3=args.alias_phase3,
                         settings=_settings(args.settings))
    log.info("wrote %s", ", ".join(str(p) for p in paths))
    return 0


def tsne_step(standardised: str | Path, features_dir: str | Path, runs_dir: str | Path, targets_dir: str | Path,
              labels_dir: str | Path, out: str | Path, settings: dict[str, Any]) -> Path:
    """Fig. 16 with the run and target the settings choose (a placeholder figure when none fits)."""
    from onerep.util import derive_seed

    from .collect import setting
    from .tables import read_tsv
    from .tsne import choose_run, default_target, fig16_tsne, placeholder

    target = setting(settings, "analysis.tsne_target") or default_target(setting(settings, "targets", []) or [])
    if not target:
        return placeholder(out, "the study has no genre (classification) target")
    std = read_tsv(standardised)
    configured = setting(settings, "analysis.tsne_run")
    if configured and configured not in set(std.run_id):
        raise ValueError(f"analysis.tsne_run '{configured}' is not a scored representation of the study")
    try:
        run_id, reason = choose_run(std, target, configured)
    except ValueError as exc:  # no run scored on the target
        return placeholder(out, str(exc))
    features = Path(features_dir) / run_id / f"{target}.h5"
    if not features.exists():
        raise FileNotFoundError(f"{features}: features of run {run_id} on {target} not found")
    run = std[std.run_id == run_id].iloc[0]
    sources = [s for s in str(run.sources).split(",") if s and s != "self"]
    topics = {s: Path(labels_dir) / f"{s}.topics.tsv" for s in sources}
    seed = derive_seed(int(setting(settings, "seed", 0)), "tsne", run_id, target)
    model = Path(runs_dir) / run_id / "model.pt"
    return fig16_tsne(features, Path(targets_dir) / target / "labels.tsv", out, run_id, target, reason, seed,
                      model=model if model.exists() else None, topics=topics)


def run_tsne(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis tsne``."""
    setup_logging(args.log)
    path = tsne_step(args.standardised, args.features_dir, args.runs_dir, args.targets_dir, args.labels_dir,
                     args.out, _settings(args.settings))
    log.info("wrote %s", path)
    return 0


def context_step(runs: str | Path, mel_dir: str | Path, datasets: list[str], runs_dir: str | Path,
                 labels_summary: str | Path | None, out: str | Path, figures: str | Path) -> dict[str, Path]:
    """The report's context tables from a results folder's files."""
    import pandas as pd

    from .context import write_context

    table = pd.read_csv(runs, sep="\t", dtype={"run_id": str})
    records = {d: Path(mel_dir) / f"{d}.records.tsv" for d in datasets}
    logs = [Path(runs_dir) / r / "train_log.tsv" for r in table.run_id]
    return write_context(out, figures, runs, records, logs, labels_summary)


def run_context(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis context``."""
    setup_logging(args.log)
    datasets = [d for d in args.datasets.split(",") if d]
    paths = context_step(args.runs, args.mel_dir, datasets, args.runs_dir, args.labels_summary, args.out,
                         args.figures)
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0


def run_summary(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis summary``."""
    from .summary import write_summary

    setup_logging(args.log)
    path = write_summary(args.analysis_dir, args.out, _settings(args.settings))
    log.info("wrote %s", path)
    return 0


def run_all(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis all``: every step on an existing results folder."""
    from onerep.config import load

    from .figures import figures_step
    from .summary import write_summary
    from .tables import collect_step, models_step

    setup_logging(args.log)
    cfg = load(args.configfile)
    R = Path(cfg["results"])
    A = R / "analysis"
    settings = dict(cfg)
    settings["targets"] = [t["name"] for t in cfg["targets"]]
    collect_step(R / "scores", R / "design" / "runs.tsv", settings, A, args.allow_missing)
    models_step(A / "standardised.tsv", settings, A, threads=args.threads, scheme=args.scheme)
    alias = R / "design" / "alias.tsv"
    p3 = R / "design" / "alias_phase3.tsv"
    figures_step(A, A / "figures", alias=alias if alias.exists() else None,
                 alias_phase3=p3 if p3.exists() else None, settings=settings)
    tsne_settings = dict(settings, targets=cfg["targets"])
    tsne_step(A / "standardised.tsv", R / "features", R / "runs", R / "targets", R / "labels", A / "figures",
              tsne_settings)
    datasets = ["corpus", *[t["name"] for t in cfg["targets"]]]
    context_step(R / "design" / "runs.tsv", R / "mel", datasets, R / "runs", R / "labels" / "summary.tsv",
                 A / "context", A / "figures")
    path = write_summary(A, A / "summary.md", settings)
    log.info("wrote %s", path)
    return 0
