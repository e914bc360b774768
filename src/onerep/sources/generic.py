"""Declared learning sources: adapters by format, the generic TSV readers, and the
conversion of a :class:`~onerep.sources.kinds.SourceTable` into the in-memory labels
that the reductions take (the same ``CountLabels`` / ``ScalarLabels`` as the MSD loaders).

A declared source (``sources.declared.<name>``) names a generic kind, a format and a
file. ``FORMATS[format][kind]`` is the adapter that reads the file into a
``SourceTable``; the source's own grouping (``group``) is read by
``FORMATS[group format]["grouping"]``. Then:

- ``terms`` / ``interactions`` -> a track x term (track x user) count matrix with the
  corpus tracks that have labels as rows, in manifest order, and the terms (users)
  sorted as columns; repeated (track, term) pairs are summed. With a grouping, the
  rows of all tracks of a group (including tracks outside the corpus) are summed into
  one document per group (the groups of the corpus tracks, sorted); each corpus track
  takes its group's z (as the MSD ``artist`` source).
- ``values`` -> one value per corpus track, in manifest order. With a grouping, each
  corpus track takes the mean value of its group's tracks (all tracks of the table
  that belong to the group). With ``log: true`` the mixture is fitted on log2 of the
  value; a track whose value is not positive then has no label and is counted as a
  missing value.

The generic ``tsv`` format, one file per kind, UTF-8 (a byte-order mark is ignored),
LF or CRLF line endings, lines starting with ``#`` and blank lines ignored, fields
separated by one TAB (spaces around a field are stripped). The first other line is a
header naming the columns, in this order:

- terms: ``track_id<TAB>term<TAB>weight`` or ``track_id<TAB>term`` (every weight 1);
- interactions: ``user<TAB>track_id<TAB>count``;
- values: ``track_id<TAB>value``;
- grouping: ``track_id<TAB>group``.

A data line with another number of fields than the header, an empty id, a weight or
count that is not a positive number, a value that is not a finite number, or (values,
grouping) a track listed twice is a bad line: with ``sources.on_bad_line: error`` a
``ValueError`` names the file, the line and the problem; with ``skip`` it is counted
(``malformed`` in the label file's stats) and a few examples are kept. A wrong or
missing header is always an error.

Other formats (MTG-Jamendo, FMA, ...) register their adapters with
:func:`register_format` or ``FORMATS.update(module.FORMATS)`` at the end of this
module, and add their name to ``$defs.source_format`` in the config schema.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .catalog import DECLARED_INPUTS, GENERIC_KEYS, GROUP_KEYS, declared_entry
from .kinds import KIND_COLUMNS, POSITIVE, Adapter, SourceTable
from .loaders.records import MAX_EXAMPLES, CountLabels, LabelFileError, LoadStats, Problems, ScalarLabels, finish_counts
from .open_corpora.common import lines_of

_BOM = "\ufeff"  # a UTF-8 byte-order mark, as decoded
#: The headers the tsv format accepts per kind (the first is the full one).
TSV_HEADERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "terms": (("track_id", "term", "weight"), ("track_id", "term")),
    "interactions": (KIND_COLUMNS["interactions"],),
    "values": (KIND_COLUMNS["values"],),
    "grouping": (KIND_COLUMNS["grouping"],),
}
#: Kinds in which a track appears at most once.
ONE_ROW_PER_TRACK = ("values", "grouping")
#: The column whose values are the terms (columns) of a kind's count matrix; also the
#: label file's ``term_kind``.
TERM_COLUMN = {"terms": "term", "interactions": "user"}


# --------------------------------------------------------------------------- tsv format


def _tsv_header(path: Path, lineno: int, kind: str, fields: list[str]) -> tuple[str, ...]:
    names = tuple(f.lower() for f in fields)
    for cols in TSV_HEADERS[kind]:
        if names == cols:
            return cols
    expected = " or ".join("<TAB>".join(c) for c in TSV_HEADERS[kind])
    raise LabelFileError(f"{path}: line {lineno}: expected the header {expected} of a {kind} file, "
                         f"got {'<TAB>'.join(fields)!r}")


def _tsv_problem(fields: list[str], columns: tuple[str, ...], seen: dict[str, int] | None) -> str | None:
    """What is wrong with one data line (None: nothing)."""
    if len(fields) != len(columns):
        return (f"expected {len(columns)} tab-separated fields ({'<TAB>'.join(columns)}), "
                f"got {len(fields)}")
    for col, text in zip(columns, fields):
        if col in ("weight", "count", "value"):
            try:
                x = float(text)
            except ValueError:
                x = math.nan
            if not math.isfinite(x) or (col in POSITIVE and x <= 0):
                return f"{col} {text!r} is not a {'positive' if col in POSITIVE else 'finite'} number"
        elif not text:
            return f"empty {col}"
    if seen is not None and fields[columns.index("track_id")] in seen:
        tid = fields[columns.index("track_id")]
        return f"track {tid!r} already listed at line {seen[tid]}"
    return None


def read_tsv(path: str | Path, kind: str, options: dict[str, Any], on_bad_line: str) -> SourceTable:
    """A generic TSV of one kind (see the module docstring) as a :class:`SourceTable`."""
    path = Path(path)
    if options:
        raise ValueError(f"{path}: the tsv format takes no options, got {sorted(options)}")
    if kind not in TSV_HEADERS:
        raise ValueError(f"{path}: the tsv format has no reader for kind {kind!r}")
    if not path.exists():
        raise FileNotFoundError(f"{kind} file not found: {path}")
    stats = LoadStats(kind, [str(path)])
    problems = Problems(on_bad_line, stats)
    columns: tuple[str, ...] | None = None
    out: dict[str, list[Any]] = {c: [] for c in KIND_COLUMNS[kind]}
    seen: dict[str, int] | None = {} if kind in ONE_ROW_PER_TRACK else None
    ids: dict[str, str] = {}  # one string object per distinct id, shared by its rows
    for lineno, line in lines_of(path):
        if line is None:
            if columns is None:
                raise LabelFileError(f"{path}: line {lineno}: not UTF-8")
            stats.rows += 1
            problems("malformed", f"{path}: line {lineno}", "not UTF-8")
            continue
        if lineno == 1:
            line = line.removeprefix(_BOM)
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if columns is None:
            columns = _tsv_header(path, lineno, kind, fields)
            continue
        stats.rows += 1
        why = _tsv_problem(fields, columns, seen)
        if why is not None:
            problems("malformed", f"{path}: line {lineno}", why)
            continue
        row = dict(zip(columns, fields))
        if seen is not None:
            seen[row["track_id"]] = lineno
        for col in out:
            text = row.get(col, "1")  # terms without a weight column: weight 1
            out[col].append(float(text) if col in ("weight", "count", "value") else ids.setdefault(text, text))
    if columns is None:
        expected = " or ".join("<TAB>".join(c) for c in TSV_HEADERS[kind])
        raise LabelFileError(f"{path}: no header line (expected {expected})")
    return SourceTable(kind, pd.DataFrame(out), files=[str(path)], rows_read=stats.rows,
                       skipped=stats.malformed, examples=stats.examples,
                       info={"format": "tsv", "columns": list(columns)})


def read_terms_tsv(path: Path, options: dict[str, Any], on_bad_line: str) -> SourceTable:
    """``track_id<TAB>term[<TAB>weight]``: terms of tracks (weight 1 without the column)."""
    return read_tsv(path, "terms", options, on_bad_line)


def read_interactions_tsv(path: Path, options: dict[str, Any], on_bad_line: str) -> SourceTable:
    """``user<TAB>track_id<TAB>count``: positive interaction counts (plays) of users."""
    return read_tsv(path, "interactions", options, on_bad_line)


def read_values_tsv(path: Path, options: dict[str, Any], on_bad_line: str) -> SourceTable:
    """``track_id<TAB>value``: one finite number per track."""
    return read_tsv(path, "values", options, on_bad_line)


def read_grouping_tsv(path: Path, options: dict[str, Any], on_bad_line: str) -> SourceTable:
    """``track_id<TAB>group``: the group (artist, album, ...) of each track, once per track."""
    return read_tsv(path, "grouping", options, on_bad_line)


# --------------------------------------------------------------------------- registry

#: format -> kind -> adapter.
FORMATS: dict[str, dict[str, Adapter]] = {
    "tsv": {"terms": read_terms_tsv, "interactions": read_interactions_tsv,
            "values": read_values_tsv, "grouping": read_grouping_tsv},
}


def register_format(name: str, adapters: Mapping[str, Adapter]) -> None:
    """Register (or replace) the adapters of format ``name``, one per kind it reads."""
    bad = sorted(set(adapters) - set(KIND_COLUMNS))
    if bad:
        raise ValueError(f"format {name!r}: unknown kinds {bad}; kinds: {', '.join(KIND_COLUMNS)}")
    FORMATS[name] = dict(adapters)


def adapter(fmt: str, kind: str) -> Adapter:
    """The adapter reading ``kind`` from files of format ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"no adapters registered for format {fmt!r} (registered: {', '.join(sorted(FORMATS))})")
    if kind not in FORMATS[fmt]:
        raise ValueError(f"format {fmt!r} has no {kind} adapter (it reads: {', '.join(sorted(FORMATS[fmt]))})")
    return FORMATS[fmt][kind]


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Declared:
    """A declared source: kind, format, file, generic options and the adapter's options."""

    name: str
    kind: str
    format: str
    file: str
    tfidf: bool = False
    log: bool = False
    group_format: str | None = None
    group_file: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    group_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_entry(cls, name: str, entry: dict[str, Any]) -> Declared:
        """From ``sources.declared.<name>`` (defaults filled in here)."""
        e = declared_entry(name, entry)
        missing = [k for k in ("kind", "format", "file") if not e.get(k)]
        if missing:
            raise ValueError(f"key 'sources.declared.{name}': missing {missing}")
        group = e.get("group") or {}
        return cls(
            name=name, kind=e["kind"], format=e["format"], file=str(e["file"]),
            tfidf=bool(e.get("tfidf")), log=bool(e.get("log")),
            group_format=group.get("format"), group_file=group.get("file"),
            options={k: v for k, v in e.items() if k not in GENERIC_KEYS},
            group_options={k: v for k, v in group.items() if k not in GROUP_KEYS},
        )

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input keys it reads (``file``, ``group_file``)."""
        return DECLARED_INPUTS if self.group_file else DECLARED_INPUTS[:1]


def _read(fmt: str, kind: str, path: Path, options: dict[str, Any], on_bad_line: str) -> SourceTable:
    table = adapter(fmt, kind)(path, options, on_bad_line)
    if not isinstance(table, SourceTable) or table.kind != kind:
        got = table.kind if isinstance(table, SourceTable) else type(table).__name__
        raise ValueError(f"{path}: the {fmt} {kind} adapter returned {got!r}, not a {kind} table")
    return table


def load_declared(decl: Declared, inputs: Mapping[str, str | Path], manifest_ids: np.ndarray,
                  on_bad_line: str = "error") -> tuple[CountLabels | ScalarLabels, dict[str, Any]]:
    """Read a declared source (and its grouping) and convert it for the reductions;
    also returns what the adapters noted (``info``)."""
    table = _read(decl.format, decl.kind, Path(inputs["file"]), decl.options, on_bad_line)
    grouping = None
    info: dict[str, Any] = {"labels": table.info}
    if decl.group_file:
        grouping = _read(decl.group_format or decl.format, "grouping", Path(inputs["group_file"]),
                         decl.group_options, on_bad_line)
        info["grouping"] = grouping.info
    if decl.kind == "values":
        data: CountLabels | ScalarLabels = scalar_labels(table, manifest_ids, decl.name, grouping, on_bad_line)
        if decl.log:
            data = _positive_only(data)
    else:
        data = count_labels(table, manifest_ids, decl.name, grouping, on_bad_line)
    return data, info


# --------------------------------------------------------------------------- conversion


def _stats(source: str, tables: list[SourceTable], manifest_ids: np.ndarray) -> LoadStats:
    """The label file's stats, starting from what the adapters read and skipped."""
    return LoadStats(
        source, [f for t in tables for f in t.files], rows=tables[0].rows_read or len(tables[0].table),
        malformed=sum(t.skipped for t in tables), in_manifest=len(manifest_ids),
        examples=[e for t in tables for e in t.examples][:MAX_EXAMPLES],
    )


