"""Commands of the target stage: ``onerep target-manifest`` and ``onerep target-splits``."""

from __future__ import annotations

import argparse
import logging

from onerep.util import parse_settings, setting, setup_logging

log = logging.getLogger("onerep.targets")


_settings = parse_settings  # the shared --settings parser


def cmd_manifest(args: argparse.Namespace) -> int:
    """Read one target data set and write its manifest, labels, report (and interactions)."""
    from .files import write_target
    from .loaders import load_target

    setup_logging(args.log)
    cfg = _settings(args.settings)
    data = load_target(cfg)
    paths = write_target(data, args.out_dir)
    for item, (value, detail) in data.report.items():
        log.info("%s: %s%s", item, value, f" ({detail})" if detail else "")
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0


def cmd_splits(args: argparse.Namespace) -> int:
    """Write the repetitions' train/test folds of one target (tracks with mel features only)."""
    from onerep.audio.store import MelStore

    from .files import read_interactions, read_labels, read_report, write_tsv
    from .splits import make_splits

    setup_logging(args.log)
    s = _settings(args.settings)
    labels = read_labels(args.labels)
    report = read_report(args.report)
    task = report.get("task", "")
    keep = MelStore(args.mel).track_ids if args.mel else None
    inter = read_interactions(args.interactions) if args.interactions else None
    splits, info = make_splits(
        labels, task, target=args.target, seed=int(s["seed"]),
        repetitions=int(s["evaluate.repetitions"]),
        test_fraction=float(setting(s, "evaluate.test_fraction")),
        keep_ids=keep, interactions=inter,
        min_user_tracks=int(setting(s, "evaluate.als.min_user_tracks")),
        min_track_users=int(setting(s, "evaluate.als.min_track_users")),
        holdout_fraction=float(setting(s, "evaluate.als.holdout_fraction")),
    )
    write_tsv(splits, args.out)
    log.info("%s: %s", args.target, ", ".join(f"{k}={v}" for k, v in info.items()))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the target commands to the CLI."""
    p = subparsers.add_parser(
        "target-manifest", help="read a target data set's native layout into manifest/labels",
        description="Read one target data set in its native layout and write manifest.tsv, "
                    "labels.tsv, report.tsv (and interactions.tsv for Last.fm-1K) to OUT_DIR.")
    p.add_argument("--settings", required=True,
                   help="JSON of the target's config entry (name, kind, root, ...)")
    p.add_argument("--out-dir", required=True, help="folder of the target's files")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=cmd_manifest)

    p = subparsers.add_parser(
        "target-splits", help="draw the train/test splits of a target",
        description="Write splits.tsv (repetition, track_id, fold, seed) for one target; only "
                    "tracks in the mel store are split.")
    p.add_argument("--target", required=True, help="target name (enters the split seeds)")
    p.add_argument("--labels", required=True, help="labels.tsv of the target")
    p.add_argument("--report", required=True, help="report.tsv of the target (gives the task)")
    p.add_argument("--mel", help="the target's mel store; only its tracks are split")
    p.add_argument("--interactions", help="interactions.tsv (recommendation targets)")
    p.add_argument("--settings", required=True,
                   help="JSON with seed, evaluate.repetitions, evaluate.test_fraction "
                        "(and evaluate.als.* for recommendation)")
    p.add_argument("--out", required=True, help="splits.tsv to write")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=cmd_splits)
