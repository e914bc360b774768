"""The analysis rules in Snakemake: captions exist, the rules run on a finished tiny study,
a rerun runs nothing, and ``snakemake --report`` builds the report."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from onerep.analysis.figures import FIGURES

RULES = Path(__file__).resolve().parents[1] / "workflow" / "rules"


def test_every_report_item_has_a_caption():
    text = (RULES / "analysis.smk").read_text()
    captions = re.findall(r'caption="\.\./report/([a-z0-9_]+)\.rst"', text)
    numbered = re.findall(r'_fig\((\d+), "([a-z0-9]+)"', text)
    assert sorted(int(n) for n, _ in numbered) == sorted(FIGURES)
    for name in captions + [c for _, c in numbered] + ["workflow"]:
        path = RULES.parent / "report" / f"{name}.rst"
        assert path.exists() and path.read_text().strip(), path


SNAKEFILE = """
import sys
from onerep.config import ConfigError, validate
config.update(validate(config))
FINAL_TARGETS: list[str] = []
rule all:
    input: lambda wildcards: FINAL_TARGETS
    default_target: True
include: "{rules}/common.smk"
include: "{rules}/design.smk"
include: "{rules}/analysis.smk"
"""


@pytest.mark.slow
@pytest.mark.workflow
def test_rules_run_rerun_nothing_and_report(tmp_path, repo, env_with_venv):
    from onerep.config import load
    from onerep.design import runs_table
    from onerep.design.commands import write_design
    from support.simulate import write_synthetic_study
    from test_analysis_figures import fake_upstream

    configfile = repo / "tests" / "config" / "tiny.yaml"
    cfg = load(configfile)
    R = tmp_path / cfg["results"]
    runs = runs_table(cfg)
    scales = {"gtzan": ("accuracy", 0.6, 0.05), "mediaeval2013": ("r2", 0.4, 0.05), "lastfm1k": ("ndcg@50", 0.2, 0.02)}
    targets = {t["name"]: scales[t["kind"]] for t in cfg["targets"]}
    write_synthetic_study(R, runs[["run_id", "strategy", "sources", "n"]], targets=targets,
                          repetitions=cfg["evaluate"]["repetitions"], seed=2, baselines=cfg["extract"]["baselines"])
    write_design(cfg, R / "design")
    fake_upstream(R, runs, datasets=("corpus", *targets), sources=cfg["design"]["sources"])
    (tmp_path / "Snakefile").write_text(SNAKEFILE.format(rules=RULES))
    base = ["snakemake", "-s", "Snakefile", "--configfile", str(configfile), "--cores", "2"]

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*base, *extra], cwd=tmp_path, env=env_with_venv, capture_output=True, text=True,
                              timeout=900)

    done = run()
    assert done.returncode == 0, done.stderr[-3000:]
    A = R / "analysis"
    for stem in FIGURES.values():
        assert (A / "figures" / f"{stem}.png").stat().st_size > 0
    assert "## Model 1" in (A / "summary.md").read_text()
    again = run("-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    rep = run("--report", "report.html")
    assert rep.returncode == 0, rep.stderr[-3000:]
    html = (tmp_path / "report.html").read_text()
    for part in ("hierarchical linear", "Model 1", "Fig. 16", "fig11_model1_effects.png", "Training curves",
                 "Software versions", "simulated demo world", "only the held-out tracks"):
        assert part in html, part
