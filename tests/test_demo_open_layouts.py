"""Tests of the demo world's open corpora: MTG-Jamendo and MagnaTagATune layouts.

A world with only these two sets of any size is generated once; its files are read back as
bytes (line endings, separators, quoting) and with independent readers (csv, pandas,
soundfile, hashlib), and checked against shared/formats/open-corpora.md sections 1 and 3 and
against the latent truth in world.json. Determinism and the settings that turn each part off
use a micro world.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from onerep.demo import generate

OPEN = dict(seed=11, clip_seconds=3.0, n_genres=4, n_artists=12, n_users=4, corpus_tracks=10, gtzan_per_genre=1,
            ballroom_tracks=0, irmas_clips=0, fma_tracks=0, emotion_tracks=0, lastfm1k_tracks=0, lastfm1k_users=0,
            jamendo_tracks=90, mtt_clips=60)
MICRO = dict(seed=3, clip_seconds=2.6, n_genres=2, n_artists=4, n_users=4, corpus_tracks=10, gtzan_per_genre=1,
             ballroom_tracks=2, irmas_clips=2, fma_tracks=2, emotion_tracks=2, lastfm1k_tracks=4, lastfm1k_users=2,
             jamendo_tracks=8, mtt_clips=7)
HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"
SUBSETS = ("", "_genre", "_instrument", "_moodtheme", "_top50tags")
PARTS = ("train", "validation", "test")
TAG = re.compile(r"(genre|instrument|mood/theme)---[a-z0-9]+")
MTT_NAME = re.compile(r"([a-z0-9_]+)-([a-z0-9_]+)-(\d\d)-([a-z0-9_]+)-(\d+)-(\d+)\.mp3")


@pytest.fixture(scope="module")
def open_world(tmp_path_factory) -> tuple[Path, dict]:
    """The folder of the OPEN world and its world.json."""
    out = tmp_path_factory.mktemp("open") / "demo_world"
    generate({"demo": OPEN}, out, workers=2)
    return out, json.loads((out / "world.json").read_text())


def _jamendo_rows(path: Path) -> list[list[str]]:
    """Data rows of a Jamendo TSV, split on tabs (the header checked separately)."""
    return [line.split("\t") for line in path.read_bytes().decode("ascii").split("\r\n")[1:-1]]


def _tsv_files(world_dir: Path) -> list[Path]:
    data = world_dir / "jamendo" / "data"
    return [data / f"autotagging{s}.tsv" for s in SUBSETS] + [
        data / "splits" / "split-0" / f"autotagging{s}-{p}.tsv" for s in SUBSETS for p in PARTS]


def _decoded(path: Path, sr: int, seconds: float) -> np.ndarray:
    info = sf.info(str(path))
    assert (info.format, info.samplerate, info.channels) == ("MP3", sr, 1), path
    y, _ = sf.read(str(path), dtype="float32")
    assert abs(len(y) - seconds * sr) <= 1152 and np.sqrt(np.mean(y**2)) > 1e-3, path
    return y


# ---------------------------------------------------------------------------
# MTG-Jamendo
# ---------------------------------------------------------------------------


def test_jamendo_tsv_quirks(open_world):
    world_dir, world = open_world
    tracks = world["tracks"]["jamendo"]
    for path in _tsv_files(world_dir):
        raw = path.read_bytes()
        raw.decode("ascii")
        lines = raw.split(b"\r\n")
        assert lines[-1] == b"" and all(b"\n" not in line and b"\r" not in line for line in lines), path  # CRLF
        assert lines[0].decode() == HEADER
        for row in _jamendo_rows(path):
            tid, artist, album, rel, duration, *tags = row
            assert re.fullmatch(r"track_\d{7}", tid) and tid in tracks
            assert re.fullmatch(r"artist_\d{6}", artist) and re.fullmatch(r"album_\d{6}", album)
            number = int(tid[6:])
            assert rel == f"{number % 100:02d}/{number}.mp3"
            assert duration == f"{OPEN['clip_seconds']:.1f}"
            assert tags and tags == sorted(tags) and len(set(tags)) == len(tags)
            assert all(TAG.fullmatch(t) for t in tags), tags
            assert (artist, album) == (tracks[tid]["jamendo_artist"], tracks[tid]["jamendo_album"])
    lengths = Counter(len(r) for r in _jamendo_rows(world_dir / "jamendo" / "data" / "autotagging.tsv"))
    assert min(lengths) >= 6 and len(lengths) >= 4  # one field per tag: variable trailing columns
    # a reader that expects one field per header name loses tags
    df = pd.read_csv(world_dir / "jamendo" / "data" / "autotagging.tsv", sep="\t", on_bad_lines="skip")
    assert len(df) < len(tracks)


def test_jamendo_rows_and_subsets(open_world):
    world_dir, world = open_world
    data = world_dir / "jamendo" / "data"
    tracks = world["tracks"]["jamendo"]
    full = {r[0]: r for r in _jamendo_rows(data / "autotagging.tsv")}
    assert list(full) == sorted(tracks) and len(full) == OPEN["jamendo_tracks"]
    assert all(full[k][5:] == t["tags"] for k, t in tracks.items())
    counts = Counter(t for r in full.values() for t in r[5:])
    assert {c.split("---")[0] for c in counts} == {"genre", "instrument", "mood/theme"}
    top = {t for r in _jamendo_rows(data / "autotagging_top50tags.tsv") for t in r[5:]}
    assert len(top) == min(50, len(counts))
    assert min(counts[t] for t in top) >= max([counts[t] for t in counts if t not in top], default=0)
    for subset, keep in (("_genre", lambda t: t.startswith("genre---")),
                         ("_instrument", lambda t: t.startswith("instrument---")),
                         ("_moodtheme", lambda t: t.startswith("mood/theme---")), ("_top50tags", top.__contains__)):
        rows = {r[0]: r for r in _jamendo_rows(data / f"autotagging{subset}.tsv")}
        expected = {k: r[:5] + [t for t in r[5:] if keep(t)] for k, r in full.items()}
        assert rows == {k: r for k, r in expected.items() if len(r) > 5}, subset
    assert len(_jamendo_rows(data / "autotagging_instrument.tsv")) < len(full)  # sparse, like the real files


def test_jamendo_splits_are_artist_disjoint(open_world):
    world_dir, world = open_world
    data = world_dir / "jamendo" / "data"
    for subset in SUBSETS:
        whole = sorted(_jamendo_rows(data / f"autotagging{subset}.tsv"))
        parts = {p: _jamendo_rows(data / "splits" / "split-0" / f"autotagging{subset}-{p}.tsv") for p in PARTS}
        assert all(parts.values()), subset  # every part non-empty
        assert sorted(r for rows in parts.values() for r in rows) == whole
        artists = {p: {r[1] for r in rows} for p, rows in parts.items()}
        assert not (artists["train"] & artists["validation"] or artists["train"] & artists["test"]
                    or artists["validation"] & artists["test"]), subset
    n = {p: len(_jamendo_rows(data / "splits" / "split-0" / f"autotagging-{p}.tsv")) for p in PARTS}
    total = sum(n.values())
    assert 0.45 < n["train"] / total < 0.75 and 0.1 < n["validation"] / total < 0.3 and 0.1 < n["test"] / total < 0.3
    assert all(world["tracks"]["jamendo"][r[0]]["split"] == p for p in PARTS
               for r in _jamendo_rows(data / "splits" / "split-0" / f"autotagging-{p}.tsv"))


def test_jamendo_checksums_and_audio(open_world):
    world_dir, world = open_world
    base = world_dir / "jamendo"
    raw = (base / "data" / "download" / "autotagging_audio_sha256_tracks.txt").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    listed = []
    for line in raw.decode("ascii").splitlines():
        assert re.fullmatch(r"[0-9a-f]{64} \d\d/\d+\.mp3", line), line  # ONE space, not sha256sum's two
        digest, rel = line.split(" ", 1)
        assert hashlib.sha256((base / "audio" / rel).read_bytes()).hexdigest() == digest
        listed.append(rel)
    assert listed == sorted(listed, key=lambda p: (p[:2], int(p[3:-4])))  # folder blocks
    paths = {r[3] for r in _jamendo_rows(base / "data" / "autotagging.tsv")}
    on_disk = {str(p.relative_to(base / "audio")) for p in (base / "audio").rglob("*.mp3")}
    assert set(listed) == paths == on_disk
    for tid, t in list(world["tracks"]["jamendo"].items())[:6]:
        assert t["files"] == [f"jamendo/audio/{int(tid[6:]) % 100:02d}/{int(tid[6:])}.mp3"]
        _decoded(world_dir / t["files"][0], 22050, OPEN["clip_seconds"])


def test_jamendo_tags_follow_the_latent_world(open_world):
    world = open_world[1]
    tracks = world["tracks"]["jamendo"].values()
    main = {"blues": "blues", "classical": "classical", "country": "country", "disco": "disco"}
    assert np.mean([f"genre---{main[t['genre']]}" in t["tags"] for t in tracks]) > 0.85
    names = {"cel": "cello", "cla": "clarinet", "flu": "flute", "gac": "acousticguitar", "gel": "electricguitar",
             "org": "organ", "pia": "piano", "sax": "saxophone", "tru": "trumpet", "vio": "violin", "voi": "voice"}
    for t in tracks:
        heard = {names[i] for i in t["instruments"]}
        named = {tag.split("---")[1] for tag in t["tags"] if tag.startswith("instrument---")}
        assert named & set(names.values()) <= heard  # an instrument tag names an instrument heard
    valence = defaultdict(list)
    for t in tracks:
        for tag in t["tags"]:
            valence[tag].append(t["valence"])
    assert np.mean(valence["mood/theme---happy"]) > np.mean(valence["mood/theme---sad"]) + 0.5


# ---------------------------------------------------------------------------
# MagnaTagATune
# ---------------------------------------------------------------------------


def _mtt_table(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh, delimiter="\t"))


def test_mtt_annotations_tab_separated_with_spaces(open_world):
    world_dir, world = open_world
    base = world_dir / "magnatagatune"
    first = (base / "annotations_final.csv").read_text().splitlines()[0]
    assert "\t" in first and "," not in first  # tab-separated despite the name
    table = _mtt_table(base / "annotations_final.csv")
    header, rows = table[0], table[1:]
    assert header[0] == "clip_id" and header[-1] == "mp3_path" and len(header) - 2 >= 50
    assert {"no vocals", "male vocal", "no voice", "classical", "guitar"} <= set(header)
    assert sum(" " in h for h in header) >= 10
    assert len(rows) == OPEN["mtt_clips"] and all(len(r) == len(header) for r in rows)
    assert all(v in ("0", "1") for r in rows for v in r[1:-1])
    assert len({r[0] for r in rows}) == len(rows) and all((base / r[-1]).is_file() for r in rows)
    df = pd.read_csv(base / "annotations_final.csv", sep="\t")  # the loaders' way
    assert list(df.columns) == header and df["clip_id"].tolist() == [int(r[0]) for r in rows]
    top50 = df.drop(columns=["clip_id", "mp3_path"]).sum().sort_values(ascending=False)[:50]
    assert (top50 > 0).sum() >= 25


def test_mtt_folders_albums_segments_and_empty_files(open_world):
    world_dir, world = open_world
    base = world_dir / "magnatagatune"
    assert sorted(p.name for p in base.iterdir() if p.is_dir()) == list("0123456789abcdef")
    files = sorted(base.glob("*/*.mp3"))
    assert len(files) == OPEN["mtt_clips"]
    folders, segments = defaultdict(set), defaultdict(list)
    for f in files:
        m = MTT_NAME.fullmatch(f.name)
        assert m, f.name
        folders[(m.group(1), m.group(2))].add(f.parent.name)
        segments[f.name.rsplit("-", 2)[0]].append((int(m.group(5)), int(m.group(6))))
    assert all(len(v) == 1 for v in folders.values())  # an album never spans two folders
    assert len({f for v in folders.values() for f in v}) >= min(16, len(folders)) - 2  # albums spread out
    assert max(len(v) for v in segments.values()) >= 3
    for spans in segments.values():
        spans.sort()
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # consecutive segments of one song
        assert all(e - s == round(OPEN["clip_seconds"]) for s, e in spans)
    empty = [f for f in files if f.stat().st_size == 0]
    assert 1 <= len(empty) <= 2
    listed = {r[-1] for r in _mtt_table(base / "annotations_final.csv")[1:]}
    assert {str(f.relative_to(base)) for f in empty} <= listed  # their annotation rows are present
    for f in [f for f in files if f not in empty][:6]:
        _decoded(f, 16000, round(OPEN["clip_seconds"]))


def test_mtt_clip_info_joins_annotations(open_world):
    world_dir, world = open_world
    base = world_dir / "magnatagatune"
    info = _mtt_table(base / "clip_info_final.csv")
    assert info[0] == ["clip_id", "track_number", "title", "artist", "album", "url", "segmentStart", "segmentEnd",
                       "original_url", "mp3_path"]
    ann = {r[0]: r[-1] for r in _mtt_table(base / "annotations_final.csv")[1:]}
    assert {r[0] for r in info[1:]} == set(ann)
    slug = lambda s: re.sub(r"[^a-z0-9]", "_", s.lower())  # noqa: E731
    for clip_id, number, title, artist, album, url, start, end, original, rel in info[1:]:
        assert ann[clip_id] == rel
        m = MTT_NAME.fullmatch(rel.split("/")[1])
        assert m.groups() == (slug(artist), slug(album), f"{int(number):02d}", slug(title), start, end)
        assert url.startswith("http") and original.endswith(".mp3")
    mtt = world["tracks"]["mtt"]
    assert sum(len(t["segments"]) for t in mtt.values()) == OPEN["mtt_clips"]
    assert sorted(f"magnatagatune/{r[-1]}" for r in info[1:]) == sorted(f for t in mtt.values() for f in t["files"])


def test_mtt_tags_follow_the_latent_world(open_world):
    world_dir, world = open_world
    base = world_dir / "magnatagatune"
    df = pd.read_csv(base / "annotations_final.csv", sep="\t")
    truth = {f"magnatagatune/{rel}": t for t in world["tracks"]["mtt"].values() for rel in [
        f.split("/", 1)[1] for f in t["files"]]}
    song = [truth[f"magnatagatune/{p}"] for p in df["mp3_path"]]
    vocals = np.array([t["has_vocals"] for t in song])
    assert df["no vocals"][vocals].sum() == 0 or df["no vocals"][~vocals].mean() > df["no vocals"][vocals].mean()
    assert df[["vocal", "singing"]].to_numpy()[vocals].mean() > 3 * df[["vocal", "singing"]].to_numpy()[~vocals].mean()
    classical = np.array([t["genre"] == "classical" for t in song])
    assert df["classical"][classical].mean() > df["classical"][~classical].mean() + 0.3
    per_clip = Counter(tuple(r) for r in df.drop(columns=["clip_id", "mp3_path"]).to_numpy().tolist())
    assert len(per_clip) > 0.8 * len(df)  # segments of one song are tagged apart


# ---------------------------------------------------------------------------
# Determinism and the settings that turn each part off
# ---------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_and_independent_of_the_other_sets(tmp_path):
    a, b, off = tmp_path / "a", tmp_path / "b", tmp_path / "off"
    generate({"demo": MICRO}, a, workers=1)
    generate({"demo": MICRO}, b, workers=2)
    for sub in ("jamendo", "magnatagatune"):
        files_a = _tree(a / sub)
        assert files_a == _tree(b / sub) and len(files_a) > 8  # byte-identical, whatever the worker count
    generate({"demo": dict(MICRO, jamendo_tracks=0, mtt_clips=0)}, off)
    assert not (off / "jamendo").exists() and not (off / "magnatagatune").exists()
    world = json.loads((off / "world.json").read_text())
    assert world["tracks"]["jamendo"] == {} and world["tracks"]["mtt"] == {}
    # the other data sets do not change when the open corpora are turned off
    rest = {k: v for k, v in _tree(a).items() if not k.startswith(("jamendo/", "magnatagatune/", "world.json"))}
    assert rest == {k: v for k, v in _tree(off).items() if k != "world.json"}
    generate({"demo": dict(MICRO, mtt_clips=0)}, off)
    assert (off / "jamendo").is_dir() and not (off / "magnatagatune").exists()
    assert _tree(off / "jamendo") == _tree(a / "jamendo")
    generate({"demo": dict(MICRO, jamendo_tracks=0)}, off)
    assert not (off / "jamendo").exists() and _tree(off / "magnatagatune") == _tree(a / "magnatagatune")
