"""Snakemake caching of the audio rules: a second run does nothing; changes rerun only what they affect.

Runs workflow/rules/audio.smk (with common.smk) under a small Snakefile that mirrors the
repository's (config validation, FINAL_TARGETS), so the test depends on no other stage.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import rules_snakefile
from onerep.audio.store import MelStore
from support.clips import write_clip

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

CONFIG = """
study: audio_test
results: results
demo: {{enabled: false}}
corpus: {{manifest: corpus_manifest.tsv}}
audio: {{shards: {{corpus: {corpus_shards}}}, max_loss_fraction: 0.5{extra}}}
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
        m = re.match(r"^(acquire|mel_shard|mel_merge|scaler)\s+(\d+)$", line.strip())
        if m:
            jobs[m.group(1)] = int(m.group(2))
    return jobs, set(re.findall(r"dataset=(\w+)", out))


def _study(tmp_path: Path) -> Path:
    """The tiny study's audio, manifests and config (no Snakefile); returns the target's manifest."""
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
    (tmp_path / "config.yaml").write_text(CONFIG.format(corpus_shards=2, extra=""))
    return target_manifest


def test_second_run_does_nothing_and_changes_rerun_only_their_part(tmp_path: Path, repo: Path,
                                                                   env_with_venv: dict[str, str]) -> None:
    target_manifest = _study(tmp_path)
    (tmp_path / "Snakefile").write_text(rules_snakefile("audio"))

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
    (tmp_path / "config.yaml").write_text(CONFIG.format(corpus_shards=2, extra=", n_mels: 64"))
    jobs, datasets = _planned(_snakemake(tmp_path, env_with_venv, "-n"))
    assert jobs == Counter({"mel_shard": 3, "mel_merge": 2}) and datasets == {"corpus", "extra"}

    # a download setting: the acquisition of every shard (and what reads it)
    (tmp_path / "config.yaml").write_text(CONFIG.format(corpus_shards=2, extra=", download: {retries: 1}"))
    jobs, _ = _planned(_snakemake(tmp_path, env_with_venv, "-n"))
    assert jobs == Counter({"acquire": 3, "mel_shard": 3, "mel_merge": 2})

    # a target's manifest: only that data set
    (tmp_path / "config.yaml").write_text(CONFIG.format(corpus_shards=2, extra=""))
    target_manifest.write_text(target_manifest.read_text() + "x2\t../../../audio/c0.wav\t\n")
    jobs, datasets = _planned(_snakemake(tmp_path, env_with_venv, "-n"))
    assert datasets == {"extra"}
    assert jobs == Counter({"acquire": 1, "mel_shard": 1, "mel_merge": 1})

    # the corpus's number of shards: its acquisition (new params), mel shards and merge, in
    # manifest order again (3 shards: c2 and c3 in 0000, c0 in 0001, c1 in 0002)
    target_manifest.write_text(target_manifest.read_text().replace("x2\t../../../audio/c0.wav\t\n", ""))
    (tmp_path / "config.yaml").write_text(CONFIG.format(corpus_shards=3, extra=""))
    out = _snakemake(tmp_path, env_with_venv, "-n")
    jobs, datasets = _planned(out)
    assert jobs == Counter({"acquire": 3, "mel_shard": 3, "mel_merge": 1}) and datasets == {"corpus"}
    assert set(re.findall(r"dataset=corpus, shard=(\d+)", out)) == {"0000", "0001", "0002"}
    _snakemake(tmp_path, env_with_venv)
    with MelStore(tmp_path / "results/mel/corpus.h5") as st:
        assert st.track_ids == ["c0", "c1", "c2"]
    assert (tmp_path / "results/audio/corpus/acquired/shard-0000.tsv").read_text().count("\n") == 3  # c2, c3


