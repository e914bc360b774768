"""The SLURM profile on a real SLURM: a one-node cluster started by the test (tests/slurm/cluster.py).

The study of tests/config/slurm_tiny.yaml (acquisition, mel, two label sources, the
design, then one training run, its features and its scores on a classification and a
recommendation target) runs through ``--profile workflow/profiles/slurm`` with only
what a user edits overridden (partitions, the size of a node) plus the test cluster's
needs (squeue for status: it has no accounting database; short waits). The same
targets run locally at the same time in another folder; design, labels and scores must
be equal. The short per-(representation, target) jobs and the audio shards run batched
in the profile's job groups, each job once. Jobs must have been granted what the config
asks (a group: its largest member's CPUs and memory, the sum of the runtimes). A job no node can hold
must make Snakemake fail at once with SLURM's reason, not wait.

All of it is one test: the cluster's ports and /etc/slurm/slurm.conf allow one cluster
per machine, and ``--dist loadgroup`` does not keep an ``xdist_group`` on one worker
with pytest 9.2 and pytest-xdist 3.8 (xdist sets ``item._nodeid``, which pytest 9 no
longer reads), so tests of one cluster could land on two workers at once.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from slurm.cluster import Cluster, available, start

pytestmark = [pytest.mark.slurm, pytest.mark.workflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "tests" / "config" / "slurm_tiny.yaml"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
STUDY_LIMIT_S = 480  # the study takes about 3 minutes on 2 busy cores
SHORT_LIMIT_S = 120  # for runs that must end at once: a dry run, a rejected job


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A running one-node cluster, torn down (by pid) after the test."""
    reason = available()
    if reason:
        pytest.skip(f"no local SLURM cluster: {reason}")
    running = start(tmp_path_factory.mktemp("slurm"))
    try:
        yield running
    finally:
        running.stop()


def _slurm_args(cluster: Cluster) -> list[str]:
    """The profile plus what a user of this cluster would pass: its partition, its node size,
    squeue for status (no accounting database) and short waits (a local file system)."""
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    set_res = [f"{rule}:slurm_partition={cluster.partition}" for rule in profile.get("set-resources", {})]
    return ["--profile", str(PROFILE), "--default-resources", f"slurm_partition={cluster.partition}",
            "--set-resources", *set_res, "--cores", str(cluster.cpus),
            "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
            "--latency-wait", "5"]


def _snakemake_cmd(workdir: Path, limit_s: int, *args: str) -> list[str]:
    """snakemake on the repository's workflow in ``workdir``, interrupted (SIGINT, then KILL) after limit_s."""
    return ["timeout", "-s", "INT", "-k", "30", str(limit_s), "snakemake", "-s", str(REPO / "Snakefile"),
            "-d", str(workdir), *args]


def _run(cmd: list[str], env: dict[str, str], log: Path, limit_s: int) -> tuple[int, str, float]:
    """Run ``cmd`` with its output in ``log``: (exit status, output, seconds)."""
    t0 = time.monotonic()
    with log.open("w") as fh:
        rc = subprocess.run(cmd, cwd=log.parent, env=env, stdout=fh, stderr=subprocess.STDOUT,
                            timeout=limit_s + 60).returncode
    return rc, log.read_text(), time.monotonic() - t0


def _queue(cluster: Cluster, job_ids: list[str] | None = None) -> list[dict[str, str]]:
    """Jobs SLURM still knows (MinJobAge keeps finished ones): id, comment (rule and wildcards),
    CPUs, memory, time limit, state and reason."""
    cmd = ["squeue", "-h", "-t", "all", "-o", "%i|%k|%C|%m|%l|%T|%R"]
    if job_ids:
        cmd += ["-j", ",".join(job_ids)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=cluster.env(), timeout=30).stdout
    keys = ("id", "comment", "cpus", "memory", "limit", "state", "reason")
    return [dict(zip(keys, line.split("|"))) for line in out.splitlines() if line.strip()]


def _diagnosis(cluster: Cluster, output: str) -> str:
    queue = "\n".join("|".join(job.values()) for job in _queue(cluster))
    return f"{output[-4000:]}\n--- squeue (id|comment|cpus|memory|limit|state|reason):\n{queue}"


def _targets(study: dict) -> tuple[str, list[str]]:
    """(the run trained: the design's first; targets: the design, each label source of the
    design, and the run's scores on every target)."""
    from onerep.config import validate
    from onerep.design import runs_table

    cfg = validate(study)
    run = str(runs_table(cfg).run_id.iloc[0])
    sources = [s for s in cfg["design"]["sources"] if s != "self"]
    return run, (["results/design/runs.tsv"] + [f"results/labels/{s}.h5" for s in sources]
                 + [f"results/scores/{run}/{t['name']}.tsv" for t in cfg["targets"]])


