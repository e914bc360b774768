"""Which protocol a score comes from: the paper's config uses the paper's recommendation
protocol, every score file records its protocol, and the analysis (summary.md, the
report's captions) states it, for old score files (no protocol column) too."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from onerep.analysis.summary import write_summary
from onerep.analysis.tables import collect_step
from onerep.config import load
from onerep.evaluate.scores import (
    PROTOCOLS,
    UNRECORDED,
    baseline_comparison,
    evaluate_representation,
    read_score_file,
    read_scores,
    write_scores,
)
from support.simulate import design_with_sources, write_synthetic_study
from test_evaluate import META, REC_SETTINGS, _planted_classification, _splits, _write_features, planted_recommendation

REPORT = Path(__file__).resolve().parents[1] / "workflow" / "report"
TARGETS = {"gtzan": ("accuracy", 0.7, 0.05), "emotion_arousal": ("r2", 0.5, 0.05),
           "lastfm1k": ("ndcg@500", 0.2, 0.02)}
PAPER = {"gtzan": "mlp-classifier", "emotion_arousal": "mlp-regressor-target-standardised",
         "lastfm1k": "als-rank-all"}


def test_paper_config_ranks_every_track_and_the_demo_the_held_out_ones(repo: Path) -> None:
    assert load(repo / "config/paper.yaml")["evaluate"]["als"]["candidates"] == "all"
    assert load(repo / "config/config.yaml")["evaluate"]["als"]["candidates"] == "heldout"


def test_als_score_file_records_its_candidates(tmp_path: Path) -> None:
    files = planted_recommendation(tmp_path)
    values = {}
    for candidates in ("heldout", "all"):
        settings = dict(REC_SETTINGS, **{"evaluate.als": dict(REC_SETTINGS["evaluate.als"], candidates=candidates)})
        table = evaluate_representation(files["good"], "recommendation", settings, dict(META, target="lastfm1k"),
                                        splits=files["splits"], interactions=files["interactions"])
        out = tmp_path / candidates / "lastfm1k.tsv"
        write_scores(table, out)
        raw = pd.read_csv(out, sep="\t")
        assert set(raw["protocol"]) == {f"als-rank-{candidates}"}
        assert set(read_score_file(out)["protocol"]) == {f"als-rank-{candidates}"}
        values[candidates] = table["value"].to_numpy()
    assert "paper's protocol" in PROTOCOLS["als-rank-all"]
    assert "not the paper's protocol" in PROTOCOLS["als-rank-heldout"]
    # The same model ranks more distractors under the paper's protocol: never a higher nDCG.
    assert (values["all"] <= values["heldout"] + 1e-12).all()
    base = read_score_file(tmp_path / "all" / "lastfm1k.tsv").assign(run_id="mfcc", strategy="baseline")
    both = pd.concat([read_scores([tmp_path / "all" / "lastfm1k.tsv"]), base])
    assert baseline_comparison(both)["protocol"].tolist() == ["als-rank-all"]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_mlp_score_file_records_its_protocol(tmp_path: Path, task: str) -> None:
    ids, X, y = _planted_classification(n=80)
    label = y if task == "classification" else X[:, 0] / 100.0
    feat = _write_features(tmp_path / "f.h5", ids, X)
    labels = tmp_path / "labels.tsv"
    pd.DataFrame({"track_id": ids, "label": label, "group": "", "split": ""}).to_csv(labels, sep="\t", index=False)
    splits = tmp_path / "splits.tsv"
    _splits(ids, 1).to_csv(splits, sep="\t", index=False)
    settings = {"seed": 1, "evaluate.repetitions": 1, "evaluate.mlp": {"max_iter": 5}}
    out = tmp_path / "scores.tsv"
    write_scores(evaluate_representation(feat, task, settings, META, labels=labels, splits=splits), out)
    expected = {"classification": "mlp-classifier", "regression": "mlp-regressor-target-standardised"}[task]
    assert set(read_score_file(out)["protocol"]) == {expected}
    if task == "regression":
        assert "standardised on the training part" in PROTOCOLS[expected]


def _study(root: Path) -> dict:
    runs = design_with_sources(["a", "b", "c"], ["ssr", "mscr2"], 1, 2, seed=0)
    return write_synthetic_study(root, runs, targets=TARGETS, repetitions=2, seed=1)


def _record(root: Path, protocols: dict[str, str], only: str | None = None) -> None:
    """Give the score files of ``protocols``' targets a protocol column (of run ``only`` alone when given)."""
    for path in sorted((root / "scores").glob("*/*.tsv")):
        df = read_score_file(path).drop(columns="source_file")
        target, run = df.target.iloc[0], df.run_id.iloc[0]
        if target in protocols and only in (None, run):
            write_scores(df.assign(protocol=protocols[target]), path)


