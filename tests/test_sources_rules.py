"""workflow/rules/sources.smk: the jobs, inputs and params Snakemake plans (dry runs)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import rules_snakefile

CORPUS_FILES = {
    "manifest": "manifest.tsv", "track_metadata": "track_metadata.db", "lastfm_tags": "lastfm_tags.db",
    "taste_triplets": "train_triplets.txt", "musixmatch": "mxm_dataset_train.txt", "tempo": "tempo.tsv",
    "cdr_genres": "cdr_genres.tsv",
}

def setup(tmp: Path, repo: Path, names: list[str], drop: str | None = None, declared: dict | None = None,
          design: tuple[str, ...] = ("self", "bpm", "tag")) -> Path:
    """A study folder with placeholder corpus files (and files of the ``declared`` sources)
    and a Snakefile of the sources rules."""
    cfg = yaml.safe_load((repo / "tests/config/tiny.yaml").read_text())
    cfg["demo"]["enabled"] = False
    cfg["targets"] = []
    (tmp / "data").mkdir()
    for key, name in CORPUS_FILES.items():
        (tmp / "data" / name).write_text("placeholder\n")
        cfg["corpus"][key] = f"data/{name}"
    if drop:
        cfg["corpus"][drop] = None
    for entry in (declared or {}).values():
        for path in (entry["file"], (entry.get("group") or {}).get("file")):
            if path:
                (tmp / path).write_text("placeholder\n")
    cfg["sources"]["names"] = names
    cfg["sources"]["declared"] = declared or {}
    cfg["design"]["sources"] = list(design)
    (tmp / "results/mel").mkdir(parents=True)
    (tmp / "results/mel/corpus.h5").write_text("placeholder\n")
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    (tmp / "Snakefile").write_text(rules_snakefile("sources"))
    return tmp


def dry_run(tmp: Path, env: dict) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake", path=env["PATH"])
    if exe is None:
        pytest.skip("snakemake is not installed")
    return subprocess.run(
        [exe, "-s", "Snakefile", "--configfile", "config.yaml", "--cores", "1", "--dry-run",
         "--printshellcmds", "--forceall"],
        cwd=tmp, capture_output=True, text=True, env=env, timeout=300,
    )


def commands(out: str) -> dict[str, str]:
    """The shell command of each `onerep labels` job by source, and the other commands by name."""
    found = {}
    for line in out.splitlines():
        line = line.strip().removeprefix("Shell command:").strip()
        m = re.match(r"onerep labels --source (\S+)", line)
        if m:
            found[m.group(1)] = line
        elif line.startswith("onerep "):
            found[line.split()[1]] = line
    return found


def test_jobs_inputs_and_params(tmp_path, repo, env_with_venv):
    names = ["self", "bpm", "year", "taste", "tag", "lyrics", "cdr_tag", "artist", "mfcc", "tempogram"]
    r = dry_run(setup(tmp_path, repo, names), env_with_venv)
    assert r.returncode == 0, r.stderr + r.stdout
    cmds = commands(r.stdout + r.stderr)
    assert set(cmds) == {"bpm", "year", "taste", "tag", "lyrics", "cdr_tag", "artist", "mfcc", "tempogram",
                         "audio-descriptors", "labels-summary", "corpus-split"}
    assert "--taste-triplets data/train_triplets.txt" in cmds["taste"]
    assert "--track-metadata data/track_metadata.db" in cmds["taste"]
    assert "--lastfm-tags data/lastfm_tags.db --track-metadata data/track_metadata.db" in cmds["artist"]
    assert "--tempo" not in cmds["tag"] and "--tempo data/tempo.tsv" in cmds["bpm"]
    assert "--audio-descriptors results/labels/audio_descriptors.h5" in cmds["mfcc"]
    assert "--mel-store results/mel/corpus.h5" in cmds["audio-descriptors"]

    def settings(cmd: str) -> dict:
        return json.loads(re.search(r"--settings '([^']*)'", cmd).group(1))

    bpm, tag = settings(cmds["bpm"]), settings(cmds["tag"])
    assert "sources.gmm_max_iter" in bpm and "sources.plsa_iterations" not in bpm
    assert tag["sources.plsa_iterations"] == 20 and "sources.gmm_max_iter" not in tag
    assert bpm["source"] == "bpm" and tag["seed"] == 7
    # the split reads only the design's label files; the summary all of them
    assert "results/labels/bpm.h5 results/labels/tag.h5 --settings" in cmds["corpus-split"]
    assert "results/labels/mfcc.h5" in cmds["labels-summary"]


def test_a_source_without_its_file_stops_before_any_job(tmp_path, repo, env_with_venv):
    r = dry_run(setup(tmp_path, repo, ["self", "bpm", "tag", "taste"], drop="taste_triplets"), env_with_venv)
    assert r.returncode != 0
    assert "corpus.taste_triplets" in r.stderr and "'taste'" in r.stderr
