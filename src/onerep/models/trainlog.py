"""The per-epoch training log (``runs/<run>/train_log.tsv``): its one writer and reader.

Kept apart from :mod:`onerep.models.train` so that the report's steps read training
logs without importing torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..util import atomic_path

#: Columns of a training log, in order.
LOG_COLUMNS = ["run_id", "phase", "epoch", "source", "iterations", "train_loss", "valid_loss",
               "weight", "epoch_seconds"]
#: Columns every reader of a training log needs.
NEEDED_COLUMNS = ("epoch", "source", "train_loss", "valid_loss")


def write_log(path: str | Path, rows: Sequence[dict[str, Any]] | pd.DataFrame) -> None:
    """Write a training log atomically: rows of :data:`LOG_COLUMNS`, or a table as it is
    (an assembled run's log keeps the columns of the logs it joins)."""
    table = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=LOG_COLUMNS)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def read_log(path: str | Path) -> pd.DataFrame:
    """A training log written by :func:`write_log`; ValueError naming the file when it
    lacks a column of :data:`NEEDED_COLUMNS`."""
    table = pd.read_csv(path, sep="\t")
    missing = [c for c in NEEDED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: training log lacks columns {missing}")
    return table
