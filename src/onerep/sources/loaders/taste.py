"""The Taste Profile play counts (``train_triplets.txt``, user<TAB>song<TAB>count),
read in chunks with pandas' C parser; songs are mapped to tracks by the MSD metadata."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .msd_sqlite import connect, read_corpus_metadata
from .records import (
    CountLabels,
    LoadStats,
    Problems,
    finish_counts,
)

_TRIPLET_CHUNK = 1_000_000


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
    conn = connect(metadata)
    try:
        meta = read_corpus_metadata(conn, metadata, manifest_ids, problems)
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
    X, rows, cols = finish_counts(*_coo(track_user), len(manifest_ids), len(user_names))
    stats.with_labels = len(rows)
    return CountLabels(manifest_ids[rows], X, np.asarray(user_names, dtype=object)[cols].astype(str),
                       stats, term_kind="user")


def _coo(X: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = X.tocoo()
    return c.row.astype(np.int64), c.col.astype(np.int64), c.data.astype(np.float64)
