"""Target loaders on small native-layout fixtures, the split rules, and the commands."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from onerep.cli import main
from onerep.targets import (
    filter_interactions,
    irmas_group,
    load_target,
    make_splits,
    read_gtzan_split,
    read_interactions,
    read_labels,
    read_report,
    read_splits,
    split_seed,
    track_id_from_path,
    write_target,
)

SR = 8000


def _audio(path: Path, seconds: float = 0.05) -> Path:
    """A short real audio file (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(SR * seconds)) / SR
    y = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    fmt = {".wav": "WAV", ".mp3": "MP3", ".au": "AU", ".flac": "FLAC"}[path.suffix]
    sf.write(path, y, SR, format=fmt)
    return path


def _gtzan(root: Path, genres=("blues", "jazz", "rock"), per=4) -> Path:
    for g in genres:
        for i in range(per):
            _audio(root / "genres" / g / f"{g}.{i:05d}.wav")
    (root / "genres" / "README.txt").write_text("not audio")
    return root


def _mel_store(path: Path, track_ids: list[str], frames: list[int], n_mels: int = 8) -> Path:
    """A mel store in the documented layout with constant frames per track."""
    offsets = np.concatenate([[0], np.cumsum(frames)]).astype(np.int64)
    mel = np.zeros((int(offsets[-1]), 2, n_mels), dtype=np.float16)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("mel", data=mel)
        h5.create_dataset("offsets", data=offsets)
        h5.create_dataset("track_id", data=np.array(track_ids, dtype=object),
                          dtype=h5py.string_dtype())
        h5.attrs["n_mels"] = n_mels
    return path


# ---------------------------------------------------------------- loaders

def test_track_id_from_path() -> None:
    assert track_id_from_path("blues/blues.00000.wav") == "blues__blues.00000"
    assert track_id_from_path("Chacha/100701.mp3") == "Chacha__100701"
    assert track_id_from_path("a/b/c.flac") == "a__b__c"


def test_gtzan_folders_give_labels_and_random_split(tmp_path: Path) -> None:
    root = _gtzan(tmp_path / "gtzan")
    data = load_target({"name": "gtzan", "kind": "gtzan", "root": str(root)})
    assert data.task == "classification"
    assert len(data.manifest) == 12 and not data.fixed_split
    assert data.labels["label"].value_counts().to_dict() == {"blues": 4, "jazz": 4, "rock": 4}
    row = data.labels.set_index("track_id").loc["jazz__jazz.00002"]
    assert row["label"] == "jazz" and row["split"] == "" and row["group"] == ""
    loc = data.manifest.set_index("track_id").loc["jazz__jazz.00002", "location"]
    assert Path(loc).is_absolute() and Path(loc) == root / "genres/jazz/jazz.00002.wav"
    assert data.report["split"][0] == "stratified random"


def test_gtzan_split_folder_fault_filtered_format(tmp_path: Path) -> None:
    root = _gtzan(tmp_path / "gtzan")
    lists = tmp_path / "split"
    lists.mkdir()
    # Kereliuk-style lists: genre/file with the original .au extension; valid joins train.
    (lists / "train_filtered.txt").write_text("blues/blues.00000.au\njazz/jazz.00000.au\n"
                                              "rock/rock.00000.au\n")
    (lists / "valid_filtered.txt").write_text("blues/blues.00001.au\njazz/jazz.00001.au\n")
    (lists / "test_filtered.txt").write_text("blues/blues.00002.au\njazz/jazz.00002.au\n"
                                             "rock/rock.00002.au\nrock/rock.00099.au\n")
    data = load_target({"name": "g", "kind": "gtzan", "root": str(root), "split_file": str(lists)})
    split = data.labels.set_index("track_id")["split"].to_dict()
    assert split == {"blues__blues.00000": "train", "blues__blues.00001": "train",
                     "blues__blues.00002": "test", "jazz__jazz.00000": "train",
                     "jazz__jazz.00001": "train", "jazz__jazz.00002": "test",
                     "rock__rock.00000": "train", "rock__rock.00002": "test"}
    assert data.fixed_split
    assert list(data.manifest["track_id"]) == sorted(split)
    assert data.report["not_in_split_file"][0] == 4   # blues/jazz/rock 3 + rock 1
    assert data.report["split_file_entries_without_audio"][0] == 1
    assert "rock.00099" in data.report["split_file_entries_without_audio"][1]


