"""Analysis outputs on a synthetic study shaped like the demo: every figure (PNG + TSV),
Fig. 16 with a real network file, the summary, bad-input errors and determinism."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from onerep.analysis.coding import R_STAR, STRATEGY_LABELS
from onerep.analysis.figures import FIGURES, TRAINING, figures_step
from onerep.analysis.tables import collect_step, models_step
from onerep.models.summary import parameter_counts
from onerep.util import derive_seed
from support.simulate import write_synthetic_study

ALL = ["ssr", "mssr_fc", "mscr6", "mscr4", "mscr2", "msscr"]
SOURCES = ["self", "bpm", "year", "tag"]
DEMO_DESIGN = {"design": {"sources": SOURCES, "strategies": ALL, "replicates_single": 1, "replicates_all": 1,
                          "budget": 6}, "seed": 20200101}
K, WIDTH = 8, 0.125


def fake_upstream(root: Path, runs: pd.DataFrame, target: str = "gtzan", n_tracks: int = 40,
                  datasets: tuple[str, ...] = ("corpus", "gtzan"), sources: list[str] = SOURCES) -> None:
    """Models, training logs and features of every run on ``target``, its labels, topic tables,
    mel records and the labels summary: what the analysis reads besides the scores."""
    import h5py

    from onerep.models import build_network, save_model

    rng = np.random.default_rng(0)
    tracks = [f"t{i:03d}" for i in range(n_tracks)]
    classes = np.repeat(["blues", "jazz", "metal", "pop"], n_tracks // 4)
    for r in runs.itertuples():
        net = build_network(r.strategy, r.sources, k=K, width=WIDTH, seed=1)
        out = root / "runs" / r.run_id
        save_model(out / "model.pt", net, {"run_id": r.run_id, "seed": 1, "scaler_mean": [0.0],
                                           "scaler_std": [1.0], "mel_params": {}})
        rows = [dict(run_id=r.run_id, phase="train", epoch=e, source=s, iterations=4, train_loss=2 / e,
                     valid_loss=2.2 / e, weight=1.0, epoch_seconds=1.0)
                for e in (1, 2, 3) for s in r.sources.split(",")]
        pd.DataFrame(rows).to_csv(out / "train_log.tsv", sep="\t", index=False)
        feats = root / "features" / r.run_id / f"{target}.h5"
        feats.parent.mkdir(parents=True, exist_ok=True)
        X = np.abs(rng.normal(size=(n_tracks, 2 * net.embedding_size)))
        X += (classes == "metal")[:, None] * 1.5
        with h5py.File(feats, "w") as h5:
            h5.create_dataset("track_id", data=np.array(tracks, dtype=object), dtype=h5py.string_dtype())
            h5.create_dataset("features", data=X.astype(np.float32))
    (root / "targets" / target).mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"track_id": tracks, "label": classes, "group": tracks, "split": "train"}).to_csv(
        root / "targets" / target / "labels.tsv", sep="\t", index=False)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for s in sources:
        if s != "self":
            pd.DataFrame([dict(topic=t, rank=j, term=f"{s}{t}_{j}", weight=1 / (j + 1))
                          for t in range(K) for j in range(4)]).to_csv(root / "labels" / f"{s}.topics.tsv",
                                                                        sep="\t", index=False)
    pd.DataFrame({"source": sources, "tracks": 80, "survivors": 76}).to_csv(root / "labels" / "summary.tsv",
                                                                          sep="\t", index=False)
    (root / "mel").mkdir(parents=True, exist_ok=True)
    for d in datasets:
        pd.DataFrame({"track_id": [f"{d}{i}" for i in range(10)], "stage": ["decode"] * 9 + ["acquire"],
                      "status": ["ok"] * 9 + ["failed"], "reason": [""] * 9 + ["http_404: gone"]}).to_csv(
            root / "mel" / f"{d}.records.tsv", sep="\t", index=False)


def _tsne_files(root: Path, target: str) -> tuple:
    """The t-SNE step's files as the workflow lists them: features and models of the
    runs, the target's labels, the sources' topic tables."""
    return (sorted((root / "features").glob(f"*/{target}.h5")), sorted((root / "runs").glob("*/model.pt")),
            root / "targets" / target / "labels.tsv", sorted((root / "labels").glob("*.topics.tsv")))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> dict:
    """A finished synthetic study shaped like the demo (15 runs, 4 targets), analysed."""
    from onerep.analysis.commands import context_step, parameters_step, tsne_step
    from onerep.analysis.summary import write_summary
    from onerep.design import runs_table
    from onerep.design.commands import write_design

    root = tmp_path_factory.mktemp("study")
    runs = runs_table(DEMO_DESIGN)
    settings = write_synthetic_study(root, runs[["run_id", "strategy", "sources", "n"]], seed=5)
    write_design(DEMO_DESIGN, root / "design")
    settings.update({"seed": 20200101, "analysis.bootstrap": 12, "design.sources": SOURCES, "train.width": WIDTH,
                     "sources.k": K, "study": "synthetic", "demo.enabled": True})
    fake_upstream(root, runs)
    A = root / "analysis"
    collect_step(root / "scores", root / "design" / "runs.tsv", settings, A)
    models_step(A / "standardised.tsv", settings, A, threads=1)
    parameters_step(settings, A / "parameters.tsv")
    tsne_step(A / "standardised.tsv", *_tsne_files(root, "gtzan"), A,
              dict(settings, targets=[{"name": "gtzan", "kind": "gtzan"}]))
    figures_step(A, A / "figures", alias=root / "design" / "alias.tsv",
                 alias_phase3=root / "design" / "alias_phase3.tsv")
    context_step(root / "design" / "runs.tsv", [root / "mel" / f"{d}.records.tsv" for d in ("corpus", "gtzan")],
                 [root / "runs" / r / "train_log.tsv" for r in runs.run_id], root / "labels" / "summary.tsv",
                 A / "context", A / "figures")
    write_summary(A, A / "summary.md", settings)
    return {"root": root, "A": A, "settings": settings, "runs": runs}


@pytest.mark.parametrize("stem", [*FIGURES.values(), TRAINING])
def test_every_figure_is_a_png_with_its_data(study, stem):
    png = study["A"] / "figures" / f"{stem}.png"
    tsv = png.with_suffix(".tsv")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    data = pd.read_csv(tsv, sep="\t")
    assert len(data) > 0 and len(data.columns) > 1


def test_fig16_uses_the_best_run_and_names_topic_terms(study):
    std = pd.read_csv(study["A"] / "standardised.tsv", sep="\t")
    g = std[(std.target == "gtzan") & (std.kind == "run")]
    best = g.loc[g.y.idxmax(), "run_id"]
    data = pd.read_csv(study["A"] / "figures" / f"{FIGURES[16]}.tsv", sep="\t")
    assert set(data.run_id) == {best}
    assert len(data) == 40 and set(data.label) == {"blues", "jazz", "metal", "pop"}
    sources = [s for s in best.split("_")[-2].split("-") if s != "self"] if "_" in best else []
    term_cols = [c for c in data.columns if c.endswith("_terms")]
    assert term_cols, "the run's non-self sources name their topic terms"
    for c in term_cols:
        s = c[: -len("_terms")]
        assert s in sources
        assert data[c].str.startswith(s).all()
    # the planted class (metal features shifted) is separated in the map
    xy = data[["x", "y"]].to_numpy()
    metal = data.label.to_numpy() == "metal"
    inside = np.linalg.norm(xy[metal] - xy[metal].mean(0), axis=1).mean()
    between = np.linalg.norm(xy[~metal] - xy[metal].mean(0), axis=1).mean()
    assert inside < between


def test_model_tables_carry_formulas_intervals_and_seed(study):
    m1 = pd.read_csv(study["A"] / "model1.tsv", sep="\t")
    fixed = m1[m1.kind == "fixed"]
    assert set(fixed.parameter) >= {f"b0[{STRATEGY_LABELS[s]}]" for s in ALL}
    assert "b1[SS-R]" not in set(fixed.parameter)
    assert (fixed.ci_low <= fixed.estimate).all() and (fixed.estimate <= fixed.ci_high).all()
    assert m1.formula.str.contains("vc_formula", regex=False).all()
    assert m1.formula.str.contains("y*_i = b0[r,d]", regex=False).all()
    assert (m1.bootstrap_seed == derive_seed(20200101, "bootstrap")).all()
    assert (fixed.boot_n == 12).all()
    pw = pd.read_csv(study["A"] / "pairwise.tsv", sep="\t")
    assert len(pw[pw.family == "b0"]) == 15
    fits = json.loads((study["A"] / "fits.json").read_text())
    assert fits["bootstrap"]["replicates"] == 12 and fits["model1"]["ok"]


def test_same_settings_same_tables(study, tmp_path):
    A = study["A"]
    models_step(A / "standardised.tsv", study["settings"], tmp_path, threads=2)
    for name in ("model1.tsv", "model2.tsv", "pairwise.tsv", "variance_components.tsv"):
        assert (tmp_path / name).read_text() == (A / name).read_text(), name


def test_summary_has_the_key_numbers(study):
    text = (study["A"] / "summary.md").read_text()
    for part in ("# synthetic: analysis summary", "simulated demo world", "## Model 1", "## Model 2",
                 "b0[MSS-CR]", "b10", "## Pairwise comparisons", "Pearson correlation", "## Tracks lost",
                 "http_404: gone (1)", "## Software", "statsmodels"):
        assert part in text, part
    for link in [s.split("](")[1].split(")")[0] for s in text.split("\n") if "](" in s]:
        assert (study["A"] / link).exists(), link
    acq = pd.read_csv(study["A"] / "context" / "acquisition.tsv", sep="\t")
    assert list(acq.lost) == [1, 1] and list(acq.tracks) == [10, 10]


def test_parameter_counts_reproduce_spec():
    sources = ["self", "bpm", "year", "taste", "tag", "lyrics", "cdr_tag", "artist"]
    c = parameter_counts(sources, ALL).set_index(["strategy", "n"])
    assert c.loc[("ssr", 1), "params_without_self"] == 576_482
    assert c.loc[("mscr6", 8), "ratio_to_ssr"] == pytest.approx(6.45, abs=0.01)
    assert c.loc[("mssr_fc", 8), "ratio_to_ssr"] == pytest.approx(1.25, abs=0.01)
    assert c.loc[("msscr", 8), "params_with_self"] == 7 * 576_482 + c.loc[("ssr", 1), "params_with_self"]


def test_fig15_draws_the_models_stage_counts(study):
    """Fig. 15's data are the parameter counts the models stage wrote, as counted (no width, k)."""
    counts = parameter_counts(SOURCES, ALL, k=K, width=WIDTH)
    drawn = pd.read_csv(study["A"] / "figures" / f"{FIGURES[15]}.tsv", sep="\t")
    assert list(drawn.columns) == list(counts.columns)
    assert drawn.equals(pd.read_csv(io.StringIO(counts.to_csv(sep="\t", index=False, float_format="%.6g")),
                                    sep="\t"))
    table = pd.read_csv(study["A"] / "parameters.tsv", sep="\t")
    assert set(table.width) == {WIDTH} and set(table.k) == {K}


