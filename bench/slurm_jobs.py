"""Cluster jobs of the paper's study under the SLURM profile (a dry run; no data, no cluster).

    .venv/bin/python bench/slurm_jobs.py            # the profile as it is, then one job per submission
    .venv/bin/python bench/slurm_jobs.py --keep DIR # keep the scratch folder and dry-run logs

Builds config/paper.yaml (8 sources, 425 runs, 7 targets, the paper's resources) with
the demo world standing in for the data, runs ``snakemake -n --profile
workflow/profiles/slurm`` and prints the jobs per rule, their GPU requests and
partitions, and the number of cluster submissions: with the profile as it is (the
short per-(representation, target) jobs batched by its groups and group-components),
and with every group cut to one connected part (``--group-components features=1
scores=1 audio=1``: one submission per job, a shard's acquire + mel_shard together).
Groups are checked for size and overlap. The audio shards are fixed at parse time, so
the dry run lists every job.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from slurm.plan import Plan, dry_run, paper_config, parse_dry_run  # noqa: E402


def report(title: str, plan: Plan, seconds: float) -> None:
    """Print one dry run's summary."""
    rules = plan.by_rule()
    print(f"== {title} (dry run {seconds:.0f} s)")
    print(f"{'rule':<30}{'jobs':>6}{'GPUs':>6}  partition")
    for rule, jobs in rules.items():
        parts = ",".join(sorted({j.resources.get('slurm_partition', '-') for j in jobs}))
        print(f"{rule:<30}{len(jobs):>6}{sum(j.gpus for j in jobs):>6}  {parts}")
    members = [i for g in plan.groups for i in g]
    print(f"jobs: {sum(len(v) for v in rules.values())}; cluster submissions: {plan.cluster_jobs}")
    if plan.groups:
        sizes = Counter(len(g) for g in plan.groups)
        print(f"group jobs: {len(plan.groups)}, sizes {dict(sorted(sizes.items()))}; memberships {len(members)} "
              f"for {len(set(members))} distinct jobs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="scratch folder to keep (default: a temporary one)")
    args = parser.parse_args()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        configfile = work / "paper_demo.yaml"
        configfile.write_text(yaml.safe_dump(paper_config(REPO), sort_keys=False))
        for title, extra in (("profile as it is (grouped)", ()),
                             ("one job per submission", ("--group-components", "features=1", "scores=1",
                                                         "audio=1"))):
            t0 = time.perf_counter()
            out = dry_run(REPO, work, configfile, env, *extra)
            seconds = time.perf_counter() - t0
            if args.keep:
                (work / f"dryrun-{len(extra)}.txt").write_text(out)
            report(title, parse_dry_run(out), seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