def test_gtzan_split_tsv_with_header_and_prefix(tmp_path: Path) -> None:
    root = _gtzan(tmp_path / "gtzan", genres=("blues", "jazz"), per=2)
    tsv = tmp_path / "split.tsv"
    tsv.write_text("path\tsplit\ngenres/blues/blues.00000.wav\ttrain\n"
                   "genres/blues/blues.00001.wav\ttest\njazz/jazz.00000.wav\tvalid\n"
                   "jazz/jazz.00001.wav\ttest\n")
    data = load_target({"name": "g", "kind": "gtzan", "root": str(root), "split_file": str(tsv)})
    assert data.labels["split"].tolist() == ["train", "test", "train", "test"]


def test_gtzan_split_conflict_and_bad_value_name_the_line(tmp_path: Path) -> None:
    tsv = tmp_path / "split.tsv"
    tsv.write_text("blues/blues.00000.wav\ttrain\nblues/blues.00000.wav\ttest\n")
    with pytest.raises(ValueError, match=r"split.tsv:2.*already listed as train"):
        read_gtzan_split(tsv)
    tsv.write_text("blues/blues.00000.wav\ttrain\nblues/blues.00001.wav\tholdout\n")
    with pytest.raises(ValueError, match=r"split.tsv:2: unknown split 'holdout'"):
        read_gtzan_split(tsv)


def test_gtzan_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"target 'g' root: folder not found"):
        load_target({"name": "g", "kind": "gtzan", "root": str(tmp_path / "nope")})


def _fma(root: Path) -> Path:
    meta = root / "fma_metadata"
    meta.mkdir(parents=True)
    rows = [  # id, split, subset, genre_top, has audio
        (2, "training", "small", "Hip-Hop", True),
        (5, "validation", "medium", "Rock", True),
        (10, "test", "medium", "Pop", True),
        (140, "test", "large", "Folk", True),      # not in medium
        (141, "training", "medium", "", True),      # no top genre
        (148, "training", "medium", "Rock", False),  # audio missing
        (1234, "test", "small", "Electronic", True),
    ]
    lines = [",set,set,track,track", ",split,subset,genre_top,title", "track_id,,,,"]
    lines += [f"{i},{sp},{sub},{g},title {i}" for i, sp, sub, g, _ in rows]
    (meta / "tracks.csv").write_text("\n".join(lines) + "\n")
    for i, *_rest, audio in rows:
        if audio:
            _audio(root / "fma_medium" / f"{i:06d}"[:3] / f"{i:06d}.mp3")
    return root


def test_fma_medium_top_genre_and_own_split(tmp_path: Path) -> None:
    root = _fma(tmp_path / "fma")
    data = load_target({"name": "fma", "kind": "fma", "root": str(root)})
    lab = data.labels.set_index("track_id")
    assert list(lab.index) == ["000002", "000005", "000010", "001234"]
    assert lab["label"].tolist() == ["Hip-Hop", "Rock", "Pop", "Electronic"]
    assert lab["split"].tolist() == ["train", "train", "test", "test"]
    assert data.report["missing_audio"][0] == 1 and "000148" in data.report["missing_audio"][1]
    assert data.report["tracks_in_metadata"][0] == 5
    loc = data.manifest.set_index("track_id").loc["001234", "location"]
    assert loc.endswith("fma_medium/001/001234.mp3")


def test_ballroom_nested_folder(tmp_path: Path) -> None:
    base = tmp_path / "ballroom" / "extendedballroom_v1.1"
    for dance, n in (("Chacha", 3), ("Jive", 2), ("Waltz", 4)):
        for i in range(n):
            _audio(base / dance / f"{100 + i}.mp3")
    data = load_target({"name": "b", "kind": "ballroom", "root": str(tmp_path / "ballroom")})
    assert data.labels["label"].value_counts().to_dict() == {"Waltz": 4, "Chacha": 3, "Jive": 2}
    assert "Jive__101" in set(data.labels["track_id"])
    assert not data.fixed_split


