"""Native adapters of MTG-Jamendo and FMA, on small files written in the exact native formats."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from onerep.audio.acquire import acquire_local
from onerep.audio.manifest import Track, read_manifest
from onerep.cli import main
from onerep.sources.kinds import SourceTable
from onerep.sources.loaders import LabelFileError
from onerep.sources.open_corpora import (
    FORMATS,
    NativeFileError,
    fma_grouping,
    fma_terms,
    fma_values,
    jamendo_audio_manifest,
    jamendo_grouping,
    jamendo_terms,
    read_autotagging,
    read_fma_tracks,
    read_sha256_list,
    read_split,
)

# --------------------------------------------------------------------------- MTG-Jamendo

HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"
ROWS = [  # ids padded to different widths, 1 to 4 tag columns
    "track_0000382\tartist_000020\talbum_000046\t82/382.mp3\t211.1\tinstrument---voice",
    "track_0000775\tartist_000104\talbum_000126\t75/775.mp3\t198.1\t"
    "genre---easylistening\tgenre---electronic\tgenre---lounge",
    "track_1009600\tartist_20\talbum_46\t00/1009600.mp3\t30.0\t"
    "genre---rock\tinstrument---guitar\tmood/theme---happy\tmood/theme---energetic",
    "track_00000007\tartist_0000003\talbum_9\t07/7.mp3\t4140.3\tmood/theme---calm\tgenre---rock",
]


def _tsv(path: Path, rows: list[str], ending: str = "\r\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ending.join([HEADER, *rows]).encode() + ending.encode())
    return path


def _table(st: SourceTable) -> list[tuple]:
    return [tuple(r) for r in st.table.itertuples(index=False)]


def test_autotagging_rows_parsed_with_canonical_ids(tmp_path: Path) -> None:
    data = read_autotagging(_tsv(tmp_path / "a.tsv", ROWS))
    assert tmp_path.joinpath("a.tsv").read_bytes().count(b"\r\n") == 5
    t = data.tracks
    assert [x.track_id for x in t] == ["track_382", "track_775", "track_1009600", "track_7"]
    assert [x.artist_id for x in t] == ["artist_20", "artist_104", "artist_20", "artist_3"]
    assert [x.album_id for x in t] == ["album_46", "album_126", "album_46", "album_9"]
    assert [x.path for x in t] == ["82/382.mp3", "75/775.mp3", "00/1009600.mp3", "07/7.mp3"]
    assert [x.duration for x in t] == [211.1, 198.1, 30.0, 4140.3]
    assert t[2].tags == ("genre---rock", "instrument---guitar", "mood/theme---happy", "mood/theme---energetic")
    assert [x.line for x in t] == [2, 3, 4, 5]
    assert (data.stats.rows, data.stats.malformed) == (4, 0)


def test_lf_endings_and_a_row_without_tags_are_read_too(tmp_path: Path) -> None:
    rows = [*ROWS[:1], "track_5\tartist_1\talbum_1\t05/5.mp3\t31.5"]
    data = read_autotagging(_tsv(tmp_path / "a.tsv", rows, ending="\n"))
    assert [(x.track_id, x.tags) for x in data.tracks] == [("track_382", ("instrument---voice",)), ("track_5", ())]


@pytest.mark.parametrize("category, expected", [
    ("all", [("track_382", "instrument---voice"), ("track_775", "genre---easylistening"),
             ("track_775", "genre---electronic"), ("track_775", "genre---lounge"),
             ("track_1009600", "genre---rock"), ("track_1009600", "instrument---guitar"),
             ("track_1009600", "mood/theme---happy"), ("track_1009600", "mood/theme---energetic"),
             ("track_7", "mood/theme---calm"), ("track_7", "genre---rock")]),
    ("genre", [("track_775", "easylistening"), ("track_775", "electronic"), ("track_775", "lounge"),
               ("track_1009600", "rock"), ("track_7", "rock")]),
    ("instrument", [("track_382", "voice"), ("track_1009600", "guitar")]),
    ("mood/theme", [("track_1009600", "happy"), ("track_1009600", "energetic"), ("track_7", "calm")]),
])
def test_jamendo_terms_per_category(tmp_path: Path, category: str, expected: list[tuple]) -> None:
    st = jamendo_terms(_tsv(tmp_path / "a.tsv", ROWS), {"category": category}, "error")
    assert st.kind == "terms"
    assert _table(st) == [(tid, term, 1.0) for tid, term in expected]
    assert (st.rows_read, st.skipped, st.files) == (4, 0, [str(tmp_path / "a.tsv")])
    assert st.info["category"] == category and st.info["tracks"] == 4


def test_jamendo_terms_default_is_all_and_grouping_is_the_artist(tmp_path: Path) -> None:
    path = _tsv(tmp_path / "a.tsv", ROWS)
    assert jamendo_terms(path, {}, "error").info["category"] == "all"
    st = jamendo_grouping(path, {}, "error")
    assert _table(st) == [("track_382", "artist_20"), ("track_775", "artist_104"),
                          ("track_1009600", "artist_20"), ("track_7", "artist_3")]
    assert st.info["groups"] == 3


def test_adapter_options_are_checked(tmp_path: Path) -> None:
    path = _tsv(tmp_path / "a.tsv", ROWS)
    with pytest.raises(ValueError, match=r"jamendo terms adapter .*option category='mood' is not one of "
                                         r"genre, instrument, mood/theme, all"):
        jamendo_terms(path, {"category": "mood"}, "error")
    with pytest.raises(ValueError, match=r"jamendo grouping adapter .*unknown option\(s\) \['category'\]"):
        jamendo_grouping(path, {"category": "genre"}, "error")


BAD_ROWS = [
    ("track_1\tartist_1\talbum_1\t01/1.mp3", r"4 tab-separated field\(s\), expected at least 5"),
    ("trak_1\tartist_1\talbum_1\t01/1.mp3\t30.0\tgenre---rock", r"track id 'trak_1' is not track_<digits>"),
    ("track_1\tartist_x\talbum_1\t01/1.mp3\t30.0\tgenre---rock", r"artist id 'artist_x' is not artist_<digits>"),
    ("track_1\tartist_1\t1\t01/1.mp3\t30.0\tgenre---rock", r"album id '1' is not album_<digits>"),
    ("track_1\tartist_1\talbum_1\t02/1.mp3\t30.0\tgenre---rock", r"PATH '02/1\.mp3' does not fit track_1 "
                                                                 r"\(expected 01/1\.mp3\)"),
    ("track_1\tartist_1\talbum_1\t01/1.mp3\tlong\tgenre---rock", r"DURATION 'long' is not a positive number"),
    ("track_1\tartist_1\talbum_1\t01/1.mp3\tnan\tgenre---rock", r"DURATION 'nan' is not a positive number"),
    ("track_1\tartist_1\talbum_1\t01/1.mp3\t30.0\tstyle---rock", r"tag 'style---rock' has the unknown category "
                                                                 r"'style' \(expected genre, instrument, mood/theme\)"),
    ("track_1\tartist_1\talbum_1\t01/1.mp3\t30.0\tgenre---rock\trock", r"tag 'rock' has no '---'"),
    ("track_1\tartist_1\talbum_1\t01/1.mp3\t30.0\tgenre---", r"tag 'genre---' has no name after '---'"),
    ("track_00382\tartist_1\talbum_1\t82/382.mp3\t30.0\tgenre---rock", r"track track_382 already listed at line 2"),
]


@pytest.mark.parametrize("row, message", BAD_ROWS)
def test_bad_jamendo_rows_error_or_skip(tmp_path: Path, row: str, message: str) -> None:
    path = _tsv(tmp_path / "bad.tsv", [ROWS[0], row, ROWS[1]])
    with pytest.raises(LabelFileError, match=r"bad\.tsv: line 3: " + message):
        read_autotagging(path)
    st = jamendo_terms(path, {"category": "all"}, "skip")
    assert (st.rows_read, st.skipped) == (3, 1)
    assert st.examples[0].startswith(f"{path}: line 3: ")
    assert sorted(set(st.table["track_id"])) == ["track_382", "track_775"]


def test_non_utf8_row_is_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_bytes(f"{HEADER}\r\n".encode() + b"track_1\tartist_1\talbum_1\t01/1.mp3\t30.0\tgenre---r\xf6ck\r\n")
    with pytest.raises(LabelFileError, match=r"bad\.tsv: line 2: not UTF-8 text"):
        read_autotagging(path)
    assert read_autotagging(path, "skip").stats.malformed == 1


def test_symlink_stand_in_header_and_empty_file_are_clear_errors(tmp_path: Path) -> None:
    target = _tsv(tmp_path / "raw_30s_cleantags_50artists.tsv", ROWS)
    stand_in = tmp_path / "autotagging.tsv"
    stand_in.write_text("raw_30s_cleantags_50artists.tsv")  # what git writes for a symlink, no newline
    with pytest.raises(NativeFileError, match=r"autotagging\.tsv: not a TSV but git's one-line stand-in for a "
                                              r"symlink to 'raw_30s_cleantags_50artists\.tsv'.*read "
                                              + str(target).replace(".", r"\.") + r" instead \(it exists"):
        jamendo_terms(stand_in, {}, "skip")
    (tmp_path / "h.tsv").write_bytes(b"TRACK_ID\tARTIST_ID\tPATH\r\n")
    with pytest.raises(NativeFileError, match=r"h\.tsv: line 1: expected the header TRACK_ID ARTIST_ID ALBUM_ID"):
        read_autotagging(tmp_path / "h.tsv")
    (tmp_path / "e.tsv").write_bytes(b"")
    with pytest.raises(NativeFileError, match=r"e\.tsv: empty file"):
        read_autotagging(tmp_path / "e.tsv")
    with pytest.raises(FileNotFoundError, match="MTG-Jamendo TSV not found: .*nope.tsv"):
        read_autotagging(tmp_path / "nope.tsv")


def _split(folder: Path, prefix: str, parts: dict[str, list[str]]) -> None:
    for part, rows in parts.items():
        _tsv(folder / f"{prefix}-{part}.tsv", rows)


def test_official_split_union_of_category_files(tmp_path: Path) -> None:
    folder = tmp_path / "splits" / "split-0"
    _split(folder, "autotagging_genre", {"train": [ROWS[1], ROWS[2]], "validation": [ROWS[3]], "test": []})
    _split(folder, "autotagging_instrument", {"train": [ROWS[2]], "validation": [], "test": [ROWS[0]]})
    split = read_split(folder, ["autotagging_genre", "autotagging_instrument"])
    assert split.part == {"track_775": "train", "track_1009600": "train", "track_7": "validation",
                          "track_382": "test"}
    assert split.table().to_dict("list") == {"track_id": list(split.part), "part": list(split.part.values())}
    assert len(split.files) == 6 and split.skipped == 0
    with pytest.raises(FileNotFoundError, match=r"split-0/autotagging-train\.tsv \(where autotagging-train"):
        read_split(folder)


def test_a_track_in_two_parts_names_both_files(tmp_path: Path) -> None:
    folder = tmp_path / "split-1"
    _split(folder, "autotagging", {"train": [ROWS[0], ROWS[1]], "validation": [ROWS[2]], "test": [ROWS[3], ROWS[1]]})
    with pytest.raises(NativeFileError, match=r"autotagging-test\.tsv: line 3: track track_775 is in part 'test', "
                                              r"but .*autotagging-train\.tsv: line 3 puts it in 'train'"):
        read_split(folder, on_bad_line="skip")


# --------------------------------------------------------------------------- checksums and audio manifest

AUDIO = {"82/382.mp3": b"ID3\x00\x01" + bytes(range(256)) * 3, "75/775.mp3": b"ID3\x00\x02" + bytes(range(256)),
         "82/382.low.mp3": b"ID3\x00\x03" + bytes(range(200)), "07/7.low.mp3": b"ID3\x00\x04" + bytes(range(100))}
SHA = {rel: hashlib.sha256(data).hexdigest() for rel, data in AUDIO.items()}


@pytest.fixture()
def jamendo(tmp_path: Path) -> Path:
    """A data folder: the TSV, two checksum lists (one and two spaces) and an audio root."""
    _tsv(tmp_path / "data" / "autotagging.tsv", ROWS)
    for rel, data in AUDIO.items():
        (tmp_path / "audio" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "audio" / rel).write_bytes(data)
    dl = tmp_path / "data" / "download"
    dl.mkdir()
    (dl / "raw_30s_audio_sha256_tracks.txt").write_text(
        f"{SHA['82/382.mp3']} 82/382.mp3\n{SHA['75/775.mp3']} 75/775.mp3\n")
    (dl / "raw_30s_audio-low_sha256_tracks.txt").write_text(
        f"{SHA['82/382.low.mp3']}  82/382.low.mp3\n{SHA['07/7.low.mp3']} *07/7.low.mp3\n")
    return tmp_path


def test_sha256_lists_one_space_two_spaces_and_bad_lines(jamendo: Path, tmp_path: Path) -> None:
    dl = jamendo / "data" / "download"
    assert read_sha256_list(dl / "raw_30s_audio_sha256_tracks.txt") == {
        "82/382.mp3": SHA["82/382.mp3"], "75/775.mp3": SHA["75/775.mp3"]}
    assert read_sha256_list(dl / "raw_30s_audio-low_sha256_tracks.txt") == {
        "82/382.low.mp3": SHA["82/382.low.mp3"], "07/7.low.mp3": SHA["07/7.low.mp3"]}
    bad = tmp_path / "bad.txt"
    for line, message in [("abc 00/1.mp3", r"'abc' is not a SHA-256 digest"),
                          ("a" * 64, r"expected '<sha256> <relative path>'"),
                          ("b" * 64 + " 82/382.mp3", r"82/382\.mp3 already listed with another digest at line 1")]:
        bad.write_text(f"{'a' * 64} 82/382.mp3\n{line}\n{'c' * 64} 00/100.mp3\n")
        with pytest.raises(LabelFileError, match=r"bad\.txt: line 2: " + message):
            read_sha256_list(bad)
        assert read_sha256_list(bad, "skip") == {"82/382.mp3": "a" * 64, "00/100.mp3": "c" * 64}


def test_audio_manifest_rows_missing_audio_counted(jamendo: Path) -> None:
    tsv, root = jamendo / "data" / "autotagging.tsv", jamendo / "audio"
    sums = jamendo / "data" / "download" / "raw_30s_audio_sha256_tracks.txt"
    out = jamendo_audio_manifest(tsv, root, sums)
    assert out.tracks == [Track("track_382", str(root / "82/382.mp3"), sha256=SHA["82/382.mp3"]),
                          Track("track_775", str(root / "75/775.mp3"), sha256=SHA["75/775.mp3"])]
    assert out.without_audio == [("track_1009600", "00/1009600.mp3"), ("track_7", "07/7.mp3")]
    assert out.without_checksum == []
    assert out.summary() == "2 tracks with audio; 2 listed without an audio file (first: track_1009600, 00/1009600.mp3)"
    low = jamendo_audio_manifest(tsv, root, low=True)
    assert low.tracks == [Track("track_382", str(root / "82/382.low.mp3")),
                          Track("track_7", str(root / "07/7.low.mp3"))]
    with pytest.raises(NativeFileError, match=r"autotagging\.tsv: 2 of 4 tracks have no audio file under .*"
                                              r"\(first: track_1009600, expected .*00/1009600\.mp3\)"):
        jamendo_audio_manifest(tsv, root, require_audio=True)
    with pytest.raises(NativeFileError, match=r"raw_30s_audio_sha256_tracks\.txt: lists none of the 2 audio files "
                                              r"found under .*other audio type"):
        jamendo_audio_manifest(tsv, root, sums, low=True)
    with pytest.raises(NativeFileError, match=r"4 of 4 tracks have no audio file"):
        jamendo_audio_manifest(tsv, jamendo / "data")
    with pytest.raises(FileNotFoundError, match=r"audio root not found"):
        jamendo_audio_manifest(tsv, jamendo / "nowhere")


def test_jamendo_manifest_command_then_sha256_verification(jamendo: Path, capsys: pytest.CaptureFixture) -> None:
    out = jamendo / "results" / "manifest.tsv"
    sums = jamendo / "data" / "download" / "raw_30s_audio-low_sha256_tracks.txt"
    (jamendo / "audio" / "07" / "7.low.mp3").write_bytes(b"ID3\x00\x04 damaged")
    rc = main(["jamendo-manifest", "--tsv", str(jamendo / "data" / "autotagging.tsv"), "--audio-root",
               str(jamendo / "audio"), "--checksums", str(sums), "--low", "--out", str(out)])
    assert rc == 0
    assert out.read_text() == ("track_id\tlocation\tmd5\tsha256\n"
                               f"track_382\t../audio/82/382.low.mp3\t\t{SHA['82/382.low.mp3']}\n"
                               f"track_7\t../audio/07/7.low.mp3\t\t{SHA['07/7.low.mp3']}\n")
    assert "2 tracks with audio; 2 listed without an audio file" in capsys.readouterr().out
    records = {t.track_id: acquire_local(t) for t in read_manifest(out)}
    assert records["track_382"].ok
    actual = hashlib.sha256(b"ID3\x00\x04 damaged").hexdigest()
    assert records["track_7"].reason == f"checksum_mismatch: expected sha256 {SHA['07/7.low.mp3']}, file has {actual}"
    rc = main(["jamendo-manifest", "--tsv", str(jamendo / "data" / "autotagging.tsv"), "--audio-root",
               str(jamendo / "audio"), "--require-audio", "--out", str(out)])
    assert rc == 2 and "have no audio file" in capsys.readouterr().err


# --------------------------------------------------------------------------- FMA

FMA_LINES = [
    ",album,album,artist,artist,set,set,track,track,track,track,track,track",
    ",date_released,id,id,name,split,subset,favorites,genres,genres_all,interest,listens,tags",
    "track_id,,,,,,,,,,,,",
    "2,2009-01-05 00:00:00,1,1,AWOL,training,small,2,[21],[21],4656,1293,\"['awol', 'hip, hop']\"",
    "3,,1,1,AWOL,training,medium,1,[21],\"[21, 1]\",,514,[]",
    "5,2008-02-06,6,1,\"Kurt \"\"K\"\" Vile, and\nfriends\",test,small,6,\"[76, 103]\",\"[1, 76, 103]\",1933,1151,"
    "\"[\"\"it's\"\", 'rock \"\"n\"\" roll', 'awol', 'awol']\"",
    "10,,-1,,Nobody,validation,large,178,[],[],54881,50135,",
]


def _fma(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def tracks_csv(tmp_path: Path) -> Path:
    return _fma(tmp_path / "tracks.csv", FMA_LINES)


def test_fma_reader_agrees_with_pandas_and_tracks_lines(tracks_csv: Path) -> None:
    data = read_fma_tracks(tracks_csv)
    assert data.track_ids == ["2", "3", "5", "10"]
    assert data.lines == [4, 5, 6, 8]  # track 5's quoted artist name spans two lines
    ref = pd.read_csv(tracks_csv, header=[0, 1], index_col=0, dtype=str, keep_default_na=False)
    assert ref.index.name == "track_id" and list(ref.columns) == list(data.columns)
    for column, cells in data.columns.items():
        assert ref[column].tolist() == cells, column
    assert data.columns[("artist", "name")][2] == 'Kurt "K" Vile, and\nfriends'


@pytest.mark.parametrize("field, expected", [
    ("genres_all", [("2", "21"), ("3", "21"), ("3", "1"), ("5", "1"), ("5", "76"), ("5", "103")]),
    ("genres", [("2", "21"), ("3", "21"), ("5", "76"), ("5", "103")]),
    ("tags", [("2", "awol"), ("2", "hip, hop"), ("5", "it's"), ("5", 'rock "n" roll'), ("5", "awol")]),
])
def test_fma_terms(tracks_csv: Path, field: str, expected: list[tuple]) -> None:
    st = fma_terms(tracks_csv, {"field": field}, "error")
    assert _table(st) == [(tid, term, 1.0) for tid, term in expected]
    assert (st.kind, st.rows_read, st.skipped, st.info["field"]) == ("terms", 4, 0, field)
    assert st.info["empty_cells"] == (1 if field == "tags" else 0)


def test_fma_terms_default_is_genres_all(tracks_csv: Path) -> None:
    assert fma_terms(tracks_csv, {}, "error").info["field"] == "genres_all"


@pytest.mark.parametrize("field, expected, empty", [
    ("listens", [("2", 1293.0), ("3", 514.0), ("5", 1151.0), ("10", 50135.0)], 0),
    ("interest", [("2", 4656.0), ("5", 1933.0), ("10", 54881.0)], 1),
    ("favorites", [("2", 2.0), ("3", 1.0), ("5", 6.0), ("10", 178.0)], 0),
    ("year", [("2", 2009.0), ("5", 2008.0)], 2),
])
def test_fma_values_skip_and_count_empty_cells(tracks_csv: Path, field: str, expected: list[tuple],
                                               empty: int) -> None:
    st = fma_values(tracks_csv, {"field": field}, "error")
    assert _table(st) == expected
    assert (st.skipped, st.info["empty_cells"], st.info["tracks"]) == (0, empty, 4)


def test_fma_grouping_and_options(tracks_csv: Path) -> None:
    st = fma_grouping(tracks_csv, {}, "error")
    assert _table(st) == [("2", "1"), ("3", "1"), ("5", "1")]
    assert (st.info["empty_cells"], st.info["groups"]) == (1, 1)
    with pytest.raises(ValueError, match=r"fma values adapter .*option 'field' is required"):
        fma_values(tracks_csv, {}, "error")
    with pytest.raises(ValueError, match=r"option field='bpm' is not one of listens, interest, favorites, year"):
        fma_values(tracks_csv, {"field": "bpm"}, "error")
    with pytest.raises(ValueError, match=r"fma grouping adapter .*unknown option"):
        fma_grouping(tracks_csv, {"field": "tags"}, "error")


_ROW3 = "3,,1,1,AWOL,training,medium,1,[21],[21],,514,[]".split(",")
_FMA_COLUMNS = [("", "track_id"), *zip(FMA_LINES[0].split(",")[1:], FMA_LINES[1].split(",")[1:])]


def _row3(**cells: str) -> str:
    """Track 3's row with some cells replaced, named ``group__name`` (``track_id`` for the index)."""
    row = list(_ROW3)
    for key, cell in cells.items():
        row[_FMA_COLUMNS.index(tuple(key.split("__")) if "__" in key else ("", key))] = cell
    return ",".join(row)


