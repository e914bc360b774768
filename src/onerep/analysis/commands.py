"""CLI: ``onerep analysis <step>``, the analysis stage's commands (one per workflow rule).

collect     score files -> scores.tsv, standardised.tsv
models      models 1 and 2, bootstrap, pairwise comparisons, variance components
parameters  network sizes per strategy and number of sources (Fig. 15's table)
tsne        the t-SNE map of one representation on a genre target (Fig. 16's table)
figures     Figs. 7-16 (PNG + TSV), drawn from the tables
context     design summary, acquisition losses, training curves, software versions
summary     summary.md
all         every step on a finished results folder (without Snakemake)
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from onerep.util import parse_settings, setup_logging

from . import FIGURE_TABLES, SUMMARY_TABLES

log = logging.getLogger("onerep.analysis")


_settings = parse_settings  # the shared --settings parser


def readable(paths: Any, what: str) -> list[Path]:
    """The files a step was given, each checked to exist and be readable (a clear error
    naming the first that is not)."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths or [])
    out = []
    for p in map(Path, items):
        if not p.exists():
            raise FileNotFoundError(f"{what} not found: {p}")
        if not p.is_file() or not os.access(p, os.R_OK):
            raise ValueError(f"{p}: {what} is not a readable file")
        out.append(p)
    return out


def _ending(path: Path, suffix: str) -> str:
    """The name of ``path`` without ``suffix`` (``gtzan.records.tsv`` -> ``gtzan``)."""
    if not path.name.endswith(suffix) or path.name == suffix:
        raise ValueError(f"{path}: expected a file named <name>{suffix}")
    return path.name[: -len(suffix)]


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
    q.add_argument("--scores", nargs="+", required=True, metavar="SCORES",
                   help="every score file of the study, each named <rep>/<target>.tsv")
    q.add_argument("--runs", required=True, help="design/runs.tsv")
    q.add_argument("--out", required=True, help="analysis folder")
    q.add_argument("--allow-missing", action="store_true",
                   help="analyse the score files that exist (others may be missing or not given)")
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

    q = sub.add_parser("parameters", help="count the networks' parameters per strategy and n (Fig. 15's table)")
    q.add_argument("--out", required=True, help="parameters.tsv")
    common(q)
    q.set_defaults(func=run_parameters)

    q = sub.add_parser("figures", help="draw Figs. 7-16")
    for name, file in FIGURE_TABLES.items():
        q.add_argument(f"--{name.replace('_', '-')}", required=True,
                       help=f"{file} from 'collect' / 'models' / 'parameters' / 'tsne'")
    q.add_argument("--alias", default=None, help="design/alias.tsv (Fig. 7)")
    q.add_argument("--alias-phase3", default=None, help="design/alias_phase3.tsv")
    q.add_argument("--out", required=True, help="figures folder")
    common(q, settings=False)
    q.set_defaults(func=run_figures)

    q = sub.add_parser("tsne", help="t-SNE map of one representation on a genre target (Fig. 16's table)")
    q.add_argument("--standardised", required=True)
    q.add_argument("--features", nargs="*", default=[], metavar="FEATURES",
                   help="features of the candidate runs on the t-SNE target, each <run>/<target>.h5")
    q.add_argument("--models", nargs="*", default=[], metavar="MODEL", help="their models, each <run>/model.pt")
    q.add_argument("--target-labels", nargs="?", default=None, help="the target's <target>/labels.tsv")
    q.add_argument("--topics", nargs="*", default=[], metavar="TOPICS",
                   help="topic tables of the learning sources, each <source>.topics.tsv")
    q.add_argument("--out", required=True, help="folder of tsne.tsv and tsne.json (the analysis folder)")
    common(q)
    q.set_defaults(func=run_tsne)

    q = sub.add_parser("context", help="design summary, acquisition losses, training curves, versions")
    q.add_argument("--runs", required=True, help="design/runs.tsv")
    q.add_argument("--records", nargs="+", required=True, metavar="RECORDS",
                   help="acquisition records of each data set (corpus and targets), each <dataset>.records.tsv")
    q.add_argument("--train-logs", nargs="*", default=[], metavar="LOG",
                   help="training log of each run, each <run>/train_log.tsv")
    q.add_argument("--labels-summary", default=None, help="labels/summary.tsv")
    q.add_argument("--out", required=True, help="context folder")
    q.add_argument("--figures", required=True, help="figures folder (training curves)")
    common(q, settings=False)
    q.set_defaults(func=run_context)

    q = sub.add_parser("summary", help="write summary.md with the key numbers")
    for name, file in SUMMARY_TABLES.items():
        q.add_argument(f"--{name}", required=True, help=f"{file} of the analysis")
    q.add_argument("--figures", nargs="*", default=[], metavar="FIGURE",
                   help="the figure files to link (PNG with their TSV beside), all in one folder")
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
    scores = [Path(p) for p in args.scores]
    if not args.allow_missing:
        readable(scores, "score file")
    info = collect_step(scores, args.runs, _settings(args.settings), args.out, args.allow_missing)
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
    tables = {name: readable(getattr(args, name), f"analysis table {file}")[0]
              for name, file in FIGURE_TABLES.items()}
    paths = figures_step(tables, args.out, alias=args.alias, alias_phase3=args.alias_phase3)
    log.info("wrote %s", ", ".join(str(p) for p in paths))
    return 0