def _analyse(root: Path, settings: dict) -> tuple[dict, str]:
    A = root / "analysis"
    info = collect_step(root / "scores", root / "design" / "runs.tsv", settings, A)
    write_summary(A, A / "summary.md", dict(settings, study="protocols"))
    return info, (A / "summary.md").read_text()


def _line(text: str, start: str) -> str:
    lines = [s for s in text.splitlines() if s.startswith(start)]
    assert len(lines) == 1, (start, text)
    return lines[0]


def test_summary_names_the_protocol_of_each_target(tmp_path: Path) -> None:
    settings = _study(tmp_path)
    _record(tmp_path, PAPER)
    info, text = _analyse(tmp_path, settings)
    assert info["protocols"] == PAPER
    rec = _line(text, "- `als-rank-all` (lastfm1k):")
    assert "every track except their own training tracks" in rec and "the paper's protocol" in rec
    reg = _line(text, "- `mlp-regressor-target-standardised` (emotion_arousal):")
    assert "target standardised on the training part" in reg and "the paper fitted the raw ratings" in reg
    assert "`als-rank-all`" in _line(text, "| lastfm1k |")
    scores = pd.read_csv(tmp_path / "analysis" / "scores.tsv", sep="\t")
    assert dict(scores.groupby("target").protocol.first()) == PAPER


def test_old_score_files_are_analysed_as_unrecorded(tmp_path: Path) -> None:
    settings = _study(tmp_path)
    assert "protocol" not in pd.read_csv(next((tmp_path / "scores").glob("*/lastfm1k.tsv")), sep="\t")
    info, text = _analyse(tmp_path, settings)
    assert set(info["protocols"].values()) == {UNRECORDED}
    assert "not recorded" in _line(text, f"- `{UNRECORDED}` (")
    # An analysis folder from before the protocols (collect.json without them) still gives a summary.
    A = tmp_path / "analysis"
    collect = json.loads((A / "collect.json").read_text())
    del collect["protocols"]
    (A / "collect.json").write_text(json.dumps(collect))
    write_summary(A, A / "summary.md", settings)
    assert f"`{UNRECORDED}`" in _line((A / "summary.md").read_text(), "| lastfm1k |")


def test_one_target_scored_under_two_protocols_is_an_error(tmp_path: Path) -> None:
    settings = _study(tmp_path)
    run = sorted(p.name for p in (tmp_path / "scores").iterdir())[0]
    _record(tmp_path, {"lastfm1k": "als-rank-all"}, only=run)
    info, _ = _analyse(tmp_path, settings)
    assert info["protocols"]["lastfm1k"] == "als-rank-all"
    assert any("record no protocol" in n and "lastfm1k" in n for n in info["notes"])
    _record(tmp_path, {"lastfm1k": "als-rank-heldout"})
    _record(tmp_path, {"lastfm1k": "als-rank-all"}, only=run)
    with pytest.raises(ValueError, match="target lastfm1k: scores come from different protocols"):
        _analyse(tmp_path, settings)


def test_unknown_protocol_names_file_and_line(tmp_path: Path) -> None:
    settings = _study(tmp_path)
    _record(tmp_path, {"gtzan": "made-up"})
    with pytest.raises(ValueError, match=r"gtzan\.tsv, line 2: unknown protocol 'made-up'"):
        _analyse(tmp_path, settings)


def _caption(name: str, config: dict) -> str:
    from docutils.core import publish_parts
    from jinja2 import Environment

    text = Environment(trim_blocks=True, lstrip_blocks=True).from_string((REPORT / f"{name}.rst").read_text())
    rst = text.render(snakemake=SimpleNamespace(config=config))
    publish_parts(rst, writer="html", settings_overrides={"halt_level": 2, "report_level": 5})  # valid RST
    return " ".join(rst.split())


@pytest.mark.parametrize("name", ["fig08", "fig09", "scores"])
def test_report_captions_state_the_protocols(repo: Path, name: str) -> None:
    demo = _caption(name, load(repo / "config/config.yaml"))
    paper = _caption(name, load(repo / "config/paper.yaml"))
    for text in (demo, paper):
        assert "standardised on the training part" in text
    if name == "scores":
        assert "candidates: heldout" in demo and "candidates: all" in paper
        assert all(f"``{code}``" in demo for code in PROTOCOLS)
    else:
        assert "only the held-out tracks" in demo and "every track except" not in demo
        assert "every track except their own training tracks" in paper and "held-out" not in paper
