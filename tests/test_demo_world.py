"""Tests of the demo-world generator (onerep.demo).

A small world is generated once per module; every file is opened with an independent
reader (sqlite3, pandas, csv, soundfile, json) and checked against the real formats,
and labels are checked against the audio they describe (tempo by librosa's beat
tracker, bandwidth by year, loudness by arousal, genre and instrument by MFCCs).
Determinism and atomic replacement use a micro world.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import re
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from onerep.cli import main as cli_main
from onerep.demo import DemoSettings, build_world, generate
from onerep.demo.arrange import Line
from onerep.demo.styles import DANCES, GTZAN_GENRES, IRMAS_GENRES, IRMAS_INSTRUMENTS, TIMBRES
from onerep.demo.synth import render, render_line

SMALL = dict(seed=7, clip_seconds=4.0, n_genres=4, n_artists=10, n_users=30, corpus_tracks=40,
             gtzan_per_genre=4, ballroom_tracks=32, irmas_clips=24, fma_tracks=16, emotion_tracks=16,
             lastfm1k_tracks=24, lastfm1k_users=12, jamendo_tracks=12, mtt_clips=10)
MICRO = dict(seed=3, clip_seconds=2.6, n_genres=2, n_artists=3, n_users=4, corpus_tracks=10, gtzan_per_genre=1,
             ballroom_tracks=2, irmas_clips=2, fma_tracks=2, emotion_tracks=2, lastfm1k_tracks=4, lastfm1k_users=2,
             jamendo_tracks=4, mtt_clips=6)
LABEL_FILES = (
    "corpus/manifest.tsv", "corpus/track_metadata.db", "corpus/lastfm_tags.db", "corpus/train_triplets.txt",
    "corpus/mxm_dataset_train.txt", "corpus/tempo.tsv", "corpus/cdr_genres.tsv",
    "corpus/cdr_genre_vocabulary.txt", "fma/fma_metadata/tracks.csv", "fma/fma_metadata/genres.csv",
    "emotion/annotations/static_annotations.csv", "emotion/songs_info.csv",
    "lastfm1k/userid-timestamp-artid-artname-traid-traname.tsv", "lastfm1k/userid-profile.tsv",
    "lastfm1k/audio_manifest.tsv", "jamendo/data/autotagging.tsv", "jamendo/data/autotagging_top50tags.tsv",
    "jamendo/data/splits/split-0/autotagging-train.tsv", "jamendo/data/splits/split-0/autotagging-test.tsv",
    "jamendo/data/download/autotagging_audio_sha256_tracks.txt", "magnatagatune/annotations_final.csv",
    "magnatagatune/clip_info_final.csv", "world.json",
)
generate_module = importlib.import_module("onerep.demo.generator")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo_world"
    generate({"demo": SMALL}, out, workers=2)
    return out


@pytest.fixture(scope="module")
def world(world_dir) -> dict:
    return json.loads((world_dir / "world.json").read_text())


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _read_tsv(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def _fmt(record: dict) -> tuple[str, int, int]:
    ext, sr, ch = record["format"].split("/")
    return ext, int(sr), int(ch)


def _check_audio(path: Path, ext: str, sr: int, channels: int, seconds: float) -> np.ndarray:
    """Decode with soundfile and check the declared format; returns the mono signal."""
    info = sf.info(str(path))
    assert info.samplerate == sr, path
    assert info.channels == channels, path
    assert info.format == {"mp3": "MP3", "wav": "WAV", "flac": "FLAC"}[ext], path
    if ext in ("wav", "flac"):
        assert info.subtype == "PCM_16", path
    y, sr_read = sf.read(str(path), dtype="float32", always_2d=True)
    assert sr_read == sr
    expected = round(seconds * sr)
    assert abs(len(y) - expected) <= (1152 if ext == "mp3" else 0), (path, len(y), expected)
    assert len(y) >= 2.6 * sr
    assert np.isfinite(y).all() and np.abs(y).max() <= 1.0
    assert np.sqrt(np.mean(y**2)) > 1e-3, f"{path} is silent"
    return y.mean(axis=1)


# ---------------------------------------------------------------------------
# Layout and formats, read back with independent readers
# ---------------------------------------------------------------------------


def test_world_json_covers_every_track(world, world_dir):
    s = world["settings"]
    assert s["seed"] == SMALL["seed"] and world["seed"] == SMALL["seed"]
    tracks = world["tracks"]
    assert len(tracks["corpus"]) == SMALL["corpus_tracks"]
    assert len(tracks["gtzan"]) == SMALL["gtzan_per_genre"] * SMALL["n_genres"]
    assert len(tracks["ballroom"]) == SMALL["ballroom_tracks"]
    assert sum(t["clips"] for t in tracks["irmas"].values()) == SMALL["irmas_clips"]
    assert len(tracks["fma"]) == SMALL["fma_tracks"]
    assert len(tracks["emotion"]) == SMALL["emotion_tracks"]
    assert len(tracks["lastfm1k"]) == SMALL["lastfm1k_tracks"]
    assert len(tracks["jamendo"]) == SMALL["jamendo_tracks"]
    assert sum(len(t["segments"]) for t in tracks["mtt"].values()) == SMALL["mtt_clips"]
    assert [g["name"] for g in world["genres"]] == list(GTZAN_GENRES[: SMALL["n_genres"]])
    assert len(world["artists"]) == SMALL["n_artists"]
    assert len(world["users"]["taste_profile"]) == SMALL["n_users"]
    assert len(world["users"]["lastfm1k"]) == SMALL["lastfm1k_users"]
    for ds, recs in tracks.items():
        for key, t in recs.items():
            for field in ("genre", "year", "bpm", "key", "mode", "instruments", "predominant", "valence",
                          "arousal", "artist"):
                assert field in t, (ds, key, field)
            assert t["predominant"] == t["instruments"][0]
            assert -1 <= t["valence"] <= 1 and -1 <= t["arousal"] <= 1
            for rel in t.get("files", []):
                assert (world_dir / rel).is_file(), rel
    # nothing else was left beside the output folder
    assert sorted(p.name for p in world_dir.parent.iterdir()) == ["demo_world"]


def test_corpus_manifest_and_audio(world, world_dir):
    rows = _read_tsv(world_dir / "corpus" / "manifest.tsv")
    assert rows[0] == ["track_id", "location", "md5"]
    ids = [r[0] for r in rows[1:]]
    assert sorted(ids) == sorted(world["tracks"]["corpus"])
    exts, rates, chans = Counter(), Counter(), Counter()
    for tid, loc, md5 in rows[1:]:
        assert re.fullmatch(r"TR[A-Z]{3}[A-Z0-9]{13}", tid)
        assert loc == f"audio/{tid[2]}/{tid[3]}/{tid[4]}/{tid}.{loc.rsplit('.', 1)[1]}"
        path = world_dir / "corpus" / loc
        assert _md5(path) == md5
        ext, sr, ch = _fmt(world["tracks"]["corpus"][tid])
        assert loc.endswith("." + ext)
        _check_audio(path, ext, sr, ch, SMALL["clip_seconds"])
        exts[ext] += 1
        rates[sr] += 1
        chans[ch] += 1
    assert set(exts) == {"mp3", "wav", "flac"}  # mixed formats
    assert set(rates) == {16000, 22050, 44100}
    assert chans[1] > 0 and chans[2] > chans[1]


def test_track_metadata_db(world, world_dir):
    con = sqlite3.connect(world_dir / "corpus" / "track_metadata.db")
    cols = [r[1] for r in con.execute("PRAGMA table_info(songs)")]
    assert cols[:11] == ["track_id", "title", "song_id", "release", "artist_id", "artist_mbid", "artist_name",
                         "duration", "artist_familiarity", "artist_hotttnesss", "year"]
    rows = con.execute("SELECT track_id, song_id, artist_id, artist_name, duration, year FROM songs").fetchall()
    assert sorted(r[0] for r in rows) == sorted(world["tracks"]["corpus"])
    assert len({r[1] for r in rows}) == len(rows)
    artists = {a["id"]: a for a in world["artists"]}
    for tid, song_id, artist_id, name, duration, year in rows:
        assert re.fullmatch(r"SO[A-Z0-9]{16}", song_id) and re.fullmatch(r"AR[A-Z0-9]{16}", artist_id)
        assert artists[artist_id]["name"] == name
        assert duration > 60
        truth = world["tracks"]["corpus"][tid]
        assert year in (0, truth["year"])
        assert (year != 0) == truth["year_known"]
    years = [r[5] for r in rows]
    assert 0 < years.count(0) < len(years) / 2  # some years unknown, most known
    assert con.execute("SELECT typeof(year), typeof(duration) FROM songs LIMIT 1").fetchone() == ("integer", "real")
    con.close()


def test_lastfm_tags_db(world, world_dir):
    con = sqlite3.connect(world_dir / "corpus" / "lastfm_tags.db")
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"tids", "tags", "tid_tag"}
    assert [r[1] for r in con.execute("PRAGMA table_info(tid_tag)")] == ["tid", "tag", "val"]
    n_tids = con.execute("SELECT count(*) FROM tids").fetchone()[0]
    n_tags = con.execute("SELECT count(*) FROM tags").fetchone()[0]
    # foreign keys are ROWIDs of tids and tags and all resolve
    unresolved = con.execute(
        "SELECT count(*) FROM tid_tag tt LEFT JOIN tids ON tids.ROWID = tt.tid LEFT JOIN tags ON "
        "tags.ROWID = tt.tag WHERE tids.tid IS NULL OR tags.tag IS NULL").fetchone()[0]
    assert unresolved == 0
    lo, hi = con.execute("SELECT min(val), max(val) FROM tid_tag").fetchone()
    assert 0 <= lo and hi == 100
    tagged = {r[0] for r in con.execute("SELECT tid FROM tids")}
    corpus = set(world["tracks"]["corpus"])
    assert tagged < corpus and len(tagged) == n_tids and 0 < n_tids < len(corpus)  # some tracks untagged
    per_track = defaultdict(dict)
    for tid, tag, val in con.execute(
            "SELECT tids.tid, tags.tag, tt.val FROM tid_tag tt JOIN tids ON tids.ROWID = tt.tid "
            "JOIN tags ON tags.ROWID = tt.tag"):
        per_track[tid][tag] = val
    con.close()
    assert n_tags == len({t for d in per_track.values() for t in d})
    # every tagged track carries its genre's main tag, and its strongest tag is scaled to 100
    main = {"blues": "blues", "classical": "classical", "country": "country", "disco": "disco"}
    hits = sum(main[world["tracks"]["corpus"][tid]["genre"]] in tags for tid, tags in per_track.items())
    assert hits >= 0.9 * len(per_track)
    assert all(max(tags.values()) == 100 for tags in per_track.values())
    all_tags = {t for d in per_track.values() for t in d}
    assert all_tags & {"seen live", "favorites", "my top 10", "love", "awesome", "favourite songs", "beautiful",
                       "cool", "good stuff", "check out", "albums i own", "under 2000 listeners"}


def test_taste_triplets_follow_taste(world, world_dir):
    con = sqlite3.connect(world_dir / "corpus" / "track_metadata.db")
    song_to_track = dict(con.execute("SELECT song_id, track_id FROM songs").fetchall())
    con.close()
    lines = (world_dir / "corpus" / "train_triplets.txt").read_text().splitlines()
    assert lines and not lines[0].startswith("user")  # no header
    plays = defaultdict(Counter)
    for line in lines:
        user, song, count = line.split("\t")
        assert re.fullmatch(r"[0-9a-f]{40}", user)
        assert song in song_to_track
        assert int(count) >= 1
        plays[user][song_to_track[song]] += int(count)
    listened = {t for c in plays.values() for t in c}
    assert len(listened) < len(song_to_track)  # some tracks never played
    tracks = world["tracks"]["corpus"]
    share_all = Counter(t["genre"] for t in tracks.values())
    lift = []
    for u in world["users"]["taste_profile"]:
        if u["id"] not in plays:
            continue
        fav = max(u["taste"], key=u["taste"].get)
        played = plays[u["id"]]
        fav_share = sum(c for t, c in played.items() if tracks[t]["genre"] == fav) / sum(played.values())
        lift.append(fav_share - share_all[fav] / len(tracks))
    assert np.mean(lift) > 0.15  # users play their favourite genre far more than its share


def test_musixmatch_file(world, world_dir):
    lines = (world_dir / "corpus" / "mxm_dataset_train.txt").read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    vocab_lines = [line for line in lines if line.startswith("%")]
    data = [line for line in lines if not line.startswith(("#", "%"))]
    assert comments and len(vocab_lines) == 1
    assert lines.index(vocab_lines[0]) > lines.index(comments[-1])
    vocab = vocab_lines[0][1:].split(",")
    assert len(vocab) == len(set(vocab)) > 50
    tracks = world["tracks"]["corpus"]
    seen = set()
    for line in data:
        parts = line.split(",")
        tid, mxm = parts[0], parts[1]
        assert tid in tracks and mxm.isdigit() and tid not in seen
        seen.add(tid)
        idx = [int(p.split(":")[0]) for p in parts[2:]]
        cnt = [int(p.split(":")[1]) for p in parts[2:]]
        assert min(idx) >= 1 and max(idx) <= len(vocab)  # 1-based indices within the vocabulary
        assert idx == sorted(set(idx)) and min(cnt) >= 1
        assert tracks[tid]["has_vocals"]  # only tracks with a voice have lyrics
    assert {t for t, r in tracks.items() if r["lyrics"]} == seen
    assert any(not r["has_vocals"] for r in tracks.values())


def test_tempo_and_cdr_files(world, world_dir):
    rows = _read_tsv(world_dir / "corpus" / "tempo.tsv")
    assert rows[0] == ["track_id", "bpm"]
    tracks = world["tracks"]["corpus"]
    assert sorted(r[0] for r in rows[1:]) == sorted(tracks)
    errors = 0
    for tid, bpm in rows[1:]:
        ratio = float(bpm) / tracks[tid]["bpm"]
        octave = round(np.log2(ratio))
        assert abs(ratio / 2.0**octave - 1) < 0.03
        errors += octave != 0
        assert (octave != 0) == (tracks[tid]["tempo_octave_error"] != 1)
    assert errors < 0.3 * len(tracks)
    vocab = (world_dir / "corpus" / "cdr_genre_vocabulary.txt").read_text().splitlines()
    assert len(vocab) == len(set(vocab)) and any("/" in v for v in vocab)
    parents = {v for v in vocab if "/" not in v}
    assert all(v.split("/")[0] in parents for v in vocab)
    rows = _read_tsv(world_dir / "corpus" / "cdr_genres.tsv")
    assert rows[0] == ["track_id", "genres"]
    assert 0 < len(rows) - 1 <= len(tracks)
    for tid, genres in rows[1:]:
        assert tid in tracks
        assert all(re.fullmatch(r"[^/,]+/[^/,]+|[^/,]+", g) and g in vocab for g in genres.split(","))


def test_gtzan_layout(world, world_dir):
    files = sorted((world_dir / "gtzan" / "genres").glob("*/*"))
    assert len(files) == SMALL["gtzan_per_genre"] * SMALL["n_genres"]
    for f in files:
        assert re.fullmatch(rf"{f.parent.name}\.\d{{5}}\.wav", f.name)
        assert f.parent.name in GTZAN_GENRES
        _check_audio(f, "wav", 22050, 1, SMALL["clip_seconds"])
    assert sorted(f.stem for f in files if f.stem.endswith("00000")) == sorted(
        f"{g}.00000" for g in GTZAN_GENRES[: SMALL["n_genres"]])
    listed = []
    for fold in ("train", "valid", "test"):
        listed += (world_dir / "gtzan" / "split" / f"{fold}_filtered.txt").read_text().split()
    assert sorted(listed) == sorted(f"{f.parent.name}/{f.name}" for f in files)


def test_ballroom_layout(world, world_dir):
    folders = sorted(p.name for p in (world_dir / "ballroom").iterdir())
    assert folders == sorted(DANCES)  # all 13 dances
    counts = {d: len(list((world_dir / "ballroom" / d).glob("*.mp3"))) for d in folders}
    assert sum(counts.values()) == SMALL["ballroom_tracks"] and min(counts.values()) >= 2
    assert max(counts.values()) > min(counts.values())  # unbalanced like the real set
    assert counts["Foxtrot"] >= counts["Wcswing"] and counts["Quickstep"] >= counts["Salsa"]
    for key, t in world["tracks"]["ballroom"].items():
        lo, hi = DANCES[t["dance"]].tempo
        assert lo <= t["bpm"] <= hi
        assert t["meter"] == (3 if "altz" in t["dance"] else 2 if t["dance"] in ("Samba", "Pasodoble") else 4)
        assert t["files"] == [f"ballroom/{t['dance']}/{key}.mp3"]


def test_irmas_layout(world, world_dir):
    base = world_dir / "irmas" / "IRMAS-TrainingData"
    name = re.compile(r"\[([a-z]{3})\](?:\[(dru|nod)\])?\[(" + "|".join(IRMAS_GENRES) + r")\](\d{4})__(\d)\.wav")
    groups = defaultdict(list)
    files = sorted(base.glob("*/*.wav"))
    assert len(files) == SMALL["irmas_clips"]
    for f in files:
        m = name.fullmatch(f.name)
        assert m, f.name
        assert m.group(1) == f.parent.name and f.parent.name in IRMAS_INSTRUMENTS
        groups[m.group(4)].append((m.group(1), int(m.group(5))))
        _check_audio(f, "wav", 44100, 2, 3.0)
    assert len({f.parent.name for f in files}) == len(IRMAS_INSTRUMENTS)  # every instrument present
    for number, clips in groups.items():
        assert len({inst for inst, _ in clips}) == 1  # one source track, one predominant instrument
        assert sorted(k for _, k in clips) == list(range(1, len(clips) + 1))
        assert world["tracks"]["irmas"][number]["predominant"] == clips[0][0]
    assert any(len(c) > 1 for c in groups.values())
    assert any("[dru]" in f.name or "[nod]" in f.name for f in files)


def test_fma_tracks_csv(world, world_dir):
    path = world_dir / "fma" / "fma_metadata" / "tracks.csv"
    with open(path, newline="") as fh:
        head = [next(csv.reader(fh)) for _ in range(3)]
    assert head[0][0] == "" and set(head[0][1:]) == {"album", "artist", "set", "track"}
    assert head[2][0] == "track_id" and set(head[2][1:]) == {""}
    df = pd.read_csv(path, index_col=0, header=[0, 1])
    assert df.index.name == "track_id"
    for col in [("set", "split"), ("set", "subset"), ("track", "genre_top"), ("track", "title"), ("artist", "name")]:
        assert col in df.columns
    assert set(df[("set", "subset")]) == {"medium"}
    assert set(df[("set", "split")]) == {"training", "validation", "test"}
    assert len(df) == SMALL["fma_tracks"]
    tops = df[("track", "genre_top")].value_counts()
    assert tops.max() > tops.min()  # unbalanced genres
    for tid in df.index:
        audio = world_dir / "fma" / "fma_medium" / f"{tid:06d}"[:3] / f"{tid:06d}.mp3"
        ext, sr, ch = _fmt(world["tracks"]["fma"][str(tid)])
        _check_audio(audio, ext, sr, ch, SMALL["clip_seconds"])
    genres = pd.read_csv(world_dir / "fma" / "fma_metadata" / "genres.csv")
    assert list(genres.columns) == ["genre_id", "#tracks", "parent", "title", "top_level"]
    assert set(tops.index) <= set(genres["title"])


def test_emotion_files(world, world_dir):
    ann = pd.read_csv(world_dir / "emotion" / "annotations" / "static_annotations.csv")
    assert list(ann.columns) == ["song_id", "mean_arousal", "std_arousal", "mean_valence", "std_valence"]
    assert ann[["mean_arousal", "mean_valence"]].stack().between(1, 9).all()
    info = pd.read_csv(world_dir / "emotion" / "songs_info.csv")
    for col in ("song_id", "file_name", "Artist", "Song title", "Genre", "Mediaeval 2013 set"):
        assert col in info.columns
    assert set(info["Mediaeval 2013 set"]) == {"development", "evaluation"}
    assert sorted(info["song_id"]) == sorted(ann["song_id"])
    channels = Counter()
    for sid, fname in zip(info["song_id"], info["file_name"]):
        assert fname == f"{sid}.mp3"
        ext, sr, ch = _fmt(world["tracks"]["emotion"][str(sid)])
        _check_audio(world_dir / "emotion" / "clips_45seconds" / fname, ext, sr, ch, SMALL["clip_seconds"])
        channels[ch] += 1
    assert channels[1] > channels[2] > 0  # mostly mono, some stereo


def test_lastfm1k_files(world, world_dir):
    folder = world_dir / "lastfm1k"
    rows = _read_tsv(folder / "userid-timestamp-artid-artname-traid-traname.tsv")
    assert all(len(r) == 6 for r in rows)
    by_user = defaultdict(list)
    no_mbid = 0
    tracks = world["tracks"]["lastfm1k"]
    for user, ts, artid, artname, traid, _traname in rows:
        assert re.fullmatch(r"user_\d{6}", user)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ts)
        assert UUID.match(artid) and artname
        if traid:
            assert UUID.match(traid) and traid in tracks
        else:
            no_mbid += 1
        by_user[user].append(ts)
    assert 0 < no_mbid < 0.1 * len(rows)  # a few lines without a track MBID, as in the real log
    assert all(ts == sorted(ts, reverse=True) for ts in by_user.values())  # newest first per user
    profile = _read_tsv(folder / "userid-profile.tsv")
    assert profile[0] == ["#id", "gender", "age", "country", "registered"]
    assert sorted(r[0] for r in profile[1:]) == sorted(by_user)
    manifest = _read_tsv(folder / "audio_manifest.tsv")
    assert manifest[0] == ["track_id", "location", "md5"]
    with_audio = {k for k, t in tracks.items() if t["audio"]}
    assert {r[0] for r in manifest[1:]} == with_audio and 0 < len(with_audio) < len(tracks)
    for tid, loc, md5 in manifest[1:]:
        assert loc == f"audio/{tid}.mp3" and _md5(folder / loc) == md5
        ext, sr, ch = _fmt(tracks[tid])
        _check_audio(folder / loc, ext, sr, ch, SMALL["clip_seconds"])
    assert sorted(p.stem for p in (folder / "audio").iterdir()) == sorted(with_audio)


# ---------------------------------------------------------------------------
# Labels relate to the audio as designed
# ---------------------------------------------------------------------------


def test_beat_tracked_tempo_matches_declared_bpm(world, world_dir):
    """librosa's beat tracker on the written clips recovers the declared tempo, up to the usual
    metrical-level errors (Gouyon's accuracy 2: x2, x3, /2, /3 allowed, 4 % tolerance)."""
    librosa = pytest.importorskip("librosa")
    declared, folded, hits = [], [], 0
    sample = [(world_dir / t["files"][0], t["bpm"]) for t in world["tracks"]["ballroom"].values()]
    sample += [(world_dir / t["files"][0], t["bpm"]) for t in world["tracks"]["gtzan"].values()]
    for path, bpm in sample:
        y, sr = sf.read(str(path), dtype="float32")
        tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
        candidates = float(np.atleast_1d(tempo)[0]) * np.array([1 / 3, 1 / 2, 1, 2, 3])
        best = float(candidates[np.argmin(np.abs(np.log(candidates / bpm)))])
        declared.append(bpm)
        folded.append(best)
        hits += abs(best / bpm - 1) < 0.04
    assert hits >= 0.75 * len(sample), (hits, len(sample))
    assert np.corrcoef(declared, folded)[0, 1] > 0.85


def _rolloff(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    cum = np.cumsum(spec) / spec.sum()
    return float(np.fft.rfftfreq(len(y), 1 / sr)[np.searchsorted(cum, 0.995)])


def test_era_shapes_bandwidth(world, world_dir):
    years, rolloffs = [], []
    for _tid, t in world["tracks"]["corpus"].items():
        ext, sr, ch = _fmt(t)
        if sr < 22050:
            continue
        y, sr = sf.read(str(world_dir / t["files"][0]), dtype="float32", always_2d=True)
        years.append(t["year"])
        rolloffs.append(_rolloff(y.mean(1), sr))
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    rho = np.corrcoef(rank(years), rank(rolloffs))[0, 1]
    assert rho > 0.4, rho
    # the same track produced in 1955 and in 2005: narrower band and more hiss when old
    w = build_world(DemoSettings(**MICRO))
    base = w.tracks["corpus"][0]
    from dataclasses import replace

    old = render(replace(base.render_spec(), year=1955), 30.0, 4.0)
    new = render(replace(base.render_spec(), year=2005), 30.0, 4.0)
    assert _rolloff(old.mean(0), 22050) < 0.7 * _rolloff(new.mean(0), 22050)
    assert np.abs(old[0] - old[1]).max() < 0.05 * np.abs(old).max()  # 1950s: (nearly) mono


def test_arousal_shapes_loudness(world, world_dir):
    ann = pd.read_csv(world_dir / "emotion" / "annotations" / "static_annotations.csv", dtype={"song_id": str})
    level = []
    for sid in ann["song_id"]:
        y, _ = sf.read(str(world_dir / "emotion" / "clips_45seconds" / f"{sid}.mp3"), dtype="float32")
        level.append(20 * np.log10(np.sqrt(np.mean(y**2))))
    assert np.corrcoef(ann["mean_arousal"], level)[0, 1] > 0.5


def test_valence_shapes_mode(world):
    tracks = [t for recs in world["tracks"].values() for t in recs.values() if "dance" not in t]
    happy = [t["mode"] == "major" for t in tracks if t["valence"] > 0.3]
    sad = [t["mode"] == "major" for t in tracks if t["valence"] < -0.3]
    assert np.mean(happy) > np.mean(sad) + 0.2


def _mfcc_stats(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    return np.concatenate([m.mean(1), m.std(1)])


def _loo_nearest_centroid(x: np.ndarray, labels: list[str]) -> float:
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    labels = np.asarray(labels)
    right = 0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        classes = sorted(set(labels[keep]))
        cents = np.stack([x[keep][labels[keep] == c].mean(0) for c in classes])
        right += classes[int(np.argmin(((cents - x[i]) ** 2).sum(1)))] == labels[i]
    return right / len(x)


def test_genre_is_audible(world, world_dir):
    pytest.importorskip("librosa")
    feats, labels = [], []
    for t in world["tracks"]["gtzan"].values():
        y, sr = sf.read(str(world_dir / t["files"][0]), dtype="float32")
        feats.append(_mfcc_stats(y, sr))
        labels.append(t["genre"])
    acc = _loo_nearest_centroid(np.stack(feats), labels)
    assert acc >= 0.6, acc  # chance is 0.25


def test_instruments_have_distinct_timbres():
    pytest.importorskip("librosa")
    sr = 22050
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(3 * sr).astype(np.float32)
    feats, labels = [], []
    for inst in IRMAS_INSTRUMENTS:
        lo, hi = TIMBRES[inst].register
        for _rep in range(5):
            pitches = rng.integers(lo + 3, hi - 3, 8).astype(float)
            onsets = np.arange(8) * 0.3
            line = Line(inst, onsets, np.full(8, 0.28), pitches, np.full(8, 0.8), 0.0, 1.0, "melody",
                        vowels=rng.integers(0, 5, 8) if TIMBRES[inst].vowels else None)
            y = render_line(line, 0.0, int(2.5 * sr), sr, noise)
            feats.append(_mfcc_stats(y, sr))
            labels.append(inst)
    acc = _loo_nearest_centroid(np.stack(feats), labels)
    assert acc >= 0.85, acc  # chance is 1/11


# ---------------------------------------------------------------------------
# Determinism, atomic output, settings, command line
# ---------------------------------------------------------------------------


def _label_bytes(root: Path) -> dict[str, bytes]:
    return {rel: (root / rel).read_bytes() for rel in LABEL_FILES}


def _audio(root: Path) -> dict[str, np.ndarray]:
    exts = {".mp3", ".wav", ".flac"}
    return {str(p.relative_to(root)): sf.read(str(p), dtype="float32")[0] if p.stat().st_size else np.zeros(0)
            for p in sorted(root.rglob("*")) if p.suffix in exts}


def test_same_seed_same_world_other_seed_other_world(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate({"demo": MICRO}, a, workers=1)
    generate({"demo": MICRO}, b, workers=2)  # process count must not matter
    assert _label_bytes(a) == _label_bytes(b)
    audio_a, audio_b = _audio(a), _audio(b)
    assert audio_a.keys() == audio_b.keys() and len(audio_a) > 20
    assert all(np.array_equal(audio_a[k], audio_b[k]) for k in audio_a)
    # a different seed (through the command line) gives a different world
    other = dict(MICRO, seed=MICRO["seed"] + 1)
    assert cli_main(["demo-world", "--settings", json.dumps({"demo": other}), "--out", str(c)]) == 0
    labels_c = _label_bytes(c)
    same = {k for k, v in _label_bytes(a).items() if labels_c[k] == v}
    assert same <= {"corpus/cdr_genre_vocabulary.txt", "fma/fma_metadata/genres.csv"}, same  # vocabularies
    audio_c = _audio(c)
    first_a = next(v for k, v in audio_a.items() if k.startswith("gtzan"))
    first_c = next(v for k, v in audio_c.items() if k.startswith("gtzan"))
    assert not np.array_equal(first_a[: len(first_c)], first_c[: len(first_a)])
    # regenerating into an existing demo world replaces it
    generate({"demo": other}, a)
    assert _label_bytes(a) == labels_c


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(generate_module, "write_emotion", boom)
    out = tmp_path / "world"
    with pytest.raises(RuntimeError, match="disk full"):
        generate({"demo": MICRO}, out)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_a_foreign_folder(tmp_path):
    out = tmp_path / "world"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="refusing"):
        generate({"demo": MICRO}, out)
    assert (out / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("bad, message", [
    ({"n_genres": 11}, "n_genres"),
    ({"n_artists": 2, "n_genres": 3}, "n_artists"),
    ({"clip_seconds": 2.0}, "clip_seconds"),
    ({"corpus_tracks": 5}, "corpus_tracks"),
    ({"fma_tracks": -1}, "fma_tracks"),
    ({"seed": "x"}, "seed"),
    ({"n_users": 3.5}, "n_users"),
    ({"colour": 1}, "colour"),
    ({"jamendo_tracks": 2}, "jamendo_tracks"),
    ({"jamendo_tracks": 5, "n_artists": 2}, "jamendo_tracks"),
    ({"mtt_clips": -1}, "mtt_clips"),
])
def test_bad_settings_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        DemoSettings.from_dict(dict(MICRO, **bad))


def test_command_line_errors(tmp_path, capsys):
    out = str(tmp_path / "w")
    assert cli_main(["demo-world", "--settings", "{not json", "--out", out]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert cli_main(["demo-world", "--settings", json.dumps({"seed": 1}), "--out", out]) == 2
    assert cli_main(["demo-world", "--settings", json.dumps({"demo": dict(MICRO, n_genres=1)}), "--out", out]) == 2
    assert "n_genres" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def test_corpus_label_files_alone(tmp_path):
    from onerep.demo import write_corpus_label_files

    world = write_corpus_label_files({"demo": MICRO}, tmp_path)
    names = sorted(p.name for p in (tmp_path / "corpus").iterdir())
    assert names == sorted(["track_metadata.db", "lastfm_tags.db", "train_triplets.txt", "mxm_dataset_train.txt",
                            "tempo.tsv", "cdr_genres.tsv", "cdr_genre_vocabulary.txt"])
    con = sqlite3.connect(tmp_path / "corpus" / "track_metadata.db")
    assert {r[0] for r in con.execute("SELECT track_id FROM songs")} == {t.key for t in world.tracks["corpus"]}
    con.close()


def test_schema_defaults_match():
    from onerep.config import load_schema

    schema = load_schema()["properties"]["demo"]["properties"]
    for key, value in vars(DemoSettings()).items():
        assert schema[key]["default"] == value, key


def test_ignores_enabled_and_out_and_fills_defaults():
    s = DemoSettings.from_dict({"enabled": True, "out": "x", "seed": 5})
    assert s.seed == 5 and s.n_genres == 10 and s.clip_seconds == DemoSettings().clip_seconds
