"""FMA's ``tracks.csv`` read as distributed (shared/formats/open-corpora.md, section 2).

The file is comma-separated with three header lines: the level-0 column names
(``album``, ``artist``, ``set``, ``track``), the level-1 names, and a line ``track_id``
followed by empty fields; cells holding commas are quoted (and may span lines);
list-valued cells (``genres``, ``genres_all``, ``tags``) are Python list literals,
parsed with :func:`ast.literal_eval`, never ``eval``.

pandas reads the header correctly (``header=[0, 1], index_col=0``), but cannot say on
which line of the file a bad row starts when quoted cells span lines, so the rows are
read with the ``csv`` module, keeping only the requested columns. Track and artist ids
are the integers as written (``2``, not the 6-digit audio name ``000002``).
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..kinds import SourceTable
from ..loaders import LoadStats, Problems
from .common import NativeFileError, bookkeeping, check_options, require_file, source_table

Column = tuple[str, str]
TERM_FIELDS: dict[str, Column] = {
    "genres_all": ("track", "genres_all"),
    "genres": ("track", "genres"),
    "tags": ("track", "tags"),
}
VALUE_FIELDS: dict[str, Column] = {
    "listens": ("track", "listens"),
    "interest": ("track", "interest"),
    "favorites": ("track", "favorites"),
    "year": ("album", "date_released"),
}
ARTIST_ID: Column = ("artist", "id")
INDEX_NAME = "track_id"
_ID = re.compile(r"\d+\Z")
_GROUP_ID = re.compile(r"(\d+)(?:\.0*)?\Z")
_DATE = re.compile(r"(\d{4})(?:-(\d{2})-(\d{2}))?(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\Z")
_FIELD_LIMIT = 1 << 26  # a quoted cell (an artist biography) may exceed csv's default 128 KiB


class _BadCell(ValueError):
    """A row or cell that does not fit the format (the message says what is wrong)."""


@dataclass
class FmaTracks:
    """The rows of ``tracks.csv``: track ids, their first lines and the requested columns' cells."""

    path: Path
    track_ids: list[str]
    lines: list[int]
    columns: dict[Column, list[str]]
    stats: LoadStats

    def cells(self, column: Column) -> Iterator[tuple[str, int, str]]:
        """(track id, line, cell text) of one column, in file order."""
        return zip(self.track_ids, self.lines, self.columns[column])


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def read_fma_tracks(path: str | Path, columns: Sequence[Column] | None = None,
                    on_bad_line: str = "error") -> FmaTracks:
    """The rows of FMA's ``tracks.csv`` with the cells of ``columns`` (default: all).

    A bad header or a requested column that is absent raises :class:`NativeFileError`;
    a bad row (another number of fields than the header, a track id that is not an
    integer, a track listed twice) names file and line or is skipped and counted."""
    path = require_file(path, "FMA tracks.csv")
    stats, problems = bookkeeping("fma", [path], on_bad_line)
    with open(path, encoding="utf-8", newline="") as fh, _csv_field_limit(_FIELD_LIMIT):
        reader = csv.reader(fh)
        try:
            header = _read_header(path, reader)
            wanted = _positions(path, header, columns)
            out = FmaTracks(path, [], [], {c: [] for c in wanted}, stats)
            _read_rows(reader, len(header) + 1, wanted, out, problems)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise NativeFileError(f"{path}: line {reader.line_num + 1}: not readable as CSV text ({exc})") from None
    return out


def _read_header(path: Path, reader: Any) -> list[Column]:
    """The (level 0, level 1) names of the data columns, from the three header lines."""
    rows = [next(reader, None) for _ in range(3)]
    expect = "three header lines: level-0 names, level-1 names, then 'track_id' and empty fields"
    if any(r is None for r in rows):
        raise NativeFileError(f"{path}: fewer than {expect}")
    level0, level1, index = rows
    for lineno, row in ((1, level0), (2, level1), (3, index)):
        if len(row) != len(level0) or len(row) < 2:
            raise NativeFileError(f"{path}: line {lineno}: {len(row)} fields, line 1 has {len(level0)} ({expect})")
    if level0[0] or level1[0] or not all(level0[1:]) or not all(level1[1:]):
        raise NativeFileError(f"{path}: lines 1-2: expected an empty first cell and named columns ({expect})")
    if index[0] != INDEX_NAME or any(index[1:]):
        raise NativeFileError(f"{path}: line 3: expected {INDEX_NAME!r} then empty fields, got {index[:3]}... "
                              f"({expect})")
    header = list(zip(level0[1:], level1[1:]))
    if len(set(header)) != len(header):
        twice = next(c for c in header if header.count(c) > 1)
        raise NativeFileError(f"{path}: lines 1-2: column {twice} appears twice")
    return header


def _positions(path: Path, header: list[Column], columns: Sequence[Column] | None) -> dict[Column, int]:
    """Column -> field position (after the index) of the requested columns."""
    where = {c: i + 1 for i, c in enumerate(header)}
    wanted = list(header) if columns is None else list(dict.fromkeys(columns))
    missing = [c for c in wanted if c not in where]
    if missing:
        groups = ", ".join(dict.fromkeys(c[0] for c in header))
        raise NativeFileError(f"{path}: lines 1-2: no column {missing[0]} (column groups here: {groups})")
    return {c: where[c] for c in wanted}


