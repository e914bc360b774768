"""Command-line interface: ``onerep <command> ...``.

Each stage package contributes its commands through a ``commands`` module with a
``register(subparsers)`` function; the Snakemake rules call these commands. Every
stage's module must import: a broken installation stops the command line with an
error naming the stage instead of silently losing that stage's commands.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from . import __version__

# Stage packages, in pipeline order; each provides ``<package>.commands``.
STAGES = (
    "demo",
    "audio",
    "sources",
    "design",
    "models",
    "targets",
    "features",
    "evaluate",
    "analysis",
)


class StageImportError(ImportError):
    """A stage's ``commands`` module cannot be imported (a broken installation)."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every stage's sub-commands.

    Raises :class:`StageImportError` naming the stage when its commands module does not
    import.
    """
    parser = argparse.ArgumentParser(
        prog="onerep",
        description="Run, reproduce and generalise 'One deep music representation to rule them all?'.",
    )
    parser.add_argument("--version", action="version", version=f"onerep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for stage in STAGES:
        name = f"onerep.{stage}.commands"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise StageImportError(
                f"stage '{stage}': cannot import {name} ({type(exc).__name__}: {exc}); "
                "the onerep installation is broken or incomplete (reinstall the package)"
            ) from exc
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``onerep`` console script."""
    try:
        parser = build_parser()
    except StageImportError as exc:
        print(f"onerep: error: {exc}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as exc:  # onerep.config.ConfigError is a ValueError
        # Errors on bad input carry a message naming the file/track/key; no traceback.
        message = f"onerep {args.command}: error: {exc}"
        _record_in_log(args, message)
        print(message, file=sys.stderr)
        return 2
    except Exception:
        _record_in_log(args, f"onerep {args.command}: failed:\n{traceback.format_exc()}")
        raise


def _record_in_log(args: argparse.Namespace, text: str) -> None:
    """Append ``text`` to the command's ``--log`` file, if it has one: Snakemake keeps a
    job's log under results/logs/ but not its stderr, so the reason a job failed must be
    in the log too."""
    log = getattr(args, "log", None)
    if not log:
        return
    for handler in logging.getLogger().handlers:  # what the command logged comes first
        try:
            handler.flush()
        except (OSError, ValueError):  # a handler left closed by an earlier command
            pass
    try:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(text.rstrip("\n") + "\n")
    except OSError as exc:  # the log itself cannot be written: say so, keep the real error
        print(f"onerep: cannot write the error to the log {log}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
