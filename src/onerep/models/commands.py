"""CLI commands of the models stage: ``train``, ``assemble-msscr``, ``model-summary``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..util import setup_logging


def _sources(text: str) -> list[str]:
    out = [s.strip() for s in text.split(",") if s.strip()]
    if not out:
        raise ValueError(f"--sources must list at least one source, got '{text}'")
    return out


def cmd_train(args: argparse.Namespace, on_checkpoint: Callable[[int], None] | None = None) -> int:
    """Train one run of the design (``on_checkpoint``: see :func:`onerep.models.train.train_run`)."""
    from .settings import TrainSettings
    from .train import train_run

    setup_logging(args.log)
    settings = TrainSettings.from_json(args.settings, args.runtime)
    train_run(args.run_id, args.strategy, _sources(args.sources), args.seed, args.mel, args.split,
              args.scaler, args.labels, settings, args.out, threads=args.threads,
              placement=args.placement, on_checkpoint=on_checkpoint)
    return 0


def cmd_assemble(args: argparse.Namespace) -> int:
    """Assemble an MSS-CR model from SS-R models."""
    from .assemble import assemble_msscr

    setup_logging(args.log)
    sources = _sources(args.sources)
    models, ids = {}, {}
    for item in args.ssr:
        try:
            source, run_id, path = item.split("=", 2)
        except ValueError:
            raise ValueError(f"--ssr takes SOURCE=RUN_ID=PATH, got '{item}'") from None
        models[source], ids[source] = Path(path), run_id
    assemble_msscr(args.run_id, args.seed, sources, models, args.out, ids)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """Print parameters and representation size of every strategy."""
    from .summary import PAPER_SOURCES, format_summary, summary_rows

    sources = _sources(args.sources) if args.sources else list(PAPER_SOURCES)
    sys.stdout.write(format_summary(summary_rows(sources, k=args.k, width=args.width), tsv=args.tsv))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's commands to the ``onerep`` parser."""
    p = subparsers.add_parser("train", help="train one run (strategy x sources x seed); resumes its checkpoint")
    p.add_argument("--run-id", required=True)
    p.add_argument("--strategy", required=True, help="ssr, mssr_fc, mscr6, mscr4, mscr2 or msscr")
    p.add_argument("--sources", required=True, help="comma-separated, in representation order")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--mel", required=True, help="mel store of the corpus (HDF5)")
    p.add_argument("--split", required=True, help="corpus split TSV")
    p.add_argument("--scaler", required=True, help="per-band scaler (npz)")
    p.add_argument("--labels", nargs="*", default=[], metavar="LABELS",
                   help="the labels file of each labelled source, named <source>.h5 (none for 'self' alone)")
    p.add_argument("--settings", default="{}", help="JSON: the config's train section and audio.crop_frames")
    p.add_argument("--runtime", default=None,
                   help="JSON: train.device, train.compile, train.precision, train.checkpoint_every "
                        "(how the job runs)")
    p.add_argument("--out", required=True, help="run folder: model.pt, train_log.tsv, checkpoint.pt")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--placement", choices=["auto", "device", "host"], default="auto",
                   help="where the mel frames are held (auto: GPU when they fit)")
    p.add_argument("--log", default=None)
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("assemble-msscr",
                              help="build an MSS-CR model from trained SS-R models (no training)")
    p.add_argument("--run-id", required=True)
    p.add_argument("--sources", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--ssr", nargs="+", required=True, metavar="SOURCE=RUN_ID=MODEL",
                   help="the SS-R model of each source")
    p.add_argument("--out", required=True)
    p.add_argument("--log", default=None)
    p.set_defaults(func=cmd_assemble)

    p = subparsers.add_parser("model-summary",
                              help="parameters, ratio to SS-R and representation size per strategy")
    p.add_argument("--sources", default=None, help="comma-separated (default: the paper's 8)")
    p.add_argument("--k", type=int, default=50, help="outputs of a labelled source (default 50)")
    p.add_argument("--width", type=float, default=1.0, help="channel-width multiplier (default 1)")
    p.add_argument("--tsv", action="store_true", help="tab-separated output with a header")
    p.set_defaults(func=cmd_summary)


def main(argv: list[str] | None = None) -> int:
    """This stage's commands alone (``python -m onerep.models.commands ...``): starts
    faster than ``onerep`` because no other stage is imported."""
    from ..config import ConfigError

    parser = argparse.ArgumentParser(prog="python -m onerep.models.commands")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"onerep {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