def parameters_step(settings: dict[str, Any], out: str | Path) -> Path:
    """Write the parameter counts of the study's strategies and sources (Fig. 15's table) with
    the models stage's counter; the settings name ``design.sources``, ``design.strategies``,
    ``sources.k`` and ``train.width``."""
    from onerep.models.summary import write_parameter_counts
    from onerep.util import setting

    return write_parameter_counts(out, setting(settings, "design.sources"), setting(settings, "design.strategies"),
                                  k=int(setting(settings, "sources.k")), width=float(setting(settings, "train.width")))


def run_parameters(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis parameters``."""
    setup_logging(args.log)
    log.info("wrote %s", parameters_step(_settings(args.settings), args.out))
    return 0


def tsne_step(standardised: str | Path, features: Iterable[str | Path], models: Iterable[str | Path],
              target_labels: str | Path | None, topics: Iterable[str | Path], out: str | Path,
              settings: dict[str, Any]) -> Path:
    """The t-SNE map of Fig. 16 (``tsne.tsv``, ``tsne.json`` in ``out``) for the run and target the
    settings choose (a note saying why when none fits); returns the table's path.

    ``features`` (``<run>/<target>.h5``) and ``models`` (``<run>/model.pt``): those of
    the candidate runs; ``target_labels``: the target's ``<target>/labels.tsv``;
    ``topics``: the sources' ``<source>.topics.tsv``.
    """
    from onerep.util import derive_seed, setting

    from .tables import read_tsv
    from .tsne import choose_run, default_target, no_map, tsne_table, write_tsne

    target = setting(settings, "analysis.tsne_target") or default_target(setting(settings, "targets"))
    if not target:
        return no_map(out, "the study has no genre (classification) target")
    std = read_tsv(standardised)
    configured = setting(settings, "analysis.tsne_run")
    if configured and configured not in set(std.run_id):
        raise ValueError(f"analysis.tsne_run '{configured}' is not a scored representation of the study")
    try:
        run_id, reason = choose_run(std, target, configured)
    except ValueError as exc:  # no run scored on the target
        return no_map(out, str(exc))
    given = {p.parent.name: p for p in map(Path, features) if p.name == f"{target}.h5"}
    if run_id not in given:
        raise FileNotFoundError(f"features of run {run_id} on {target} not given (expected "
                                f"{run_id}/{target}.h5 among the features files)")
    feature_file = given[run_id]
    if not feature_file.exists():
        raise FileNotFoundError(f"{feature_file}: features of run {run_id} on {target} not found")
    if target_labels is None:
        raise FileNotFoundError(f"labels of target {target} not given ({target}/labels.tsv)")
    run = std[std.run_id == run_id].iloc[0]
    sources = [s for s in str(run.sources).split(",") if s and s != "self"]
    tables = {_ending(p, ".topics.tsv"): p for p in map(Path, topics)}
    topic_files = {s: tables[s] for s in sources if s in tables}
    seed = derive_seed(int(setting(settings, "seed")), "tsne", run_id, target)
    model = {p.parent.name: p for p in map(Path, models) if p.name == "model.pt"}.get(run_id)
    data, notes = tsne_table(feature_file, target_labels, run_id, seed,
                             model=model if model is not None and model.exists() else None, topics=topic_files)
    return write_tsne(out, data, {"target": target, "run_id": run_id, "reason": reason, "seed": seed,
                                  "notes": notes})


def run_tsne(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis tsne``."""
    setup_logging(args.log)
    path = tsne_step(args.standardised, readable(args.features, "features file"),
                     readable(args.models, "model file"),
                     readable(args.target_labels, "target labels file")[0] if args.target_labels else None,
                     readable(args.topics, "topic table"), args.out, _settings(args.settings))
    log.info("wrote %s", path)
    return 0


def context_step(runs: str | Path, records: Iterable[str | Path], train_logs: Iterable[str | Path],
                 labels_summary: str | Path | None, out: str | Path, figures: str | Path) -> dict[str, Path]:
    """The report's context tables from the run table, each data set's acquisition records
    (``<dataset>.records.tsv``, in the order given) and the runs' training logs
    (``<run>/train_log.tsv``, taken in the run table's order)."""
    from onerep.design.runs import read_runs

    from .context import write_context

    table = read_runs(runs)
    by_dataset = {_ending(Path(p), ".records.tsv"): Path(p) for p in records}
    by_run = {Path(p).parent.name: Path(p) for p in train_logs}
    foreign = sorted(set(by_run) - set(table.run_id))
    if foreign:
        raise ValueError(f"{by_run[foreign[0]]}: training log of run {foreign[0]}, which is not in {runs}")
    for r in table.run_id:
        if r not in by_run:
            log.warning("no training log of run %s given; left out of the curves", r)
    logs = [by_run[r] for r in table.run_id if r in by_run]
    return write_context(out, figures, runs, by_dataset, logs, labels_summary)


def run_context(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis context``."""
    setup_logging(args.log)
    paths = context_step(args.runs, readable(args.records, "acquisition records"),
                         readable(args.train_logs, "training log"), args.labels_summary, args.out, args.figures)
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0


def run_summary(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis summary``."""
    from .summary import write_summary

    setup_logging(args.log)
    tables = {name: readable(getattr(args, name), f"analysis table {file}")[0]
              for name, file in SUMMARY_TABLES.items()}
    path = write_summary(tables, args.out, _settings(args.settings), figures=readable(args.figures, "figure"))
    log.info("wrote %s", path)
    return 0


def run_all(args: argparse.Namespace) -> int:
    """Handler of ``onerep analysis all``: every step on an existing results folder."""
    from onerep.config import load
    from onerep.design.runs import read_runs

    from .figures import figures_step
    from .summary import write_summary
    from .tables import collect_step, models_step
    from .tsne import default_target

    setup_logging(args.log)
    cfg = load(args.configfile)
    R = Path(cfg["results"])
    A = R / "analysis"
    settings = dict(cfg)
    settings["targets"] = [t["name"] for t in cfg["targets"]]
    collect_step(R / "scores", R / "design" / "runs.tsv", settings, A, args.allow_missing)
    models_step(A / "standardised.tsv", settings, A, threads=args.threads, scheme=args.scheme)
    parameters_step(settings, A / FIGURE_TABLES["parameters"])
    tsne_settings = dict(settings, targets=cfg["targets"])
    target = cfg["analysis"]["tsne_target"] or default_target(cfg["targets"]) or ""
    tsne_step(A / "standardised.tsv", sorted((R / "features").glob(f"*/{target}.h5")),
              sorted((R / "runs").glob("*/model.pt")), R / "targets" / target / "labels.tsv",
              sorted((R / "labels").glob("*.topics.tsv")), A, tsne_settings)
    alias = R / "design" / "alias.tsv"
    p3 = R / "design" / "alias_phase3.tsv"
    figures_step(A, A / "figures", alias=alias if alias.exists() else None,
                 alias_phase3=p3 if p3.exists() else None)
    datasets = ["corpus", *[t["name"] for t in cfg["targets"]]]
    run_ids = read_runs(R / "design" / "runs.tsv").run_id
    context_step(R / "design" / "runs.tsv", [R / "mel" / f"{d}.records.tsv" for d in datasets],
                 [R / "runs" / r / "train_log.tsv" for r in run_ids], R / "labels" / "summary.tsv",
                 A / "context", A / "figures")
    path = write_summary(A, A / "summary.md", settings)
    log.info("wrote %s", path)
    return 0