def test_irmas_group_parsing() -> None:
    assert irmas_group("[cel][cla]0001__1") == "[cla]0001"
    assert irmas_group("[gel][dru][pop_roc]0829__2") == "[dru][pop_roc]0829"
    assert irmas_group("008__[cel][nod][cla]0058__1") == "[nod][cla]0058"
    assert irmas_group("[cel][cla]0001__1") == irmas_group("[cel][cla]0001__3")
    assert irmas_group("[vio][cla]0001__1") == irmas_group("[cel][cla]0001__2")
    assert irmas_group("random name") is None


def test_irmas_labels_and_groups(tmp_path: Path) -> None:
    base = tmp_path / "irmas" / "IRMAS-TrainingData"
    names = {"cel": ["[cel][cla]0001__1", "[cel][cla]0001__2", "[cel][jaz_blu]0002__1"],
             "gel": ["[gel][dru][pop_roc]0829__1", "[gel][dru][pop_roc]0829__2", "odd"]}
    for inst, stems in names.items():
        for s in stems:
            _audio(base / inst / f"{s}.wav")
    data = load_target({"name": "irmas", "kind": "irmas", "root": str(tmp_path / "irmas")})
    lab = data.labels.set_index("track_id")
    assert lab.loc["cel__[cel][cla]0001__2", "group"] == "[cla]0001"
    assert lab.loc["gel__[gel][dru][pop_roc]0829__1", "group"] == "[dru][pop_roc]0829"
    assert lab.loc["gel__odd", "group"] == "gel__odd"
    assert data.report["groups"][0] == 4 and data.report["unparsed_names"][0] == 1
    assert lab["label"].value_counts().to_dict() == {"cel": 3, "gel": 3}


def _emotion(root: Path) -> Path:
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "static_annotations.csv").write_text(
        "song_id, mean_arousal, std_arousal, mean_valence, std_valence\n"
        "2, 3.1, 0.9, 5.5, 1.0\n3, 6.25, 1.1, 4.0, 0.8\n4, 5.0, 1.0, 7.5, 0.5\n"
        "5, 2.0, 1.0, 2.5, 0.5\n")
    (root / "songs_info.csv").write_text(
        "song_id,file_name,Artist,Song title,Genre,Mediaeval 2013 set\n"
        "2,a.mp3,A,T,Rock,development\n3,b.mp3,B,T,Pop,evaluation\n"
        "4,c.mp3,C,T,Pop, development\n5,d.mp3,D,T,Pop,evaluation\n")
    for sid in (2, 3, 4):
        _audio(root / "clips_45seconds" / f"{sid}.mp3")
    return root


@pytest.mark.parametrize("dim,expected", [("arousal", [3.1, 6.25, 5.0]),
                                          ("valence", [5.5, 4.0, 7.5])])
def test_mediaeval_regression_labels(tmp_path: Path, dim: str, expected: list[float]) -> None:
    root = _emotion(tmp_path / "emotion")
    data = load_target({"name": f"emo_{dim}", "kind": "mediaeval2013", "dimension": dim,
                        "root": str(root)})
    assert data.task == "regression" and data.fixed_split
    assert data.labels["track_id"].tolist() == ["2", "3", "4"]
    assert data.labels["label"].astype(float).tolist() == expected
    assert data.labels["split"].tolist() == ["train", "test", "train"]
    assert data.report["missing_audio"][0] == 1


def _lastfm(root: Path) -> Path:
    root.mkdir(parents=True)
    lines = []
    plays = {("u1", "t-a"): 3, ("u1", "t-b"): 1, ("u2", "t-a"): 2, ("u2", "t-c"): 1,
             ("u3", "t-x"): 4}  # t-x has no audio
    ts = "2009-05-04T23:08:57Z"
    for (u, t), n in plays.items():
        lines += [f"{u}\t{ts}\tart-mbid\tArtist\t{t}\tSong {t}"] * n
    lines.append(f"u1\t{ts}\tart-mbid\tArtist\t\tSong without mbid")
    lines.append(f"u2\t{ts}\t\tArtist\t\tAnother without mbid")
    lines.append("garbage line without tabs")
    (root / "userid-timestamp-artid-artname-traid-traname.tsv").write_text("\n".join(lines) + "\n")
    for t in ("t-a", "t-b", "t-c", "t-unused"):
        _audio(root / "audio" / f"{t}.mp3")
    (root / "audio_manifest.tsv").write_text(
        "track_id\tlocation\tmd5\n" + "".join(f"{t}\taudio/{t}.mp3\t\n"
                                              for t in ("t-a", "t-b", "t-c", "t-unused")))
    return root


