"""The whole workflow locally, with no cluster: the tiny study from nothing to the report
(demo world, audio, labels, design, training, features, scores, analysis), then a second
invocation that has nothing to do."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from onerep.config import load
from onerep.design import runs_table
from onerep.evaluate.plan import score_files

TINY = Path(__file__).resolve().parent / "config" / "tiny.yaml"


@pytest.mark.slow
@pytest.mark.workflow
def test_tiny_study_from_nothing_to_the_report(tmp_path: Path, repo: Path, env_with_venv: dict[str, str]) -> None:
    def snakemake(*args: str) -> subprocess.CompletedProcess:
        cmd = ["snakemake", *args, "-s", str(repo / "Snakefile"), "--profile",
               str(repo / "workflow" / "profiles" / "local"), "--configfile", str(TINY)]
        return subprocess.run(cmd, cwd=tmp_path, env=env_with_venv, capture_output=True, text=True, timeout=1200)

    run = snakemake()
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    cfg = load(TINY)
    R = tmp_path / cfg["results"]
    runs = runs_table(cfg)
    # every run trained (or assembled) and scored on every target, every baseline scored
    for run_id in runs.run_id:
        assert (R / "runs" / run_id / "model.pt").is_file(), run_id
    expected = score_files(str(R), cfg, list(runs.run_id))
    missing = [f for f in expected if not Path(f).is_file()]
    assert not missing, missing[:5]
    # the analysis ran on these scores, not on a simulation
    scores = pd.read_csv(R / "analysis" / "scores.tsv", sep="\t")
    assert set(scores["run_id"]) >= set(runs.run_id)
    assert set(scores["target"]) == {t["name"] for t in cfg["targets"]}
    model1 = pd.read_csv(R / "analysis" / "model1.tsv", sep="\t")
    assert model1["estimate"].notna().any()
    summary = (R / "analysis" / "summary.md").read_text()
    assert "## Model 1" in summary and "## Scores per target" in summary

    report = snakemake("--report", str(tmp_path / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    html = (tmp_path / "report.html").read_text(errors="replace")
    assert "fig09_by_strategy" in html and "summary" in html

    again = snakemake("-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