def _assert_same_results(slurm_dir: Path, local_dir: Path, targets: list[str]) -> None:
    for target in targets:
        a, b = slurm_dir / target, local_dir / target
        assert a.exists() and b.exists(), f"{target}: missing after the SLURM run ({a.exists()}) or local run"
        if target.endswith(".h5"):
            with h5py.File(a) as fa, h5py.File(b) as fb:
                for key in ("track_id", "z"):
                    assert np.array_equal(fa[key][()], fb[key][()]), f"{target}: {key} differs"
        else:
            assert a.read_text() == b.read_text(), f"{target} differs between the SLURM and the local run"


def _jobs_in_group_logs(slurm_dir: Path) -> dict[str, int]:
    """The jobs that group submissions ran (by first output), each with the number of times it ran.
    A group's SLURM log holds the Snakemake output of its members; each member's own
    execution (the job step) is printed as ``localrule NAME:`` with its outputs."""
    counts: dict[str, int] = {}
    for log in (slurm_dir / "results" / "logs" / "slurm").glob("group_*/**/*.log"):
        text = log.read_text(errors="replace")
        for outputs in re.findall(r"^localrule \w+:\n(?:\s+input: .*\n)?\s+output: (.*)$", text, re.M):
            first = outputs.split(", ")[0]
            counts[first] = counts.get(first, 0) + 1
    return counts


def _runtime(study: dict, stage: str) -> int:
    """A stage's runtime (minutes) in the validated config; resources.default where unset."""
    from onerep.config import validate

    resources = validate(study)["resources"]
    return int(resources.get(stage, {}).get("runtime") or resources["default"]["runtime"])


def _limit(minutes: int) -> str:
    """A time limit as squeue prints it."""
    return f"{minutes}:00" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:00"


def _shards(study: dict) -> int:
    """Audio shards of the study's data sets (the corpus and its targets)."""
    from onerep.config import validate

    cfg = validate(study)
    shards = cfg["audio"]["shards"]
    names = ["corpus", *(t["name"] for t in cfg["targets"])]
    return sum(int(shards.get(n, shards["default"])) for n in names)


