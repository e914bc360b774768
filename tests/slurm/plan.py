"""What a profile would submit: Snakemake dry runs parsed into cluster jobs and their requests.

Used by tests/test_slurm_profile.py and bench/slurm_jobs.py. A dry run prints each job
with its ``threads:`` and ``resources:`` lines; jobs of a group job are printed indented
under a ``Group job NAME`` line. The workflow has no checkpoint (audio shards are fixed
at parse time), so a dry run of a fresh study lists every job, the audio shards' included.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Jobs Snakemake runs in its own process, never on the cluster (no shell command).
NORUN_RULES = frozenset({"all"})

_GROUP = re.compile(r"^\[[^\]]*\] Group job (\S+)")
_TOP_JOB = re.compile(r"^(rule|checkpoint|localrule|localcheckpoint) (\w+):")
_MEMBER_JOB = re.compile(r"^\s+(rule|checkpoint) (\w+):")
_JOBID = re.compile(r"^\s+jobid: (\d+)")
_THREADS = re.compile(r"^\s+threads: (\d+)")
_RESOURCES = re.compile(r"^\s+resources: (.*)")


@dataclass
class PlannedJob:
    """One job of a dry run: its rule, id, threads and resources (as printed)."""

    rule: str
    local: bool = False
    jobid: int = -1
    threads: int = 1
    resources: dict[str, str] = field(default_factory=dict)

    @property
    def gpus(self) -> int:
        """GPUs the job requests (the executor's ``gpu`` resource)."""
        return int(self.resources.get("gpu", 0) or 0)


@dataclass
class Plan:
    """Every job of a dry run, and the job ids of each group job."""

    jobs: list[PlannedJob]
    groups: list[list[int]]

    @property
    def cluster_jobs(self) -> int:
        """Submissions to the cluster: ungrouped jobs that run a command, plus one per group job."""
        grouped = {i for g in self.groups for i in g}
        alone = [j for j in self.jobs if j.jobid not in grouped and not j.local and j.rule not in NORUN_RULES]
        return len(alone) + len(self.groups)

    def by_rule(self) -> dict[str, list[PlannedJob]]:
        """Jobs per rule (a job listed in several groups counts once)."""
        out: dict[str, list[PlannedJob]] = {}
        seen: set[int] = set()
        for job in self.jobs:
            if job.jobid not in seen:
                seen.add(job.jobid)
                out.setdefault(job.rule, []).append(job)
        return out


def _resources(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(", "):
        key, sep, value = item.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_dry_run(text: str) -> Plan:
    """The jobs and group jobs of ``snakemake -n`` output (the job listing before its final summary)."""
    jobs: list[PlannedJob] = []
    groups: list[list[int]] = []
    group: list[int] | None = None
    job: PlannedJob | None = None
    for line in text.splitlines():
        if m := _GROUP.match(line):
            group, job = [], None
            groups.append(group)
        elif m := _TOP_JOB.match(line):
            group = None
            job = PlannedJob(m.group(2), local=m.group(1).startswith("local"))
            jobs.append(job)
        elif (m := _MEMBER_JOB.match(line)) and group is not None:
            job = PlannedJob(m.group(2))
            jobs.append(job)
        elif job is None:
            continue
        elif m := _JOBID.match(line):
            job.jobid = int(m.group(1))
            if group is not None:
                group.append(job.jobid)
        elif m := _THREADS.match(line):
            job.threads = int(m.group(1))
        elif m := _RESOURCES.match(line):
            job.resources = _resources(m.group(1))
        elif line.startswith("Job stats:"):
            job = None
    return Plan(jobs=jobs, groups=groups)


def paper_config(repo: Path) -> dict:
    """config/paper.yaml (8 sources, 425 runs, 7 targets, its resources) with the demo
    world of config/config.yaml standing in for the corpora and target data sets."""
    paper = yaml.safe_load((repo / "config" / "paper.yaml").read_text())
    demo = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    for key in ("demo", "corpus", "targets"):
        paper[key] = demo[key]
    return paper


def dry_run(repo: Path, workdir: Path, configfile: Path, env: dict[str, str], *extra: str,
            timeout: float = 600) -> str:
    """``snakemake -n`` of the repository's workflow with the SLURM profile in ``workdir``; its output."""
    cmd = ["snakemake", "-n", "-s", str(repo / "Snakefile"), "-d", str(workdir),
           "--profile", str(repo / "workflow" / "profiles" / "slurm"), "--configfile", str(configfile), *extra]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"dry run failed ({proc.returncode}):\n{out[-4000:]}")
    return out
