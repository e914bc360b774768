"""The MSD SQLite databases: Last.fm tags (``lastfm_tags.db``), MSD metadata
(``track_metadata.db``: the year) and artist tags (both). Rows are filtered inside
SQLite through temporary tables of the wanted ids and fetched in chunks."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .records import (
    CountLabels,
    LabelFileError,
    LoadStats,
    Problems,
    ScalarLabels,
    finish_counts,
    to_float,
)

_SQL_FETCH = 200_000


def connect(path: str | Path) -> sqlite3.Connection:
    """Open an SQLite file read-only, with a clear error if it is missing or not SQLite."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"label database not found: {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise LabelFileError(f"{path}: not an SQLite database ({exc})") from None
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def _require_columns(conn: sqlite3.Connection, path: Path, table: str, columns: list[str]) -> None:
    have = [r[1] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()]
    if not have:
        raise LabelFileError(f"{path}: no table '{table}' (expected columns {columns})")
    missing = [c for c in columns if c not in have]
    if missing:
        raise LabelFileError(f"{path}: table '{table}' lacks columns {missing} (has {have})")


def _temp_ids(conn: sqlite3.Connection, name: str, ids: np.ndarray, key_type: str) -> None:
    """A temporary table ``name(key PRIMARY KEY, row)`` holding ids and their positions."""
    conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
    conn.execute(f"CREATE TEMP TABLE {name} (key {key_type} PRIMARY KEY, row INTEGER NOT NULL)")
    conn.executemany(
        f"INSERT OR IGNORE INTO temp.{name} VALUES (?, ?)",
        ((k.item() if isinstance(k, np.generic) else k, i) for i, k in enumerate(ids)),
    )


def _fetch_chunks(cursor: sqlite3.Cursor) -> Iterator[list[tuple]]:
    while True:
        rows = cursor.fetchmany(_SQL_FETCH)
        if not rows:
            return
        yield rows


# --------------------------------------------------------------------------- Last.fm tags


def _tid_tag_rows(
    conn: sqlite3.Connection,
    path: Path,
    keep_rowids: np.ndarray,
    keep_rows: np.ndarray,
    tag_names: np.ndarray,
    problems: Problems,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tid_tag records whose tid is in ``keep_rowids``, as (document row, tag rowid, val)."""
    conn.execute("DROP TABLE IF EXISTS temp.keep")
    conn.execute("CREATE TEMP TABLE keep (rid INTEGER PRIMARY KEY, row INTEGER NOT NULL)")
    conn.executemany("INSERT INTO temp.keep VALUES (?, ?)", zip(keep_rowids.tolist(), keep_rows.tolist()))
    cur = conn.execute(
        "SELECT tt.ROWID, k.row, tt.tag, tt.val FROM tid_tag AS tt JOIN temp.keep AS k ON k.rid = tt.tid"
    )
    out_r, out_c, out_v = [], [], []
    for chunk in _fetch_chunks(cur):
        a = np.array(chunk, dtype=object)
        rowid = a[:, 0].astype(np.int64)
        doc = a[:, 1].astype(np.int64)
        tag = to_float(a[:, 2])
        val = to_float(a[:, 3])
        bad_tag = ~np.isfinite(tag) | (tag != np.round(tag))
        tag_i = np.where(bad_tag, -1, np.nan_to_num(tag, nan=-1)).astype(np.int64)
        unknown = ~bad_tag & ((tag_i < 1) | (tag_i >= len(tag_names)))
        unknown[~unknown & ~bad_tag] = tag_names[tag_i[~unknown & ~bad_tag]] == None  # noqa: E711 (a gap)
        bad_val = ~np.isfinite(val) | (val < 0)
        bad = bad_tag | bad_val
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = f"tag {a[i, 2]!r} is not a row id" if bad_tag[i] else f"val {a[i, 3]!r} is not a non-negative number"
            problems("malformed", f"{path}: table tid_tag row {rowid[i]}", what, int(bad.sum()))
        unknown &= ~bad
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            problems("unknown_ids", f"{path}: table tid_tag row {rowid[i]}",
                     f"tag {tag_i[i]} is not a row of table tags", int(unknown.sum()))
        ok = ~bad & ~unknown
        out_r.append(doc[ok])
        out_c.append(tag_i[ok])
        out_v.append(val[ok])
    cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
    return cat(out_r, np.int64), cat(out_c, np.int64), cat(out_v, np.float64)


def _read_tags_tables(conn: sqlite3.Connection, path: Path) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """(tids as an Index of track ids, their rowids, tag names indexed by tag rowid)."""
    _require_columns(conn, path, "tids", ["tid"])
    _require_columns(conn, path, "tags", ["tag"])
    _require_columns(conn, path, "tid_tag", ["tid", "tag", "val"])
    tids = conn.execute("SELECT ROWID, tid FROM tids").fetchall()
    tid_rowid = np.fromiter((r[0] for r in tids), dtype=np.int64, count=len(tids))
    tid_names = pd.Index([str(r[1]) for r in tids])
    tags = conn.execute("SELECT ROWID, tag FROM tags").fetchall()
    max_tag = max((r[0] for r in tags), default=0)
    tag_names = np.full(max_tag + 1, None, dtype=object)  # None: no tag has this row id
    for rid, name in tags:
        tag_names[rid] = "" if name is None else str(name)
    return tid_names, tid_rowid, tag_names


def _tagged_tids(conn: sqlite3.Connection) -> np.ndarray:
    """Row ids of tids that have at least one tid_tag record."""
    return np.fromiter((r[0] for r in conn.execute("SELECT DISTINCT tid FROM tid_tag")), dtype=np.int64)


def load_tags(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> CountLabels:
    """Last.fm tags (``lastfm_tags.db``): corpus track x tag, values = tag intensity."""
    path = Path(path)
    stats = LoadStats("tag", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    conn = connect(path)
    try:
        tid_names, tid_rowid, tag_names = _read_tags_tables(conn, path)
        tagged = _tagged_tids(conn)
        stats.rows = conn.execute("SELECT COUNT(*) FROM tid_tag").fetchone()[0]
        known = np.isin(tagged, tid_rowid)
        if not known.all():
            n_bad = conn.execute(
                "SELECT COUNT(*), MIN(ROWID) FROM tid_tag WHERE tid NOT IN (SELECT ROWID FROM tids)"
            ).fetchone()
            problems("unknown_ids", f"{path}: table tid_tag row {n_bad[1]}",
                     "tid is not a row of table tids", int(n_bad[0]))
        tagged_set = np.isin(tid_rowid, tagged)
        corpus_pos = pd.Index(manifest_ids).get_indexer(tid_names)
        stats.labelled_ids = int(tagged_set.sum())
        stats.outside_corpus = int((tagged_set & (corpus_pos < 0)).sum())
        keep = corpus_pos >= 0
        r, c, v = _tid_tag_rows(conn, path, tid_rowid[keep], corpus_pos[keep], tag_names, problems)
    finally:
        conn.close()
    X, rows, cols = finish_counts(r, c, v, len(manifest_ids), len(tag_names))
    stats.with_labels = len(rows)
    return CountLabels(manifest_ids[rows], X, tag_names[cols].astype(str), stats, term_kind="tag")


# --------------------------------------------------------------------------- MSD metadata


@dataclass
class CorpusMetadata:
    """The metadata of the corpus tracks found in ``track_metadata.db``."""

    rowid: np.ndarray  # row ids in table songs
    track_pos: np.ndarray  # manifest positions of the tracks found
    song_id: np.ndarray
    artist_id: np.ndarray
    artist_name: np.ndarray
    year: np.ndarray  # float, NaN where malformed
    rows: int
    path: Path


def read_corpus_metadata(conn: sqlite3.Connection, path: Path, manifest_ids: np.ndarray,
                          problems: Problems) -> CorpusMetadata:
    _require_columns(conn, path, "songs", ["track_id", "song_id", "artist_id", "artist_name", "year"])
    _temp_ids(conn, "corpus", manifest_ids, "TEXT")
    rows = conn.execute(
        "SELECT s.ROWID, c.row, s.song_id, s.artist_id, s.artist_name, s.year "
        "FROM songs AS s JOIN temp.corpus AS c ON c.key = s.track_id ORDER BY s.ROWID"
    ).fetchall()
    n_rows = conn.execute("SELECT COUNT(*) FROM songs").fetchone()[0]
    a = np.array(rows, dtype=object).reshape(-1, 6)
    pos = a[:, 1].astype(np.int64)
    dup = pd.Index(pos).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        problems("malformed", f"{path}: table songs row {a[i, 0]}",
                 f"track_id {str(manifest_ids[pos[i]])!r} appears in more than one row", int(dup.sum()))
        a, pos = a[~dup], pos[~dup]
    return CorpusMetadata(
        rowid=a[:, 0].astype(np.int64),
        track_pos=pos,
        song_id=np.array([("" if s is None else str(s)) for s in a[:, 2]], dtype=object),
        artist_id=np.array([("" if s is None else str(s)) for s in a[:, 3]], dtype=object),
        artist_name=np.array([("" if s is None else str(s)) for s in a[:, 4]], dtype=object),
        year=to_float(a[:, 5]),
        rows=int(n_rows),
        path=path,
    )


def load_year(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> ScalarLabels:
    """Release year from ``track_metadata.db``; year 0 means unknown (a missing value)."""
    path = Path(path)
    stats = LoadStats("year", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    conn = connect(path)
    try:
        meta = read_corpus_metadata(conn, path, manifest_ids, problems)
        stats.rows = meta.rows
        stats.labelled_ids = conn.execute("SELECT COUNT(*) FROM songs WHERE year != 0").fetchone()[0]
    finally:
        conn.close()
    year = meta.year
    bad = ~np.isfinite(year) | (year < 0) | (year != np.round(np.nan_to_num(year)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problems("malformed", f"{path}: table songs row {meta.rowid[i]}",
                 f"year of track {str(manifest_ids[meta.track_pos[i]])!r} is not a non-negative integer",
                 int(bad.sum()))
    unknown = ~bad & (year == 0)
    stats.missing_values = int(unknown.sum())
    ok = ~bad & ~unknown
    stats.outside_corpus = int(stats.labelled_ids - ok.sum())
    order = np.argsort(meta.track_pos[ok], kind="stable")
    pos = meta.track_pos[ok][order]
    stats.with_labels = len(pos)
    return ScalarLabels(manifest_ids[pos], year[ok][order], "year", stats)


# --------------------------------------------------------------------------- artist


def load_artist_tags(
    tags_db: str | Path, metadata: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error"
) -> CountLabels:
    """Artist x tag: the Last.fm tags of *every* track of each corpus artist (from the
    whole tag database, not only the corpus), summed. Each corpus track points at its
    artist's row (``row_of_track``)."""
    tags_db, metadata = Path(tags_db), Path(metadata)
    stats = LoadStats("artist", [str(tags_db), str(metadata)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    conn = connect(metadata)
    try:
        meta = read_corpus_metadata(conn, metadata, manifest_ids, problems)
        has_artist = meta.artist_id != ""
        artists, artist_of = np.unique(meta.artist_id[has_artist], return_inverse=True)
        _temp_ids(conn, "artists", artists, "TEXT")
        pairs = conn.execute(
            "SELECT s.track_id, a.row FROM songs AS s JOIN temp.artists AS a ON a.key = s.artist_id"
        ).fetchall()
    finally:
        conn.close()
    all_tracks = pd.Index([str(p[0]) for p in pairs])
    all_rows = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
    first = ~all_tracks.duplicated()
    all_tracks, all_rows = all_tracks[first], all_rows[first]
    conn = connect(tags_db)
    try:
        tid_names, tid_rowid, tag_names = _read_tags_tables(conn, tags_db)
        stats.rows = conn.execute("SELECT COUNT(*) FROM tid_tag").fetchone()[0]
        where = all_tracks.get_indexer(tid_names)
        keep = where >= 0
        r, c, v = _tid_tag_rows(conn, tags_db, tid_rowid[keep], all_rows[where[keep]], tag_names, problems)
    finally:
        conn.close()
    X, rows, cols = finish_counts(r, c, v, len(artists), len(tag_names))
    stats.labelled_ids = len(rows)  # artists with tags
    row_of_artist = np.full(len(artists), -1, dtype=np.int64)
    row_of_artist[rows] = np.arange(len(rows))
    track_pos = meta.track_pos[has_artist]
    track_row = row_of_artist[artist_of]
    ok = track_row >= 0
    order = np.argsort(track_pos[ok], kind="stable")
    stats.with_labels = int(ok.sum())
    docs = artists[rows].astype(str)
    return CountLabels(
        manifest_ids[track_pos[ok][order]], X, tag_names[cols].astype(str), stats,
        row_of_track=track_row[ok][order], doc_ids=docs, term_kind="tag",
    )
