"""A throw-away single-node SLURM cluster for integration tests.

Starts munged, slurmctld and slurmd from Debian's slurm-wlm (22.05) with a config
written to a temporary folder (and, because the Snakemake SLURM executor removes
every ``SLURM_*`` variable inside jobs, also to ``/etc/slurm/slurm.conf``). Without
an accounting database ``sacct`` fails, so jobs stay visible to ``squeue`` for
``MinJobAge`` seconds and the executor is told to use squeue for status. Like most
production clusters it rejects at submission a job no node can hold
(``EnforcePartLimits=ALL``), rather than leaving it pending for ever.
Teardown cancels the cluster's jobs (by job id), then kills exactly the processes this
module started (by recorded pid), never by name.

By hand (as root), for debugging a profile against a real scheduler::

    python tests/slurm/cluster.py start /tmp/onerep-slurm   # prints the SLURM_CONF to export
    python tests/slurm/cluster.py stop /tmp/onerep-slurm
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ETC_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_KEY = Path("/etc/munge/munge.key")
CLUSTER_NAME = "onerep-test"


def available() -> str | None:
    """None when a cluster can be started here, else the reason why not."""
    for exe in ("slurmctld", "slurmd", "munged", "sbatch", "squeue"):
        if shutil.which(exe) is None and not Path(f"/usr/sbin/{exe}").exists():
            return f"{exe} not installed (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "needs root (slurmd runs jobs as their users)"
    if ETC_CONF.exists() and f"ClusterName={CLUSTER_NAME}" not in ETC_CONF.read_text(errors="replace"):
        return f"{ETC_CONF} belongs to another SLURM installation (not overwriting it)"
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
    tempdirs: list[Path] = field(default_factory=list)

    def stop(self) -> None:
        """Cancel the cluster's jobs, kill the daemons it started (by recorded pid only), remove its config."""
        self.cancel_jobs()
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
        for folder in self.tempdirs:
            shutil.rmtree(folder, ignore_errors=True)

    def cancel_jobs(self, timeout: float = 15.0) -> None:
        """scancel every job still queued or running on this cluster (by job id), wait until none runs."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                out = subprocess.run(["squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING,CONFIGURING",
                                      "-o", "%i"], capture_output=True, text=True, env=self.env(), timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                return
            ids = out.stdout.split()
            if out.returncode != 0 or not ids:
                return
            subprocess.run(["scancel", *ids], capture_output=True, env=self.env(), timeout=10)
            time.sleep(0.5)

    @classmethod
    def attach(cls, root: Path) -> Cluster:
        """The cluster started under ``root`` by another process (from its config and pid files)."""
        conf = root / "slurm.conf"
        pidfiles = [pf for pf in (root / "munge" / "munged.pid", root / "slurmctld.pid", root / "slurmd.pid")
                    if pf.exists()]
        wrote_etc = ETC_CONF.exists() and conf.exists() and ETC_CONF.read_text() == conf.read_text()
        tempdirs = [(root / "munge").resolve()] if (root / "munge").is_symlink() else []
        return cls(root=root, conf=conf, cpus=0, memory_mb=0, pidfiles=pidfiles, wrote_etc=wrote_etc,
                   tempdirs=tempdirs)

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
        f"""ClusterName={CLUSTER_NAME}
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
EnforcePartLimits=ALL
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


def _munge_answers() -> bool:
    """Whether a munged is already serving credentials on the default socket."""
    if not Path("/run/munge/munge.socket.2").exists():
        return False
    try:
        return subprocess.run(["munge", "-n"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_munge_key() -> None:
    """Create munge's key (as Debian's postinst would) when the package left none."""
    if MUNGE_KEY.exists():
        return
    MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
    mungekey = shutil.which("mungekey") or "/usr/sbin/mungekey"
    if Path(mungekey).exists():
        subprocess.run([mungekey, "--create", "--keyfile", str(MUNGE_KEY)], check=True, timeout=30)
    else:
        fd = os.open(MUNGE_KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(1024))
    shutil.chown(MUNGE_KEY, "munge", "munge")
    MUNGE_KEY.chmod(0o600)


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
        # munged (unless one already answers), run as the munge user, with its pid file and log
        # in a folder of its own in /tmp: the munge user may not traverse ``root`` (pytest's
        # temporary folders are 0700). ``root/munge`` links to it for ``attach``.
        ensure_munge_key()
        mdir = Path(tempfile.mkdtemp(prefix="onerep-munge-"))
        shutil.chown(mdir, "munge", "munge")
        (root / "munge").symlink_to(mdir)
        cluster.tempdirs.append(mdir)
        sock = Path("/run/munge/munge.socket.2")
        sock.parent.mkdir(parents=True, exist_ok=True)
        shutil.chown(sock.parent, "munge", "munge")
        munge_pid = mdir / "munged.pid"
        if not _munge_answers():
            # --force: a socket left by a munged that died is taken over
            subprocess.run(
                ["runuser", "-u", "munge", "--", "/usr/sbin/munged", "--force", "--pid-file", str(munge_pid),
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


def main(argv: list[str]) -> int:
    """``start ROOT`` or ``stop ROOT``: a cluster for manual checks, outliving this process."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: cluster.py start|stop ROOT", file=sys.stderr)
        return 2
    root = Path(argv[1]).resolve()
    if argv[0] == "stop":
        Cluster.attach(root).stop()
        return 0
    cluster = start(root)
    print(f"export SLURM_CONF={cluster.conf}  # {cluster.cpus} CPUs, {cluster.memory_mb} MB, partition "
          f"{cluster.partition}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
