"""Config validation: defaults, unknown keys, wrong types, and the shipped configs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from onerep.config import ConfigError, load, validate

CONFIGS = ["config/config.yaml", "config/paper.yaml", "tests/config/tiny.yaml"]


@pytest.mark.parametrize("path", CONFIGS)
def test_shipped_configs_validate(repo: Path, path: str) -> None:
    cfg = load(repo / path)
    # defaults are filled in nested sections, including $ref'd ones
    assert cfg["audio"]["download"]["retries"] >= 0
    assert cfg["evaluate"]["als"]["ndcg_k"] > 0
    assert all("split_file" in t for t in cfg["targets"])


def test_paper_config_is_the_papers_study(repo: Path) -> None:
    cfg = load(repo / "config/paper.yaml")
    assert len(cfg["design"]["sources"]) == 8
    assert len(cfg["design"]["strategies"]) == 6
    assert (cfg["design"]["replicates_single"], cfg["design"]["replicates_all"]) == (6, 5)
    assert cfg["design"]["budget"] == 352
    assert cfg["train"]["epochs"] == 200
    assert len(cfg["targets"]) == 7
    assert cfg["train"]["learning_rate"] == 0.00025 and cfg["train"]["batch_size"] == 128


def test_defaults_are_the_papers_values() -> None:
    cfg = validate({})
    assert cfg["audio"]["sample_rate"] == 22050
    assert (cfg["audio"]["n_fft"], cfg["audio"]["hop_length"], cfg["audio"]["n_mels"]) == (1024, 256, 128)
    assert cfg["audio"]["crop_frames"] == 216
    assert cfg["sources"]["k"] == 50 and cfg["sources"]["plsa_iterations"] == 100
    assert cfg["evaluate"]["als"]["factors"] == 50 and cfg["evaluate"]["als"]["iterations"] == 15


def test_misspelled_key_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as err:
        validate({"audio": {"sampel_rate": 22050}})
    msg = str(err.value)
    assert "audio.sampel_rate" in msg and "sample_rate" in msg


def test_audio_shards_default_and_per_data_set() -> None:
    assert validate({})["audio"]["shards"] == {"default": 1, "corpus": 4}
    # a partial mapping: 'default' filled in, the corpus entry not (only the whole default is)
    assert validate({"audio": {"shards": {"gtzan": 3}}})["audio"]["shards"] == {"gtzan": 3, "default": 1}
    assert validate({"audio": {"shards": {"default": 8}}})["audio"]["shards"] == {"default": 8}
    with pytest.raises(ConfigError, match=r"key 'audio\.shards\.corpus': 0 is less than the minimum of 1"):
        validate({"audio": {"shards": {"corpus": 0}}})
    with pytest.raises(ConfigError, match=r"key 'audio\.shards\.default': 2\.5 is not of type 'integer'"):
        validate({"audio": {"shards": {"default": 2.5}}})


def test_old_shard_size_names_what_replaced_it(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        validate({"audio": {"shard_size": 500}})
    msg = str(err.value)
    assert "key 'audio.shard_size' was removed: replaced by audio.shards" in msg
    assert "number of shards per data set" in msg and "unknown key" not in msg
    # from a file too, with other errors still listed
    old = tmp_path / "old.yaml"
    old.write_text("audio:\n  shard_size: 250\n  sampel_rate: 22050\n")
    with pytest.raises(ConfigError) as err:
        load(old)
    msg = str(err.value)
    assert str(old) in msg and "'audio.shard_size' was removed: replaced by audio.shards" in msg
    assert "unknown key 'audio.sampel_rate' (did you mean 'sample_rate'?)" in msg


def test_wrong_type_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"train\.epochs"):
        validate({"train": {"epochs": "ten"}})


def test_unknown_target_kind_and_missing_root() -> None:
    with pytest.raises(ConfigError, match=r"targets\.0\.kind"):
        validate({"targets": [{"name": "x", "kind": "nope", "root": "a"}]})
    with pytest.raises(ConfigError, match=r"targets\.0\.root"):
        validate({"targets": [{"name": "x", "kind": "gtzan"}]})


def test_design_sources_must_be_known() -> None:
    with pytest.raises(ConfigError, match=r"design\.sources"):
        validate({"design": {"sources": ["tag", "mood"]}})


def _snakemake(repo: Path, env: dict[str, str], configfile: Path, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "--directory", str(tmp),
         "--configfile", str(configfile), "-n", "--quiet", "rules"],
        capture_output=True, text=True, env=env, timeout=300,
    )


@pytest.mark.parametrize("path", ["config/config.yaml", "tests/config/tiny.yaml"])
def test_dry_run_lists_jobs(repo: Path, env_with_venv: dict[str, str], tmp_path: Path, path: str) -> None:
    proc = _snakemake(repo, env_with_venv, repo / path, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "demo_world" in proc.stdout + proc.stderr


def test_dry_run_rejects_misspelled_key_before_any_job(
    repo: Path, env_with_venv: dict[str, str], tmp_path: Path
) -> None:
    cfg = yaml.safe_load((repo / "tests/config/tiny.yaml").read_text())
    cfg["train"]["epoch"] = 3  # misspelled 'epochs'
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = _snakemake(repo, env_with_venv, bad, tmp_path)
    assert proc.returncode != 0
    assert "train.epoch" in proc.stderr and "epochs" in proc.stderr
    assert not (tmp_path / "results").exists()
