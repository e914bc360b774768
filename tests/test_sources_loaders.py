"""Loaders of the native MSD label files, on small files written here in the exact formats."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import h5py
import numpy as np
import pytest

from onerep.sources import loaders as L

SONGS_COLUMNS = ("track_id, title, song_id, release, artist_id, artist_mbid, artist_name, duration, "
                 "artist_familiarity, artist_hotttnesss, year")


def write_manifest(path: Path, ids: list[str]) -> Path:
    path.write_text("track_id\tlocation\tmd5\n" + "".join(f"{t}\taudio/{t}.mp3\t\n" for t in ids))
    return path


def write_tags_db(path: Path, tids: list[str], tags: list[str], rows: list[tuple]) -> Path:
    """lastfm_tags.db: tids(tid), tags(tag), tid_tag(tid, tag, val) with ROWID keys."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE tids (tid TEXT)")
    con.execute("CREATE TABLE tags (tag TEXT)")
    con.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
    con.executemany("INSERT INTO tids VALUES (?)", [(t,) for t in tids])
    con.executemany("INSERT INTO tags VALUES (?)", [(t,) for t in tags])
    con.executemany("INSERT INTO tid_tag VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    return path


def write_metadata_db(path: Path, rows: list[tuple]) -> Path:
    """track_metadata.db: songs(track_id, title, song_id, ..., year); rows = (track, song, artist, year)."""
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE songs ({SONGS_COLUMNS})")
    con.executemany(
        "INSERT INTO songs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(t, f"title {t}", s, "album", a, "", f"name of {a}", 200.0, 0.5, 0.4, y) for t, s, a, y in rows],
    )
    con.commit()
    con.close()
    return path


IDS = ["TRA", "TRB", "TRC", "TRD"]


@pytest.fixture
def manifest(tmp_path):
    return L.read_manifest_ids(write_manifest(tmp_path / "manifest.tsv", IDS))


# ----------------------------------------------------------------------------- manifest


def test_manifest_errors_name_the_line(tmp_path):
    p = tmp_path / "m.tsv"
    p.write_text("track_id\tlocation\nTRA\ta.mp3\nTRB\tb.mp3\nTRA\tc.mp3\n")
    with pytest.raises(L.LabelFileError, match=r"m.tsv: line 4: track_id 'TRA' appears twice"):
        L.read_manifest_ids(p)
    p.write_text("id\tlocation\nTRA\ta.mp3\n")
    with pytest.raises(L.LabelFileError, match="no 'track_id' column"):
        L.read_manifest_ids(p)


# ----------------------------------------------------------------------------- tags


def test_tags_matrix_terms_and_counts(tmp_path, manifest):
    db = write_tags_db(
        tmp_path / "lastfm_tags.db",
        ["TRB", "TRX", "TRA", "TRD"],  # TRX is not in the corpus; TRC has no tags
        ["rock", "jazz", "seen live", "unused"],
        [(1, 1, 100.0), (1, 3, 20.0), (2, 2, 50.0), (3, 2, 80.0), (3, 3, 10.0), (4, 1, 0.0)],
    )
    d = L.load_tags(db, manifest)
    assert list(d.track_ids) == ["TRA", "TRB"]  # TRD's only tag has intensity 0
    assert list(d.terms) == ["rock", "jazz", "seen live"]
    np.testing.assert_array_equal(d.X.toarray(), [[0, 80, 10], [100, 0, 20]])
    s = d.stats
    assert (s.rows, s.labelled_ids, s.outside_corpus, s.with_labels, s.in_manifest) == (6, 4, 1, 2, 4)
    assert (s.malformed, s.unknown_ids) == (0, 0)


def test_tags_bad_rows_error_or_skip(tmp_path, manifest):
    db = write_tags_db(
        tmp_path / "lastfm_tags.db", ["TRA", "TRB"], ["rock", "pop"],
        [(1, 1, 100.0), (1, 2, "lots"), (2, 1, -5.0), (2, 9, 10.0), (7, 1, 3.0), (2, 2, 40.0)],
    )
    with pytest.raises(L.LabelFileError, match=r"lastfm_tags.db: table tid_tag row 5: tid is not a row of table tids"):
        L.load_tags(db, manifest)
    d = L.load_tags(db, manifest, on_bad_line="skip")
    np.testing.assert_array_equal(d.X.toarray(), [[100, 0], [0, 40]])
    assert (d.stats.malformed, d.stats.unknown_ids) == (2, 2)
    assert any("row 2" in e and "'lots'" in e for e in d.stats.examples)
    # without the unknown tid, the first problem is the malformed value of row 2
    con = sqlite3.connect(db)
    con.execute("DELETE FROM tid_tag WHERE tid = 7")
    con.commit()
    con.close()
    with pytest.raises(L.LabelFileError, match=r"table tid_tag row 2: val 'lots' is not a non-negative number"):
        L.load_tags(db, manifest)


def test_tags_pointing_at_a_deleted_tag_row_are_unknown(tmp_path, manifest):
    db = write_tags_db(tmp_path / "lastfm_tags.db", ["TRA"], ["rock", "gone", "pop"],
                       [(1, 1, 10.0), (1, 2, 5.0), (1, 3, 7.0)])
    con = sqlite3.connect(db)
    con.execute("DELETE FROM tags WHERE ROWID = 2")
    con.commit()
    con.close()
    with pytest.raises(L.LabelFileError, match="row 2: tag 2 is not a row of table tags"):
        L.load_tags(db, manifest)
    d = L.load_tags(db, manifest, on_bad_line="skip")
    assert list(d.terms) == ["rock", "pop"] and d.stats.unknown_ids == 1


def test_not_sqlite_or_missing_table(tmp_path, manifest):
    p = tmp_path / "lastfm_tags.db"
    p.write_text("this is not a database, just text " * 20)
    with pytest.raises(L.LabelFileError, match="not an SQLite database"):
        L.load_tags(p, manifest)
    p.unlink()
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE tids (tid TEXT)")
    con.close()
    with pytest.raises(L.LabelFileError, match="no table 'tags'"):
        L.load_tags(p, manifest)
    with pytest.raises(FileNotFoundError, match="nowhere.db"):
        L.load_tags(tmp_path / "nowhere.db", manifest)


# ----------------------------------------------------------------------------- metadata: year, artist


def test_year_unknown_is_missing_not_a_value(tmp_path, manifest):
    db = write_metadata_db(tmp_path / "track_metadata.db", [
        ("TRA", "SOA", "AR1", 1994), ("TRB", "SOB", "AR1", 0), ("TRX", "SOX", "AR2", 2001),
        ("TRD", "SOD", "AR2", 1971),
    ])
    d = L.load_year(db, manifest)
    assert list(d.track_ids) == ["TRA", "TRD"]
    np.testing.assert_array_equal(d.values, [1994, 1971])
    assert (d.stats.missing_values, d.stats.outside_corpus, d.stats.labelled_ids) == (1, 1, 3)


def test_year_malformed(tmp_path, manifest):
    db = write_metadata_db(tmp_path / "track_metadata.db",
                           [("TRA", "SOA", "AR1", "nineteen"), ("TRB", "SOB", "AR1", 1990)])
    with pytest.raises(L.LabelFileError, match=r"track_metadata.db: table songs row 1: year of track 'TRA'"):
        L.load_year(db, manifest)
    d = L.load_year(db, manifest, on_bad_line="skip")
    assert list(d.track_ids) == ["TRB"] and d.stats.malformed == 1


def test_artist_aggregates_every_track_of_the_artist(tmp_path, manifest):
    meta = write_metadata_db(tmp_path / "track_metadata.db", [
        ("TRA", "SOA", "AR1", 1994), ("TRB", "SOB", "AR1", 1995), ("TRY", "SOY", "AR1", 1996),  # TRY: not in corpus
        ("TRC", "SOC", "AR2", 2000), ("TRD", "SOD", "AR3", 2001), ("TRZ", "SOZ", "AR9", 2001),
    ])
    tags = write_tags_db(
        tmp_path / "lastfm_tags.db", ["TRA", "TRY", "TRC", "TRZ"], ["rock", "jazz", "pop"],
        [(1, 1, 100.0), (2, 1, 50.0), (2, 2, 10.0), (3, 3, 70.0), (4, 2, 100.0)],
    )
    d = L.load_artist_tags(tags, meta, manifest)
    assert list(d.doc_ids) == ["AR1", "AR2"]  # AR3 (TRD) has no tagged track; AR9 is not a corpus artist
    assert list(d.terms) == ["rock", "jazz", "pop"]
    np.testing.assert_array_equal(d.X.toarray(), [[150, 10, 0], [0, 0, 70]])
    assert list(d.track_ids) == ["TRA", "TRB", "TRC"]
    np.testing.assert_array_equal(d.row_of_track, [0, 0, 1])


# ----------------------------------------------------------------------------- taste


def test_taste_maps_songs_to_tracks_and_checks_lines(tmp_path, manifest):
    meta = write_metadata_db(tmp_path / "track_metadata.db", [
        ("TRA", "SOA", "AR1", 1994), ("TRB", "SOB", "AR1", 0), ("TRC", "SOA", "AR2", 0),  # SOA has two tracks
        ("TRX", "SOX", "AR2", 0),
    ])
    trip = tmp_path / "train_triplets.txt"
    trip.write_text("u1\tSOA\t3\nu2\tSOB\t1\nu1\tSOX\t7\nu2\tSOA\t2\nu3\tSOB\t5\n")
    d = L.load_taste(trip, meta, manifest)
    assert list(d.track_ids) == ["TRA", "TRB", "TRC"]
    assert list(d.terms) == ["u1", "u2", "u3"]
    np.testing.assert_array_equal(d.X.toarray(), [[3, 2, 0], [0, 1, 5], [3, 2, 0]])
    assert (d.stats.rows, d.stats.labelled_ids, d.stats.outside_corpus) == (5, 3, 1)

    trip.write_text("u1\tSOA\t3\nu2\tSOB\tmany\n\nu1\tSOA\t1\textra\nu4\tSONOPE\t2\nu5\tSOB\n")
    with pytest.raises(L.LabelFileError, match=r"train_triplets.txt: line 2: .*'u2\\tSOB\\tmany'"):
        L.load_taste(trip, meta, manifest)
    d = L.load_taste(trip, meta, manifest, on_bad_line="skip")
    # bad: 'many' (2), blank (3), 4 fields (4), 2 fields (6); unknown song (5)
    assert (d.stats.malformed, d.stats.unknown_ids) == (4, 1)
    assert list(d.track_ids) == ["TRA", "TRC"]
    np.testing.assert_array_equal(d.X.toarray(), [[3], [3]])
    assert any("line 5" in e and "SONOPE" in e for e in d.stats.examples)
    assert any("line 4: expected 3 tab-separated fields" in e for e in d.stats.examples)
    assert any("line 2:" in e and "(and 2 more like it)" in e for e in d.stats.examples)
    # the first problem in error mode, when the earlier lines are good, is the extra field
    trip.write_text("u1\tSOA\t3\nu1\tSOA\t1\textra\n")
    with pytest.raises(L.LabelFileError, match=r"line 2"):
        L.load_taste(trip, meta, manifest)
    trip.write_text("u1\tSOA\t3\nu4\tSONOPE\t2\n")
    with pytest.raises(L.LabelFileError, match=r"line 2: song_id 'SONOPE' is not in track_metadata.db"):
        L.load_taste(trip, meta, manifest)


def test_taste_streams_in_chunks(tmp_path, manifest, monkeypatch):
    """Chunk boundaries do not change the matrix, and line numbers stay exact across chunks."""
    monkeypatch.setattr(L.taste, "_TRIPLET_CHUNK", 3)
    meta = write_metadata_db(tmp_path / "track_metadata.db", [("TRA", "SOA", "AR1", 0), ("TRB", "SOB", "AR1", 0)])
    rng = np.random.default_rng(0)
    lines = [f"u{rng.integers(20)}\t{'SOA' if rng.random() < 0.5 else 'SOB'}\t{rng.integers(1, 9)}" for _ in range(40)]
    trip = tmp_path / "train_triplets.txt"
    trip.write_text("\n".join(lines) + "\n")
    d = L.load_taste(trip, meta, manifest)
    monkeypatch.setattr(L.taste, "_TRIPLET_CHUNK", 1000)
    e = L.load_taste(trip, meta, manifest)
    assert list(d.terms) == list(e.terms)
    np.testing.assert_array_equal(d.X.toarray(), e.X.toarray())
    assert d.X.sum() == sum(int(x.split("\t")[2]) for x in lines)
    monkeypatch.setattr(L.taste, "_TRIPLET_CHUNK", 3)
    lines[3] = "u1\tSOA\t1\tx"  # too many fields: skipped by the parser (line 4)
    lines[10] = "u1\tSOA\tbad"  # line 11, after the skipped one
    trip.write_text("\n".join(lines) + "\n")
    d = L.load_taste(trip, meta, manifest, on_bad_line="skip")
    assert d.stats.malformed == 2
    assert any(e.startswith(f"{trip}: line 11:") for e in d.stats.examples), d.stats.examples


# ----------------------------------------------------------------------------- musiXmatch


MXM = """# musiXmatch dataset, training part
# comment line
%love,night,baby,guitar
TRA,101,1:3,2:1
TRX,102,1:1
TRB,103,2:2,4:5
TRC,104
"""


def test_musixmatch_bag_of_words(tmp_path, manifest):
    p = tmp_path / "mxm_dataset_train.txt"
    p.write_text(MXM)
    d = L.load_musixmatch(p, manifest)
    assert list(d.track_ids) == ["TRA", "TRB"]
    assert list(d.terms) == ["love", "night", "guitar"]  # 'baby' unused
    np.testing.assert_array_equal(d.X.toarray(), [[3, 1, 0], [0, 2, 5]])
    assert (d.stats.rows, d.stats.labelled_ids, d.stats.outside_corpus) == (4, 4, 1)


@pytest.mark.parametrize("line, kind, message", [
    ("TRD,105,1:2,3", "malformed", "line 8: word count '3' is not idx:count"),
    ("TRD,105,1:2,2:x", "malformed", "line 8: word count '2:x'"),
    ("TRD,105,9:2", "unknown_ids", "line 8: word index 9 outside the vocabulary 1..4"),
    ("TRA,106,1:1", "malformed", "line 8: track 'TRA' already listed at line 4"),
])
def test_musixmatch_bad_lines(tmp_path, manifest, line, kind, message):
    p = tmp_path / "mxm_dataset_train.txt"
    p.write_text(MXM + line + "\n")
    with pytest.raises(L.LabelFileError, match=message):
        L.load_musixmatch(p, manifest)
    d = L.load_musixmatch(p, manifest, on_bad_line="skip")
    assert getattr(d.stats, kind) == 1
    assert list(d.track_ids) == ["TRA", "TRB"]


def test_musixmatch_needs_the_vocabulary_first(tmp_path, manifest):
    p = tmp_path / "mxm.txt"
    p.write_text("# c\nTRA,1,1:1\n%a,b\n")
    with pytest.raises(L.LabelFileError, match="line 2: data before the '%word,...' vocabulary line"):
        L.load_musixmatch(p, manifest)


# ----------------------------------------------------------------------------- tempo


@pytest.mark.parametrize("header", [True, False])
def test_tempo_tsv(tmp_path, manifest, header):
    p = tmp_path / "tempo.tsv"
    p.write_text(("track_id\tbpm\n" if header else "") + "TRA\t120.5\nTRB\t0\nTRX\t99\nTRD\t64.0\n")
    d = L.load_tempo(p, manifest)
    assert list(d.track_ids) == ["TRA", "TRD"]
    np.testing.assert_allclose(d.values, [120.5, 64.0])
    assert (d.stats.missing_values, d.stats.outside_corpus, d.stats.rows) == (1, 1, 4)


def test_tempo_bad_lines(tmp_path, manifest):
    p = tmp_path / "tempo.tsv"
    p.write_text("track_id\tbpm\nTRA\t120\nTRB\tfast\nTRC\t-3\nTRA\t121\n")
    with pytest.raises(L.LabelFileError, match=r"tempo.tsv: line 3: expected track_id<TAB>bpm"):
        L.load_tempo(p, manifest)
    d = L.load_tempo(p, manifest, on_bad_line="skip")
    assert d.stats.malformed == 3  # 'fast', -3, TRA twice
    assert list(d.track_ids) == ["TRA"] and d.values[0] == 120


def test_tempo_from_msd_summary_hdf5(tmp_path, manifest):
    p = tmp_path / "msd_summary_file.h5"
    dt = np.dtype([("danceability", "<f8"), ("tempo", "<f8"), ("track_id", "S18")])
    rows = np.array([(0.0, 130.0, b"TRC"), (0.0, 0.0, b"TRA"), (0.0, 88.5, b"TRX"), (0.0, 72.25, b"TRB")], dtype=dt)
    with h5py.File(p, "w") as f:
        f.create_dataset("analysis/songs", data=rows)
        f.create_dataset("metadata/songs", data=np.zeros(4, dtype=[("song_id", "S18")]))
    d = L.load_tempo(p, manifest)
    assert list(d.track_ids) == ["TRB", "TRC"]
    np.testing.assert_allclose(d.values, [72.25, 130.0])
    assert (d.stats.missing_values, d.stats.outside_corpus) == (1, 1)


# ----------------------------------------------------------------------------- CDR genres


def test_cdr_genres(tmp_path, manifest):
    p = tmp_path / "cdr_genres.tsv"
    p.write_text("track_id\tgenres\nTRA\tRock/Indie Rock,Rock/Punk\nTRB\tJazz/Bebop\nTRX\tPop/Teen Pop\n"
                 "TRC\t\nTRD\tRock/Punk, Rock/Punk\n")
    d = L.load_cdr(p, manifest)
    assert list(d.track_ids) == ["TRA", "TRB", "TRD"]
    assert list(d.terms) == ["Rock/Indie Rock", "Rock/Punk", "Jazz/Bebop"]
    np.testing.assert_array_equal(d.X.toarray(), [[1, 1, 0], [0, 0, 1], [0, 1, 0]])
    assert (d.stats.outside_corpus, d.stats.labelled_ids) == (1, 5)
    p.write_text("track_id\tgenres\nTRA\tRock/Punk\nTRB\tJazz\textra\n")
    with pytest.raises(L.LabelFileError, match=r"cdr_genres.tsv: line 3: expected track_id<TAB>genres, got 3 fields"):
        L.load_cdr(p, manifest)
    assert L.load_cdr(p, manifest, on_bad_line="skip").stats.malformed == 1
