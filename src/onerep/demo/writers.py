"""Writers of the real data sets' native file formats, and audio encoding.

Every writer takes plain rows (from ``labels.py``) and a path; the generator calls
them inside a temporary folder that is renamed into place at the end, so the
writers themselves write directly.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from .styles import FormatChoice

# ---------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------

SUBTYPES = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "mp3": ("MP3", "MPEG_LAYER_III")}


def render_rate(fmt: FormatChoice) -> int:
    """Sample rate to synthesise at for a file format (16 kHz files are synthesised at 16 kHz,
    everything else at 22.05 kHz and resampled up where needed)."""
    return 16000 if fmt.sample_rate <= 16000 else 22050


def encode_audio(audio: np.ndarray, sr: int, fmt: FormatChoice) -> bytes:
    """Encode stereo float audio ``(2, n)`` at ``sr`` into the bytes of a file of format ``fmt``."""
    x = audio
    if fmt.sample_rate != sr:
        x = soxr.resample(np.ascontiguousarray(x.T), sr, fmt.sample_rate, quality="HQ").T
    if fmt.channels == 1:
        x = x.mean(axis=0, keepdims=True)
    x = np.clip(x, -1.0, 1.0)
    container, subtype = SUBTYPES[fmt.ext]
    buf = io.BytesIO()
    sf.write(buf, np.ascontiguousarray(x.T), fmt.sample_rate, format=container, subtype=subtype)
    return buf.getvalue()


def md5_bytes(data: bytes) -> str:
    """Hex MD5 of ``data``."""
    return hashlib.md5(data).hexdigest()


# ---------------------------------------------------------------------------
# Text formats
# ---------------------------------------------------------------------------


def write_tsv(path: Path, header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> None:
    """Tab-separated lines (no quoting: the values contain no tabs or newlines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        if header is not None:
            fh.write("\t".join(header) + "\n")
        for row in rows:
            fields = [str(v) for v in row]
            for v in fields:
                if "\t" in v or "\n" in v:
                    raise ValueError(f"{path}: value {v!r} contains a tab or newline")
            fh.write("\t".join(fields) + "\n")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A comma-separated file with a header line (quoted only where needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Plain text, one line each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for line in lines:
            fh.write(line + "\n")


def write_quoted_tsv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Tab-separated with every field in double quotes (a reader must handle quotes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


# ---------------------------------------------------------------------------
# MTG-Jamendo
# ---------------------------------------------------------------------------

JAMENDO_HEADER = ("TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS")


def write_jamendo_tsv(path: Path, rows: Iterable[Sequence[str]]) -> None:
    """An MTG-Jamendo metadata TSV as Python's ``csv.writer`` writes it (CRLF line ends): five
    fixed fields, then one field per tag under the single header name ``TAGS``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="ascii", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(JAMENDO_HEADER)
        w.writerows(rows)


def write_sha256_list(path: Path, root: Path, rels: Iterable[str]) -> None:
    """``<sha256 hex> <path>`` lines (ONE space, LF) of the files ``root/rel``."""
    write_lines(path, [f"{hashlib.sha256((root / rel).read_bytes()).hexdigest()} {rel}" for rel in rels])


# ---------------------------------------------------------------------------
# Million Song Dataset companions
# ---------------------------------------------------------------------------

SONGS_COLUMNS = ("track_id", "title", "song_id", "release", "artist_id", "artist_mbid", "artist_name",
                 "duration", "artist_familiarity", "artist_hotttnesss", "year", "track_7digitalid",
                 "shs_perf", "shs_work")


def write_track_metadata(path: Path, rows: Sequence[Sequence[Any]]) -> None:
    """``track_metadata.db``: SQLite table ``songs`` with the MSD columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute(
            "CREATE TABLE songs (track_id text PRIMARY KEY, title text, song_id text, release text, "
            "artist_id text, artist_mbid text, artist_name text, duration real, artist_familiarity real, "
            "artist_hotttnesss real, year int, track_7digitalid int, shs_perf int, shs_work int)")
        con.executemany(f"INSERT INTO songs VALUES ({','.join('?' * len(SONGS_COLUMNS))})", rows)
        con.execute("CREATE INDEX idx_artist_id ON songs ('artist_id','release')")
        con.execute("CREATE INDEX idx_title ON songs ('title','artist_name')")
        con.execute("CREATE INDEX idx_year ON songs ('year','artist_id','title')")
        con.commit()
    finally:
        con.close()


def write_lastfm_tags(path: Path, tids: Sequence[str], tags: Sequence[str],
                      tid_tag: Sequence[tuple[int, int, float]]) -> None:
    """``lastfm_tags.db``: tables ``tids(tid)``, ``tags(tag)``, ``tid_tag(tid, tag, val)`` where
    tid_tag refers to the ROWIDs of tids and tags."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TABLE tids (tid TEXT)")
        con.execute("CREATE TABLE tags (tag TEXT)")
        con.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
        con.executemany("INSERT INTO tids VALUES (?)", [(t,) for t in tids])
        con.executemany("INSERT INTO tags VALUES (?)", [(t,) for t in tags])
        con.executemany("INSERT INTO tid_tag VALUES (?, ?, ?)", tid_tag)
        con.execute("CREATE INDEX idx_tag ON tags ('tag')")
        con.execute("CREATE INDEX idx_tid ON tids ('tid')")
        con.execute("CREATE INDEX idx_tid_tag_tag ON tid_tag ('tag')")
        con.execute("CREATE INDEX idx_tid_tag_tid ON tid_tag ('tid')")
        con.commit()
    finally:
        con.close()


def write_musixmatch(path: Path, vocab: Sequence[str], rows: Sequence[tuple[str, int, list[tuple[int, int]]]],
                     n_tracks: int) -> None:
    """``mxm_dataset_train.txt``: ``#`` comments, ``%`` vocabulary line, then
    ``track_id,mxm_id,idx:count,...`` with 1-based word indices."""
    for word in vocab:
        if "," in word:
            raise ValueError(f"{path}: lyrics word {word!r} contains a comma")
    lines = [
        "# musiXmatch-format bag-of-words lyrics of the onerep demo world (simulated, not real lyrics)",
        "# one line starting with % lists the vocabulary; word indices below are 1-based",
        "# each track line: MSD track id, musiXmatch track id, then word_index:count pairs",
        f"# {len(rows)} of {n_tracks} learning-corpus tracks have lyrics (instrumental tracks have none)",
        "%" + ",".join(vocab),
    ]
    lines += [f"{tid},{mxm}," + ",".join(f"{i}:{c}" for i, c in words) for tid, mxm, words in rows]
    write_lines(path, lines)


# ---------------------------------------------------------------------------
# FMA
# ---------------------------------------------------------------------------

FMA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("album", "date_released"), ("album", "id"), ("album", "title"), ("album", "tracks"), ("album", "type"),
    ("artist", "id"), ("artist", "location"), ("artist", "name"),
    ("set", "split"), ("set", "subset"),
    ("track", "bit_rate"), ("track", "date_created"), ("track", "duration"), ("track", "genre_top"),
    ("track", "genres"), ("track", "genres_all"), ("track", "interest"), ("track", "listens"),
    ("track", "number"), ("track", "title"),
)


def write_fma_tracks(path: Path, records: Sequence[dict[tuple[str, str], Any]], track_ids: Sequence[int]) -> None:
    """``tracks.csv`` with FMA's three header rows: top-level group per column, column name,
    then ``track_id`` (the index name) followed by empty cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([""] + [g for g, _ in FMA_COLUMNS])
        w.writerow([""] + [c for _, c in FMA_COLUMNS])
        w.writerow(["track_id"] + [""] * len(FMA_COLUMNS))
        for tid, rec in zip(track_ids, records):
            w.writerow([tid] + [rec.get(col, "") for col in FMA_COLUMNS])