BAD_FMA = [  # (row replacing track 3, adapter, options, message)
    (",".join(_ROW3[:-1]), fma_terms, {}, r"12 fields, the header has 13"),
    (_row3(track_id="x3"), fma_terms, {}, r"track_id 'x3' is not an integer"),
    (_row3(track_id="2"), fma_terms, {}, r"track 2 already listed at line 4"),
    (_row3(track__genres_all='"[21, 1"'), fma_terms, {},
     r"\('track', 'genres_all'\) cell '\[21, 1' is not a Python literal"),
    (_row3(track__genres="\"['21']\""), fma_terms, {"field": "genres"},
     r"\('track', 'genres'\) cell \"\['21'\]\" is not a list of int"),
    (_row3(track__tags="__import__('os')"), fma_terms, {"field": "tags"},
     r"\('track', 'tags'\) cell \"__import__\('os'\)\" is not a Python literal"),
    (_row3(track__tags="'awol'"), fma_terms, {"field": "tags"},
     r"\('track', 'tags'\) cell \"'awol'\" is not a list of str"),
    (_row3(track__listens="many"), fma_values, {"field": "listens"},
     r"\('track', 'listens'\) cell 'many' is not a number"),
    (_row3(album__date_released="05/01/2009"), fma_values, {"field": "year"},
     r"\('album', 'date_released'\) cell '05/01/2009' is not a date"),
    (_row3(album__date_released="2009-13-01"), fma_values, {"field": "year"},
     r"\('album', 'date_released'\) cell '2009-13-01' is not a date"),
    (_row3(artist__id="a1"), fma_grouping, {}, r"\('artist', 'id'\) cell 'a1' is not a non-negative integer id"),
]