def test_fig16_placeholder_without_a_genre_target(study, tmp_path):
    from onerep.analysis.commands import tsne_step
    from onerep.analysis.figures import fig16_tsne
    from onerep.analysis.tsne import read_tsne

    table = tsne_step(study["A"] / "standardised.tsv", [], [], None, [], tmp_path,
                      {"targets": [{"name": "emotion_arousal", "kind": "mediaeval2013"}]})
    png = fig16_tsne(*read_tsne(table, tmp_path / "tsne.json"), tmp_path)
    assert png.exists() and "no genre" in (tmp_path / f"{FIGURES[16]}.tsv").read_text()


def test_strategy_coding_agrees_with_the_networks():
    from onerep.models.strategies import STRATEGIES

    assert STRATEGY_LABELS == {k: s.label for k, s in STRATEGIES.items()}
    assert R_STAR == {k: s.ordinal for k, s in STRATEGIES.items()}


# -- bad input -----------------------------------------------------------------------------------------
@pytest.fixture()
def small(tmp_path) -> tuple[Path, dict]:
    from support.simulate import design_with_sources

    runs = design_with_sources(["a", "b", "c"], ["ssr", "mscr2"], 1, 2, seed=0)
    settings = write_synthetic_study(tmp_path, runs, targets={"gtzan": ("accuracy", 0.7, 0.05)}, seed=1)
    return tmp_path, settings


