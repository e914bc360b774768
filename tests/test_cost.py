"""The cost preview (``onerep cost``, and ``onerep design --configfile``): crops, passes,
windows and device-hours counted by hand on a small study, then the paper's and the demo's."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from onerep.audio.store import write_store
from onerep.cli import main
from onerep.config import load
from onerep.design import runs_table
from onerep.design.cost import TrainPlan, corpus_size, run_count, target_sizes, windows_of
from onerep.design.throughput import (
    MEASURED,
    PROXY,
    Measured,
    parse_rates,
    read_table,
    study_rates,
    write_table,
)
from onerep.models.strategies import STRATEGIES

HAND = """\
study: hand
seed: 5
results: results
design:
  sources: [self, bpm, tag]
  strategies: [ssr, mscr2, msscr]
  replicates_single: 2
  replicates_all: 1
  budget: 0
train:
  epochs: 3
  batch_size: 10
extract:
  baselines: [rand]
targets:
  - {name: a, kind: gtzan, root: data/a}
  - {name: b, kind: irmas, root: data/b}
"""
RATES = ["--samples-per-second", "ssr=10", "mscr2=20", "--windows-per-second", "100"]


@pytest.fixture
def hand(tmp_path, monkeypatch) -> Path:
    """A study of known size: 25 training and 5 validation tracks (a split file), target
    ``a`` with a mel store of 5 clips, target ``b`` (IRMAS) without one."""
    (tmp_path / "hand.yaml").write_text(HAND)
    corpus = tmp_path / "results" / "corpus"
    corpus.mkdir(parents=True)
    pd.DataFrame({"track_id": [f"t{i}" for i in range(30)],
                  "split": ["train"] * 25 + ["valid"] * 5}).to_csv(corpus / "split.tsv", sep="\t",
                                                                   index=False)
    lengths = [216, 217, 432, 100, 650]  # 1 + 2 + 2 + 1 + 4 windows
    write_store(tmp_path / "results" / "mel" / "a.h5", [f"t{i}" for i in range(5)],
                [np.zeros((n, 2, 4), np.float16) for n in lengths], {"n_mels": 4})
    monkeypatch.chdir(tmp_path)
    return tmp_path / "hand.yaml"


def _rows(text: str) -> dict[str, list[str]]:
    """The phase rows of the printed preview: phase -> its cells."""
    out = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] in ("1", "2", "3", "rand", "total") and len(cells) == 7:
            out[cells[0]] = cells[1:]
    return out


# ---------------------------------------------------------------------------------
# Counted by hand
# ---------------------------------------------------------------------------------
def test_windows_follow_the_even_cover_rule():
    assert [windows_of(n, 216) for n in (1, 100, 216, 217, 432, 433, 650, 2584)] == \
        [1, 1, 1, 2, 2, 3, 4, 12]


def test_a_small_study_counted_by_hand(hand, capsys):
    """l = ceil(25 / 10) = 3 batches per source per epoch, 3 epochs, 5 validation tracks.

    Training crops: phase 1 (SS-R x 2 replicates): self 3x10x2 + bpm 3x10 + tag 3x10 = 120
    per epoch and replicate -> 720; phase 2: MS-CR@2 and MSS-CR on self, bpm, tag, each
    l x b x (m + 1) = 3x10x4 = 120 per epoch -> 720. Validation passes per epoch: SS-R
    self 2x5, bpm 5, tag 5 (-> 120); MS-CR@2 and MSS-CR 2 labelled paths x 5 + 2x5 for
    self pairs (-> 120). Windows per representation: 10 (a) + 6,705 x 2 (b, the paper's
    IRMAS: 3 s = 259 frames = 2 windows) = 13,420; 6 + 2 runs + 3 rand baselines.
    Seconds at ssr 10 crops/s, mscr2 20 (MSS-CR by proxy), 100 passes/s:
    phase 1 720/10 + (120 + 6 x 13,420)/100 = 878.4; phase 2 720/20 + (120 + 2 x 3 x
    13,420)/100 = 842.4; rand (13,420 + 2 x 3 x 13,420)/100 = 939.4 -> 2,660.2 s.
    """
    assert main(["cost", "--configfile", str(hand), *RATES, "--device", "cuda", "--tsv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t",
                        dtype={"phase": str}).set_index("phase")
    assert table.loc["1", ["runs", "trained", "train_crops", "valid_passes", "extract_windows"]].tolist() \
        == [6, 6, 720, 120, 6 * 13_420]
    assert table.loc["2", ["runs", "trained", "train_crops", "valid_passes", "extract_windows"]].tolist() \
        == [2, 2, 720, 120, 2 * 13_420]
    assert table.loc["rand", ["runs", "trained", "train_crops", "extract_windows", "extract_passes"]
                     ].tolist() == [3, 0, 0, 3 * 13_420, 13_420 + 2 * 3 * 13_420]
    assert table.loc["total", "train_crops"] == 1_440
    hours = table["hours"].to_dict()
    assert hours["1"] == pytest.approx(878.4 / 3600, rel=1e-5)
    assert hours["2"] == pytest.approx(842.4 / 3600, rel=1e-5)
    assert hours["rand"] == pytest.approx(939.4 / 3600, rel=1e-5)
    assert hours["total"] == pytest.approx(2_660.2 / 3600, rel=1e-5)

    assert main(["cost", "--configfile", str(hand), *RATES, "--device", "cuda"]) == 0
    text = capsys.readouterr().out
    assert "25 training + 5 validation tracks (results/corpus/split.tsv (after the label filter))" in text
    assert "l = ceil(25 / 10) = 3 batches per source per epoch" in text
    assert re.search(r"a\s+10\s+results/mel/a\.h5", text)
    assert re.search(r"b\s+13,410\s+6,705 x 3 s, the paper's size", text)
    assert _rows(text)["total"] == ["11", "8", "1,440", "240", "147,620", "0.74"]


def test_assembled_msscr_probe_epochs_and_a_cap_change_the_counts(hand):
    config = load(hand)
    corpus = corpus_size(config)
    windows = sum(t.windows for t in target_sizes(config))
    sources = ["self", "bpm", "tag"]
    plain = TrainPlan(epochs=3, batch_size=10)
    assert run_count("m", 2, "mscr2", sources, corpus, plain, windows).train_crops == 360
    assembled = run_count("m", 2, "msscr", sources, corpus, TrainPlan(3, 10, mss_from_ssr=True), windows)
    assert (assembled.trained, assembled.train_crops, assembled.valid_passes) == (False, 0, 0)
    assert assembled.extract_passes == 3 * windows  # still extracted, with 3 paths per window
    probe = TrainPlan(epochs=3, batch_size=10, probe_epochs=2)
    assert run_count("m", 2, "mscr2", sources, corpus, probe, windows).train_crops == 600  # 5 epochs
    assert run_count("s", 1, "ssr", ["bpm"], corpus, probe, windows).train_crops == 90  # no probe
    # a cap of 4 iterations (of 9): 4 x 10 x 4 / 3 crops per epoch, 160 in 3 epochs
    capped = TrainPlan(epochs=3, batch_size=10, max_iterations_per_epoch=4)
    assert run_count("m", 2, "mscr2", sources, corpus, capped, windows).train_crops == 160
    assert run_count("s", 1, "ssr", ["self"], corpus, capped, windows).train_crops == 180  # 3 < 4


def test_corpus_size_comes_from_the_best_source_at_hand(hand):
    config = load(hand)
    assert (corpus_size(config).n_train, corpus_size(config).n_valid) == (25, 5)
    given = corpus_size(config, train_tracks=90)
    assert (given.n_train, given.n_valid, given.origin) == (90, 10, "given on the command line")
    (hand.parent / "results" / "corpus" / "split.tsv").unlink()
    summary = hand.parent / "results" / "labels"
    summary.mkdir()
    pd.DataFrame({"source": ["bpm", "survivors"], "survivors": [40, 40]}).to_csv(
        summary / "summary.tsv", sep="\t", index=False)
    assert (corpus_size(config).n_train, corpus_size(config).n_valid) == (36, 4)
    (summary / "summary.tsv").unlink()
    manifest = hand.parent / "manifest.tsv"
    manifest.write_text("track_id\tlocation\tmd5\n" + "".join(f"t{i}\tx\ty\n" for i in range(50)))
    size = corpus_size({**config, "corpus": {"manifest": "manifest.tsv"}})
    assert (size.n_train, size.n_valid) == (45, 5) and "upper bound" in size.origin
    paper = corpus_size(config)
    assert (paper.n_train, paper.n_valid, paper.frames) == (41_841, 4_649, 2_584)
    assert "the paper's MSD corpus" in paper.origin


# ---------------------------------------------------------------------------------
# The paper and the demo
# ---------------------------------------------------------------------------------
def test_the_papers_study_costs_16_7_billion_training_crops(repo, tmp_path, monkeypatch, capsys):
    """41,841 training tracks at b = 128: l = 327; 200 epochs. Phase 1: 6 replicates of 8
    SS-R runs, self counting twice: 6 x 9 x 327 x 128 x 200; phase 2: 25 runs of all 8
    sources with self: 25 x 9 x ...; phase 3: the sum of (n + [self]) over its 352 runs."""
    monkeypatch.chdir(tmp_path)  # no results of a real study around
    config = load(repo / "config/paper.yaml")
    runs = runs_table(config)
    per = 327 * 128 * 200
    p3 = runs[runs.phase == 3]
    weight = int((p3["n"] + p3["sources"].str.split(",").map(lambda s: "self" in s)).sum())
    assert main(["cost", "--configfile", str(repo / "config/paper.yaml"), "--samples-per-second",
                 "50000"]) == 0
    text = capsys.readouterr().out
    rows = _rows(text)
    assert rows["1"][:3] == ["48", "48", f"{6 * 9 * per:,}"] == ["48", "48", "452,044,800"]
    assert rows["2"][:3] == ["25", "25", f"{25 * 9 * per:,}"] == ["25", "25", "1,883,520,000"]
    assert rows["3"][:3] == ["352", "352", f"{weight * per:,}"]
    assert rows["total"][2] == f"{(54 + 225 + weight) * per:,}"
    assert 16e9 < (54 + 225 + weight) * per < 17e9
    # 7 targets, 717,990 windows per representation, for 425 runs and 6 rand baselines
    assert "717,990 extraction windows per representation" in text
    assert rows["total"][4] == f"{431 * 717_990:,}"
    assert "cost preview of study 'kim2020' on cuda" in text and "GPU-hours" in text
    assert "float16 = 61.5 GB per training run" in text
    assert re.search(r"80 GB GPU: mel frames \(61\.5 GB\) held on the GPU.*one run per GPU", text)
    # a 40 GB card: the frames in pinned host memory, which paper.yaml's 72,000 MB job holds
    assert re.search(r"40 GB GPU: .*held in pinned host memory \(the job needs about 64\.7 GB\)", text)
    # phase 1 by hand: validation 9 x 4,649 passes per epoch and replicate (self pairs 2 x,
    # 7 labelled sources 1 x) = 50,209,200; extraction 48 x 717,990 windows, one path each;
    # training at 50,000 crops/s, forward passes at 3 x that
    assert rows["1"][3:5] == [f"{9 * 4_649 * 200 * 6:,}", f"{48 * 717_990:,}"]
    seconds = 452_044_800 / 50_000 + (50_209_200 + 48 * 717_990) / 150_000
    assert rows["1"][5] == f"{seconds / 3600:.2f}" == "2.67"


def test_the_demo_preview_counts_its_runs_and_small_clips(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = str(repo / "config/config.yaml")
    assert main(["cost", "--configfile", cfg, "--samples-per-second", "500"]) == 0
    text = capsys.readouterr().out
    assert "630 training + 70 validation tracks (demo.corpus_tracks: 700 tracks" in text
    rows = _rows(text)
    # 3 SS-R runs (tag, bpm, taste) at l = ceil(630 / 32) = 20, 14 epochs; 5 all-source runs,
    # MSS-CR assembled (train.mss_from_ssr); 4 phase-3 runs
    assert rows["1"][:3] == ["3", "3", f"{3 * 20 * 32 * 14:,}"]
    assert rows["2"][:3] == ["5", "4", f"{4 * 20 * 32 * 3 * 14:,}"]
    assert rows["total"][:2] == ["18", "10"]
    assert "on cpu" in text and "CPU-hours" in text
    # 5 s clips: 431 frames, 2 windows each (IRMAS's 3 s: 259 frames, 2 windows)
    assert re.search(r"gtzan\s+400\s+200 x 5 s, demo settings", text)
    assert re.search(r"irmas\s+480\s+240 x 3 s, demo settings", text)
    assert main(["cost", "--configfile", cfg, "--samples-per-second", "500", "--train-tracks", "508"]) == 0
    assert _rows(capsys.readouterr().out)["1"][2] == f"{3 * 16 * 32 * 14:,}"


def test_design_prints_the_cost_preview_after_the_design(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["design", "--configfile", str(repo / "config/paper.yaml"), "--budget", "30",
                 "--out", str(tmp_path / "d"), "--samples-per-second", "50000"]) == 0
    text = capsys.readouterr().out
    assert "48 phase-1 + 25 phase-2 + 30 phase-3" in text
    rows = _rows(text)
    assert rows["3"][:2] == ["30", "30"] and rows["total"][0] == "109"


# ---------------------------------------------------------------------------------
# Throughputs
# ---------------------------------------------------------------------------------
def test_rates_are_one_number_or_per_strategy_with_proxies():
    assert parse_rates(["5e4"], "x") == (50_000.0, {})
    assert parse_rates(["ssr=3", "mscr2=2"], "x") == (None, {"ssr": 3.0, "mscr2": 2.0})
    with pytest.raises(ValueError, match="unknown strategy 'sr'"):
        parse_rates(["sr=3"], "--samples-per-second")
    with pytest.raises(ValueError, match="not a number"):
        parse_rates(["fast"], "--samples-per-second")
    with pytest.raises(ValueError, match="positive"):
        parse_rates(["0"], "--samples-per-second")
    r = study_rates(list(STRATEGIES), "cuda", 1.0, 128, samples=["ssr=100"])
    assert all(r.get("train", s) == 100 for s in STRATEGIES)  # every proxy chain ends at ssr
    assert r.get("forward", "msscr") == 300  # 3x the training rate without --windows-per-second
    r = study_rates(["ssr", "mscr6"], "cuda", 1.0, 128, samples=["ssr=100", "mscr2=40"],
                    windows=["1000"])
    assert (r.get("train", "mscr6"), r.get("forward", "mscr6")) == (40, 1000)
    assert set(PROXY) <= set(STRATEGIES) and all(p in STRATEGIES for p in PROXY.values())


def test_a_measured_table_gives_the_best_mode_per_strategy(tmp_path):
    rows = [Measured("cuda", "H100", "ssr", 1.0, 128, "eager", 20_000.0, 90_000.0, "d"),
            Measured("cuda", "H100", "ssr", 1.0, 128, "graph", 55_000.0, 90_000.0, "d"),
            Measured("cuda", "H100", "mscr2", 1.0, 128, "eager", 18_000.0, 11_000.0, "d"),
            Measured("cpu", "laptop", "ssr", 1.0, 128, "eager", 300.0, 900.0, "d")]
    write_table(tmp_path / "t.tsv", rows)
    assert read_table(tmp_path / "t.tsv") == rows
    r = study_rates(["ssr", "mscr4"], "cuda", 1.0, 128, table=read_table(tmp_path / "t.tsv"))
    assert (r.get("train", "ssr"), r.get("train", "mscr4"), r.get("forward", "mscr4")) == \
        (55_000, 18_000, 11_000)
    assert "H100" in r.origin and "ssr graph" in r.origin
    missing = study_rates(["ssr"], "cuda", 0.5, 128, table=rows)
    assert not missing.known and "not measured for cuda at width 0.5" in missing.origin
    (tmp_path / "bad.tsv").write_text("device\thardware\n cuda\t\n")
    with pytest.raises(ValueError, match="bad.tsv, line 2: no value for"):
        read_table(tmp_path / "bad.tsv")


def test_the_stored_table_holds_valid_rows():
    for r in MEASURED:
        assert r.device in ("cpu", "cuda") and r.strategy in STRATEGIES
        assert r.train > 0 and r.forward > 0 and r.batch >= 2 and r.width > 0
        assert math.isfinite(r.train) and r.hardware and r.measured
