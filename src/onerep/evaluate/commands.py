"""``onerep evaluate``: score one representation on one target."""

from __future__ import annotations

import argparse
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command."""
    p = subparsers.add_parser(
        "evaluate",
        help="score one representation's features on one target (MLP or content-aware ALS)",
        description=(
            "Fit the target model on the features of one representation for every repetition of "
            "the target's splits and write the tidy score table (run_id, target, repetition, metric, "
            "value, seed, strategy, sources, n, n_train, n_test, protocol, main, n_tags, n_tags_dropped; "
            "a tagging target has two rows per repetition, roc_auc and pr_auc)."
        ),
    )
    p.add_argument("--features", help="features HDF5 (track_id, features)")
    p.add_argument("--labels", help="labels.tsv of the target (classification/regression/tagging)")
    p.add_argument("--splits", help="splits.tsv of the target")
    p.add_argument("--interactions", help="interactions.tsv (recommendation)")
    p.add_argument("--task", choices=["classification", "regression", "recommendation", "tagging"])
    p.add_argument("--main-metric", choices=["roc_auc", "pr_auc"],
                   help="tagging: the metric marked main (used by the analysis; default roc_auc)")
    p.add_argument("--settings", required=True,
                   help='JSON (or @file): seed, evaluate.repetitions and evaluate.mlp or evaluate.als')
    p.add_argument("--run-meta",
                   help='JSON (or @file): {"run_id", "target", "strategy", "sources", "n"}')
    p.add_argument("--jobs",
                   help='JSON list (or @file) of evaluations, each {"task", "features", "splits", '
                        '"labels" or "interactions", "meta", "output", optionally "main_metric"}: several '
                        'targets in one process (the workflow uses this; the single-target options are '
                        'then unused)')
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("-o", "--output", help="score table TSV to write")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=run)

    q = subparsers.add_parser(
        "evaluate-summary",
        help="compare the trained runs' scores with the baselines, per target",
        description="Read every scores/<rep>/<target>.tsv under a folder and print, per target and "
                    "baseline, the trained runs' mean and best score, the baseline's score and the "
                    "fraction of runs that beat it.",
    )
    q.add_argument("--scores-dir", required=True, help="the results' scores/ folder")
    q.add_argument("-o", "--output", help="also write the comparison as TSV")
    q.set_defaults(func=run_summary)


def run(args: argparse.Namespace) -> int:
    """Handler of ``onerep evaluate``."""
    from threadpoolctl import threadpool_limits

    from ..util import parse_settings, setup_logging
    from .scores import evaluate_representation, setting, write_scores

    log = setup_logging(args.log)
    settings = parse_settings(args.settings)
    if args.jobs:
        jobs = _parse_jobs(args.jobs)
    else:
        missing = [o for o in ("features", "splits", "task", "run_meta", "output")
                   if getattr(args, o) is None]
        if missing:
            raise ValueError("without --jobs, these options are needed: "
                             + ", ".join("--" + m.replace("_", "-") for m in missing))
        jobs = [{"task": args.task, "features": args.features, "splits": args.splits,
                 "labels": args.labels, "interactions": args.interactions,
                 "meta": parse_settings(args.run_meta, "--run-meta"), "output": args.output,
                 "main_metric": args.main_metric}]
    if setting(settings, "evaluate.mlp")["backend"] == "torch":
        import torch

        torch.set_num_threads(max(1, args.threads))
    for job in jobs:
        start = time.perf_counter()
        meta = job["meta"]
        with threadpool_limits(limits=max(1, args.threads)):
            table = evaluate_representation(
                job["features"], job["task"], settings, meta,
                labels=job.get("labels"), splits=job["splits"], interactions=job.get("interactions"),
                main_metric=job.get("main_metric"),
            )
        write_scores(table, job["output"])
        main = table[table["main"] == 1]
        log.info("%s on %s: %s mean %.4f over %d repetitions (%.1f s) -> %s",
                 meta.get("run_id"), meta.get("target"), main["metric"].iloc[0],
                 main["value"].mean(), len(main), time.perf_counter() - start, job["output"])
    return 0


def _parse_jobs(text: str) -> list[dict]:
    """The ``--jobs`` list, checked for the keys every evaluation needs."""
    from ..util import load_json_arg

    jobs = load_json_arg(text, "--jobs")
    if not isinstance(jobs, list) or not jobs:
        raise ValueError("--jobs: expected a non-empty JSON list of evaluations")
    for i, job in enumerate(jobs):
        need = {"task", "features", "splits", "meta", "output"}
        if not isinstance(job, dict) or need - set(job):
            raise ValueError(f"--jobs: item {i} lacks {sorted(need - set(job or {}))}")
    return jobs


def run_summary(args: argparse.Namespace) -> int:
    """Handler of ``onerep evaluate-summary``."""
    from pathlib import Path

    import pandas as pd

    from .scores import baseline_comparison, read_scores, write_scores

    files = sorted(Path(args.scores_dir).glob("*/*.tsv"))
    if not files:
        raise ValueError(f"{args.scores_dir}: no score tables (<rep>/<target>.tsv) found")
    table = baseline_comparison(read_scores(files))
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.precision", 4):
        print(table.to_string(index=False))
    if args.output:
        write_scores(table, args.output)
    return 0
