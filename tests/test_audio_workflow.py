"""Snakemake caching of the audio rules: a second run does nothing; changes rerun only what they affect.

Runs workflow/rules/audio.smk (with common.smk) under a small Snakefile that mirrors the
repository's (config validation, FINAL_TARGETS), so the test depends on no other stage.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import rules_snakefile
from onerep.audio.store import MelStore
from onerep.audio.synth import write_clip

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

CONFIG = """
study: audio_test
results: results
demo: {{enabled: false}}
corpus: {{manifest: corpus_manifest.tsv}}
audio: {{shard_size: 2, max_loss_fraction: 0.5{extra}}}
targets:
  - {{name: extra, kind: gtzan, root: audio}}
"""

TARGETS = ["results/mel/corpus.h5", "results/mel/extra.h5"]


def _snakemake(workdir: Path, env: dict[str, str], *args: str) -> str:
    cmd = ["snakemake", "-s", "Snakefile", "--configfile", "config.yaml", "--cores", "2", *args, *TARGETS]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def _planned(out: str) -> tuple[Counter, set[str]]:
    """(jobs per rule, data sets) of a dry run's output."""
    jobs = Counter()
    for line in out.splitlines():
        m = re.match(r"^(shard_manifest|acquire|mel_shard|mel_merge|scaler)\s+(\d+)$", line.strip())
        if m:
            jobs[m.group(1)] = int(m.group(2))
    return jobs, set(re.findall(r"dataset=(\w+)", out))


def test_second_run_does_nothing_and_changes_rerun_only_their_part(tmp_path: Path, repo: Path,
                                                                   env_with_venv: dict[str, str]) -> None:
    audio = tmp_path / "audio"
    for i in range(3):
        write_clip(audio / f"c{i}.wav", 3.0, sr=22050, seed=i)
    write_clip(audio / "short.wav", 1.0, sr=22050, seed=9)
    for i in range(2):
        write_clip(audio / f"x{i}.flac", 3.0, sr=22050, seed=10 + i)
    (tmp_path / "corpus_manifest.tsv").write_text(
        "track_id\tlocation\tmd5\nc0\taudio/c0.wav\t\nc1\taudio/c1.wav\t\nc2\taudio/c2.wav\t\nc3\taudio/short.wav\t\n")
    target_manifest = tmp_path / "results" / "targets" / "extra" / "manifest.tsv"
    target_manifest.parent.mkdir(parents=True)
    target_manifest.write_text("track_id\tlocation\tmd5\nx0\t../../../audio/x0.flac\t\nx1\t../../../audio/x1.flac\t\n")
    (tmp_path / "Snakefile").write_text(rules_snakefile("audio"))
    (tmp_path / "config.yaml").write_text(CONFIG.format(extra=""))

    _snakemake(tmp_path, env_with_venv)
    with MelStore(tmp_path / "results/mel/corpus.h5") as st:
        assert st.track_ids == ["c0", "c1", "c2"]
    with MelStore(tmp_path / "results/mel/extra.h5") as st:
        assert st.track_ids == ["x0", "x1"]
    records = (tmp_path / "results/mel/corpus.records.tsv").read_text()
    assert "c3\tdecode\tfailed\ttoo_short:" in records
    assert not list((tmp_path / "results/mel/corpus").glob("*.h5"))  # shard stores are temporary

    # the same config again: no job at all
    again = _snakemake(tmp_path, env_with_venv)
    assert "Nothing to be done" in again

    # a mel parameter: the mel shards and merges of both data sets, no acquisition
    (tmp_path / "config.yaml").write_text(CONFIG.format(extra=", n_mels: 64"))
    jobs, datasets = _planned(_snakemake(tmp_path, env_with_venv, "-n"))
    assert jobs == Counter({"mel_shard": 3, "mel_merge": 2}) and datasets == {"corpus", "extra"}

    # a download setting: acquisition reruns (and what reads it), not the sharding
    (tmp_path / "config.yaml").write_text(CONFIG.format(extra=", download: {retries: 1}"))
    jobs, _ = _planned(_snakemake(tmp_path, env_with_venv, "-n"))
    assert jobs["acquire"] == 3 and "shard_manifest" not in jobs

    # a target's manifest: only that data set
    (tmp_path / "config.yaml").write_text(CONFIG.format(extra=""))
    target_manifest.write_text(target_manifest.read_text() + "x2\t../../../audio/c0.wav\t\n")
    jobs, datasets = _planned(_snakemake(tmp_path, env_with_venv, "-n"))
    assert datasets == {"extra"}
    assert jobs["shard_manifest"] == 1 and jobs["mel_merge"] == 1
