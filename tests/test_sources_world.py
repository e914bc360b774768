"""End to end on a small MSD-like world with planted genres, written here in the native
formats: every source gets z, the planted genres come through the topics, the summary
counts and the corpus split are exact."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from onerep.audio.store import write_store
from onerep.cli import main
from onerep.sources.labels import PLSA_SOURCES, load_labels, make_labels, write_labels, write_topics
from onerep.sources.split import load_split, summary_table

GENRES = {
    "rock": ["rock", "guitar", "classic rock", "hard rock", "indie"],
    "jazz": ["jazz", "saxophone", "bebop", "swing", "smooth jazz"],
    "hiphop": ["hip hop", "rap", "beats", "underground", "old school"],
    "classical": ["classical", "piano", "orchestra", "baroque", "opera"],
}
NOISE_TAGS = ["seen live", "favorites"]
WORDS = {
    "rock": ["road", "fire", "wild", "highway", "loud", "rebel"],
    "jazz": ["moon", "blue", "dance", "cool", "smoke", "velvet"],
    "hiphop": ["street", "money", "crew", "block", "flow", "hustle"],
    "classical": ["heaven", "glory", "angel", "eternal", "choir", "grace"],
}
COMMON_WORDS = ["the", "i", "you", "love", "and", "a"]
CDR = {
    "rock": ["Rock/Indie Rock", "Rock/Punk", "Rock/Hard Rock", "Rock/Classic Rock"],
    "jazz": ["Jazz/Bebop", "Jazz/Cool Jazz", "Jazz/Swing", "Jazz/Hard Bop"],
    "hiphop": ["Hip-Hop/Boom Bap", "Hip-Hop/Trip Hop", "Hip-Hop/Gangsta Rap", "Hip-Hop/Conscious"],
    "classical": ["Classical/Baroque", "Classical/Romantic", "Classical/Chamber Music", "Classical/Opera"],
}
TEMPO = {"rock": 128.0, "jazz": 176.0, "hiphop": 90.0, "classical": 62.0}
ERA = {"rock": 1975, "jazz": 1958, "hiphop": 1996, "classical": 2008}
K = 4
SETTINGS = {"sources.k": K, "sources.plsa_iterations": 60, "sources.gmm_max_iter": 200,
            "sources.on_bad_line": "error", "sources.topic_terms": 3, "seed": 7}


def build_world(root: Path, n_tracks: int = 160, n_outside: int = 20, seed: int = 0) -> dict:
    """Write manifest, lastfm_tags.db, track_metadata.db, train_triplets.txt,
    mxm_dataset_train.txt, tempo.tsv and cdr_genres.tsv; return the planted truth."""
    rng = np.random.default_rng(seed)
    names = list(GENRES)
    n_all = n_tracks + n_outside
    tids = [f"TR{i:016d}" for i in range(n_all)]
    songs = [f"SO{i:016d}" for i in range(n_all)]
    genre = rng.integers(0, len(names), n_all)
    artist = np.array([f"AR{g}{rng.integers(3):02d}" for g in genre])
    corpus = tids[:n_tracks]
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.tsv").write_text(
        "track_id\tlocation\tmd5\n" + "".join(f"{t}\taudio/{t}.mp3\t\n" for t in corpus))

    # tags: each track 3-4 tags of its genre (intensity 30..100), sometimes a noise tag
    tag_names = [t for g in names for t in GENRES[g]] + NOISE_TAGS
    tag_row = {t: i + 1 for i, t in enumerate(tag_names)}
    rows = []
    for i in range(n_all):
        own = rng.choice(GENRES[names[genre[i]]], size=rng.integers(3, 5), replace=False)
        rows += [(i + 1, tag_row[t], float(rng.integers(30, 101))) for t in own]
        if rng.random() < 0.3:
            rows.append((i + 1, tag_row[NOISE_TAGS[rng.integers(2)]], float(rng.integers(5, 20))))
    untagged = {3, 17}  # corpus tracks without tags
    rows = [r for r in rows if r[0] - 1 not in untagged]
    con = sqlite3.connect(root / "lastfm_tags.db")
    con.execute("CREATE TABLE tids (tid TEXT)")
    con.execute("CREATE TABLE tags (tag TEXT)")
    con.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
    con.executemany("INSERT INTO tids VALUES (?)", [(t,) for t in tids])
    con.executemany("INSERT INTO tags VALUES (?)", [(t,) for t in tag_names])
    con.executemany("INSERT INTO tid_tag VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()

    # metadata: year around the genre's era, 10 % unknown (0)
    year = np.array([ERA[names[g]] + int(rng.integers(-3, 4)) for g in genre])
    year[rng.random(n_all) < 0.1] = 0
    con = sqlite3.connect(root / "track_metadata.db")
    con.execute("CREATE TABLE songs (track_id TEXT, title TEXT, song_id TEXT, release TEXT, artist_id TEXT, "
                "artist_mbid TEXT, artist_name TEXT, duration REAL, artist_familiarity REAL, "
                "artist_hotttnesss REAL, year INT)")
    con.executemany("INSERT INTO songs VALUES (?,?,?,?,?,?,?,?,?,?,?)", [
        (tids[i], f"song {i}", songs[i], "album", artist[i], "", f"artist {artist[i]}", 200.0, 0.5, 0.3,
         int(year[i])) for i in range(n_all)])
    con.commit()
    con.close()

    # taste: 80 users, each mostly plays one genre
    lines = []
    for u in range(80):
        fav = u % len(names)
        pool_fav = np.flatnonzero(genre == fav)
        picks = set(rng.choice(pool_fav, size=14, replace=False)) | set(rng.integers(0, n_all, 2))
        lines += [f"{u:040x}\t{songs[i]}\t{rng.integers(1, 30)}" for i in sorted(picks)]
    (root / "train_triplets.txt").write_text("\n".join(lines) + "\n")

    # lyrics: genre words plus common words; 15 % of the tracks have no lyrics
    vocab = COMMON_WORDS + [w for g in names for w in WORDS[g]]
    widx = {w: i + 1 for i, w in enumerate(vocab)}
    out = ["# musiXmatch-like bag of words", "%" + ",".join(vocab)]
    for i in range(n_all):
        if rng.random() < 0.15:
            continue
        words = list(rng.choice(WORDS[names[genre[i]]], 4, replace=False)) + list(rng.choice(COMMON_WORDS, 4))
        counts = {}
        for w in words:
            counts[widx[w]] = counts.get(widx[w], 0) + int(rng.integers(1, 6))
        out.append(f"{tids[i]},{100000 + i}," + ",".join(f"{k}:{v}" for k, v in sorted(counts.items())))
    (root / "mxm_dataset_train.txt").write_text("\n".join(out) + "\n")

    # tempo: around the genre's tempo, 5 % unknown (0)
    bpm = np.array([TEMPO[names[g]] * np.exp(rng.normal(0, 0.04)) for g in genre])
    bpm[rng.random(n_all) < 0.05] = 0.0
    (root / "tempo.tsv").write_text("track_id\tbpm\n" + "".join(f"{tids[i]}\t{bpm[i]:.2f}\n" for i in range(n_all)))

    # CDR genres: 2-3 sub-genres of the track's genre
    (root / "cdr_genres.tsv").write_text("track_id\tgenres\n" + "".join(
        f"{tids[i]}\t{','.join(rng.choice(CDR[names[genre[i]]], rng.integers(2, 4), replace=False))}\n"
        for i in range(n_all)))
    return {"tids": np.array(tids), "genre": genre, "names": names, "n_tracks": n_tracks,
            "year": year, "bpm": bpm, "artist": artist, "untagged": untagged}


INPUTS = {
    "tag": {"lastfm_tags": "lastfm_tags.db"},
    "artist": {"lastfm_tags": "lastfm_tags.db", "track_metadata": "track_metadata.db"},
    "taste": {"taste_triplets": "train_triplets.txt", "track_metadata": "track_metadata.db"},
    "lyrics": {"musixmatch": "mxm_dataset_train.txt"},
    "cdr_tag": {"cdr_genres": "cdr_genres.tsv"},
    "bpm": {"tempo": "tempo.tsv"},
    "year": {"track_metadata": "track_metadata.db"},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    truth = build_world(root)
    results = {}
    for source, files in INPUTS.items():
        res = make_labels(source, root / "manifest.tsv", {k: root / v for k, v in files.items()}, SETTINGS,
                          threads=1)
        write_labels(root / f"labels/{source}.h5", res)
        write_topics(root / f"labels/{source}.topics.tsv", res.topics)
        results[source] = res
    return root, truth, results


def purity(z: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of tracks whose arg-max topic's majority genre is their genre."""
    top = z.argmax(1)
    hit = 0
    for t in np.unique(top):
        members = labels[top == t]
        hit += np.bincount(members).max()
    return hit / len(labels)


