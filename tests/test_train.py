"""Training (Algorithm 1): learning, logs, loss weighting, exact resume, errors, MSS-CR assembly."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys

import pandas as pd
import pytest
import torch

from onerep import cli
from onerep.models import build_network, load_model
from onerep.models.assemble import assemble_msscr, pick_ssr_runs
from onerep.models.checkpoint import load_checkpoint
from onerep.models.data import load_run_data
from onerep.models.loop import NonFiniteLossError, Trainer
from onerep.models.settings import TrainSettings
from onerep.models.train import train_run
from support import train_killed
from support.corpus import write_synthetic_corpus

torch.set_num_threads(1)
SOURCES = ["self", "bpm", "tag"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus"), n_tracks=40, frames=250,
                                  n_mels=32, sources=SOURCES, k=6, seed=3)


def _settings(**kw) -> TrainSettings:
    base = dict(epochs=2, batch_size=8, width=0.125, checkpoint_every=1, device="cpu")
    base.update(kw)
    return TrainSettings.from_mapping(base)


def _labels(corpus, sources=SOURCES):
    """The labels files of the labelled sources, as the train rule lists them."""
    return [corpus.labels_dir / f"{s}.h5" for s in sources if s != "self"]


def _run(corpus, out, strategy="mscr2", sources=SOURCES, seed=5, run_id="r1", **kw):
    return train_run(run_id, strategy, list(sources), seed, corpus.mel, corpus.split, corpus.scaler,
                     _labels(corpus, sources), _settings(**kw), out, threads=1)


def _params(path):
    net, _ = load_model(path)
    return net.state_dict()


def _same_state(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------------------------
def test_training_learns_the_planted_labels_and_logs_every_epoch(corpus, tmp_path):
    model = _run(corpus, tmp_path, strategy="mssr_fc", sources=["bpm", "tag"], epochs=6,
                 learning_rate=2e-3)
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert list(log.columns) == ["run_id", "phase", "epoch", "source", "iterations", "train_loss",
                                 "valid_loss", "weight", "epoch_seconds"]
    assert len(log) == 6 * 2 and set(log["source"]) == {"bpm", "tag"}
    n_train = 30  # 40 tracks, 10 validation
    per_epoch = log.groupby("epoch")["iterations"].sum()
    assert (per_epoch == math.ceil(n_train / 8) * 2).all()  # L = l x m
    for s in ("bpm", "tag"):
        v = log.loc[log["source"] == s, "valid_loss"].to_numpy()
        assert v[-1] < 0.8 * v[0], (s, v)
    net, meta = load_model(model)
    assert meta["strategy"] == "mssr_fc" and meta["sources"] == ["bpm", "tag"]
    assert meta["train_tracks"] == 30 and meta["valid_tracks"] == 10 and meta["seed"] == 5
    assert meta["mel_params"]["n_mels"] == 32 and len(meta["scaler_mean"]) == 32
    assert meta["settings"]["learning_rate"] == 2e-3
    assert (tmp_path / "checkpoint.pt").exists()


def test_a_cap_below_algorithm_1_warns_once_and_is_recorded(corpus, tmp_path, caplog):
    n_train, b, m = 30, 8, 2
    full = math.ceil(n_train / b) * m  # 8 iterations
    with caplog.at_level(logging.WARNING, logger="onerep.models"):
        model = _run(corpus, tmp_path / "capped", sources=["bpm", "tag"], epochs=2,
                     max_iterations_per_epoch=3)
    warnings = [r for r in caplog.records if "Algorithm 1" in r.getMessage()]
    assert len(warnings) == 1 and f"= {full} iterations" in warnings[0].getMessage()
    _, meta = load_model(model)
    assert meta["epoch_capped"] is True
    assert meta["iterations_per_epoch"] == 3 and meta["algorithm1_iterations_per_epoch"] == full
    log = pd.read_csv(tmp_path / "capped" / "train_log.tsv", sep="\t")
    assert (log.groupby("epoch")["iterations"].sum() == 3).all()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="onerep.models"):
        model = _run(corpus, tmp_path / "full", sources=["bpm", "tag"], epochs=1,
                     max_iterations_per_epoch=full)  # a cap that does not bite
    assert not [r for r in caplog.records if "Algorithm 1" in r.getMessage()]
    _, meta = load_model(model)
    assert meta["epoch_capped"] is False and meta["iterations_per_epoch"] == full


def test_the_default_study_follows_algorithm_1(repo):
    """The demo must not cap epochs: an epoch of a run with m sources is l x m iterations."""
    from onerep.config import load

    for name in ("config/config.yaml", "config/paper.yaml"):
        assert load(repo / name)["train"]["max_iterations_per_epoch"] is None, name


def test_same_seed_same_model_other_seed_other_model(corpus, tmp_path):
    a = _params(_run(corpus, tmp_path / "a", epochs=1))
    b = _params(_run(corpus, tmp_path / "b", epochs=1))
    c = _params(_run(corpus, tmp_path / "c", epochs=1, seed=6))
    assert _same_state(a, b)
    assert not _same_state(a, c)


def test_extending_a_finished_run_equals_training_longer(corpus, tmp_path):
    _run(corpus, tmp_path / "ext", epochs=1)
    extended = _params(_run(corpus, tmp_path / "ext", epochs=2))
    straight = _params(_run(corpus, tmp_path / "straight", epochs=2))
    assert _same_state(extended, straight)
    log = pd.read_csv(tmp_path / "ext" / "train_log.tsv", sep="\t")
    assert sorted(set(log["epoch"])) == [1, 2]


def test_checkpoint_of_other_settings_is_not_resumed(corpus, tmp_path):
    _run(corpus, tmp_path / "x", epochs=1, learning_rate=1e-3)
    first = _params(tmp_path / "x" / "model.pt")
    # a resumed checkpoint at epoch 1 of 1 would reproduce the first model unchanged
    changed = _params(_run(corpus, tmp_path / "x", epochs=1, learning_rate=5e-4))
    assert not _same_state(first, changed)
    assert load_checkpoint(tmp_path / "x" / "checkpoint.pt")["epoch"] == 1


def test_killed_run_resumes_to_the_same_parameters(corpus, tmp_path, env_with_venv):
    """SIGKILL right after epoch 1's checkpoint, resume, compare with an uninterrupted run."""
    settings = json.dumps({"train": {"epochs": 3, "batch_size": 8, "width": 0.125,
                                     "checkpoint_every": 1, "device": "cpu",
                                     "loss_weighting": "inverse_val_loss", "mss_from_ssr": False},
                           "audio.crop_frames": 216})

    def cmd(out):
        return [sys.executable, "-m", "onerep.models.commands", "train", "--run-id", "r9", "--strategy", "mscr2",
                "--sources", ",".join(SOURCES), "--seed", "11", "--mel", str(corpus.mel), "--split",
                str(corpus.split), "--scaler", str(corpus.scaler), "--labels",
                *map(str, _labels(corpus)), "--settings", settings, "--out", str(out), "--threads", "1"]

    env = dict(env_with_venv, OMP_NUM_THREADS="1")
    killed = subprocess.Popen(train_killed.command(1, cmd(tmp_path / "run")[3:]), env=env,
                              stderr=subprocess.PIPE, text=True)
    # the uninterrupted reference, in this process meanwhile (one thread, like the subprocess)
    train_run("r9", "mscr2", SOURCES, 11, corpus.mel, corpus.split, corpus.scaler, _labels(corpus),
              TrainSettings.from_json(settings), tmp_path / "ref", threads=1)
    assert killed.wait() == -9, killed.stderr.read()
    assert not (tmp_path / "run" / "model.pt").exists()
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["epoch"] == 1
    resumed = subprocess.run(cmd(tmp_path / "run"), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr and "after epoch 1" in resumed.stderr
    assert "loss weights from the probe" not in resumed.stderr  # the probe is not rerun
    assert _same_state(_params(tmp_path / "run" / "model.pt"), _params(tmp_path / "ref" / "model.pt"))
    logs = [pd.read_csv(tmp_path / d / "train_log.tsv", sep="\t").drop(columns="epoch_seconds")
            for d in ("run", "ref")]
    pd.testing.assert_frame_equal(*logs)
    assert set(logs[0]["phase"]) == {"probe", "train"}


def test_inverse_validation_loss_weights(corpus, tmp_path):
    _run(corpus, tmp_path, epochs=1, loss_weighting="inverse_val_loss", probe_epochs=2)
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    probe = log[log["phase"] == "probe"]
    assert sorted(set(probe["epoch"])) == [1, 2] and (probe["weight"] == 1.0).all()
    inv = 1.0 / probe.groupby("source")["valid_loss"].mean()
    expected = inv * len(inv) / inv.sum()
    weights = log[log["phase"] == "train"].set_index("source")["weight"]
    for s in SOURCES:
        assert weights[s] == pytest.approx(expected[s], rel=1e-4)
    assert weights.mean() == pytest.approx(1.0, rel=1e-5)
    _, meta = load_model(tmp_path / "model.pt")
    assert meta["loss_weights"]["self"] == pytest.approx(expected["self"], rel=1e-4)


def test_non_finite_loss_stops_with_source_and_iteration(corpus):
    data = load_run_data(corpus.mel, corpus.split, corpus.scaler, _labels(corpus), SOURCES, 216)
    net = build_network("mscr6", SOURCES, k=data.k, width=0.125, seed=1)
    trainer = Trainer(net, data, _settings(), seed=1, device=torch.device("cpu"), run_id="bad")
    with torch.no_grad():
        net.branches["tag"].conv6.conv.weight.fill_(float("nan"))
    first_tag = trainer.schedule().index(SOURCES.index("tag"))
    trainer.gen_schedule.manual_seed(trainer.gen_schedule.initial_seed())  # replay the same schedule
    with pytest.raises(NonFiniteLossError,
                       match=rf"run bad: non-finite training loss \(nan\) for source 'tag' at train "
                             rf"epoch 3, iteration {first_tag + 1} of {trainer.iterations}"):
        trainer.run_epoch(3)


def test_msscr_trains_each_source_equally_often(corpus):
    data = load_run_data(corpus.mel, corpus.split, corpus.scaler, _labels(corpus), SOURCES, 216)
    for strategy, cap in (("msscr", None), ("msscr", 7), ("mscr2", 5)):
        net = build_network(strategy, SOURCES, k=data.k, width=0.125)
        trainer = Trainer(net, data, _settings(max_iterations_per_epoch=cap), seed=2,
                          device=torch.device("cpu"))
        sched = trainer.schedule()
        assert len(sched) == (cap or math.ceil(30 / 8) * 3)
        if strategy == "msscr":
            counts = sorted(sched.count(i) for i in range(3))
            assert counts[-1] - counts[0] <= 1


def test_settings_from_rule_json():
    s = TrainSettings.from_json(json.dumps({"train": {"epochs": 3, "mss_from_ssr": True},
                                            "audio.crop_frames": 100}))
    assert s.epochs == 3 and s.crop_frames == 100 and s.batch_size == 128
    assert TrainSettings.from_mapping({"train.width": 0.5}).width == 0.5
    with pytest.raises(ValueError, match="unknown training setting 'epoch'"):
        TrainSettings.from_mapping({"train": {"epoch": 3}})
    with pytest.raises(ValueError, match=r"'batch_size' \(train.batch_size\): 1 is less than the minimum of 2"):
        TrainSettings.from_mapping({"train": {"batch_size": 1}})


def _train_cli(corpus, out, sources, labels):
    return cli.main(["train", "--run-id", "x", "--strategy", "ssr", "--sources", sources, "--seed", "1",
                     "--mel", str(corpus.mel), "--split", str(corpus.split), "--scaler",
                     str(corpus.scaler), "--labels", *map(str, labels), "--out", str(out)])


def test_train_command_reports_missing_labels(corpus, tmp_path, capsys):
    rc = _train_cli(corpus, tmp_path / "x", "year", [corpus.labels_dir / "year.h5"])
    assert rc == 2
    assert f"labels of source 'year' not found: {corpus.labels_dir / 'year.h5'}" in capsys.readouterr().err


def test_train_command_names_unlisted_unreadable_and_foreign_label_files(corpus, tmp_path, capsys):
    # a labelled source without its file among --labels
    assert _train_cli(corpus, tmp_path / "a", "tag", []) == 2
    assert "no labels file given for source(s) tag" in capsys.readouterr().err
    # a file that is not HDF5
    bad = tmp_path / "bad" / "tag.h5"
    bad.parent.mkdir()
    bad.write_text("not hdf5")
    assert _train_cli(corpus, tmp_path / "b", "tag", [bad]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "cannot be read" in err
    # a file of a source the run does not learn from
    assert _train_cli(corpus, tmp_path / "c", "tag", _labels(corpus)) == 2
    assert "bpm.h5 (source 'bpm')" in capsys.readouterr().err


# ---------------------------------------------------------------------------------
def test_msscr_assembled_from_ssr_runs(corpus, tmp_path):
    paths = {s: _run(corpus, tmp_path / s, strategy="ssr", sources=[s], run_id=f"ssr-{s}", epochs=1)
             for s in ("tag", "self")}
    model = assemble_msscr("ms1", 4, ["tag", "self"], paths, tmp_path / "ms1")
    net, meta = load_model(model)
    assert meta["strategy"] == "msscr" and meta["assembled_from"] == {"tag": "ssr-tag", "self": "ssr-self"}
    x = torch.randn(4, 2, 216, 32)
    parts = [load_model(paths[s])[0].embed(x) for s in ("tag", "self")]
    assert torch.equal(net.embed(x), torch.cat(parts, 1))
    log = pd.read_csv(tmp_path / "ms1" / "train_log.tsv", sep="\t")
    assert set(log["run_id"]) == {"ms1"} and len(log) == 2


def test_pick_ssr_runs_is_seeded_and_complete():
    runs = pd.DataFrame({
        "run_id": ["a0", "a1", "b0", "b1", "m1", "m2"],
        "strategy": ["ssr", "ssr", "ssr", "ssr", "msscr", "mscr2"],
        "sources": ["bpm", "bpm", "tag", "tag", "tag,bpm", "tag,bpm"],
        "seed": [1, 2, 3, 4, 5, 6],
    })
    picked = pick_ssr_runs(runs, "m1")
    assert set(picked) == {"tag", "bpm"} and picked["bpm"] in ("a0", "a1") and picked["tag"] in ("b0", "b1")
    assert pick_ssr_runs(runs, "m1") == picked
    with pytest.raises(ValueError, match="not msscr"):
        pick_ssr_runs(runs, "m2")
    with pytest.raises(ValueError, match="needs an SS-R run of source 'tag'"):
        pick_ssr_runs(runs[runs["sources"] != "tag"], "m1")