def _one_row_per_track(table: SourceTable, problems: Problems) -> pd.DataFrame:
    """The table without the repeated tracks (the first row is kept; each repeat is a problem)."""
    df = table.table
    dup = df["track_id"].duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        problems("malformed", f"{', '.join(table.files) or '<table>'}: row {i + 1} of the {table.kind} table",
                 f"track {str(df['track_id'].iloc[i])!r} listed more than once", int(dup.sum()))
    return df[~dup]


def _group_of(grouping: SourceTable, problems: Problems) -> pd.Series:
    """track id -> group."""
    df = _one_row_per_track(grouping, problems)
    return pd.Series(df["group"].to_numpy(dtype=object), index=pd.Index(df["track_id"].to_numpy(dtype=object)))


def _corpus_groups(group_of: pd.Series, manifest_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(groups of the corpus tracks, sorted; per corpus track with a group, in manifest
    order: its group's position and its manifest position)."""
    g = group_of.reindex(manifest_ids)
    track_pos = np.flatnonzero(g.notna().to_numpy())
    codes, groups = pd.factorize(g.to_numpy(dtype=object)[track_pos], sort=True)
    return np.asarray(groups, dtype=object), codes.astype(np.int64), track_pos


def count_labels(table: SourceTable, manifest_ids: np.ndarray, source: str, grouping: SourceTable | None = None,
                 on_bad_line: str = "error") -> CountLabels:
    """A terms or interactions table as corpus track (or group) x term counts."""
    if table.kind not in TERM_COLUMN:
        raise ValueError(f"{', '.join(table.files)}: source {source}: a {table.kind} table is not a count table")
    term_col = TERM_COLUMN[table.kind]
    stats = _stats(source, [table] + ([grouping] if grouping is not None else []), manifest_ids)
    problems = Problems(on_bad_line, stats)
    df = table.table
    codes, terms = pd.factorize(df[term_col].to_numpy(dtype=object), sort=True)
    terms = np.asarray(terms, dtype=object).astype(str)
    weight = df[KIND_COLUMNS[table.kind][2]].to_numpy(dtype=np.float64)
    tracks = df["track_id"].to_numpy(dtype=object)
    corpus = pd.Index(manifest_ids)
    if grouping is None:
        pos = corpus.get_indexer(tracks)
        labelled = pd.unique(tracks)
        stats.labelled_ids = len(labelled)
        stats.outside_corpus = int((corpus.get_indexer(labelled) < 0).sum())
        keep = pos >= 0
        X, rows, cols = finish_counts(pos[keep], codes[keep], weight[keep], len(manifest_ids), len(terms))
        stats.with_labels = len(rows)
        return CountLabels(manifest_ids[rows], X, terms[cols], stats, term_kind=term_col)
    group_of = _group_of(grouping, problems)
    groups, group_of_track, track_pos = _corpus_groups(group_of, manifest_ids)
    doc = pd.Index(groups).get_indexer(group_of.reindex(tracks).to_numpy(dtype=object))
    keep = doc >= 0
    X, rows, cols = finish_counts(doc[keep], codes[keep], weight[keep], len(groups), len(terms))
    stats.labelled_ids = len(rows)  # groups with labels, as the artist source counts artists
    row_of_group = np.full(len(groups), -1, dtype=np.int64)
    row_of_group[rows] = np.arange(len(rows))
    track_row = row_of_group[group_of_track]
    ok = track_row >= 0
    stats.with_labels = int(ok.sum())
    return CountLabels(manifest_ids[track_pos[ok]], X, terms[cols], stats, row_of_track=track_row[ok],
                       doc_ids=groups[rows].astype(str), term_kind=term_col)


def scalar_labels(table: SourceTable, manifest_ids: np.ndarray, source: str, grouping: SourceTable | None = None,
                  on_bad_line: str = "error") -> ScalarLabels:
    """A values table as one value per corpus track (its group's mean with a grouping)."""
    if table.kind != "values":
        raise ValueError(f"{', '.join(table.files)}: source {source}: a {table.kind} table is not a values table")
    stats = _stats(source, [table] + ([grouping] if grouping is not None else []), manifest_ids)
    problems = Problems(on_bad_line, stats)
    df = _one_row_per_track(table, problems)
    values = pd.Series(df["value"].to_numpy(dtype=np.float64), index=pd.Index(df["track_id"].to_numpy(dtype=object)))
    if grouping is None:
        per_track = values.reindex(manifest_ids)
        stats.labelled_ids = len(values)
        stats.outside_corpus = int((~values.index.isin(manifest_ids)).sum())
    else:
        group_of = _group_of(grouping, problems)
        g = group_of.reindex(values.index)
        has = g.notna().to_numpy()
        means = values[has].groupby(g[has].to_numpy(dtype=object)).mean()
        per_track = group_of.reindex(manifest_ids).map(means)
        stats.labelled_ids = len(means)  # groups with a value
    have = per_track.notna().to_numpy()
    stats.with_labels = int(have.sum())
    return ScalarLabels(manifest_ids[have], per_track.to_numpy(dtype=np.float64)[have], source, stats)


def _positive_only(data: ScalarLabels) -> ScalarLabels:
    """Drop the tracks whose value has no logarithm (counted as missing values)."""
    bad = data.values <= 0
    if bad.any():
        s = data.stats
        s.missing_values += int(bad.sum())
        s.with_labels -= int(bad.sum())
        if len(s.examples) < MAX_EXAMPLES:
            i = int(np.flatnonzero(bad)[0])
            s.examples.append(f"track {str(data.track_ids[i])!r}: value {data.values[i]:g} is not positive "
                              f"(log: true); {int(bad.sum())} such tracks have no label")
    return ScalarLabels(data.track_ids[~bad], data.values[~bad], data.unit, data.stats)


# The native adapters of the open corpora (MTG-Jamendo, FMA); a further format is
# registered the same way, with its name added to $defs.source_format in
# src/onerep/schema/config.schema.yaml.
from . import open_corpora  # noqa: E402

for _name, _adapters in open_corpora.FORMATS.items():
    register_format(_name, _adapters)
