"""Command ``onerep demo-world``: write the simulated demo world."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..util import parse_settings, setup_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo-world`` to the CLI."""
    p = subparsers.add_parser(
        "demo-world",
        help="generate the simulated demo world (audio and label files in native formats)",
        description="Generate the seeded demo world: a learning corpus in MSD's formats and the "
                    "target data sets in their real layouts, written to a temporary folder and "
                    "renamed to OUT at the end.",
    )
    p.add_argument("--settings", required=True,
                   help='JSON object {"demo": {...}} with the config\'s demo section')
    p.add_argument("--out", required=True, help="output folder (replaced when it holds an earlier demo world)")
    p.add_argument("--log", help="log file")
    p.add_argument("--workers", type=int, default=1, help="processes rendering audio (default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``onerep demo-world``."""
    from .generator import generate

    hint = ' with a "demo" section, e.g. {"demo": {"seed": 1}}'
    settings = parse_settings(args.settings, hint=hint)
    if not isinstance(settings.get("demo"), dict):
        raise ValueError(f"--settings must be a JSON object{hint}")
    out = Path(args.out)
    if args.log and out.resolve() in Path(args.log).resolve().parents:
        raise ValueError(f"--log {args.log} must not be inside --out {out} (the folder is replaced)")
    setup_logging(args.log)
    generate(settings, out, workers=args.workers)
    return 0