def _check_study(cluster: Cluster, workdir: Path, env_with_venv: dict[str, str]) -> None:
    """The study through SLURM equals a local run; jobs got what the config asks; a rerun submits nothing."""
    study = yaml.safe_load(CONFIG.read_text())
    run, targets = _targets(study)
    train_res = study["resources"]["train"]
    env = {**env_with_venv, "SLURM_CONF": str(cluster.conf)}
    slurm_dir, local_dir = workdir / "slurm", workdir / "local"
    slurm_dir.mkdir(parents=True)
    local_dir.mkdir()

    # The local run of the same targets goes alongside: the SLURM run mostly waits.
    local_cmd = _snakemake_cmd(local_dir, STUDY_LIMIT_S, "--profile", str(REPO / "workflow/profiles/local"),
                               "--configfile", str(CONFIG), "--", *targets)
    with (local_dir / "snakemake.log").open("w") as local_log:
        local = subprocess.Popen(local_cmd, cwd=local_dir, env=env_with_venv, stdout=local_log,
                                 stderr=subprocess.STDOUT)
        try:
            rc, out, seconds = _run(_snakemake_cmd(slurm_dir, STUDY_LIMIT_S, *_slurm_args(cluster),
                                                   "--configfile", str(CONFIG), "--", *targets),
                                    env, slurm_dir / "snakemake.log", STUDY_LIMIT_S)
        finally:
            local_rc = local.wait(timeout=STUDY_LIMIT_S + 60)
    assert rc == 0, f"SLURM run failed (exit {rc} after {seconds:.0f} s):\n{_diagnosis(cluster, out)}"
    assert local_rc == 0, (local_dir / "snakemake.log").read_text()[-4000:]
    # Snakemake can exit 0 with jobs left undone (it did with groups after a checkpoint): count them.
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", out)
    assert done and done[-1][0] == done[-1][1], f"SLURM run did not finish every job:\n{out[-3000:]}"

    _assert_same_results(slurm_dir, local_dir, targets)

    # Every submission went through SLURM once and completed; the per-(representation,
    # target) jobs and the audio shards ran batched in the profile's groups (features,
    # scores, audio), group-components of them to a submission, and each job ran once.
    job_ids = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    assert len(job_ids) == len(set(job_ids)), _diagnosis(cluster, out)
    jobs = _queue(cluster, job_ids)
    assert len(jobs) == len(job_ids), _diagnosis(cluster, out)
    assert {j["state"] for j in jobs} == {"COMPLETED"}, _diagnosis(cluster, out)
    sizes = {k: int(v) for k, v in (g.split("=") for g in yaml.safe_load(
        (PROFILE / "config.yaml").read_text())["group-components"])}
    n_shards, n_scores = _shards(study), sum(t.startswith("results/scores/") for t in targets)
    members = {"features": n_scores, "scores": n_scores, "audio": n_shards}
    groups = {g: [j for j in jobs if j["comment"].startswith(f"rule_{g}")] for g in members}
    for name, group in groups.items():
        assert len(group) == -(-members[name] // sizes[name]), (name, _diagnosis(cluster, out))
    ran = _jobs_in_group_logs(slurm_dir)
    assert all(n == 1 for n in ran.values()), ran  # each job ran once
    assert {o.split("/")[2] for o in ran if o.startswith("results/features/")} == {run}
    assert ({o for o in ran if o.startswith("results/scores/")}
            == {t for t in targets if t.startswith("results/scores/")})
    assert (sum(o.startswith("results/mel/") for o in ran)
            == sum(o.startswith("results/audio/") for o in ran) == n_shards)
    assert len(ran) == n_scores * 2 + n_shards * 2
    n_groups = sum(map(len, groups.values()))
    assert len(job_ids) == int(done[-1][1]) - len(ran) + n_groups, _diagnosis(cluster, out)
    train = [j for j in jobs if j["comment"].startswith("rule_train_wildcards_")]
    assert [j["comment"] for j in train] == [f"rule_train_wildcards_{run}"], _diagnosis(cluster, out)
    for job in train:
        assert (int(job["cpus"]), job["memory"], job["limit"]) == (
            train_res["threads"], f"{train_res['mem_mb']}M", f"{train_res['runtime']}:00"), job
    batched = [j for g in groups.values() for j in g]
    others = [j for j in jobs if j not in train and j not in batched and "demo_world" not in j["comment"]]
    assert {(j["cpus"], j["memory"]) for j in others} == {("1", "2000M")}, _diagnosis(cluster, out)
    # A group runs its members one at a time: it asks for the largest member's CPUs and
    # memory (here 1 and 2000 MB each) and the sum of their runtimes.
    assert {(j["cpus"], j["memory"]) for j in batched} == {("1", "2000M")}, _diagnosis(cluster, out)
    assert groups["features"][0]["limit"] == _limit(members["features"] * _runtime(study, "extract"))
    assert groups["scores"][0]["limit"] == _limit(members["scores"] * _runtime(study, "evaluate"))
    # Each job's SLURM log is kept under results/logs/slurm/<rule or group>/<wildcards>/<jobid>.log.
    logs = {p.stem for p in (slurm_dir / "results" / "logs" / "slurm").rglob("*.log")}
    assert set(job_ids) <= logs
    # A second run submits nothing.
    rc, again, _ = _run(_snakemake_cmd(slurm_dir, SHORT_LIMIT_S, *_slurm_args(cluster), "-n", "--configfile",
                                       str(CONFIG), "--", *targets), env, slurm_dir / "again.log", SHORT_LIMIT_S)
    assert rc == 0 and "Nothing to be done" in again, again[-3000:]


def _check_rejected(cluster: Cluster, workdir: Path, env_with_venv: dict[str, str], wrong: str) -> None:
    """A stage asking for more memory than the node has, or more CPUs (a profile whose
    `cores` was not edited for this cluster): sbatch refuses it and Snakemake stops."""
    workdir.mkdir()
    args = _slurm_args(cluster)
    if wrong == "memory":
        resources = {"design": {"mem_mb": 2 * cluster.memory_mb}}
        expected = "Memory specification can not be satisfied"
    else:
        resources = {"design": {"threads": cluster.cpus + 1}}
        args[args.index("--cores") + 1] = str(cluster.cpus + 1)
        expected = "More processors requested than permitted"
    override = workdir / "override.yaml"
    override.write_text(yaml.safe_dump({"resources": resources}))
    env = {**env_with_venv, "SLURM_CONF": str(cluster.conf)}
    cmd = _snakemake_cmd(workdir, SHORT_LIMIT_S, *args, "--configfile", str(CONFIG), str(override),
                         "--", "results/design/runs.tsv")
    rc, out, seconds = _run(cmd, env, workdir / "snakemake.log", SHORT_LIMIT_S)
    assert rc not in (0, 124, 137), f"exit {rc} after {seconds:.0f} s:\n{_diagnosis(cluster, out)}"
    assert "SLURM sbatch failed" in out and expected in out, _diagnosis(cluster, out)
    assert not (workdir / "results" / "design" / "runs.tsv").exists()


def test_profile_on_a_one_node_cluster(cluster: Cluster, tmp_path: Path, env_with_venv: dict[str, str]) -> None:
    """Jobs no node can hold are refused at once; then the study runs as it runs locally."""
    for wrong in ("memory", "cpus"):
        _check_rejected(cluster, tmp_path / f"too-many-{wrong}", env_with_venv, wrong)
    _check_study(cluster, tmp_path / "study", env_with_venv)
