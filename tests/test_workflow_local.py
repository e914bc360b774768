"""The whole workflow locally, with no cluster: the tiny study from nothing to the report
(demo world, audio, labels, design, training, features, scores, analysis), a second
invocation that has nothing to do, then the changes users make most, each of which must
run exactly its own jobs: a changed MLP setting, an added target, a removed target and
a raised design budget. Which jobs ran is read from the benchmark files (every rule
writes one per job); files of other targets and representations keep their times.

All of it is one test: the later steps need the finished study, and ``--dist
loadgroup`` does not keep tests on one worker with pytest 9.2 (see tests/test_slurm.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from onerep.config import load
from onerep.design import runs_table
from onerep.evaluate.plan import score_files

TINY = Path(__file__).resolve().parent / "config" / "tiny.yaml"
ANALYSIS_RULES = {"analysis", "analysis_collect", "analysis_context", "analysis_figures", "analysis_parameters",
                  "analysis_summary", "analysis_tsne"}


def _times(folder: Path) -> dict[str, int]:
    """Modification times (ns) of every file under ``folder``, by path relative to it."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _jobs_run(before: dict[str, int], after: dict[str, int]) -> set[str]:
    """Benchmark files written since ``before``: one per job that ran (``rule/wildcards...``)."""
    return {path.removesuffix(".tsv") for path, t in after.items() if before.get(path) != t}


def _names(job: str) -> set[str]:
    """The wildcard values of a job's benchmark path (``extract/run/gtzan`` -> {run, gtzan};
    ``acquire/gtzan-0000`` -> {gtzan, 0000})."""
    parts = job.split("/")[1:]
    return set(parts) | {p.rsplit("-", 1)[0] for p in parts}


class Study:
    """The tiny study in one folder, run with the local profile and extra config files."""

    def __init__(self, repo: Path, workdir: Path, env: dict[str, str]) -> None:
        self.repo, self.workdir, self.env = repo, workdir, env
        self.cfg = load(TINY)
        self.results = workdir / self.cfg["results"]

    def snakemake(self, *args: str, config: dict | None = None) -> subprocess.CompletedProcess:
        files = [str(TINY)]
        if config is not None:
            extra = self.workdir / "change.yaml"
            extra.write_text(yaml.safe_dump(config))
            files.append(str(extra))
        cmd = ["snakemake", *args, "-s", str(self.repo / "Snakefile"), "--profile",
               str(self.repo / "workflow" / "profiles" / "local"), "--configfile", *files]
        return subprocess.run(cmd, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=1200)

    def outputs(self) -> dict[str, int]:
        """Times of every features and scores file."""
        return {f"{k}/{p}": t for k in ("features", "scores") for p, t in _times(self.results / k).items()}

    def change(self, config: dict) -> tuple[set[str], dict[str, int], dict[str, int]]:
        """Run the study with ``config`` on top of tiny.yaml: (jobs that ran, outputs before, outputs after)."""
        bench, before = _times(self.results / "benchmarks"), self.outputs()
        run = self.snakemake(config=config)
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        return _jobs_run(bench, _times(self.results / "benchmarks")), before, self.outputs()


def _rule(job: str) -> str:
    return job.split("/")[0]


