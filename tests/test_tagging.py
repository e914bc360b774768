"""Multi-label tagging targets: MTG-Jamendo and MagnaTagATune loaders on files in their
native layouts, the labels format, macro ROC-AUC / PR-AUC, the score files, the
analysis of a study with a tagging target, and the workflow's plan (dry run)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import rules_snakefile
from onerep.evaluate.data import load_labels, task_of
from onerep.evaluate.mlp import MLPParams, fit_tagging, macro_tag_scores
from onerep.evaluate.scores import evaluate_representation, read_score_file, write_scores
from onerep.sources.open_corpora import read_autotagging
from onerep.targets import load_target, make_splits, mtt_song, read_labels, write_target
from onerep.targets.files import TAG_SEPARATOR, join_tags, tag_matrix

HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"


# ---------------------------------------------------------------- MTG-Jamendo

def _mtg_tsv(path: Path, rows: list[tuple[int, int, list[str]]], pad: int = 7) -> Path:
    """An autotagging TSV as the dataset writes it: CRLF, one field per tag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [
        "\t".join([f"track_{t:0{pad}d}", f"artist_{a:06d}", f"album_{a:06d}", f"{t % 100:02d}/{t}.mp3",
                   "211.1", *tags]) for t, a, tags in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def _mp3(path: Path, data: bytes = b"ID3\x03fake") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


MTG_PARTS = {
    "train": [(382, 20, ["instrument---voice"]),
              (775, 104, ["genre---easylistening", "genre---electronic", "genre---lounge"]),
              (1200, 104, ["genre---rock", "mood/theme---happy"])],
    "validation": [(1301, 7, ["genre---rock"])],
    "test": [(1402, 8, ["genre---lounge", "instrument---voice"]), (1503, 9, ["genre---rock"]),
             (1604, 9, ["mood/theme---happy"])],
}


@pytest.fixture
def mtg(tmp_path: Path) -> dict:
    data = tmp_path / "mtg-jamendo-dataset" / "data"
    split = data / "splits" / "split-0"
    for part, rows in MTG_PARTS.items():
        _mtg_tsv(split / f"autotagging_top50tags-{part}.tsv", rows)
    audio = tmp_path / "audio"
    for rows in MTG_PARTS.values():
        for t, _, _ in rows:
            if t == 1503:
                continue  # missing
            _mp3(audio / f"{t % 100:02d}" / (f"{t}.low.mp3" if t == 1604 else f"{t}.mp3"))
    return {"root": data, "audio": audio,
            "cfg": {"name": "mtg", "kind": "mtg_jamendo", "root": str(data), "audio_root": str(audio)}}


def test_read_autotagging_takes_every_trailing_tag_field_and_crlf(mtg: dict) -> None:
    path = mtg["root"] / "splits" / "split-0" / "autotagging_top50tags-train.tsv"
    assert path.read_bytes().count(b"\r\n") == 4
    rows = read_autotagging(path).tracks  # the reader shared with the learning sources
    assert [r.track_id for r in rows] == ["track_382", "track_775", "track_1200"]
    assert rows[1].tags == ("genre---easylistening", "genre---electronic", "genre---lounge")
    assert rows[1].path == "75/775.mp3" and rows[1].artist_id == "artist_104" and rows[1].duration == 211.1
    assert rows[0].line == 2 and not any(t.endswith("\r") for r in rows for t in r.tags)


def test_mtg_jamendo_official_split_labels_and_missing_audio(mtg: dict) -> None:
    data = load_target(mtg["cfg"])
    assert data.task == "tagging" and data.fixed_split
    lab = data.labels.set_index("track_id")
    assert list(lab.index) == ["track_382", "track_775", "track_1200", "track_1301",
                               "track_1402", "track_1604"]
    assert lab.loc["track_775", "label"] == "genre---easylistening|genre---electronic|genre---lounge"
    assert lab.loc["track_1301", "split"] == "train"  # validation folded into training
    assert lab.loc["track_1402", "split"] == "test"
    assert lab.loc["track_775", "group"] == lab.loc["track_1200", "group"] == "artist_104"
    manifest = data.manifest.set_index("track_id")
    assert manifest.loc["track_1604", "location"].endswith("04/1604.low.mp3")
    assert data.report["missing_audio"] == (1, "track_1503")
    assert data.report["low_quality_audio"][0] == 1
    assert data.report["tracks_validation"][0] == 1 and data.report["tags"][0] == 6
    assert data.report["subset"][0] == "top50tags"


def test_mtg_jamendo_validation_can_be_left_out(mtg: dict) -> None:
    data = load_target(dict(mtg["cfg"], validation="exclude"))
    assert "track_1301" not in set(data.labels.track_id)
    assert "left out" in data.report["split"][0]


def test_mtg_jamendo_all_subset_unites_the_category_files(mtg: dict) -> None:
    split = mtg["root"] / "splits" / "split-0"
    for part in ("train", "validation", "test"):
        rows = MTG_PARTS[part]
        for cat, prefix in (("genre", "genre"), ("instrument", "instrument"), ("moodtheme", "mood/theme")):
            sub = [(t, a, [x for x in tags if x.startswith(prefix + "---")]) for t, a, tags in rows]
            _mtg_tsv(split / f"autotagging_{cat}-{part}.tsv", [r for r in sub if r[2]], pad=8)
    data = load_target(dict(mtg["cfg"], subset="all"))
    lab = data.labels.set_index("track_id")
    assert lab.loc["track_1200", "label"] == "genre---rock|mood/theme---happy"
    assert lab.loc["track_1402", "label"] == "genre---lounge|instrument---voice"
    assert data.report["split_files"][0] == 9


def test_mtg_jamendo_errors_name_file_line_and_track(mtg: dict) -> None:
    split = mtg["root"] / "splits" / "split-0"
    # a track in two parts (IDs padded to another width still clash)
    _mtg_tsv(split / "autotagging_top50tags-test.tsv", [(382, 20, ["genre---rock"])], pad=9)
    with pytest.raises(ValueError, match=r"autotagging_top50tags-test.tsv, line 2: track track_382 is already "
                                         r"in autotagging_top50tags-train.tsv, line 2"):
        load_target(mtg["cfg"])
    bad = split / "autotagging_top50tags-test.tsv"
    bad.write_bytes(b"raw_30s_cleantags_50artists.tsv")
    with pytest.raises(ValueError, match="test.tsv: not a TSV but git's one-line stand-in for a symlink"):
        load_target(mtg["cfg"])
    bad.write_bytes((HEADER + "\r\ntrack_1\tartist_000001\talbum_000001\t01/1.mp3\tlong\tgenre---rock\r\n")
                    .encode())
    with pytest.raises(ValueError, match=r"test.tsv: line 2: DURATION 'long' is not a positive number"):
        load_target(mtg["cfg"])
    bad.write_bytes((HEADER + "\r\ntrack_1\tartist_000001\talbum_000001\t01/1.mp3\t3.0\trock\r\n").encode())
    with pytest.raises(ValueError, match=r"test.tsv: line 2: tag 'rock' has no '---'"):
        load_target(mtg["cfg"])
    with pytest.raises(ValueError, match="subset must be one of"):
        load_target(dict(mtg["cfg"], subset="moods"))
    with pytest.raises(ValueError, match="needs 'audio_root'"):
        load_target(dict(mtg["cfg"], audio_root=None))


# ---------------------------------------------------------------- MagnaTagATune

MTT_TAGS = ["guitar", "classical", "no vocals", "male vocal", "rare tag"]
# clip_id, path, positive tags (by index into MTT_TAGS)
MTT_CLIPS = [
    (2, "f/american_bach_soloists-j_s__bach_solo_cantatas-01-bwv54__i_aria-30-59.mp3", [1]),
    (6, "f/american_bach_soloists-j_s__bach_solo_cantatas-01-bwv54__i_aria-59-88.mp3", [1, 2]),
    (10, "0/artist_a-album_a-01-song_one-0-29.mp3", [0, 3]),
    (11, "0/artist_a-album_a-01-song_one-29-58.mp3", [0]),
    (12, "0/artist_a-album_a-02-song_two-0-29.mp3", [0, 2]),
    (13, "0/artist_a-album_a-03-span-0-29.mp3", [0]),  # its song also has two clips in d
    (14, "d/artist_a-album_a-03-span-29-58.mp3", [0, 1]),
    (15, "d/artist_a-album_a-03-span-58-87.mp3", [2]),
    (20, "c/artist_c-album_c-01-valid-0-29.mp3", [1, 3]),
    (30, "6/norine_braun-now_and_zen-08-gently-117-146.mp3", [0]),  # zero bytes
    (31, "e/artist_e-album_e-01-missing-0-29.mp3", [1]),  # no file
    (40, "b/artist_b-album_b-01-untagged-0-29.mp3", []),
    (41, "b/artist_b-album_b-01-rare-0-29.mp3", [4]),
]


@pytest.fixture
def mtt(tmp_path: Path) -> dict:
    root = tmp_path / "mtt"
    root.mkdir()
    lines = ["\t".join(["clip_id", *[f'"{t}"' if " " in t else t for t in MTT_TAGS], "mp3_path"])]
    for i, (cid, path, pos) in enumerate(MTT_CLIPS):
        vals = ["1" if j in pos else "0" for j in range(len(MTT_TAGS))]
        if i % 2:
            vals = [f'"{v}"' for v in vals]  # quoted fields read like bare ones
        lines.append("\t".join([str(cid), *vals, path]))
    (root / "annotations_final.csv").write_text("\r\n".join(lines) + "\r\n")
    for cid, path, _ in MTT_CLIPS:
        if cid == 30:
            _mp3(root / path, b"")
        elif cid != 31:
            _mp3(root / path)
    return {"root": root, "cfg": {"name": "mtt", "kind": "magnatagatune", "root": str(root)}}


def test_mtt_song_strips_the_segment() -> None:
    assert mtt_song("f/american_bach_soloists-j_s__bach_solo_cantatas-01-bwv54__i_aria-30-59.mp3") == \
        "american_bach_soloists-j_s__bach_solo_cantatas-01-bwv54__i_aria"
    assert mtt_song("0/no_segment.mp3") == "no_segment"


def test_magnatagatune_top_tags_folder_split_and_songs(mtt: dict) -> None:
    data = load_target(mtt["cfg"])
    assert data.task == "tagging" and task_of(mtt["cfg"]) == "tagging"
    lab = data.labels.set_index("track_id")
    # every tag is among the top 50 here; the clip with only 'rare tag' counts too
    assert lab.loc["6", "label"] == "classical|no vocals"
    assert lab.loc["41", "label"] == "rare tag"
    assert "40" not in lab.index and data.report["clips_without_selected_tags"][0] == 1
    assert data.report["empty_audio"][0] == 1 and "norine_braun" in data.report["empty_audio"][1]
    assert data.report["missing_audio"][0] == 1
    assert lab.loc["20", "split"] == "train"  # folder c: validation, folded into training
    assert lab.loc["2", "split"] == lab.loc["6", "split"] == "test"
    assert lab.loc["10", "group"] == lab.loc["11", "group"] == "artist_a-album_a-01-song_one"
    # the song 'span' has one clip in folder 0 and two in d: all three go to test
    assert lab.loc[["13", "14", "15"], "split"].tolist() == ["test"] * 3
    assert data.report["songs_moved_to_one_side"][0] == 1 and data.report["clips_moved_with_their_song"][0] == 1


def test_magnatagatune_top_n_ties_by_column_order_and_named_tags(mtt: dict) -> None:
    # positives: guitar 6, classical 5, no vocals 3, male vocal 2, rare tag 1 -> top 3
    data = load_target(dict(mtt["cfg"], top_tags=3))
    tags = set(TAG_SEPARATOR.join(data.labels.label).split(TAG_SEPARATOR))
    assert tags == {"guitar", "classical", "no vocals"}
    data = load_target(dict(mtt["cfg"], tags=["noVocals", "male vocal"], validation="exclude"))
    lab = data.labels.set_index("track_id")
    assert set(lab.index) == {"6", "10", "12", "15"}  # 20 (folder c) is left out
    assert lab.loc["10", "label"] == "male vocal"
    with pytest.raises(ValueError, match=r"annotations_final.csv: tag 'noVocal' is not a column .*noVocals"):
        load_target(dict(mtt["cfg"], tags=["noVocal"]))


def test_magnatagatune_bad_values_name_file_line_and_clip(mtt: dict) -> None:
    path = mtt["root"] / "annotations_final.csv"
    text = path.read_text().replace("\t0\t0\t0\t0\t1\t", "\t0\t0\tx\t0\t1\t")
    path.write_text(text)
    with pytest.raises(ValueError, match=r"annotations_final.csv, line 14 \(clip 41\): column 'no vocals' is 'x'"):
        load_target(mtt["cfg"])
    with pytest.raises(ValueError, match="split_folders puts folder 'c' in both validation and test"):
        load_target(dict(mtt["cfg"], split_folders={"test": "cdef"}))


# ---------------------------------------------------------------- labels format

def test_labels_file_round_trip_to_the_tag_matrix(mtt: dict, tmp_path: Path) -> None:
    data = load_target(mtt["cfg"])
    paths = write_target(data, tmp_path / "out")
    assert read_labels(paths["labels"]).equals(data.labels.astype(str))
    Y = load_labels(paths["labels"], "tagging")
    assert list(Y.columns) == sorted(Y.columns) and set(Y.columns) == set(MTT_TAGS)
    assert Y.loc["6"].to_dict() == {"classical": 1, "guitar": 0, "male vocal": 0, "no vocals": 1, "rare tag": 0}
    splits, info = make_splits(read_labels(paths["labels"]), "tagging", target="mtt", seed=1, repetitions=2,
                               test_fraction=0.2)
    assert info["fixed"] and splits.seed.nunique() == 2


def test_tag_separator_is_refused_in_names_and_bad_labels_are_named() -> None:
    assert join_tags(["b", "a", "b"], "x") == "a|b"
    with pytest.raises(ValueError, match=r"here: tag 'a\|b' .*contains '\|'"):
        join_tags(["a|b"], "here")
    labels = pd.Series(["a|b", "a||c"], index=pd.Index(["t1", "t2"], name="track_id"))
    with pytest.raises(ValueError, match=r"labels.tsv, line 3: track 't2' has the label 'a\|\|c'"):
        tag_matrix(labels, "labels.tsv")


# ---------------------------------------------------------------- metrics and scores

def test_macro_scores_equal_scikit_learn_and_drop_unscorable_tags() -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(3)
    Y = (rng.random((60, 6)) < 0.3).astype(int)
    Y[:, 2] = 0  # no positive
    Y[:, 4] = 1  # no negative
    S = rng.random(Y.shape) + 0.5 * Y
    res = macro_tag_scores(Y, S)
    keep = [0, 1, 3, 5]
    assert res.scored == 4 and res.dropped == 2
    assert res.roc_auc == pytest.approx(roc_auc_score(Y[:, keep], S[:, keep], average="macro"), abs=1e-12)
    assert res.pr_auc == pytest.approx(average_precision_score(Y[:, keep], S[:, keep], average="macro"), abs=1e-12)
    with pytest.raises(ValueError, match="none of the 2 tags"):
        macro_tag_scores(np.zeros((5, 2)), np.ones((5, 2)))


def _planted_tagging(n: int = 300, tags: int = 5, d: int = 12, seed: int = 0) -> tuple[list[str], np.ndarray,
                                                                                          np.ndarray]:
    """Each tag is on where its own feature direction is positive (plus noise dimensions)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (X[:, :tags] > 0.3).astype(int)
    X *= np.logspace(-1, 2, d)
    return [f"trk{i:04d}" for i in range(n)], X, Y


def _tagging_files(tmp: Path, ids: list[str], X: np.ndarray, Y: np.ndarray, names: list[str],
                   test: np.ndarray) -> dict:
    feats = tmp / "feat.h5"
    with h5py.File(feats, "w") as f:
        f.create_dataset("track_id", data=np.array(ids, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("features", data=X.astype(np.float32))
    labels = tmp / "labels.tsv"
    rows = [join_tags([names[j] for j in np.flatnonzero(y)], "test") for y in Y]
    pd.DataFrame({"track_id": ids, "label": rows, "group": "", "split": ""}).to_csv(labels, sep="\t", index=False)
    splits = tmp / "splits.tsv"
    pd.DataFrame({"repetition": 0, "track_id": ids, "fold": np.where(test, "test", "train"), "seed": 3}).to_csv(
        splits, sep="\t", index=False)
    return {"features": feats, "labels": labels, "splits": splits}


SETTINGS = {"seed": 7, "evaluate.repetitions": 2, "evaluate.mlp": {"hidden": [64, 64], "max_iter": 60}}
META = {"run_id": "r0001", "target": "mtt", "strategy": "mscr2", "sources": "self,tag", "n": 2}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_planted_tags_score_near_one_and_noise_near_half(tmp_path: Path) -> None:
    names = ["t0", "t1", "t2", "t3", "t4", "zz_rare"]
    ids, X, Y = _planted_tagging()
    train = np.arange(len(ids)) % 4 != 0
    keep = train | (Y.sum(axis=1) > 0)  # every track has a tag: drop untagged test tracks
    # zz_rare tags the untagged training tracks only: no test positive, so it is not scored
    Y = np.column_stack([Y, train & (Y.sum(axis=1) == 0)]).astype(int)
    ids, X, Y, test = [i for i, k in zip(ids, keep) if k], X[keep], Y[keep], ~train[keep]
    files = _tagging_files(tmp_path, ids, X, Y, names, test)
    table = evaluate_representation(files["features"], "tagging", SETTINGS, META, labels=files["labels"],
                                    splits=files["splits"])
    assert table.metric.tolist() == ["roc_auc", "pr_auc", "roc_auc", "pr_auc"]
    assert table.main.tolist() == [1, 0, 1, 0] and set(table.protocol) == {"mlp-tagger"}
    # zz_rare has positives in training only: left out of the test averages
    assert table.n_tags.tolist() == [5] * 4 and table.n_tags_dropped.tolist() == [1] * 4
    assert (table[table.metric == "roc_auc"].value > 0.9).all()
    assert (table[table.metric == "pr_auc"].value > 0.8).all()
    assert table.seed.nunique() == 2  # a fixed split repeats with new seeds
    write_scores(table, tmp_path / "scores.tsv")
    back = read_score_file(tmp_path / "scores.tsv")
    assert back.main.tolist() == [1, 0, 1, 0] and back.n_tags.tolist() == [5] * 4

    noise = np.random.default_rng(9).normal(size=X.shape)
    files = _tagging_files(tmp_path, ids, noise, Y, names, test)
    table = evaluate_representation(files["features"], "tagging", SETTINGS, META, labels=files["labels"],
                                    splits=files["splits"], main_metric="pr_auc")
    assert table.main.tolist() == [0, 1, 0, 1]
    assert (table[table.metric == "roc_auc"].value - 0.5).abs().max() < 0.12


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_torch_tagger_matches_scikit_learn_within_seed_noise() -> None:
    ids, X, Y = _planted_tagging(n=240, seed=2)
    tr = np.arange(len(ids)) % 4 != 0
    got = {}
    for backend in ("sklearn", "torch"):
        params = MLPParams(hidden=(64, 64), max_iter=60, backend=backend)
        got[backend] = fit_tagging(X[tr], Y[tr], X[~tr], Y[~tr], params, seed=1)
    assert got["torch"].scored == got["sklearn"].scored == 5
    assert got["torch"].roc_auc > 0.9 and abs(got["torch"].roc_auc - got["sklearn"].roc_auc) < 0.05
    single = fit_tagging(X[tr], Y[tr, :1], X[~tr], Y[~tr, :1], MLPParams(hidden=(16,), max_iter=30), seed=1)
    assert single.scored == 1 and single.roc_auc > 0.8


def test_score_file_main_column_checks(tmp_path: Path) -> None:
    base = dict(run_id="r1", target="mtt", seed=1, strategy="ssr", sources="tag", n=1, protocol="mlp-tagger")
    rows = [dict(base, repetition=r, metric=m, value=0.7) for r in (0, 1) for m in ("roc_auc", "pr_auc")]
    path = tmp_path / "s.tsv"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match="several metrics per repetition but no 'main' column"):
        read_score_file(path)
    pd.DataFrame(rows).assign(main=1).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match="repetition 0 has 2 rows with main 1"):
        read_score_file(path)
    pd.DataFrame(rows).assign(main=[1, 0, 0, 1]).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"main metric differs between repetitions \(\['pr_auc', 'roc_auc'\]\)"):
        read_score_file(path)


# ---------------------------------------------------------------- analysis

def _add_pr_auc(scores_dir: Path, target: str, main: str = "roc_auc") -> None:
    """Turn the synthetic roc_auc files of ``target`` into two-metric tagging files."""
    for path in scores_dir.glob(f"*/{target}.tsv"):
        roc = pd.read_csv(path, sep="\t")
        pr = roc.assign(metric="pr_auc", value=roc.value - 0.5)
        both = pd.concat([roc, pr]).sort_values(["repetition", "metric"], ascending=[True, False])
        both = both.assign(protocol="mlp-tagger", main=(both.metric == main).astype(int), n_tags=48,
                           n_tags_dropped=2)
        both.to_csv(path, sep="\t", index=False)


@pytest.mark.parametrize("main", ["roc_auc", "pr_auc"])
def test_analysis_takes_the_main_metric_of_a_tagging_target(tmp_path: Path, main: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from onerep.analysis import figures
    from onerep.analysis.figures import fig08_ssr_by_source, fig09_by_strategy
    from onerep.analysis.summary import best_per_target
    from onerep.analysis.tables import collect_step, models_step
    from support.simulate import design_with_sources, write_synthetic_study

    runs = design_with_sources(["a", "b", "c"], ["ssr", "mscr2"], 1, 2, seed=0)
    targets = {"gtzan": ("accuracy", 0.7, 0.05), "arousal": ("r2", 0.5, 0.05), "mtt": ("roc_auc", 0.85, 0.02)}
    settings = write_synthetic_study(tmp_path, runs, targets=targets, seed=1)
    _add_pr_auc(tmp_path / "scores", "mtt", main)
    settings.update({"analysis.bootstrap": 4, "seed": 1})
    A = tmp_path / "analysis"
    info = collect_step(tmp_path / "scores", tmp_path / "design" / "runs.tsv", settings, A)
    assert info["protocols"]["mtt"] == "mlp-tagger"
    scores = pd.read_csv(A / "scores.tsv", sep="\t")
    assert set(scores[scores.target == "mtt"].metric) == {"roc_auc", "pr_auc"}
    std = pd.read_csv(A / "standardised.tsv", sep="\t")
    mtt = std[std.target == "mtt"]
    assert set(mtt.metric) == {main} and len(mtt) == std.run_id.nunique()
    one = scores[(scores.target == "mtt") & (scores.metric == main)]
    first = mtt.iloc[0]
    assert first.y == pytest.approx(one[one.run_id == first.run_id].value.mean())
    fit = models_step(A / "standardised.tsv", settings, A)
    assert fit["observations"] == 3 * (len(runs))
    label = {"roc_auc": "ROC-AUC (macro)", "pr_auc": "PR-AUC (macro)"}[main]
    ylabels: dict[str, str] = {}
    save = figures.save

    def record(fig, out_dir, name, data):
        ylabels.update({ax.get_title(): ax.get_ylabel() for ax in fig.axes if ax.get_title()})
        return save(fig, out_dir, name, data)

    monkeypatch.setattr(figures, "save", record)
    for draw in (fig08_ssr_by_source, fig09_by_strategy):
        ylabels.clear()
        assert draw(std, A / "figures").exists()
        assert ylabels == {"gtzan": "accuracy", "arousal": "R²", "mtt": label}
    assert best_per_target(std).set_index("target").loc["mtt", "metric"] == label


def test_mixed_main_metrics_of_one_target_are_an_error(tmp_path: Path) -> None:
    from onerep.analysis.tables import collect_step
    from support.simulate import design_with_sources, write_synthetic_study

    runs = design_with_sources(["a", "b"], ["ssr"], 2, 0, seed=0)
    settings = write_synthetic_study(tmp_path, runs, targets={"mtt": ("roc_auc", 0.85, 0.02)}, seed=1)
    _add_pr_auc(tmp_path / "scores", "mtt")
    victim = next((tmp_path / "scores").glob("ssr_*/mtt.tsv"))
    df = pd.read_csv(victim, sep="\t")
    df.assign(main=1 - df.main).to_csv(victim, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"target mtt: score files mix main metrics \['pr_auc', 'roc_auc'\]"):
        collect_step(tmp_path / "scores", tmp_path / "design" / "runs.tsv", settings, tmp_path / "analysis")


# ---------------------------------------------------------------- workflow

@pytest.mark.workflow
def test_rules_plan_tagging_targets(tmp_path: Path, repo: Path, env_with_venv: dict) -> None:
    """Dry run of targets.smk + evaluate.smk with both tagging kinds: their manifests take
    the audio folder as input, and one evaluate_tagging job per (representation, target)
    carries that target's main metric."""
    exe = shutil.which("snakemake", path=env_with_venv["PATH"])
    if exe is None:
        pytest.skip("snakemake is not installed")
    runs = "import pandas as pd\nRUN_IDS = ['run-a']\nRUNS = pd.DataFrame({'run_id': ['run-a'], " \
           "'strategy': ['ssr'], 'sources': ['tag'], 'n': [1]})"
    (tmp_path / "Snakefile").write_text(rules_snakefile("targets", "evaluate", between={"evaluate": runs}))
    (tmp_path / "config.yaml").write_text(json.dumps({
        "results": "results", "design": {"sources": ["self", "tag"], "strategies": ["ssr"]},
        "sources": {"names": ["self", "tag"]}, "extract": {"baselines": []},
        "targets": [{"name": "g", "kind": "gtzan", "root": "data/g"},
                    {"name": "mtg", "kind": "mtg_jamendo", "root": "data/mtg/data", "audio_root": "audio/mtg",
                     "subset": "genre", "main_metric": "pr_auc"},
                    {"name": "mtt", "kind": "magnatagatune", "root": "data/mtt"}]}))
    for p in ("data/g", "data/mtg/data/splits/split-0", "audio/mtg", "data/mtt"):
        (tmp_path / p).mkdir(parents=True)
    # an mtg_jamendo target's inputs are the split files it reads, not its whole data folder
    split_files = [f"data/mtg/data/splits/split-0/autotagging_genre-{part}.tsv"
                   for part in ("train", "validation", "test")]
    for p in split_files:
        (tmp_path / p).write_text("TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n")
    for t in ("g", "mtg", "mtt"):
        for p in (f"results/mel/{t}.h5", f"results/features/run-a/{t}.h5"):
            (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / p).write_bytes(b"")
    out = subprocess.run([exe, "-n", "--cores", "1", "--configfile", "config.yaml", "--printshellcmds",
                          "--forceall"], cwd=tmp_path, env=env_with_venv, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    jobs = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    assert jobs["target_manifest"] == 3 and jobs["target_splits"] == 3
    assert jobs["evaluate_mlp"] == 1 and jobs["evaluate_tagging"] == 2
    commands = [line for line in text.splitlines() if "onerep evaluate" in line]
    mtg = next(line for line in commands if "mtg.tsv" in line)
    mtt = next(line for line in commands if "mtt.tsv" in line)
    assert '"main_metric": "pr_auc"' in mtg and '"main_metric": "roc_auc"' not in mtg
    assert '"main_metric": "roc_auc"' in mtt and "mtg.tsv" not in mtt
    assert '"task": "tagging"' in mtg and '"target": "g"' not in mtg
    assert "audio/mtg" in text
    assert all(p in text for p in split_files)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_commands_from_native_layout_to_scores(mtg: dict, tmp_path: Path) -> None:
    """onerep target-manifest, target-splits and evaluate --task tagging in a row."""
    from onerep.cli import main

    out = tmp_path / "targets" / "mtg"
    assert main(["target-manifest", "--settings", json.dumps(mtg["cfg"]), "--out-dir", str(out)]) == 0
    settings = {"seed": 3, "evaluate.repetitions": 2, "evaluate.test_fraction": 0.2,
                "evaluate.mlp": {"hidden": [8], "max_iter": 5}}
    assert main(["target-splits", "--target", "mtg", "--labels", str(out / "labels.tsv"), "--report",
                 str(out / "report.tsv"), "--settings", json.dumps(settings), "--out", str(out / "splits.tsv")]) == 0
    ids = read_labels(out / "labels.tsv").track_id.tolist()
    feats = tmp_path / "feat.h5"
    with h5py.File(feats, "w") as f:
        f.create_dataset("track_id", data=np.array(ids, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("features", data=np.random.default_rng(0).normal(size=(len(ids), 4)).astype(np.float32))
    scores = tmp_path / "scores.tsv"
    assert main(["evaluate", "--task", "tagging", "--main-metric", "pr_auc", "--features", str(feats),
                 "--labels", str(out / "labels.tsv"), "--splits", str(out / "splits.tsv"), "--settings",
                 json.dumps(settings), "--run-meta", json.dumps(dict(META, target="mtg")), "-o", str(scores)]) == 0
    table = read_score_file(scores)
    assert table.metric.tolist() == ["roc_auc", "pr_auc"] * 2 and table.main.tolist() == [0, 1] * 2
    # test tracks: lounge|voice and happy; only tags with positives and negatives among them count
    assert table.n_tags.tolist() == [3] * 4 and table.n_tags_dropped.tolist() == [3] * 4


def test_mtg_jamendo_without_any_audio_names_the_path_it_looked_for(mtg: dict, tmp_path: Path) -> None:
    (tmp_path / "empty_audio").mkdir()
    with pytest.raises(ValueError, match=r"none of the 7 tracks .* \(looked for e.g. .*empty_audio/82/382.mp3\)"):
        load_target(dict(mtg["cfg"], audio_root=str(tmp_path / "empty_audio")))
