"""Loaders of the learning sources' native files (SPEC section 3): the MSD preset.

Each loader reads one source's files in their published format, keeps the labels of
the tracks in the corpus manifest and returns them as a sparse track x term matrix
(:class:`CountLabels`) or one value per track (:class:`ScalarLabels`), together with
:class:`LoadStats` counting what was read, ignored and found bad.

The MSD files are large (the Last.fm tag database has 8.6M track-tag rows, the Taste
Profile 48M triplets), so loaders stream: SQLite rows are filtered inside SQLite
through a temporary table of the wanted row ids, text files are read in chunks with
pandas' C parser, and only integer index arrays are accumulated before the sparse
matrix is built.

Bad input (a malformed line, an id the reference table does not know) raises
:class:`LabelFileError` naming the file and the line (or table row) when
``on_bad_line="error"``; with ``"skip"`` it is counted, a few examples are kept, and
loading goes on. Labels of tracks outside the manifest are ignored and counted.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

log = logging.getLogger(__name__)

ON_BAD = ("error", "skip")
_TRIPLET_CHUNK = 1_000_000
_SQL_FETCH = 200_000
_MAX_EXAMPLES = 5
_MXM_PAIR = re.compile(r"\d+:\d+\Z")
_MXM_PAIRS = re.compile(r"\d+:\d+(?:,\d+:\d+)*\Z")


class LabelFileError(ValueError):
    """A label file that cannot be used as it is; the message names the file and line."""


# --------------------------------------------------------------------------- records


@dataclass
class LoadStats:
    """What a loader read, ignored and rejected (written into the label file's attributes)."""

    source: str
    files: list[str] = field(default_factory=list)
    rows: int = 0  # label records read (lines or table rows)
    labelled_ids: int = 0  # distinct tracks (songs for taste) with labels in the file(s)
    outside_corpus: int = 0  # of these, not in the manifest: ignored
    malformed: int = 0
    unknown_ids: int = 0
    missing_values: int = 0  # corpus tracks whose value is unknown (year 0, bpm 0)
    in_manifest: int = 0
    with_labels: int = 0  # corpus tracks that have labels of this source
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return asdict(self)


@dataclass
class CountLabels:
    """Counts of terms per document; a document is a track (an artist for ``artist``).

    ``X[row_of_track[i]]`` is the label row of ``track_ids[i]``; for every source but
    ``artist`` the rows are the tracks themselves.
    """

    track_ids: np.ndarray
    X: sp.csr_matrix
    terms: np.ndarray
    stats: LoadStats
    row_of_track: np.ndarray | None = None
    doc_ids: np.ndarray | None = None
    term_kind: str = "term"

    def __post_init__(self) -> None:
        if self.row_of_track is None:
            self.row_of_track = np.arange(len(self.track_ids), dtype=np.int64)
        if self.doc_ids is None:
            self.doc_ids = self.track_ids


@dataclass
class ScalarLabels:
    """One value per track (bpm, year)."""

    track_ids: np.ndarray
    values: np.ndarray
    unit: str
    stats: LoadStats


class Problems:
    """Raise on the first problem (``error``) or count problems and keep examples (``skip``)."""

    def __init__(self, on_bad_line: str, stats: LoadStats):
        if on_bad_line not in ON_BAD:
            raise ValueError(f"on_bad_line must be one of {ON_BAD}, got {on_bad_line!r}")
        self.mode = on_bad_line
        self.stats = stats

    def __call__(self, kind: str, where: str, what: str, count: int = 1) -> None:
        """One problem (or ``count`` of the same kind, ``where`` naming the first)."""
        if count <= 0:
            return
        message = f"{where}: {what}"
        if self.mode == "error":
            hint = " (set sources.on_bad_line: skip to count and skip such lines)"
            raise LabelFileError(message + hint)
        setattr(self.stats, kind, getattr(self.stats, kind) + count)
        if len(self.stats.examples) < _MAX_EXAMPLES:
            self.stats.examples.append(message + (f" (and {count - 1} more like it)" if count > 1 else ""))


# --------------------------------------------------------------------------- manifest


def read_manifest_ids(path: str | Path) -> np.ndarray:
    """Track ids of a corpus manifest (TSV with a ``track_id`` column), in file order."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"manifest not found: {path}")
    df = pd.read_csv(path, sep="\t", dtype=str, na_filter=False, quoting=3)
    if "track_id" not in df.columns:
        raise LabelFileError(f"{path}: no 'track_id' column in the header (found {list(df.columns)})")
    ids = df["track_id"].str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(ids == "")
    if empty.size:
        raise LabelFileError(f"{path}: line {empty[0] + 2}: empty track_id")
    dup = pd.Index(ids).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise LabelFileError(f"{path}: line {i + 2}: track_id {str(ids[i])!r} appears twice")
    return ids.astype(str)


# --------------------------------------------------------------------------- helpers


def _connect(path: str | Path) -> sqlite3.Connection:
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


def _to_float(values: Any) -> np.ndarray:
    """Numbers from mixed input (text, None) with NaN where a value is not a number."""
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)


def _finish_counts(
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    n_docs: int,
    n_terms: int,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """CSR of the kept records (duplicates summed, zeros dropped); the non-empty rows
    and the used columns only. Returns (X, kept row positions, kept column positions)."""
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n_docs, n_terms), dtype=np.float64)
    X.sum_duplicates()
    X.eliminate_zeros()
    keep_rows = np.flatnonzero(np.diff(X.indptr) > 0)
    keep_cols = np.flatnonzero(np.bincount(X.indices, minlength=n_terms) > 0)
    X = X[keep_rows][:, keep_cols].tocsr()
    X.sort_indices()
    return X, keep_rows, keep_cols


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
        tag = _to_float(a[:, 2])
        val = _to_float(a[:, 3])
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
    conn = _connect(path)
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
    X, rows, cols = _finish_counts(r, c, v, len(manifest_ids), len(tag_names))
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


def _read_corpus_metadata(conn: sqlite3.Connection, path: Path, manifest_ids: np.ndarray,
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
        year=_to_float(a[:, 5]),
        rows=int(n_rows),
        path=path,
    )


def load_year(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> ScalarLabels:
    """Release year from ``track_metadata.db``; year 0 means unknown (a missing value)."""
    path = Path(path)
    stats = LoadStats("year", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    conn = _connect(path)
    try:
        meta = _read_corpus_metadata(conn, path, manifest_ids, problems)
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


# --------------------------------------------------------------------------- Taste Profile


def _line_of_row(row: int, skipped: list[int]) -> int:
    """1-based line of data row ``row`` (0-based) given the sorted lines the parser skipped.

    The skipped line j (0-based) has ``skipped[j] - j - 1`` data lines before it; the
    row's line is its rank plus the skipped lines that precede it."""
    if not skipped:
        return row + 1
    s = np.asarray(skipped, dtype=np.int64)
    before = int(np.searchsorted(s - np.arange(len(s)), row + 1, side="right"))
    return row + 1 + before


def _read_tsv_chunks(path: Path, names: list[str], chunksize: int
                     ) -> Iterator[tuple[int, pd.DataFrame, list[int], list[tuple[int, str]]]]:
    """Chunks of a header-less TSV as strings.

    Yields (first data row, frame, all lines skipped so far, (line, reason) of the lines
    skipped in this chunk). Lines with too many fields are skipped by the parser and
    reported here, so the caller can raise for the earliest problem of the chunk."""
    skipped: list[int] = []
    first = 0
    reader = pd.read_csv(
        path, sep="\t", header=None, names=names, dtype=object, na_filter=False, quoting=3,
        skip_blank_lines=False, chunksize=chunksize, engine="c", on_bad_lines="warn",
    )
    it = iter(reader)
    while True:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                df = next(it)
            except StopIteration:
                return
        new: list[tuple[int, str]] = []
        for w in caught:
            for part in str(w.message).strip().splitlines():
                if part.startswith("Skipping line"):
                    head, _, reason = part.partition(": ")
                    new.append((int(head.split()[2]), reason.strip()))
        skipped.extend(line for line, _ in new)
        skipped.sort()
        yield first, df, skipped, new
        first += len(df)


def load_taste(
    triplets: str | Path, metadata: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error"
) -> CountLabels:
    """Taste Profile play counts (``train_triplets.txt``) as corpus track x user.

    Each song id is mapped to the corpus tracks that carry it in ``track_metadata.db``
    (MSD has a few songs with more than one track; each gets the song's counts).
    Users are terms; they have no names, so the topic tables show their ids."""
    triplets, metadata = Path(triplets), Path(metadata)
    if not triplets.exists():
        raise FileNotFoundError(f"taste triplets not found: {triplets}")
    stats = LoadStats("taste", [str(triplets), str(metadata)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    conn = _connect(metadata)
    try:
        meta = _read_corpus_metadata(conn, metadata, manifest_ids, problems)
        all_songs = pd.Index(
            [str(r[0]) for r in conn.execute("SELECT DISTINCT song_id FROM songs")]
        )
    finally:
        conn.close()
    has_song = meta.song_id != ""
    corpus_songs, song_code = np.unique(meta.song_id[has_song], return_inverse=True)
    corpus_songs_ix = pd.Index(corpus_songs)
    # song (corpus) x track indicator: a song's counts go to every corpus track carrying it
    S = sp.csr_matrix(
        (np.ones(has_song.sum()), (song_code, meta.track_pos[has_song])),
        shape=(len(corpus_songs), len(manifest_ids)),
    )
    seen_song = np.zeros(len(all_songs), dtype=bool)
    users: dict[str, int] = {}
    user_names: list[str] = []
    acc_s, acc_u, acc_c = [], [], []
    for first, df, skipped, new_skips in _read_tsv_chunks(triplets, ["user", "song", "count"], _TRIPLET_CHUNK):
        stats.rows += len(df) + len(new_skips)
        user = df["user"].to_numpy(dtype=object)
        song = df["song"].to_numpy(dtype=object)
        count = pd.to_numeric(df["count"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ((user == "") | (song == "") | ~np.isfinite(count) | (count <= 0)
               | (count != np.round(np.nan_to_num(count))))
        s_all = all_songs.get_indexer(song)
        unknown = ~bad & (s_all < 0)
        issues = [(line, "malformed", f"{triplets}: line {line}", f"expected 3 tab-separated fields: {why}", 1)
                  for line, why in new_skips]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raw = "\t".join(str(x) for x in df.iloc[i].tolist()).rstrip("\t")
            line = _line_of_row(first + i, skipped)
            issues.append((line, "malformed", f"{triplets}: line {line}",
                           f"expected user<TAB>song_id<TAB>positive integer count, got {raw!r}", int(bad.sum())))
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            line = _line_of_row(first + i, skipped)
            issues.append((line, "unknown_ids", f"{triplets}: line {line}",
                           f"song_id {str(song[i])!r} is not in {metadata.name}", int(unknown.sum())))
        for _, kind, where, what, n in sorted(issues):
            problems(kind, where, what, n)
        ok = ~bad & ~unknown
        seen_song[s_all[ok]] = True
        s_corpus = corpus_songs_ix.get_indexer(song)
        keep = ok & (s_corpus >= 0)
        if not keep.any():
            continue
        codes, uniq = pd.factorize(user[keep])
        gid = np.empty(len(uniq), dtype=np.int64)
        for j, name in enumerate(uniq):
            g = users.get(name)
            if g is None:
                g = users[name] = len(user_names)
                user_names.append(name)
            gid[j] = g
        acc_s.append(s_corpus[keep].astype(np.int32))
        acc_u.append(gid[codes].astype(np.int32))
        acc_c.append(count[keep].astype(np.float32))
    stats.labelled_ids = int(seen_song.sum())
    in_all = all_songs.get_indexer(corpus_songs)  # hash look-ups (np.isin is quadratic on objects)
    stats.outside_corpus = int(stats.labelled_ids - seen_song[in_all[in_all >= 0]].sum())
    s_idx = np.concatenate(acc_s) if acc_s else np.zeros(0, np.int32)
    u_idx = np.concatenate(acc_u) if acc_u else np.zeros(0, np.int32)
    cnt = np.concatenate(acc_c).astype(np.float64) if acc_c else np.zeros(0)
    song_user = sp.csr_matrix((cnt, (s_idx, u_idx)), shape=(len(corpus_songs), len(user_names)))
    track_user = (S.T @ song_user).tocsr()
    X, rows, cols = _finish_counts(*_coo(track_user), len(manifest_ids), len(user_names))
    stats.with_labels = len(rows)
    return CountLabels(manifest_ids[rows], X, np.asarray(user_names, dtype=object)[cols].astype(str),
                       stats, term_kind="user")


def _coo(X: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = X.tocoo()
    return c.row.astype(np.int64), c.col.astype(np.int64), c.data.astype(np.float64)


# --------------------------------------------------------------------------- musiXmatch


def load_musixmatch(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> CountLabels:
    """musiXmatch bag of words (``mxm_dataset_train.txt``): corpus track x word counts.

    Format: ``#`` comment lines, one ``%word1,word2,...`` vocabulary line, then
    ``track_id,mxm_track_id,idx:count,...`` with 1-based word indices."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"musiXmatch file not found: {path}")
    stats = LoadStats("lyrics", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    corpus = {t: i for i, t in enumerate(manifest_ids)}
    vocab: list[str] | None = None
    first_line: dict[str, int] = {}
    acc_r, acc_c, acc_v = [], [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("%"):
                if vocab is not None:
                    problems("malformed", f"{path}: line {lineno}", "a second vocabulary line")
                    continue
                vocab = line[1:].split(",")
                continue
            if vocab is None:
                raise LabelFileError(f"{path}: line {lineno}: data before the '%word,...' vocabulary line")
            stats.rows += 1
            parts = line.split(",")
            if len(parts) < 2 or not parts[0]:
                problems("malformed", f"{path}: line {lineno}",
                         "expected track_id,mxm_track_id,idx:count,...")
                continue
            tid = parts[0]
            if tid in first_line:
                problems("malformed", f"{path}: line {lineno}",
                         f"track {tid!r} already listed at line {first_line[tid]}")
                continue
            first_line[tid] = lineno
            row = corpus.get(tid)
            if row is None:
                continue
            pairs = parts[2:]
            if not pairs:
                continue
            if not _MXM_PAIRS.match(line, len(parts[0]) + len(parts[1]) + 2):
                bad = next(p for p in pairs if not _MXM_PAIR.match(p))
                problems("malformed", f"{path}: line {lineno}", f"word count {bad!r} is not idx:count")
                continue
            ic = np.array([p.split(":") for p in pairs], dtype=np.int64)
            if (ic[:, 1] <= 0).any():
                problems("malformed", f"{path}: line {lineno}", "a word count is not positive")
                continue
            out = (ic[:, 0] < 1) | (ic[:, 0] > len(vocab))
            if out.any():
                problems("unknown_ids", f"{path}: line {lineno}",
                         f"word index {int(ic[out][0, 0])} outside the vocabulary 1..{len(vocab)}")
                continue
            acc_r.append(np.full(len(ic), row, dtype=np.int64))
            acc_c.append(ic[:, 0] - 1)
            acc_v.append(ic[:, 1].astype(np.float64))
    if vocab is None:
        raise LabelFileError(f"{path}: no '%word,...' vocabulary line")
    stats.labelled_ids = len(first_line)
    stats.outside_corpus = sum(1 for t in first_line if t not in corpus)
    cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
    X, rows, cols = _finish_counts(cat(acc_r, np.int64), cat(acc_c, np.int64),
                                   cat(acc_v, np.float64), len(manifest_ids), len(vocab))
    stats.with_labels = len(rows)
    return CountLabels(manifest_ids[rows], X, np.asarray(vocab, dtype=object)[cols].astype(str),
                       stats, term_kind="word")


# --------------------------------------------------------------------------- small TSVs


def _tsv_lines(path: Path, header_first: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a small TSV; a first line whose first field is
    ``header_first`` (any case) is a header and skipped; blank lines are skipped."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if lineno == 1 and fields[0].strip().lower() == header_first:
                continue
            yield lineno, fields


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89HDF\r\n\x1a\n"


def load_tempo(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> ScalarLabels:
    """Tempo in bpm: a ``track_id<TAB>bpm`` TSV (header optional) or the MSD summary
    HDF5 (``/analysis/songs`` with fields ``track_id`` and ``tempo``).
    A tempo of 0 is the Echo Nest's 'unknown' and is a missing value."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"tempo file not found: {path}")
    stats = LoadStats("bpm", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    if _is_hdf5(path):
        ids, bpm, where = _tempo_from_summary(path)
    else:
        ids_l, bpm_l, where_l = [], [], []
        for lineno, fields in _tsv_lines(path, "track_id"):
            ids_l.append(fields[0].strip())
            try:
                if len(fields) != 2:
                    raise ValueError
                bpm_l.append(float(fields[1]))
            except ValueError:
                bpm_l.append(math.nan)
            where_l.append(lineno)
        ids = np.asarray(ids_l, dtype=object)
        bpm = np.asarray(bpm_l, dtype=np.float64)
        where = [f"line {n}" for n in where_l]
    stats.rows = len(ids)
    bad = ~np.isfinite(bpm) | (bpm < 0) | (ids == "")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problems("malformed", f"{path}: {where[i]}", "expected track_id<TAB>bpm with a non-negative number",
                 int(bad.sum()))
    dup = pd.Index(ids).duplicated() & ~bad
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        problems("malformed", f"{path}: {where[i]}", f"track {str(ids[i])!r} listed twice", int(dup.sum()))
    ok = ~bad & ~dup
    ids, bpm = ids[ok], bpm[ok]
    stats.labelled_ids = len(ids)
    pos = pd.Index(manifest_ids).get_indexer(ids)
    stats.outside_corpus = int((pos < 0).sum())
    in_corpus = pos >= 0
    unknown = in_corpus & (bpm == 0)
    stats.missing_values = int(unknown.sum())
    use = in_corpus & ~unknown
    order = np.argsort(pos[use], kind="stable")
    stats.with_labels = int(use.sum())
    return ScalarLabels(manifest_ids[pos[use][order]], bpm[use][order], "bpm", stats)


def _tempo_from_summary(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "analysis/songs" not in f:
                raise LabelFileError(f"{path}: no /analysis/songs table (expected the MSD summary file)")
            ds = f["analysis/songs"]
            names = ds.dtype.names or ()
            if "track_id" not in names or "tempo" not in names:
                raise LabelFileError(f"{path}: /analysis/songs lacks the fields track_id and tempo (has {names})")
            tids = ds.fields("track_id")[:]
            tempo = ds.fields("tempo")[:].astype(np.float64)
    except OSError as exc:
        raise LabelFileError(f"{path}: cannot read as HDF5 ({exc})") from None
    ids = np.array([t.decode() if isinstance(t, bytes) else str(t) for t in tids], dtype=object)
    return ids, tempo, [f"/analysis/songs row {i}" for i in range(len(ids))]


def load_cdr(path: str | Path, manifest_ids: np.ndarray, on_bad_line: str = "error") -> CountLabels:
    """Track-to-genre TSV (``track_id<TAB>genre[,genre...]``, header optional):
    corpus track x genre indicator. Genres are kept as written (``Parent/Child`` paths)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"genre file not found: {path}")
    stats = LoadStats("cdr_tag", [str(path)], in_manifest=len(manifest_ids))
    problems = Problems(on_bad_line, stats)
    corpus = {t: i for i, t in enumerate(manifest_ids)}
    genres: dict[str, int] = {}
    first_line: dict[str, int] = {}
    acc_r: list[int] = []
    acc_c: list[int] = []
    for lineno, fields in _tsv_lines(path, "track_id"):
        stats.rows += 1
        if len(fields) != 2 or not fields[0].strip():
            problems("malformed", f"{path}: line {lineno}", f"expected track_id<TAB>genres, got {len(fields)} fields")
            continue
        tid = fields[0].strip()
        if tid in first_line:
            problems("malformed", f"{path}: line {lineno}", f"track {tid!r} already listed at line {first_line[tid]}")
            continue
        first_line[tid] = lineno
        names = sorted({g.strip() for g in fields[1].split(",") if g.strip()})
        row = corpus.get(tid)
        if row is None or not names:
            continue
        for g in names:
            acc_r.append(row)
            acc_c.append(genres.setdefault(g, len(genres)))
    stats.labelled_ids = len(first_line)
    stats.outside_corpus = sum(1 for t in first_line if t not in corpus)
    X, rows, cols = _finish_counts(np.asarray(acc_r, np.int64), np.asarray(acc_c, np.int64),
                                   np.ones(len(acc_r)), len(manifest_ids), len(genres))
    stats.with_labels = len(rows)
    names = np.asarray(list(genres), dtype=object)
    return CountLabels(manifest_ids[rows], X, names[cols].astype(str), stats, term_kind="genre")


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
    conn = _connect(metadata)
    try:
        meta = _read_corpus_metadata(conn, metadata, manifest_ids, problems)
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
    conn = _connect(tags_db)
    try:
        tid_names, tid_rowid, tag_names = _read_tags_tables(conn, tags_db)
        stats.rows = conn.execute("SELECT COUNT(*) FROM tid_tag").fetchone()[0]
        where = all_tracks.get_indexer(tid_names)
        keep = where >= 0
        r, c, v = _tid_tag_rows(conn, tags_db, tid_rowid[keep], all_rows[where[keep]], tag_names, problems)
    finally:
        conn.close()
    X, rows, cols = _finish_counts(r, c, v, len(artists), len(tag_names))
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
