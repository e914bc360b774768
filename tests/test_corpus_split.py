"""A corpus's own split (MTG-Jamendo's official one) and the config's data_root."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from onerep import cli
from onerep.config import ConfigError, load, validate
from onerep.sources.split import apply_own_split, read_own_split, write_own_split

HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n"


def _jamendo_part(path: Path, ids: list[int]) -> None:
    rows = [f"track_{i:07d}\tartist_{i % 7:06d}\talbum_{i:06d}\t{i % 100:02d}/{i}.mp3\t31.0\tgenre---rock\r\n"
            for i in ids]
    path.write_bytes((HEADER + "".join(rows)).encode())


def test_own_split_keeps_train_and_valid_and_leaves_test_out(tmp_path: Path) -> None:
    f = tmp_path / "split.tsv"
    write_own_split({"a": "train", "b": "validation", "c": "test", "d": "valid", "e": "train"}, f)
    parts = read_own_split(f)
    df = apply_own_split(["a", "b", "c", "d", "x"], parts, str(f))  # x: not listed
    assert df.to_dict("list") == {"track_id": ["a", "b", "d"], "split": ["train", "valid", "valid"],
                                  "seed": [-1, -1, -1]}


@pytest.mark.parametrize("text, message", [
    ("track_id\tsplit\na\ttraining\n", r"line 2: split 'training' is not one of"),
    ("track_id\tsplit\na\ttrain\na\ttest\n", r"line 3: track 'a' is listed twice"),
    ("id\tsplit\na\ttrain\n", r"no 'track_id' column"),
])
def test_bad_own_split_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "split.tsv"
    f.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_own_split(f)


def test_own_split_without_a_valid_track_is_an_error() -> None:
    with pytest.raises(ValueError, match="no track of the corpus is in its valid part"):
        apply_own_split(["a", "b"], {"a": "train", "b": "test"}, "split.tsv")


def test_jamendo_split_command_writes_the_official_split(tmp_path: Path) -> None:
    folder = tmp_path / "split-0"
    folder.mkdir()
    for part, ids in (("train", [1, 2, 3]), ("validation", [10]), ("test", [20, 21])):
        _jamendo_part(folder / f"autotagging-{part}.tsv", ids)
    out = tmp_path / "jamendo_split.tsv"
    args = ["jamendo-split", *[a for part in ("train", "validation", "test")
                               for a in (f"--{part}", str(folder / f"autotagging-{part}.tsv"))], "--out", str(out)]
    assert cli.main(args) == 0
    parts = read_own_split(out)
    assert parts == {"track_1": "train", "track_2": "train", "track_3": "train",
                     "track_10": "validation", "track_20": "test", "track_21": "test"}
    # the same track in two parts is refused, naming both files
    _jamendo_part(folder / "autotagging-test.tsv", [20, 3])
    assert cli.main(args) == 2


def test_data_root_is_expanded_in_every_path(repo: Path) -> None:
    cfg = load(repo / "config" / "jamendo.yaml")
    assert cfg["data_root"] == "data"
    assert cfg["corpus"]["jamendo"]["tsv"] == "data/mtg-jamendo-dataset/data/autotagging.tsv"
    raw = copy.deepcopy(cfg)
    raw["data_root"] = "/big/disk/"
    raw["targets"][0]["root"] = "{data_root}/gtzan"
    assert validate(raw)["targets"][0]["root"] == "/big/disk/gtzan"
    raw["data_root"] = "{data_root}"
    with pytest.raises(ConfigError, match="data_root"):
        validate(raw)


def test_jamendo_config_uses_the_official_split_and_keeps_test_tracks_out(repo: Path) -> None:
    cfg = load(repo / "config" / "jamendo.yaml")
    assert cfg["corpus"]["split_file"] and cfg["corpus"]["jamendo"]["split_dir"].endswith("split-0")
    mtg = [t for t in cfg["targets"] if t["kind"] == "mtg_jamendo"]
    assert mtg and all(t["split"] == 0 for t in mtg)  # the target's test part = the corpus's left-out part
    assert len(cfg["design"]["sources"]) == 8 and cfg["design"]["budget"] == 352
