"""Cluster jobs of the paper's study under the SLURM profile (a dry run; no data, no cluster).

    .venv/bin/python bench/slurm_jobs.py            # the profile as it is, then evaluate=20 groups
    .venv/bin/python bench/slurm_jobs.py --keep DIR # keep the scratch folder and dry-run logs

Builds config/paper.yaml (8 sources, 425 runs, 7 targets, the paper's resources) with
the demo world standing in for the data, runs ``snakemake -n --profile
workflow/profiles/slurm`` and prints the jobs per rule, their GPU requests and
partitions, and the number of cluster submissions: with the profile as it is (no
grouping), and with ``--group-components evaluate=20`` (the rules' evaluate group, 20
to a job), whose groups are checked for size and overlap. Acquisition and mel jobs
(one each per shard of audio.shard_size tracks) come after the shard_manifest
checkpoint and are not in a dry run: add 2 per shard.
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
        for title, extra in (("profile as it is (no grouping)", ()),
                             ("--group-components evaluate=20", ("--group-components", "evaluate=20"))):
            t0 = time.perf_counter()
            out = dry_run(REPO, work, configfile, env, *extra)
            seconds = time.perf_counter() - t0
            if args.keep:
                (work / f"dryrun-{len(extra)}.txt").write_text(out)
            report(title, parse_dry_run(out), seconds)
    print("plus 2 jobs (acquire, mel_shard) per shard of audio.shard_size tracks, after the checkpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
