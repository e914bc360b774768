"""The generic kinds of learning-source labels, as long tables (the contract between the
native adapters and the reductions).

Every adapter, whatever file it reads (a generic TSV, MTG-Jamendo's autotagging TSVs,
FMA's ``tracks.csv``, ...), returns a :class:`SourceTable` of one kind:

- ``terms``: ``track_id``, ``term``, ``weight`` (tags, genres, words; weight 1 when the
  file has none) -> pLSA over the track x term matrix (optionally TF-IDF first);
- ``interactions``: ``user``, ``track_id``, ``count`` (listening data) -> pLSA over the
  track x user matrix;
- ``values``: ``track_id``, ``value`` (year, tempo, listens) -> Gaussian mixture
  (optionally on a log scale);
- ``grouping``: ``track_id``, ``group`` (track -> artist, or any key): a source is
  aggregated per group and each track takes its group's z.

Ids are strings; weights, counts and values are finite floats (weights and counts > 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The columns of each kind, in order.
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "terms": ("track_id", "term", "weight"),
    "interactions": ("user", "track_id", "count"),
    "values": ("track_id", "value"),
    "grouping": ("track_id", "group"),
}
#: Numeric columns that must be positive (``value`` may be any finite number).
POSITIVE = {"weight", "count"}


@dataclass
class SourceTable:
    """One source's labels in a generic kind, with what the adapter read and skipped."""

    kind: str
    table: pd.DataFrame
    files: list[str] = field(default_factory=list)
    rows_read: int = 0  # records read from the file(s)
    skipped: int = 0  # malformed or invalid records skipped (on_bad_line: skip)
    examples: list[str] = field(default_factory=list)  # a few skipped records, "file:line: why"
    info: dict[str, Any] = field(default_factory=dict)  # adapter-specific notes (recorded)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` naming the file when the table does not fit its kind."""
        where = ", ".join(self.files) or "<table>"
        if self.kind not in KIND_COLUMNS:
            raise ValueError(f"{where}: unknown source kind {self.kind!r}; "
                             f"one of {', '.join(KIND_COLUMNS)}")
        cols = KIND_COLUMNS[self.kind]
        missing = [c for c in cols if c not in self.table.columns]
        if missing:
            raise ValueError(f"{where}: a {self.kind} table needs the columns {list(cols)}, "
                             f"missing {missing}")
        self.table = self.table.loc[:, list(cols)].reset_index(drop=True)
        for c in cols:
            if c in ("weight", "count", "value"):
                v = pd.to_numeric(self.table[c], errors="coerce").to_numpy(dtype=np.float64)
                bad = ~np.isfinite(v) | ((v <= 0) if c in POSITIVE else False)
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise ValueError(f"{where}: row {i + 1} of the {self.kind} table: {c} "
                                     f"{self.table[c].iloc[i]!r} is not a "
                                     f"{'positive' if c in POSITIVE else 'finite'} number")
                self.table[c] = v
            else:
                self.table[c] = self.table[c].astype(str)


#: An adapter: (file, options from the config, on_bad_line 'error' | 'skip') -> SourceTable.
Adapter = Callable[[Path, dict[str, Any], str], SourceTable]