def _collect(root: Path, settings: dict, allow_missing: bool = False):
    return collect_step(root / "scores", root / "design" / "runs.tsv", settings, root / "analysis", allow_missing)


def test_missing_score_files_are_named_or_skipped(small):
    root, settings = small
    victim = root / "scores" / "mfcc" / "gtzan.tsv"
    victim.unlink()
    with pytest.raises(ValueError, match=r"1 of \d+ score files are missing: .*mfcc/gtzan.tsv"):
        _collect(root, settings)
    info = _collect(root, settings, allow_missing=True)
    assert info["missing_files"] == 1 and "missing" in info["notes"][0]


def test_bad_value_names_file_and_line(small):
    root, settings = small
    path = next((root / "scores").glob("ssr_*/gtzan.tsv"))
    df = pd.read_csv(path, sep="\t")
    df["value"] = df["value"].astype(str)
    df.loc[1, "value"] = "oops"
    df.to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match=rf"{path}, line 3: score value .* not a finite number"):
        _collect(root, settings)


def test_duplicate_rows_and_mismatched_runs_are_errors(small):
    root, settings = small
    path = next((root / "scores").glob("mscr2_*/gtzan.tsv"))
    df = pd.read_csv(path, sep="\t")
    pd.concat([df, df.iloc[:1]]).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match="repetition 0 appears more than once"):
        _collect(root, settings)
    df.assign(n=df.n + 1).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match="but the run table has"):
        _collect(root, settings)


