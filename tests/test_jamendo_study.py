"""The study through the MTG-Jamendo path: a tiny study end to end on the demo world's
MTG-Jamendo and MagnaTagATune layouts, and a dry run of config/jamendo.yaml on a data
folder in the native layouts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from onerep.evaluate.scores import read_score_file
from onerep.sources.labels import load_labels
from onerep.sources.split import load_split, read_own_split
from slurm.plan import parse_dry_run

TINY = Path(__file__).resolve().parent / "config" / "tiny_jamendo.yaml"


def _snakemake(repo: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    cmd = ["snakemake", "-s", str(repo / "Snakefile"), "--cores", "2", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.workflow
def test_tiny_jamendo_study_end_to_end(tmp_path: Path, repo: Path, env_with_venv: dict[str, str]) -> None:
    run = _snakemake(repo, tmp_path, env_with_venv, "--configfile", str(TINY))
    assert run.returncode == 0, run.stderr[-3000:]
    R = tmp_path / "results"

    # the corpus: MTG-Jamendo's own manifest (sha256 checked) and official split
    manifest = pd.read_csv(R / "corpus" / "jamendo_manifest.tsv", sep="\t", dtype=str)
    assert len(manifest) == 90 and manifest["track_id"].str.fullmatch(r"track_[1-9]\d*").all()
    assert manifest["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    official = read_own_split(R / "corpus" / "jamendo_split.tsv")
    split = load_split(R / "corpus" / "split.tsv")
    assert set(split["track_id"]) == {t for t, p in official.items() if p != "test"}
    assert {official[t] for t in split.loc[split["split"] == "valid", "track_id"]} == {"validation"}

    # declared sources: tag categories and the artist aggregation
    ids, z = load_labels(R / "labels" / "artist.h5")
    assert z.shape == (90, 6)
    genre_ids, _ = load_labels(R / "labels" / "genre.h5")
    assert len(genre_ids) == 90

    # tagging targets scored by macro ROC-AUC (main) and PR-AUC, with the tag count
    for target in ("mtg_top50", "mtt_top50"):
        scores = read_score_file(R / "scores" / "ssr_genre_r1" / f"{target}.tsv")
        assert set(scores["metric"]) == {"roc_auc", "pr_auc"}
        assert (scores["protocol"] == "mlp-tagger").all() and (scores["n_tags"] > 0).all()
        assert scores.loc[scores["metric"] == "roc_auc", "main"].eq(1).all()
    # the MTG-Jamendo target's test part is the corpus's left-out part
    mtg_splits = pd.read_csv(R / "targets" / "mtg_top50" / "splits.tsv", sep="\t", dtype=str)
    test_ids = set(mtg_splits.loc[mtg_splits["fold"] == "test", "track_id"])
    assert test_ids and not test_ids & set(split["track_id"])

    summary = (R / "analysis" / "summary.md").read_text()
    assert "| mtg_top50 | ROC-AUC (macro) |" in summary and "| mtt_top50 | ROC-AUC (macro) |" in summary

    again = _snakemake(repo, tmp_path, env_with_venv, "--configfile", str(TINY), "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def _native_data_root(world: Path, root: Path) -> None:
    """The folder config/jamendo.yaml expects under data_root, from a demo world's data sets."""
    names = {"gtzan": "gtzan", "fma": "fma", "ballroom": "extended_ballroom", "irmas": "irmas",
             "emotion": "mediaeval2013", "lastfm1k": "lastfm-dataset-1K", "magnatagatune": "magnatagatune"}
    root.mkdir()
    for src, dst in names.items():
        (root / dst).symlink_to(world / src, target_is_directory=True)
    (root / "gtzan_split").symlink_to(world / "gtzan" / "split", target_is_directory=True)
    mtg = root / "mtg-jamendo-dataset"
    mtg.mkdir()
    (mtg / "data").symlink_to(world / "jamendo" / "data", target_is_directory=True)
    (mtg / "audio-low").symlink_to(world / "jamendo" / "audio", target_is_directory=True)


@pytest.mark.slow
@pytest.mark.workflow
def test_jamendo_config_dry_run_on_native_layouts(tmp_path: Path, repo: Path,
                                                  env_with_venv: dict[str, str]) -> None:
    from onerep.demo.generator import generate
    from test_demo_world import SMALL

    world = tmp_path / "world"
    generate({"demo": SMALL}, world)
    data = tmp_path / "corpora"
    _native_data_root(world, data)
    # the demo's GTZAN split is a folder of fold lists; the paper's config names a file
    os.symlink(data / "gtzan_split", world / "gtzan" / "fault_filtered_split.tsv")
    run = _snakemake(repo, tmp_path, env_with_venv, "--configfile", str(repo / "config" / "jamendo.yaml"),
                     "--config", f"data_root={data}", "-n")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    plan = parse_dry_run(run.stdout).by_rule()
    assert len(plan["jamendo_manifest"]) == 1 and len(plan["jamendo_split"]) == 1
    assert len(plan["train"]) == 425  # the paper's design: 48 + 25 + 352 runs
    assert len(plan["labels"]) == 7  # genre, instrument, moodtheme, artist, mfcc, chroma, tempogram
    assert len(plan["target_manifest"]) == 8 and "evaluate_tagging" in plan
    assert str(data / "mtg-jamendo-dataset" / "data" / "autotagging.tsv") in run.stdout
