"""Per-track records of what happened to every manifest track, and loss summaries.

A records TSV has one row per manifest track: ``track_id``, ``stage`` (``acquire`` or
``decode``), ``status`` (``ok`` or ``failed``) and ``reason`` (``code: detail``; empty
when ok). A track that reached the mel store has stage ``decode`` and status ``ok``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..util import write_text_atomic
from .manifest import read_tsv

RECORD_COLUMNS = ("track_id", "stage", "status", "reason")


@dataclass(frozen=True)
class Record:
    track_id: str
    stage: str
    status: str
    reason: str = ""

    @property
    def code(self) -> str:
        return self.reason.split(":", 1)[0].strip() if self.reason else ""


class LossError(ValueError):
    """A data set lost more tracks than ``audio.max_loss_fraction`` allows."""


def write_records(path: str | Path, records: Iterable[Record]) -> None:
    """Write a records TSV atomically."""
    lines = ["\t".join(RECORD_COLUMNS)]
    for r in records:
        lines.append("\t".join((r.track_id, r.stage, r.status, " ".join(r.reason.split()))))
    write_text_atomic(path, "\n".join(lines) + "\n")


def read_records(path: str | Path) -> list[Record]:
    """Read a records TSV."""
    df = read_tsv(path)
    missing = [c for c in RECORD_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not a records file (missing {', '.join(missing)})")
    return [Record(t, s, st, r) for t, s, st, r in zip(df.track_id, df.stage, df.status, df.reason)]


def reason_counts(records: Sequence[Record]) -> Counter[str]:
    """Failed tracks per reason code."""
    return Counter(r.code or "unknown" for r in records if r.status != "ok")


def describe_loss(records: Sequence[Record], top: int = 5) -> str:
    """``"12 of 80 tracks (15.0 %): http_404 7, not_audio 3, too_short 2"``."""
    counts = reason_counts(records)
    lost = sum(counts.values())
    parts = ", ".join(f"{code} {n}" for code, n in counts.most_common(top))
    more = f", {len(counts) - top} other reason(s)" if len(counts) > top else ""
    frac = 100.0 * lost / max(1, len(records))
    return f"{lost} of {len(records)} tracks ({frac:.1f} %)" + (f": {parts}{more}" if lost else "")


def check_loss(dataset: str, records: Sequence[Record], max_fraction: float, where: str = "") -> None:
    """Raise :class:`LossError` when more than ``max_fraction`` of the tracks failed."""
    if not records:
        raise LossError(f"data set {dataset!r}: the manifest lists no tracks")
    lost = sum(r.status != "ok" for r in records)
    if lost / len(records) > max_fraction:
        hint = f"; per-track reasons in {where}" if where else ""
        raise LossError(
            f"data set {dataset!r} lost {describe_loss(records)}, more than audio.max_loss_fraction = "
            f"{max_fraction:g}{hint}. Fix the inputs, or raise audio.max_loss_fraction to go on without them."
        )


def loss_table(paths: dict[str, str | Path]) -> pd.DataFrame:
    """One row per data set (``name -> records TSV``): tracks, kept, lost, lost_fraction, reasons.

    For the study report: how many tracks each data set lost and why.
    """
    rows = []
    for name, path in paths.items():
        recs = read_records(path)
        counts = reason_counts(recs)
        lost = sum(counts.values())
        rows.append({
            "dataset": name,
            "tracks": len(recs),
            "kept": len(recs) - lost,
            "lost": lost,
            "lost_fraction": lost / max(1, len(recs)),
            "lost_acquire": sum(r.status != "ok" and r.stage == "acquire" for r in recs),
            "lost_decode": sum(r.status != "ok" and r.stage == "decode" for r in recs),
            "reasons": "; ".join(f"{c} {n}" for c, n in counts.most_common()),
        })
    return pd.DataFrame(rows, columns=["dataset", "tracks", "kept", "lost", "lost_fraction", "lost_acquire",
                                       "lost_decode", "reasons"])