def _read_rows(reader: Any, n_fields: int, wanted: dict[Column, int], out: FmaTracks,
               problems: Problems) -> None:
    first_line: dict[str, int] = {}
    start = reader.line_num + 1
    for row in reader:
        lineno, start = start, reader.line_num + 1
        if not row:
            continue
        out.stats.rows += 1
        tid = row[0].strip()
        if len(row) != n_fields:
            what = f"{len(row)} fields, the header has {n_fields}"
        elif not _ID.match(tid):
            what = f"track_id {row[0]!r} is not an integer"
        elif str(int(tid)) in first_line:
            what = f"track {int(tid)} already listed at line {first_line[str(int(tid))]}"
        else:
            tid = str(int(tid))
            first_line[tid] = lineno
            out.track_ids.append(tid)
            out.lines.append(lineno)
            for column, i in wanted.items():
                out.columns[column].append(row[i])
            continue
        problems("malformed", f"{out.path}: line {lineno}", what)


# --------------------------------------------------------------------------- cells


def _list_cell(cell: str, item: type, column: Column) -> list[Any]:
    """A list-literal cell; the items must be of type ``item`` (ints for genres, text for tags)."""
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise _BadCell(f"{column} cell {cell[:80]!r} is not a Python literal") from None
    if not isinstance(value, list) or not all(type(v) is item for v in value):
        raise _BadCell(f"{column} cell {cell[:80]!r} is not a list of {item.__name__}")
    return value


def _counter(cell: str, column: Column) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _BadCell(f"{column} cell {cell!r} is not a number")
    return value


def _year(cell: str, column: Column) -> float:
    m = _DATE.match(cell.strip())
    try:
        if m is None:
            raise ValueError
        if m.group(2):
            dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise _BadCell(f"{column} cell {cell!r} is not a date (YYYY-MM-DD[ HH:MM:SS] or YYYY)") from None
    return float(m.group(1))


def _group(cell: str, column: Column) -> str:
    m = _GROUP_ID.match(cell.strip())
    if m is None:
        raise _BadCell(f"{column} cell {cell!r} is not a non-negative integer id")
    return str(int(m.group(1)))


def _per_cell(data: FmaTracks, column: Column, parse: Callable[[str, Column], Any], problems: Problems,
              missing: Sequence[str] = ("",)) -> tuple[list[tuple[str, Any]], int]:
    """(track id, parsed value) of the non-empty cells of ``column``, and the count of empty
    ones (``missing`` values); a cell that does not parse is a bad line."""
    out: list[tuple[str, Any]] = []
    empty = 0
    for tid, line, cell in data.cells(column):
        if cell.strip() in missing:
            empty += 1
            continue
        try:
            out.append((tid, parse(cell, column)))
        except _BadCell as exc:
            problems("malformed", f"{data.path}: line {line}", str(exc))
    return out, empty


# --------------------------------------------------------------------------- adapters


def _read(path: Path, column: Column, on_bad_line: str) -> tuple[FmaTracks, Problems]:
    data = read_fma_tracks(path, [column], on_bad_line)
    return data, Problems(on_bad_line, data.stats)


def fma_terms(path: Path, options: dict[str, Any], on_bad_line: str = "error") -> SourceTable:
    """``terms``: track x term, weight 1, from a list-valued column.

    Option ``field``: ``genres_all`` (default: genre ids with their ancestors), ``genres``
    (genre ids as set on the site) or ``tags`` (free-text tags); a term is the genre id
    as text (``21``) or the tag as written. Empty cells and ``[]`` give no terms."""
    opts = check_options(options, {"field": tuple(TERM_FIELDS)}, f"fma terms adapter ({path})")
    name = opts.get("field", "genres_all")
    column = TERM_FIELDS[name]
    item: type = str if name == "tags" else int
    data, problems = _read(path, column, on_bad_line)
    lists, empty = _per_cell(data, column, lambda cell, col: _list_cell(cell, item, col), problems)
    rows = [(tid, term, 1.0) for tid, values in lists
            for term in dict.fromkeys(str(v).strip() for v in values) if term]
    return source_table("terms", rows, data.stats, format="fma", field=name, tracks=len(data.track_ids),
                        empty_cells=empty, tracks_with_terms=len({r[0] for r in rows}),
                        distinct_terms=len({r[1] for r in rows}))


def fma_values(path: Path, options: dict[str, Any], on_bad_line: str = "error") -> SourceTable:
    """``values``: one number per track. Option ``field`` (required): ``listens``,
    ``interest``, ``favorites`` (the track's site counters) or ``year`` (the year of the
    album's ``date_released``). Empty cells are skipped and counted (``info['empty_cells']``)."""
    opts = check_options(options, {"field": tuple(VALUE_FIELDS)}, f"fma values adapter ({path})")
    if "field" not in opts:
        raise ValueError(f"fma values adapter ({path}): option 'field' is required "
                         f"(one of {', '.join(VALUE_FIELDS)})")
    column = VALUE_FIELDS[opts["field"]]
    data, problems = _read(path, column, on_bad_line)
    rows, empty = _per_cell(data, column, _year if opts["field"] == "year" else _counter, problems)
    return source_table("values", rows, data.stats, format="fma", field=opts["field"],
                        tracks=len(data.track_ids), empty_cells=empty)


def fma_grouping(path: Path, options: dict[str, Any], on_bad_line: str = "error") -> SourceTable:
    """``grouping``: track -> ``('artist', 'id')`` as an integer string; no options.
    Empty cells and -1 (FMA's 'unknown') are skipped and counted (``info['empty_cells']``)."""
    check_options(options, {}, f"fma grouping adapter ({path})")
    data, problems = _read(path, ARTIST_ID, on_bad_line)
    rows, empty = _per_cell(data, ARTIST_ID, _group, problems, missing=("", "-1", "-1.0"))
    return source_table("grouping", rows, data.stats, format="fma", group="artist", tracks=len(data.track_ids),
                        empty_cells=empty, groups=len({r[1] for r in rows}))