@pytest.mark.parametrize("row, adapter, options, message", BAD_FMA)
def test_bad_fma_rows_error_or_skip(tmp_path: Path, row: str, adapter, options: dict, message: str) -> None:
    lines = [*FMA_LINES]
    lines[4] = row
    path = _fma(tmp_path / "tracks.csv", lines)
    with pytest.raises(LabelFileError, match=r"tracks\.csv: line 5: " + message):
        adapter(path, options, "error")
    st = adapter(path, options, "skip")
    assert st.skipped == 1 and st.examples[0].startswith(f"{path}: line 5: ")
    assert "3" not in set(st.table["track_id"]) and "5" in set(st.table["track_id"])


def test_bad_fma_row_after_a_multiline_cell_names_its_physical_line(tmp_path: Path) -> None:
    path = _fma(tmp_path / "tracks.csv", [*FMA_LINES[:6], "7,,1,1", *FMA_LINES[6:]])
    with pytest.raises(LabelFileError, match=r"tracks\.csv: line 8: 4 fields, the header has 13"):
        read_fma_tracks(path)


def test_fma_header_errors(tmp_path: Path) -> None:
    path = _fma(tmp_path / "tracks.csv", [FMA_LINES[0], FMA_LINES[1], *FMA_LINES[3:]])  # no track_id line
    with pytest.raises(NativeFileError, match=r"tracks\.csv: line 3: expected 'track_id' then empty fields"):
        read_fma_tracks(path)
    path = _fma(tmp_path / "tracks.csv", FMA_LINES[:2])
    with pytest.raises(NativeFileError, match=r"fewer than three header lines"):
        read_fma_tracks(path)
    path = _fma(tmp_path / "tracks.csv", [FMA_LINES[0][:-6], *FMA_LINES[1:]])
    with pytest.raises(NativeFileError, match=r"tracks\.csv: line 2: 13 fields, line 1 has 12"):
        read_fma_tracks(path)
    path = _fma(tmp_path / "tracks.csv", [FMA_LINES[0].replace("set,set", "set,sex"), *FMA_LINES[1:]])
    with pytest.raises(NativeFileError, match=r"tracks\.csv: lines 1-2: no column \('set', 'subset'\) \(column "
                                              r"groups here: album, artist, set, sex, track\)"):
        read_fma_tracks(path, [("set", "subset")])
    path = _fma(tmp_path / "tracks.csv", [",album,album,track", ",date_released,date_released,tags", "track_id,,,"])
    with pytest.raises(NativeFileError, match=r"lines 1-2: column \('album', 'date_released'\) appears twice"):
        read_fma_tracks(path)


def test_registry_maps_format_and_kind_to_adapters() -> None:
    assert FORMATS == {
        "jamendo": {"terms": jamendo_terms, "grouping": jamendo_grouping},
        "fma": {"terms": fma_terms, "values": fma_values, "grouping": fma_grouping},
    }
