"""Temporaries of killed jobs: the next writer of the same output removes them.

A writer names its temporary ``.{name}.tmp<pid>`` (or ``.{name}.unmerged<pid>``)
beside the output; a job killed with SIGKILL cannot clean up, so the rerun deletes the
temporaries whose process is gone and keeps those whose process still runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from onerep.audio.acquire import Acquired, DownloadSettings, write_acquired
from onerep.audio.mel import MelParams
from onerep.audio.pipeline import extract_manifest, mel_shard
from onerep.audio.store import MelStore, StoreWriter, write_store
from onerep.util import atomic_path, pid_alive, remove_stale_temporaries, temp_sibling, write_text_atomic
from support.clips import write_clip


def _dead_pid() -> int:
    """The id of a process that has exited and been reaped."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(proc.stdout)
    assert not pid_alive(pid)
    return pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The id of another process that runs for the duration of the test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or ".unmerged" in p.name)


def _kill_after_ready(script: str, *args: str) -> Path:
    """Run ``script`` until it prints the path of its temporary, SIGKILL it, return that path."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = proc.stdout.readline().strip()
        assert line, f"the writer ended before its temporary existed: {proc.stderr.read()}"
        tmp = Path(line)
        assert tmp.exists(), f"{tmp}: the writer's temporary does not exist"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert tmp.exists() and not pid_alive(proc.pid)  # litter, as a killed job leaves it
    return tmp


# ---------------------------------------------------------------- the shared helper

def test_temp_sibling_names() -> None:
    assert temp_sibling("/a/x.h5").name == f".x.h5.tmp{os.getpid()}"
    assert temp_sibling("/a/x.h5", "unmerged").name == f".x.h5.unmerged{os.getpid()}"
    with pytest.raises(ValueError, match="x.h5: unknown kind of temporary 'part'"):
        temp_sibling("/a/x.h5", "part")


def test_stale_temporaries_are_removed_live_ones_kept(tmp_path: Path, live_pid: int) -> None:
    dead = _dead_pid()
    out = tmp_path / "x.h5"
    stale = [f".x.h5.tmp{dead}", f".x.h5.unmerged{dead}", f"..x.h5.unmerged{dead}.tmp{dead}"]
    kept = [f".x.h5.tmp{os.getpid()}", f".x.h5.tmp{live_pid}",
            f"..x.h5.unmerged{live_pid}.tmp{live_pid}", f".y.h5.tmp{dead}", f"x.h5.tmp{dead}",
            ".x.h5.part", f".x.h5.tmp{dead}x", "x.h5"]
    for name in stale + kept:
        (tmp_path / name).write_text("partial")
    (tmp_path / f".x.h5.tmp{dead}.d").mkdir()  # not a name a writer makes: kept
    (tmp_path / f".x.h5.unmerged{dead}x").mkdir()
    folder = tmp_path / f".x.h5.tmp{_dead_pid()}"
    folder.mkdir()  # a temporary folder of a dead job
    (folder / "inside").write_text("partial")
    removed = remove_stale_temporaries(out)
    assert sorted(p.name for p in removed) == sorted(set(stale) | {folder.name})
    left = {p.name for p in tmp_path.iterdir()}
    assert set(kept) <= left and not (set(stale) | {folder.name}) & left
    assert remove_stale_temporaries(tmp_path / "missing" / "x.h5") == []


def test_atomic_path_removes_a_planted_dead_temporary(tmp_path: Path, live_pid: int) -> None:
    dead = _dead_pid()
    (tmp_path / f".x.txt.tmp{dead}").write_text("half")
    (tmp_path / f".x.txt.tmp{live_pid}").write_text("still being written")
    write_text_atomic(tmp_path / "x.txt", "done\n")
    assert (tmp_path / "x.txt").read_text() == "done\n"
    assert _temporaries(tmp_path) == [f".x.txt.tmp{live_pid}"]


def test_store_writer_removes_a_planted_dead_temporary(tmp_path: Path, live_pid: int) -> None:
    dead = _dead_pid()
    (tmp_path / f".x.h5.tmp{dead}").write_bytes(b"\x89HDF half a store")
    (tmp_path / f".x.h5.tmp{live_pid}").write_bytes(b"another writer")
    mels = [np.zeros((216, 2, 8), np.float32)]
    write_store(tmp_path / "x.h5", ["a"], mels, {"n_mels": 8})
    assert _temporaries(tmp_path) == [f".x.h5.tmp{live_pid}"]
    with StoreWriter(tmp_path / "y.h5", 8) as w:
        assert w.tmp.name == f".y.h5.tmp{os.getpid()}"


# ---------------------------------------------------------------- real kills

def test_killed_atomic_writer_leaves_nothing_after_the_rerun(tmp_path: Path) -> None:
    out = tmp_path / "out" / "table.tsv"
    tmp = _kill_after_ready("""
        import sys, time
        from onerep.util import atomic_path
        with atomic_path(sys.argv[1]) as tmp:
            tmp.write_text("half a table")
            print(tmp, flush=True)
            time.sleep(120)
        """, str(out))
    assert tmp.name.startswith(".table.tsv.tmp")
    with atomic_path(out) as t:
        t.write_text("a\tb\n")
    assert out.read_text() == "a\tb\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["table.tsv"]


@pytest.fixture(scope="module")
def shard_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The acquisition records of two short clips (the input of a mel shard job)."""
    d = tmp_path_factory.mktemp("shard_audio")
    acquired = []
    for i in range(2):
        clip = write_clip(d / f"c{i}.wav", 2.6, sr=22050, seed=10 + i)
        acquired.append(Acquired(f"c{i}", "ok", "", str(clip), clip.stat().st_size, "", str(clip)))
    write_acquired(d / "acquired.tsv", acquired)
    return d / "acquired.tsv"