def test_lastfm1k_interactions_and_missing_audio(tmp_path: Path) -> None:
    root = _lastfm(tmp_path / "lastfm")
    data = load_target({"name": "lastfm1k", "kind": "lastfm1k", "root": str(root),
                        "audio_manifest": str(root / "audio_manifest.tsv")})
    assert data.task == "recommendation"
    inter = data.interactions
    assert inter.values.tolist() == [["u1", "t-a", 3], ["u1", "t-b", 1], ["u2", "t-a", 2],
                                     ["u2", "t-c", 1]]
    assert sorted(data.manifest["track_id"]) == ["t-a", "t-b", "t-c"]
    assert Path(data.manifest["location"][0]).is_file()
    rep = {k: v for k, (v, _d) in data.report.items()}
    assert rep["lines_without_track_mbid"] == 2
    assert rep["malformed_lines"] == 1
    assert rep["tracks_without_audio"] == 1 and rep["tracks_in_log"] == 4
    assert rep["audio_manifest_tracks_not_in_log"] == 1
    assert rep["log_lines"] == 14 and rep["plays"] == 7


def test_lastfm1k_needs_audio_manifest(tmp_path: Path) -> None:
    root = _lastfm(tmp_path / "lastfm")
    with pytest.raises(ValueError, match="audio_manifest"):
        load_target({"name": "l", "kind": "lastfm1k", "root": str(root)})