def test_every_source_has_valid_z(world):
    root, truth, results = world
    corpus = set(truth["tids"][: truth["n_tracks"]])
    for source in INPUTS:
        ids, z = load_labels(root / f"labels/{source}.h5")
        assert z.dtype == np.float32 and z.shape == (len(ids), K), source
        np.testing.assert_allclose(z.sum(1), 1.0, atol=1e-6)
        assert set(ids) <= corpus and len(ids) > 0.7 * len(corpus), source
        with h5py.File(root / f"labels/{source}.h5") as f:
            assert f.attrs["source"] == source and f.attrs["k"] == K
            assert f.attrs["seed"] == results[source].attrs["seed"]
            if source in PLSA_SOURCES:
                ll = f.attrs["loglik"]
                assert len(ll) == SETTINGS["sources.plsa_iterations"] + 1
                assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]))


def test_missing_labels_give_no_z(world):
    root, truth, _ = world
    n = truth["n_tracks"]
    tags, _ = load_labels(root / "labels/tag.h5")
    assert not {truth["tids"][i] for i in truth["untagged"]} & set(tags)
    assert len(tags) == n - len(truth["untagged"])
    years, _ = load_labels(root / "labels/year.h5")
    assert set(years) == {truth["tids"][i] for i in range(n) if truth["year"][i] != 0}
    bpm, _ = load_labels(root / "labels/bpm.h5")
    assert set(bpm) == {truth["tids"][i] for i in range(n) if truth["bpm"][i] > 0}