def _check_from_nothing(study: Study) -> None:
    run = study.snakemake()
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    cfg, R = study.cfg, study.results
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

    report = study.snakemake("--report", str(study.workdir / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    html = (study.workdir / "report.html").read_text(errors="replace")
    assert "fig09_by_strategy" in html and "summary" in html

    again = study.snakemake("-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def _check_mlp_setting(study: Study) -> None:
    """evaluate.mlp changed: every MLP score reruns, no feature file and no ALS score."""
    mlp_targets = [t["name"] for t in study.cfg["targets"] if t["kind"] != "lastfm1k"]
    ran, before, after = study.change({"evaluate": {"mlp": {"max_iter": 25}}})
    rules = {_rule(j) for j in ran}
    assert rules - ANALYSIS_RULES == {"evaluate_mlp"} and "analysis_collect" in rules, sorted(ran)
    scored = {j for j in ran if _rule(j) == "evaluate_mlp"}
    expected = {p.removesuffix(".tsv") for p in before if p.startswith("scores/")
                and p.split("/")[-1].removesuffix(".tsv") in mlp_targets}
    assert {j.replace("evaluate_mlp/", "scores/") for j in scored} == expected
    unchanged = {p for p in before if p.removesuffix(".tsv").removesuffix(".h5") not in expected}
    assert unchanged and all(after[p] == before[p] for p in unchanged)


def _added_target(study: Study, targets: list[dict], new: dict) -> None:
    """One target added: its own jobs (manifest, audio, labels, splits, features, scores) and the analysis."""
    name = new["name"]
    ran, before, after = study.change({"evaluate": {"mlp": {"max_iter": 25}}, "targets": [*targets, new]})
    others = {j for j in ran if name not in _names(j)}
    assert {_rule(j) for j in others} <= ANALYSIS_RULES, sorted(others)
    assert all(after[p] == t for p, t in before.items()), "a file of another target was rewritten"
    new_files = set(after) - set(before)
    reps = {p.split("/")[1] for p in before if p.startswith("scores/")}
    assert new_files == {f"features/{r}/{name}.h5" for r in reps} | {f"scores/{r}/{name}.tsv" for r in reps}
    assert {"extract", "evaluate_mlp", "baseline_mfcc", "baseline_rand", "target_splits", "mel_merge"} <= {
        _rule(j) for j in ran if name in _names(j)}


def _removed_target(study: Study, targets: list[dict], gone: str) -> None:
    """One target removed: the analysis reruns, nothing else; no other file is rewritten."""
    kept = [t for t in targets if t["name"] != gone]
    ran, before, after = study.change({"evaluate": {"mlp": {"max_iter": 25}}, "targets": kept})
    assert {_rule(j) for j in ran} <= ANALYSIS_RULES and "analysis_collect" in {_rule(j) for j in ran}, ran
    assert all(after[p] == t for p, t in before.items())
    scores = pd.read_csv(study.results / "analysis" / "scores.tsv", sep="\t")
    assert set(scores["target"]) == {t["name"] for t in kept}


def _raised_budget(study: Study, targets: list[dict]) -> None:
    """design.budget raised: the new runs' training, features and scores, the design and the analysis."""
    change = {"evaluate": {"mlp": {"max_iter": 25}}, "targets": targets,
              "design": {"budget": study.cfg["design"]["budget"] + 1}}
    old = set(runs_table(study.cfg).run_id)
    bigger = load(TINY)
    bigger["design"]["budget"] += 1
    new_runs = set(runs_table(bigger).run_id) - old
    assert new_runs, "the raised budget adds no run"
    ran, before, after = study.change(change)
    assert {_rule(j) for j in ran if not _names(j) & new_runs} <= ANALYSIS_RULES | {"design"}, sorted(ran)
    assert {_rule(j) for j in ran if _names(j) & new_runs} == {"train", "extract", "evaluate_mlp", "evaluate_als"}
    assert all(after[p] == t for p, t in before.items())
    assert {p.split("/")[1] for p in set(after) - set(before)} == new_runs


@pytest.mark.slow
@pytest.mark.workflow
def test_tiny_study_from_nothing_then_only_what_changed(tmp_path: Path, repo: Path,
                                                        env_with_venv: dict[str, str]) -> None:
    study = Study(repo, tmp_path, env_with_venv)
    _check_from_nothing(study)
    _check_mlp_setting(study)
    targets = study.cfg["targets"]
    ballroom = {"name": "ballroom", "kind": "ballroom", "root": "results/demo_world/ballroom"}
    _added_target(study, targets, ballroom)
    _removed_target(study, [*targets, ballroom], "emotion_arousal")
    kept = [t for t in [*targets, ballroom] if t["name"] != "emotion_arousal"]
    _raised_budget(study, kept)
    # how a training job runs (checkpoint interval, compilation, precision) reruns nothing
    # (train.device does: extraction runs on that device too)
    runtime = {"evaluate": {"mlp": {"max_iter": 25}}, "targets": kept,
               "design": {"budget": study.cfg["design"]["budget"] + 1},
               "train": {"checkpoint_every": 3, "compile": True, "precision": "bf16"}}
    dry = study.snakemake("-n", config=runtime)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]


@pytest.mark.workflow
def test_one_score_file_as_target_plans_only_what_it_needs(tmp_path: Path, repo: Path,
                                                           env_with_venv: dict[str, str]) -> None:
    """``snakemake results/scores/<run>/gtzan.tsv``: that run's training, its features and
    score on gtzan and their upstream jobs; no other target's audio, features or scores."""
    study = Study(repo, tmp_path, env_with_venv)
    run_id = str(runs_table(study.cfg).run_id.iloc[0])
    dry = study.snakemake(f"results/scores/{run_id}/gtzan.tsv", "-n", "--quiet", "rules")
    assert dry.returncode == 0, dry.stderr[-3000:]
    counts = {}
    for line in dry.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    # one extraction and one evaluation; audio of the corpus (2 shards) and gtzan only
    assert counts["extract"] == counts["evaluate_mlp"] == 1 and "evaluate_als" not in counts, counts
    assert counts["mel_merge"] == 2 and counts["target_splits"] == 1 and "baseline_mfcc" not in counts, counts
    assert not set(counts) & ANALYSIS_RULES