def test_killed_mel_shard_job_leaves_nothing_after_the_rerun(tmp_path: Path,
                                                             shard_audio: Path) -> None:
    out = tmp_path / "mel" / "gtzan" / "shard-0000.h5"
    records = tmp_path / "mel" / "gtzan" / "shard-0000.records.tsv"
    # the job stops (as if killed by the scheduler) after its first track is in the temporary
    tmp = _kill_after_ready("""
        import sys, time
        from onerep.audio import store
        from onerep.audio.mel import MelParams
        from onerep.audio.pipeline import mel_shard

        append = store.StoreWriter.append

        def append_then_hang(self, track_id, mel):
            append(self, track_id, mel)
            self._file.flush()
            print(self.tmp, flush=True)
            time.sleep(120)

        store.StoreWriter.append = append_then_hang
        mel_shard(sys.argv[1], sys.argv[2], sys.argv[3], MelParams(), threads=1)
        """, str(shard_audio), str(out), str(records))
    assert tmp.parent == out.parent and tmp.name.startswith(".shard-0000.h5.tmp")
    assert not out.exists()
    mel_shard(shard_audio, out, records, MelParams(), threads=1)  # the rerun
    assert sorted(p.name for p in out.parent.iterdir()) == ["shard-0000.h5",
                                                            "shard-0000.records.tsv"]
    with MelStore(out) as st:
        assert st.track_ids == ["c0", "c1"] and (st.lengths >= 216).all()


def test_one_shot_extraction_removes_a_dead_unmerged_store(tmp_path: Path) -> None:
    dead = _dead_pid()
    out = tmp_path / "ds.h5"
    clip = write_clip(tmp_path / "a.wav", 2.6, sr=22050, seed=3)
    (tmp_path / "manifest.tsv").write_text(f"track_id\tlocation\na\t{clip.name}\n")
    litter = [f".ds.h5.unmerged{dead}", f"..ds.h5.unmerged{dead}.tmp{dead}", f".ds.h5.tmp{dead}"]
    for name in litter:
        (tmp_path / name).write_bytes(b"half")
    extract_manifest(tmp_path / "manifest.tsv", out, tmp_path / "records.tsv", tmp_path / "files",
                     MelParams(), DownloadSettings(), threads=1)
    assert _temporaries(tmp_path) == []
    with MelStore(out) as st:
        assert st.track_ids == ["a"]


def test_demo_world_generation_removes_a_dead_generation_s_folders(tmp_path: Path,
                                                                   live_pid: int) -> None:
    """A killed ``demo-world`` job leaves ``.demo.tmp<pid>`` (the world being written) or
    ``.demo.old<pid>`` (the world being replaced); the next generation removes both."""
    from onerep.demo.generator import generate

    micro = dict(seed=3, clip_seconds=2.6, n_genres=2, n_artists=3, n_users=4, corpus_tracks=10,
                 gtzan_per_genre=1, ballroom_tracks=2, irmas_clips=2, fma_tracks=2,
                 emotion_tracks=2, lastfm1k_tracks=4, lastfm1k_users=2,
                 jamendo_tracks=0, mtt_clips=0)
    dead = _dead_pid()
    for kind in ("tmp", "old"):
        (tmp_path / f".demo.{kind}{dead}" / "corpus").mkdir(parents=True)
    (tmp_path / f".demo.tmp{live_pid}").mkdir()
    generate({"demo": micro}, tmp_path / "demo")
    assert (tmp_path / "demo" / "corpus").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".demo.tmp{live_pid}", "demo"]
