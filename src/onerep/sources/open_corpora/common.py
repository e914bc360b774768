"""Helpers shared by the open-corpus adapters: options, bad-line bookkeeping, tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..kinds import KIND_COLUMNS, SourceTable
from ..loaders import LabelFileError, LoadStats, Problems


class NativeFileError(LabelFileError):
    """A native file that cannot be read as it is; the message names the file (and line)."""


def check_options(options: dict[str, Any] | None, allowed: dict[str, Sequence[str]],
                  where: str) -> dict[str, str]:
    """The adapter's options as strings, each one known and with an allowed value.

    ``allowed`` maps an option name to its allowed values; unknown names or values
    raise ``ValueError`` naming ``where`` (the adapter and file)."""
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        known = ", ".join(allowed) or "none"
        raise ValueError(f"{where}: unknown option(s) {unknown} (known: {known})")
    out: dict[str, str] = {}
    for name, value in opts.items():
        if str(value) not in allowed[name]:
            raise ValueError(f"{where}: option {name}={value!r} is not one of {', '.join(allowed[name])}")
        out[name] = str(value)
    return out


def bookkeeping(source: str, files: Sequence[str | Path], on_bad_line: str) -> tuple[LoadStats, Problems]:
    """A fresh :class:`LoadStats` and the :class:`Problems` that raises or counts into it."""
    stats = LoadStats(source, [str(f) for f in files])
    return stats, Problems(on_bad_line, stats)


def lines_of(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text without its LF / CRLF ending) of a text file read as bytes, so a
    stray CR inside a line stays in it; ``None`` for a line that is not UTF-8."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            raw = raw.removesuffix(b"\n").removesuffix(b"\r")
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError:
                yield lineno, None


def require_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path, or ``FileNotFoundError`` naming ``what`` it should be."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def source_table(kind: str, rows: Sequence[tuple], stats: LoadStats, **info: Any) -> SourceTable:
    """A :class:`SourceTable` of ``rows`` (tuples in the kind's column order) with the
    counts of ``stats`` (every problem counted by :class:`Problems` is a skipped record)."""
    table = pd.DataFrame(list(rows), columns=list(KIND_COLUMNS[kind]))
    skipped = stats.malformed + stats.unknown_ids
    return SourceTable(kind, table, files=list(stats.files), rows_read=stats.rows, skipped=skipped,
                       examples=list(stats.examples), info=info)