def test_cli_reports_bad_input_without_traceback(small, capsys):
    from onerep.cli import main

    root, settings = small
    (root / "scores" / "mfcc" / "gtzan.tsv").write_text("run_id\tvalue\n")
    code = main(["analysis", "collect", "--scores", *map(str, sorted((root / "scores").glob("*/*.tsv"))), "--runs",
                 str(root / "design" / "runs.tsv"), "--settings", json.dumps(settings), "--out",
                 str(root / "analysis")])
    err = capsys.readouterr().err
    assert code == 2
    assert "mfcc/gtzan.tsv" in err and "missing columns" in err and "Traceback" not in err


def _collect_cli(root: Path, settings: dict, files) -> int:
    from onerep.cli import main

    return main(["analysis", "collect", "--scores", *map(str, files), "--runs", str(root / "design" / "runs.tsv"),
                 "--settings", json.dumps(settings), "--out", str(root / "listed")])


def test_collect_reads_the_listed_score_files_in_the_study_order(small):
    """The listed files give the tables the folder gives, whatever their order."""
    root, settings = small
    _collect(root, settings)
    files = sorted((root / "scores").glob("*/*.tsv"), reverse=True)
    assert _collect_cli(root, settings, files) == 0
    for name in ("scores.tsv", "standardised.tsv", "collect.json"):
        assert (root / "listed" / name).read_text() == (root / "analysis" / name).read_text(), name


