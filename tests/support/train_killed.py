"""``onerep train`` that kills itself (SIGKILL) right after writing the checkpoint of epoch K,
for the resume test: ``python tests/support/train_killed.py K train <onerep train options>``.

The kill is a checkpoint hook of :func:`onerep.models.train.train_run` installed here, so
the product holds no kill switch; :func:`command` gives the subprocess's command line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence


def command(epoch: int, train_argv: Sequence[str]) -> list[str]:
    """The command line that runs ``onerep train <train_argv>`` killed after ``epoch``."""
    return [sys.executable, os.path.abspath(__file__), str(epoch), *train_argv]


def kill_after(epoch: int) -> Callable[[int], None]:
    """A checkpoint hook that SIGKILLs this process after the checkpoint of ``epoch``."""
    def hook(done: int) -> None:
        if done == epoch:
            os.kill(os.getpid(), signal.SIGKILL)
    return hook


def main(argv: list[str] | None = None) -> int:
    """Parse ``K train <options>`` and train with the kill hook."""
    from onerep.models import commands

    parser = argparse.ArgumentParser(prog="train_killed.py")
    parser.add_argument("epoch", type=int, help="kill right after this epoch's checkpoint")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    if args.command != "train":
        parser.error("only the train command can be killed")
    return commands.cmd_train(args, on_checkpoint=kill_after(args.epoch))


if __name__ == "__main__":
    sys.exit(main())