def test_demo_dry_run_has_no_checkpoint_and_a_job_per_shard(tmp_path: Path, repo: Path,
                                                            env_with_venv: dict[str, str]) -> None:
    """The demo study's whole plan is known at parse time: audio.shards {default: 1, corpus: 3}
    gives 3 + 7 x 1 acquisition and mel jobs and one merge per data set (8)."""
    proc = subprocess.run(
        ["snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "--configfile",
         str(repo / "config/config.yaml"), "-n", "--quiet", "rules"],
        cwd=tmp_path, env=env_with_venv, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "checkpoint" not in out.lower()
    jobs, _ = _planned(out)
    assert (jobs["acquire"], jobs["mel_shard"], jobs["mel_merge"]) == (10, 10, 8)


def test_shards_of_an_unknown_data_set_are_refused(tmp_path: Path, env_with_venv: dict[str, str]) -> None:
    _study(tmp_path)
    (tmp_path / "Snakefile").write_text(rules_snakefile("audio"))
    (tmp_path / "config.yaml").write_text(CONFIG.format(corpus_shards="2, gtzn: 2", extra=""))
    proc = subprocess.run(["snakemake", "-s", "Snakefile", "--configfile", "config.yaml", "-n", *TARGETS],
                          cwd=tmp_path, env=env_with_venv, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "audio.shards: unknown data set(s) gtzn; the data sets are corpus, extra" in proc.stdout + proc.stderr


def test_excerpt_upgrade_reruns_nothing_and_excerpt_datasets_reruns_only_theirs(
        tmp_path: Path, repo: Path, env_with_venv: dict[str, str]) -> None:
    _study(tmp_path)
    # a study finished with the rule as it was before audio.excerpt_seconds: params settings(*MEL_KEYS)
    rules = (repo / "workflow/rules/audio.smk").read_text()
    assert rules.count("settings=mel_settings,") == 1
    # (a copy outside the repository: its conda environments by absolute path)
    before = rules.replace("settings=mel_settings,", "settings=settings(*MEL_KEYS),")
    (tmp_path / "audio_before.smk").write_text(before.replace('"../../envs/', f'"{repo}/envs/'))
    snakefile = rules_snakefile("audio")
    (tmp_path / "Snakefile").write_text(
        snakefile.replace(f"{repo}/workflow/rules/audio.smk", str(tmp_path / "audio_before.smk")))
    _snakemake(tmp_path, env_with_venv)
    corpus_mtime = (tmp_path / "results/mel/corpus.h5").stat().st_mtime_ns

    # the upgraded rules: nothing to do, with the excerpt left out or null
    (tmp_path / "Snakefile").write_text(snakefile)
    assert "Nothing to be done" in _snakemake(tmp_path, env_with_venv)
    (tmp_path / "config.yaml").write_text(
        CONFIG.format(corpus_shards=2, extra=", excerpt_seconds: null, excerpt_datasets: [corpus]"))
    assert "Nothing to be done" in _snakemake(tmp_path, env_with_venv)

    # an excerpt for the target only: its mel shard and merge, nothing of the corpus
    (tmp_path / "config.yaml").write_text(
        CONFIG.format(corpus_shards=2, extra=", excerpt_seconds: 2.5, excerpt_datasets: [extra]"))
    jobs, datasets = _planned(_snakemake(tmp_path, env_with_venv, "-n"))
    assert jobs == Counter({"mel_shard": 1, "mel_merge": 1}) and datasets == {"extra"}
    _snakemake(tmp_path, env_with_venv)
    with MelStore(tmp_path / "results/mel/extra.h5") as st:  # 3 s clips cut to 2.5 s: 1 + 55125 // 256 frames
        assert st.attrs["excerpt_seconds"] == 2.5 and st.lengths.tolist() == [216, 216]
    with MelStore(tmp_path / "results/mel/corpus.h5") as st:
        assert np.isnan(st.attrs["excerpt_seconds"]) and st.lengths.tolist() == [1 + 3 * 22050 // 256] * 3
    assert (tmp_path / "results/mel/corpus.h5").stat().st_mtime_ns == corpus_mtime

    # excerpt_datasets null = every data set: now the corpus too
    (tmp_path / "config.yaml").write_text(CONFIG.format(corpus_shards=2, extra=", excerpt_seconds: 2.5"))
    jobs, datasets = _planned(_snakemake(tmp_path, env_with_venv, "-n"))
    assert jobs == Counter({"mel_shard": 2, "mel_merge": 1}) and datasets == {"corpus"}
