"""The SLURM profile without a cluster: its settings, the rules' shell commands under bash
strict mode, and a dry run of the paper's study (8 sources, 425 runs, 7 targets; the
demo world stands in for the data): which jobs request GPUs, on which partitions, and
how many cluster jobs are submitted (bench/slurm_jobs.py prints the same numbers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from slurm.plan import NORUN_RULES, dry_run, paper_config, parse_dry_run

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "workflow" / "rules"
PROFILE = yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
GPU_RULES = {"train", "extract", "baseline_rand"}  # they run a network (resources.train / .extract)


def test_profile_settings() -> None:
    assert PROFILE["executor"] == "slurm"
    assert PROFILE["rerun-triggers"] == ["mtime", "params", "input"]
    assert PROFILE["latency-wait"] >= 30 and PROFILE["jobs"] >= 1 and PROFILE["cores"] >= 1
    assert PROFILE["slurm-logdir"].startswith("results/logs/")
    assert PROFILE["default-resources"]["slurm_partition"]
    # every GPU rule goes to the GPU partition; nothing else is singled out
    assert set(PROFILE["set-resources"]) == GPU_RULES
    assert all(v.get("slurm_partition") for v in PROFILE["set-resources"].values())
    # grouping downstream of a checkpoint is broken in Snakemake 9 (see the profile)
    assert "group-components" not in PROFILE and "groups" not in PROFILE


@pytest.mark.parametrize("path", sorted(RULES.glob("*.smk")), ids=lambda p: p.name)
def test_rules_leave_cluster_settings_to_the_profile_and_survive_strict_mode(path: Path) -> None:
    """No partition or account in a rule; no shell variable that could be unset under
    ``set -u`` inside a cluster job (``${VAR:-default}`` is fine)."""
    text = path.read_text()
    assert not re.search(r"slurm_(partition|account)", text)
    bare = re.findall(r"\$(?:\{(\w+)\}|(\w+))", text)
    assert not bare, f"{path.name}: shell variables without a default: {bare}"


@pytest.mark.slow
def test_paper_study_dry_run(tmp_path: Path, repo: Path, env_with_venv: dict[str, str]) -> None:
    configfile = tmp_path / "paper_demo.yaml"
    configfile.write_text(yaml.safe_dump(paper_config(repo), sort_keys=False))
    plan = parse_dry_run(dry_run(repo, tmp_path, configfile, env_with_venv))
    rules = plan.by_rule()
    counts = {rule: len(jobs) for rule, jobs in rules.items()}
    assert counts["train"] == counts["extract"] == 425
    assert counts["evaluate_mlp"] == counts["evaluate_als"] == 432  # 425 runs, mfcc, 6 rand-*
    assert counts["labels"] == 7 and counts["target_splits"] == 7 and counts["shard_manifest"] == 8
    cluster = [j for j in plan.jobs if j.rule not in NORUN_RULES]
    # GPUs on the network jobs only (the paper's resources: train and extract gpu: 1)
    assert {j.rule for j in cluster if j.gpus} == GPU_RULES
    assert all(j.gpus == 1 for j in cluster if j.rule in GPU_RULES)
    for job in cluster:
        partition = "gpu" if job.rule in GPU_RULES else "cpu"
        assert job.resources.get("slurm_partition") == partition, job
        assert int(job.resources["mem_mb"]) > 0 and int(job.resources["runtime"]) > 0, job
        assert job.threads <= PROFILE["cores"], job
    # one cluster job per job: 1,769 for the paper's study, plus 2 per audio shard
    assert all(len(g) == 1 for g in plan.groups)
    assert plan.cluster_jobs == len(cluster) == 1769