@pytest.mark.parametrize("source", list(INPUTS))
def test_planted_genres_come_through(world, source):
    root, truth, _ = world
    ids, z = load_labels(root / f"labels/{source}.h5")
    pos = pd.Index(truth["tids"]).get_indexer(ids)
    g = truth["genre"][pos]
    # year/bpm clusters are genre eras/tempi by construction; every source separates the genres
    assert purity(z, g) >= 0.9, (source, purity(z, g))


@pytest.mark.parametrize("source, vocab", [("tag", GENRES), ("artist", GENRES), ("lyrics", WORDS), ("cdr_tag", CDR)])
def test_topic_tables_show_one_genre_per_topic(world, source, vocab):
    root, _, _ = world
    table = pd.read_csv(root / f"labels/{source}.topics.tsv", sep="\t")
    assert list(table.columns) == ["topic", "rank", "term", "weight"]
    assert sorted(table.topic.unique()) == list(range(K))
    owner = {t: g for g, terms in vocab.items() for t in terms}
    genres_seen = set()
    for _, top in table.groupby("topic"):
        top = top.sort_values("rank")
        assert top.weight.is_monotonic_decreasing
        gs = {owner.get(t) for t in top.term}
        assert len(gs) == 1 and None not in gs, top.term.tolist()
        genres_seen |= gs
    assert genres_seen == set(vocab)  # each genre is one topic


def test_gmm_tables_are_ordered_by_value(world):
    root, _, results = world
    bpm = pd.read_csv(root / "labels/bpm.topics.tsv", sep="\t")
    means = [float(t.split()[0]) for t in bpm.term]
    assert means == sorted(means)
    np.testing.assert_allclose(sorted(means), sorted(TEMPO.values()), rtol=0.05)
    np.testing.assert_allclose(results["year"].attrs["component_means"], sorted(ERA.values()), atol=1.5)
    assert results["bpm"].method == "gmm(log2 bpm)"


def test_summary_and_split_cli(world, tmp_path):
    root, truth, _ = world
    labels = [str(root / f"labels/{s}.h5") for s in INPUTS]
    design = ["self", "bpm", "year", "tag", "lyrics"]
    out = tmp_path / "summary.tsv"
    assert main(["labels-summary", "--manifest", str(root / "manifest.tsv"), "--labels", *labels,
                 "--settings", json.dumps({"design.sources": design, "sources.require_all": True}),
                 "--out", str(out)]) == 0
    s = pd.read_csv(out, sep="\t").set_index("source")
    sets = {src: set(load_labels(root / f"labels/{src}.h5")[0]) for src in INPUTS}
    expect = set.intersection(*(sets[x] for x in design if x != "self"))
    assert s.loc["survivors", "with_labels"] == len(expect)
    assert s.loc["tag", "with_labels"] == len(sets["tag"]) and s.loc["tag", "outside_corpus"] == 20
    assert s.loc["taste", "in_design"] == False  # noqa: E712
    assert s.loc["bpm", "missing_values"] == sum(truth["bpm"][: truth["n_tracks"]] == 0)

    # the split: survivors that are also in the mel store (all but three), 90/10, seeded
    mel = tmp_path / "corpus.h5"
    in_mel = sorted(expect)[3:]
    ids = in_mel + ["TRNOTLABELLED"]
    write_store(mel, ids, [np.zeros((4, 2, 8), np.float32) for _ in ids], {"n_mels": 8})
    split = tmp_path / "split.tsv"
    settings = json.dumps({"seed": 7, "audio.valid_fraction": 0.1, "sources.require_all": True,
                           "design.sources": design})
    cmd = ["corpus-split", "--mel-store", str(mel), "--labels", *labels, "--settings", settings,
           "--out", str(split)]
    assert main(cmd) == 0
    df = load_split(split)
    assert list(df.columns) == ["track_id", "split"]
    assert sorted(df.track_id) == in_mel
    assert (df.split == "valid").sum() == round(0.1 * len(in_mel))
    first = split.read_text()
    assert main(cmd) == 0
    assert split.read_text() == first  # same config, same split
    seeds = pd.read_csv(split, sep="\t")["seed"].unique()
    assert len(seeds) == 1