def test_custom_csv_classification_with_groups(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    for p in ("a/x1.wav", "a/x2.wav", "b/y1.flac"):
        _audio(root / p)
    (root / "labels.csv").write_text("file,mood,song\na/x1.wav,happy,s1\na/x2.wav,happy,s1\n"
                                     "b/y1.flac,sad,s2\nb/gone.wav,sad,s3\nb/nolabel.wav,,s4\n")
    cfg = {"name": "mine", "kind": "custom", "labels_csv": str(root / "labels.csv"),
           "path_column": "file", "label_column": "mood", "group_column": "song",
           "task": "classification"}
    data = load_target(cfg)
    assert data.labels.values.tolist() == [["a__x1", "happy", "s1", ""],
                                           ["a__x2", "happy", "s1", ""],
                                           ["b__y1", "sad", "s2", ""]]
    assert data.report["missing_audio"][0] == 1 and data.report["rows_without_label"][0] == 1


def test_custom_regression_bad_label_names_line(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    _audio(root / "a.wav")
    _audio(root / "b.wav")
    (root / "l.csv").write_text("path,label,split\na.wav,0.5,train\nb.wav,loud,test\n")
    cfg = {"name": "mine", "kind": "custom", "labels_csv": str(root / "l.csv"),
           "task": "regression"}
    with pytest.raises(ValueError, match=r"l.csv:3: label 'loud'.*not a number"):
        load_target(cfg)
    (root / "l.csv").write_text("path,label,split\na.wav,0.5,train\nb.wav,1.5,test\n")
    data = load_target(cfg)
    assert data.fixed_split and data.labels["label"].astype(float).tolist() == [0.5, 1.5]


def test_write_target_relative_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = _gtzan(Path("data/gtzan"), genres=("blues",), per=2)
    data = load_target({"name": "g", "kind": "gtzan", "root": str(root)})
    paths = write_target(data, "results/targets/g")
    man = pd.read_csv(paths["manifest"], sep="\t", dtype=str, keep_default_na=False)
    assert man["location"].tolist() == ["../../../data/gtzan/genres/blues/blues.00000.wav",
                                        "../../../data/gtzan/genres/blues/blues.00001.wav"]
    assert all((paths["manifest"].parent / p).is_file() for p in man["location"])
    assert read_labels(paths["labels"])["label"].tolist() == ["blues", "blues"]
    assert read_report(paths["report"])["tracks"] == "2"


# ---------------------------------------------------------------- splits

def _labels(labels: list[str], groups: list[str] | None = None,
            split: list[str] | None = None) -> pd.DataFrame:
    n = len(labels)
    return pd.DataFrame({"track_id": [f"t{i:03d}" for i in range(n)], "label": labels,
                         "group": groups or [""] * n, "split": split or [""] * n})


def test_stratified_split_takes_a_fifth_of_each_class() -> None:
    lab = _labels(["a"] * 50 + ["b"] * 20 + ["c"] * 10 + ["d"] * 1)
    splits, info = make_splits(lab, "classification", target="x", seed=1, repetitions=5,
                               test_fraction=0.2)
    assert len(splits) == 5 * 81 and not info["fixed"]
    merged = splits.merge(lab, on="track_id")
    for rep, part in merged.groupby("repetition"):
        test = part[part["fold"] == "test"]["label"].value_counts().to_dict()
        assert test == {"a": 10, "b": 4, "c": 2}, test  # the single 'd' stays in training
        assert part["seed"].nunique() == 1 and part["seed"].iloc[0] == split_seed(1, "x", rep)
    sets = [frozenset(p[p["fold"] == "test"]["track_id"]) for _, p in splits.groupby("repetition")]
    assert len(set(sets)) == 5  # re-drawn per repetition


def test_splits_are_reproducible_and_depend_on_seed_and_target() -> None:
    lab = _labels(["a", "b"] * 30)
    args = dict(repetitions=3, test_fraction=0.2)
    a, _ = make_splits(lab, "classification", target="x", seed=5, **args)
    b, _ = make_splits(lab, "classification", target="x", seed=5, **args)
    c, _ = make_splits(lab, "classification", target="y", seed=5, **args)
    pd.testing.assert_frame_equal(a, b)
    assert not a["fold"].equals(c["fold"])


def test_grouped_split_never_straddles() -> None:
    rng = np.random.default_rng(0)
    labels, groups = [], []
    for g in range(60):  # 60 source tracks of 1-4 clips, instrument per track
        inst = ["cel", "gel", "voi"][g % 3]
        for _ in range(int(rng.integers(1, 5))):
            labels.append(inst)
            groups.append(f"[x]{g:04d}")
    lab = _labels(labels, groups)
    splits, _ = make_splits(lab, "classification", target="irmas", seed=3, repetitions=5,
                            test_fraction=0.2)
    merged = splits.merge(lab, on="track_id")
    per_group = merged.groupby(["repetition", "group"])["fold"].nunique()
    assert (per_group == 1).all()
    for _rep, part in merged.groupby("repetition"):
        frac = (part["fold"] == "test").mean()
        assert 0.12 < frac < 0.28, frac
        assert set(part[part["fold"] == "test"]["label"]) == {"cel", "gel", "voi"}


def test_fixed_split_repeats_folds_with_new_seeds() -> None:
    lab = _labels(["a", "b", "a", "b", "a"], split=["train", "train", "test", "test", "train"])
    splits, info = make_splits(lab, "classification", target="fma", seed=9, repetitions=4,
                               test_fraction=0.2)
    assert info["fixed"]
    folds = splits.pivot(index="track_id", columns="repetition", values="fold")
    assert (folds.nunique(axis=1) == 1).all()
    assert folds[0].tolist() == ["train", "train", "test", "test", "train"]
    assert splits.groupby("repetition")["seed"].first().nunique() == 4


def test_only_tracks_with_mel_are_split() -> None:
    lab = _labels(["a", "b"] * 10)
    keep = [f"t{i:03d}" for i in range(0, 20, 2)] + [f"t{i:03d}" for i in (1, 3, 5, 7)]
    splits, info = make_splits(lab, "classification", target="x", seed=1, repetitions=2,
                               test_fraction=0.25, keep_ids=keep)
    assert set(splits["track_id"]) == set(keep) and info["without_mel"] == 6


def test_mixed_own_split_is_an_error() -> None:
    lab = _labels(["a", "b", "a"], split=["train", "", "test"])
    with pytest.raises(ValueError, match="track 't001' has no split"):
        make_splits(lab, "classification", target="x", seed=1, repetitions=1, test_fraction=0.2)


def test_filter_interactions_iterates_to_a_core() -> None:
    # u3 has 1 track -> dropped; then t3 (only u3 and u1) falls below 2 users -> dropped.
    inter = pd.DataFrame([("u1", "t1"), ("u1", "t2"), ("u1", "t3"), ("u2", "t1"), ("u2", "t2"),
                          ("u3", "t3"), ("u4", "t1"), ("u4", "t2")], columns=["user", "track_id"])
    inter["count"] = 1
    out = filter_interactions(inter, min_user_tracks=2, min_track_users=2)
    assert sorted(set(out["track_id"])) == ["t1", "t2"]
    assert sorted(set(out["user"])) == ["u1", "u2", "u4"]


def test_recommendation_split_holds_out_tracks() -> None:
    rng = np.random.default_rng(1)
    rows = [(f"u{u}", f"t{t:03d}", 1) for u in range(30) for t in range(50) if rng.random() < 0.5]
    rows += [("lonely", "t999", 3)]  # one user, one track: filtered out
    inter = pd.DataFrame(rows, columns=["user", "track_id", "count"])
    lab = pd.DataFrame({"track_id": sorted(set(inter["track_id"])), "label": "", "group": "",
                        "split": ""})
    splits, info = make_splits(lab, "recommendation", target="lastfm1k", seed=2, repetitions=3,
                               test_fraction=0.5, interactions=inter, min_user_tracks=5,
                               min_track_users=5, holdout_fraction=0.2)
    assert "t999" not in set(splits["track_id"]) and info["filtered_out"] == 1
    for _rep, part in splits.groupby("repetition"):
        assert len(part) == 50 and (part["fold"] == "test").sum() == 10


# ---------------------------------------------------------------- commands

def test_commands_write_files_and_splits_are_reused(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _gtzan(Path("gtzan"), per=5)
    out = Path("results/targets/gtzan")
    cfg = {"name": "gtzan", "kind": "gtzan", "root": "gtzan", "split_file": None}
    assert main(["target-manifest", "--settings", json.dumps(cfg), "--out-dir", str(out),
                 "--log", "logs/m.log"]) == 0
    man = pd.read_csv(out / "manifest.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert len(man) == 15 and man["location"][0] == "../../../gtzan/genres/blues/blues.00000.wav"
    # one track failed in the audio stage: it is not in the mel store
    ids = [t for t in man["track_id"] if t != "rock__rock.00004"]
    _mel_store(Path("mel.h5"), ids, [10] * len(ids))
    settings = json.dumps({"seed": 7, "evaluate.repetitions": 3, "evaluate.test_fraction": 0.2})
    argv = ["target-splits", "--target", "gtzan", "--labels", str(out / "labels.tsv"),
            "--report", str(out / "report.tsv"), "--mel", "mel.h5", "--settings", settings,
            "--out", str(out / "splits.tsv")]
    assert main(argv) == 0
    first = (out / "splits.tsv").read_bytes()
    splits = read_splits(out / "splits.tsv")
    assert len(splits) == 3 * 14 and "rock__rock.00004" not in set(splits["track_id"])
    assert (splits.groupby("repetition")["fold"].apply(lambda f: (f == "test").sum()) == 3).all()
    assert main(argv) == 0
    assert (out / "splits.tsv").read_bytes() == first


def test_command_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = {"name": "fma", "kind": "fma", "root": str(tmp_path)}
    assert main(["target-manifest", "--settings", json.dumps(cfg), "--out-dir",
                 str(tmp_path / "o")]) == 2
    assert "tracks.csv" in capsys.readouterr().err


def test_lastfm_command_writes_interactions(tmp_path: Path) -> None:
    root = _lastfm(tmp_path / "lastfm")
    cfg = {"name": "lastfm1k", "kind": "lastfm1k", "root": str(root),
           "audio_manifest": str(root / "audio_manifest.tsv")}
    out = tmp_path / "t"
    assert main(["target-manifest", "--settings", json.dumps(cfg), "--out-dir", str(out)]) == 0
    inter = read_interactions(out / "interactions.tsv")
    assert inter["count"].sum() == 7 and inter["count"].dtype == np.int64
    assert read_report(out / "report.tsv")["task"] == "recommendation"


def test_single_unit_classes_fall_back_to_an_unstratified_draw() -> None:
    lab = _labels([f"c{i}" for i in range(10)], groups=[f"g{i}" for i in range(10)])
    splits, _ = make_splits(lab, "classification", target="x", seed=1, repetitions=3,
                            test_fraction=0.2)
    assert (splits.groupby("repetition")["fold"].apply(lambda f: (f == "test").sum()) == 2).all()
