"""A throw-away single-node SLURM cluster for integration tests.

Starts munged, slurmctld and slurmd from Debian's slurm-wlm (22.05) with a config
written to a temporary folder (and, because the Snakemake SLURM executor removes
every ``SLURM_*`` variable inside jobs, also to ``/etc/slurm/slurm.conf``). Without
an accounting database ``sacct`` fails, so jobs stay visible to ``squeue`` for
``MinJobAge`` seconds and the executor is told to use squeue for status.
Teardown kills exactly the processes this module started, never by name.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ETC_CONF = Path("/etc/slurm/slurm.conf")


def available() -> str | None:
    """None when a cluster can be started here, else the reason why not."""
    for exe in ("slurmctld", "slurmd", "munged", "sbatch", "squeue"):
        if shutil.which(exe) is None and not Path(f"/usr/sbin/{exe}").exists():
            return f"{exe} not installed (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "needs root (slurmd runs jobs as their users)"
    return None


def _memory_mb() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("cannot read MemTotal from /proc/meminfo")


@dataclass
class Cluster:
    """A running one-node cluster; ``stop()`` tears it down."""

    root: Path
    conf: Path
    cpus: int
    memory_mb: int
    partition: str = "debug"
    procs: list[subprocess.Popen] = field(default_factory=list)
    pidfiles: list[Path] = field(default_factory=list)
    wrote_etc: bool = False

    def stop(self) -> None:
        """Kill the daemons this cluster started (by recorded pid only) and remove its config."""
        pids: list[int] = []
        for pf in self.pidfiles:
            try:
                pids.append(int(pf.read_text().split()[0]))
            except (OSError, ValueError, IndexError):
                pass
        pids += [p.pid for p in self.procs]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        for pid in pids:
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        if self.wrote_etc and ETC_CONF.exists():
            ETC_CONF.unlink()

    def env(self) -> dict[str, str]:
        """Environment for clients (sbatch, squeue, snakemake) of this cluster."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        return env


def _write_conf(root: Path, cpus: int, memory_mb: int, partition: str) -> Path:
    state, spool = root / "state", root / "spool"
    state.mkdir(parents=True, exist_ok=True)
    spool.mkdir(parents=True, exist_ok=True)
    conf = root / "slurm.conf"
    conf.write_text(
        f"""ClusterName=onerep-test
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
StateSaveLocation={state}
SlurmdSpoolDir={spool}
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName={partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
    )
    return conf


def start(root: Path, timeout: float = 60.0) -> Cluster:
    """Start munged, slurmctld and slurmd under ``root``; wait until the node is idle."""
    reason = available()
    if reason:
        raise RuntimeError(reason)
    root.mkdir(parents=True, exist_ok=True)
    cpus = os.cpu_count() or 1
    memory_mb = max(500, _memory_mb() - 1024)
    conf = _write_conf(root, cpus, memory_mb, "debug")
    cluster = Cluster(root=root, conf=conf, cpus=cpus, memory_mb=memory_mb)
    try:
        ETC_CONF.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(conf, ETC_CONF)
        cluster.wrote_etc = True
        # munged: its own socket and pid file in our folder, run as the munge user.
        mdir = root / "munge"
        mdir.mkdir(exist_ok=True)
        shutil.chown(mdir, "munge", "munge")
        sock = Path("/run/munge/munge.socket.2")
        sock.parent.mkdir(parents=True, exist_ok=True)
        shutil.chown(sock.parent, "munge", "munge")
        munge_pid = mdir / "munged.pid"
        if not sock.exists():
            subprocess.run(
                ["runuser", "-u", "munge", "--", "/usr/sbin/munged", "--pid-file", str(munge_pid),
                 "--log-file", str(mdir / "munged.log"), "--seed-file", str(mdir / "munged.seed")],
                check=True, timeout=30,
            )
            cluster.pidfiles.append(munge_pid)
        env = cluster.env()
        subprocess.run(["/usr/sbin/slurmctld", "-f", str(conf)], check=True, env=env, timeout=30)
        cluster.pidfiles.append(root / "slurmctld.pid")
        subprocess.run(["/usr/sbin/slurmd", "-f", str(conf), "-N", "localhost"], check=True, env=env, timeout=30)
        cluster.pidfiles.append(root / "slurmd.pid")
        deadline = time.time() + timeout
        state = ""
        while time.time() < deadline:
            out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=env)
            state = out.stdout.strip()
            if state == "idle":
                return cluster
            time.sleep(0.5)
        raise RuntimeError(f"SLURM node not idle after {timeout} s (state {state!r}); see {root}/slurmd.log")
    except BaseException:
        cluster.stop()
        raise