def test_relaxed_rule_keeps_tracks_with_any_design_source(world):
    root, truth, _ = world
    labels = [root / f"labels/{s}.h5" for s in ("year", "tag")]
    strict = summary_table(labels, ["year", "tag"], True).set_index("source").loc["survivors", "with_labels"]
    loose = summary_table(labels, ["year", "tag"], False).set_index("source").loc["survivors", "with_labels"]
    ids = [set(load_labels(p)[0]) for p in labels]
    assert strict == len(ids[0] & ids[1]) and loose == len(ids[0] | ids[1]) and loose > strict


def test_labels_cli_reports_bad_input(world, tmp_path, capsys):
    root, _, _ = world
    bad = tmp_path / "tempo.tsv"
    bad.write_text((root / "tempo.tsv").read_text() + "TRbroken\tquick\n")
    base = ["labels", "--source", "bpm", "--manifest", str(root / "manifest.tsv"), "--tempo", str(bad),
            "--out", str(tmp_path / "bpm.h5"), "--topics", str(tmp_path / "bpm.topics.tsv")]
    n_lines = len(bad.read_text().splitlines())
    assert main(base + ["--settings", json.dumps(SETTINGS)]) == 2
    assert f"tempo.tsv: line {n_lines}: expected track_id<TAB>bpm" in capsys.readouterr().err
    assert not (tmp_path / "bpm.h5").exists()
    skip = dict(SETTINGS, **{"sources.on_bad_line": "skip"})
    assert main(base + ["--settings", json.dumps(skip)]) == 0
    with h5py.File(tmp_path / "bpm.h5") as f:
        assert json.loads(f.attrs["stats"])["malformed"] == 1


def test_demo_world_labels_recover_its_genres(tmp_path):
    """The project's demo world (tiny study): every source gets z, and the topics of the
    crowd and professional annotations separate the world's planted genres."""
    from onerep.config import load
    from onerep.demo.generator import build_world, demo_settings, write_corpus_labels

    cfg = load(Path(__file__).parent / "config" / "tiny.yaml")
    w = build_world(demo_settings({"demo": cfg["demo"]}))
    write_corpus_labels(w, tmp_path)
    corpus = tmp_path / "corpus"
    tracks = w.tracks["corpus"]
    (corpus / "manifest.tsv").write_text("track_id\tlocation\tmd5\n" + "".join(f"{t.key}\tx.mp3\t\n" for t in tracks))
    genre = {t.key: t.genre for t in tracks}
    names = sorted(set(genre.values()))
    files = {"lastfm_tags": "lastfm_tags.db", "track_metadata": "track_metadata.db",
             "taste_triplets": "train_triplets.txt", "musixmatch": "mxm_dataset_train.txt", "tempo": "tempo.tsv",
             "cdr_genres": "cdr_genres.tsv"}
    settings = {"sources.k": cfg["sources"]["k"], "sources.plsa_iterations": 40, "sources.topic_terms": 5, "seed": 7}
    for source in INPUTS:
        res = make_labels(source, corpus / "manifest.tsv", {k: corpus / v for k, v in files.items()}, settings)
        assert res.z.shape == (len(res.track_ids), cfg["sources"]["k"]) and len(res.track_ids) >= 20
        assert len(res.topics) > 0
        g = np.array([names.index(genre[t]) for t in res.track_ids])
        if source in ("tag", "artist", "cdr_tag", "lyrics"):
            assert purity(res.z, g) >= 0.95, (source, purity(res.z, g))
