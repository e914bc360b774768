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
    # the short per-(representation, target) jobs run batched, one kind (one partition) per group
    groups = dict(g.split("=") for g in PROFILE["groups"])
    assert groups == {"extract": "features", "baseline_rand": "features", "evaluate_mlp": "scores",
                      "evaluate_tagging": "scores", "evaluate_als": "scores", "acquire": "audio",
                      "mel_shard": "audio"}
    sizes = dict(g.split("=") for g in PROFILE["group-components"])
    assert set(sizes) == set(groups.values()) and all(int(n) > 1 for n in sizes.values())
    # a group holds one GPU and one member at a time (the executor runs members in turn),
    # both limits per group job, not across the cluster
    assert PROFILE["resources"] == ["gpu=1", "group_slot=1"]
    assert PROFILE["set-resource-scopes"] == ["gpu=local", "group_slot=local"]


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
    # one job per (representation, target): 425 runs and 6 rand-* on 7 targets; mfcc on 7
    assert counts["train"] == 425 and counts["extract"] == 425 * 7 and counts["baseline_rand"] == 6 * 7
    assert counts["baseline_mfcc"] == 7
    assert counts["evaluate_mlp"] == 432 * 6 and counts["evaluate_als"] == 432  # 425 runs, mfcc, 6 rand-*
    assert counts["labels"] == 7 and counts["target_splits"] == 7 and counts["mel_merge"] == 8
    # audio shards fixed at parse time (paper.yaml's audio.shards: 100 + 50 + 8 + 14 + 4 x 2), no checkpoint
    assert counts["acquire"] == counts["mel_shard"] == 180 and "shard_manifest" not in counts
    cluster = [j for j in plan.jobs if j.rule not in NORUN_RULES]
    # GPUs on the network jobs only (the paper's resources: train and extract gpu: 1)
    assert {j.rule for j in cluster if j.gpus} == GPU_RULES
    assert all(j.gpus == 1 for j in cluster if j.rule in GPU_RULES)
    for job in cluster:
        partition = "gpu" if job.rule in GPU_RULES else "cpu"
        assert job.resources.get("slurm_partition") == partition, job
        assert int(job.resources["mem_mb"]) > 0 and int(job.resources["runtime"]) > 0, job
        assert job.threads <= PROFILE["cores"], job
    # Groups: each job in at most one, each group of one kind and at most group-components
    # connected parts (a shard's acquire + mel_shard is one part).
    members = [i for g in plan.groups for i in g]
    assert len(members) == len(set(members))
    rule_of = {j.jobid: j.rule for j in plan.jobs}
    group_of = dict(g.split("=") for g in PROFILE["groups"])
    sizes = {k: int(v) for k, v in (g.split("=") for g in PROFILE["group-components"])}
    for g in plan.groups:
        kinds = {group_of[rule_of[i]] for i in g}
        assert len(kinds) == 1, g
        parts = len(g) // 2 if kinds == {"audio"} else len(g)
        assert parts <= sizes[kinds.pop()], g
    grouped = {rule_of[i] for i in members}
    assert grouped == set(group_of) - {"evaluate_tagging"}  # the paper has no tagging target
    # 6,401 short jobs in 468 submissions; 941 in all (bench/slurm_jobs.py prints the same):
    # 3,017 feature jobs / 16, 3,024 evaluations / 16, 180 shards / 2, plus 473 ungrouped jobs
    assert len(plan.groups) == 189 + 189 + 90
    assert plan.cluster_jobs == len(cluster) - len(members) + len(plan.groups) == 941