def test_collect_names_unlisted_missing_and_foreign_score_files(small, capsys):
    root, settings = small
    files = sorted((root / "scores").glob("*/*.tsv"))
    left_out = root / "scores" / "mfcc" / "gtzan.tsv"
    assert _collect_cli(root, settings, [f for f in files if f != left_out]) == 2
    assert "score files are missing: mfcc/gtzan.tsv (not given)" in capsys.readouterr().err
    gone = root / "elsewhere" / "mfcc" / "gtzan.tsv"
    assert _collect_cli(root, settings, [*(f for f in files if f != left_out), gone]) == 2
    assert f"score file not found: {gone}" in capsys.readouterr().err
    foreign = root / "scores" / "nosuchrun" / "gtzan.tsv"
    foreign.parent.mkdir()
    foreign.write_text(left_out.read_text())
    assert _collect_cli(root, settings, [*files, foreign]) == 2
    assert f"{foreign}: not a score file of the study" in capsys.readouterr().err


def test_single_strategy_study_is_analysed_with_notes(tmp_path):
    """Only SS-R runs: model 2 cannot be fitted; every output still exists, with a note."""
    from support.simulate import design_with_sources

    runs = design_with_sources(["a", "b", "c"], ["ssr"], 2, 0, seed=0)
    settings = write_synthetic_study(tmp_path, runs, seed=1)
    settings.update({"analysis.bootstrap": 5, "seed": 1})
    A = tmp_path / "analysis"
    _collect(tmp_path, settings)
    info = models_step(A / "standardised.tsv", settings, A)
    assert any(n.startswith("model2: not fitted") for n in info["notes"])
    m1 = pd.read_csv(A / "model1.tsv", sep="\t")
    assert list(m1[m1.kind == "fixed"].parameter) == ["b0[SS-R]"]
    assert pd.read_csv(A / "model2.tsv", sep="\t").empty and pd.read_csv(A / "pairwise.tsv", sep="\t").empty
    from onerep.analysis.commands import parameters_step, tsne_step

    parameters_step({"design.sources": ["a", "b", "c"], "design.strategies": ["ssr"], "train.width": 0.125,
                     "sources.k": 8}, A / "parameters.tsv")
    tsne_step(A / "standardised.tsv", [], [], None, [], A, {"targets": []})
    paths = figures_step(A, A / "figures")
    assert all(p.exists() for p in paths)
    assert "not fitted" in (A / "figures" / f"{FIGURES[12]}.tsv").read_text()


def test_effects_figure_draws_an_interval_that_misses_its_estimate(tmp_path):
    """A percentile bootstrap interval need not contain the REML estimate (few replicates,
    a boundary fit); the figure draws it from its ends instead of failing on negative
    error bars."""
    import matplotlib

    matplotlib.use("Agg")
    from onerep.analysis.figures import fig11_model1_effects

    rows = [("b0[SS-R]", "intercept", "ssr", 0.30, 0.35, 0.60), ("b0[MSS-CR]", "intercept", "msscr", 0.1, -0.2, 0.4),
            ("b1[MSS-CR]", "n*", "msscr", 0.5, -0.1, 0.4)]
    model1 = pd.DataFrame([{"kind": "fixed", "parameter": p, "term": t, "strategy": s,
                            "strategy_label": STRATEGY_LABELS[s], "estimate": e, "se": 0.1, "ci_low": lo,
                            "ci_high": hi, "wald_low": e - 0.2, "wald_high": e + 0.2, "boot_n": 4,
                            "bootstrap_scheme": "residual"} for p, t, s, e, lo, hi in rows])
    path = fig11_model1_effects(model1, tmp_path)
    assert path.exists() and path.stat().st_size > 0
    table = pd.read_csv(path.with_suffix(".tsv"), sep="\t")
    assert table.loc[table.parameter == "b0[SS-R]", "ci_low"].item() == 0.35
