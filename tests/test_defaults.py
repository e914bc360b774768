"""A setting's default lives in the config schema only: no stage passes a default to
``onerep.util.setting``, a missing key takes the schema's default (or is an error naming
it), and the settings dataclasses that keep defaults of their own agree with the schema."""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from onerep.config import load_schema, schema_default, with_defaults
from onerep.util import setting

SRC = Path(__file__).resolve().parents[1] / "src" / "onerep"


def _setting_calls_with_a_default() -> list[str]:
    """``file:line`` of every call of ``setting`` with more than (settings, key)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        # the names `setting` goes by in this file (``from onerep.util import setting as _get``)
        names = {"setting"} | {
            alias.asname
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
            if alias.name == "setting" and alias.asname
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in names and (len(node.args) > 2 or node.keywords):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_no_stage_passes_a_default_to_setting():
    assert _setting_calls_with_a_default() == []


def test_the_scan_finds_a_default():
    """The scan itself sees a call with a default (so an empty result above means something)."""
    tree = ast.parse('setting(settings, "seed", 0)')
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    assert len(call.args) == 3


def test_the_seed_default_is_the_schema_s():
    schema_seed = load_schema()["properties"]["seed"]["default"]
    assert schema_seed == 20200101
    assert setting({}, "seed") == schema_default("seed") == schema_seed
    assert setting({"seed": 7}, "seed") == 7
    assert setting({"seed": 0}, "seed") == 0


def test_a_missing_key_takes_the_schema_default():
    assert setting({}, "evaluate.repetitions") == 5
    assert setting({"evaluate": {"test_fraction": 0.3}}, "evaluate.repetitions") == 5
    assert setting({}, "analysis.tsne_target") is None
    assert setting({}, "targets") == []
    assert setting({}, "analysis.bootstrap_scheme") == "residual"


def test_a_section_given_in_part_gets_the_other_defaults():
    als = setting({"evaluate.als": {"factors": 3}}, "evaluate.als")
    assert als["factors"] == 3 and als["ndcg_k"] == 500 and als["candidates"] == "heldout"
    assert setting({"evaluate": {"mlp": {"max_iter": 9}}}, "evaluate.mlp") == {
        "hidden": [256, 256], "max_iter": 9, "learning_rate": 0.001, "backend": "sklearn"}
    assert with_defaults("extract.user_features", {"a": {"t": "f.h5"}}) == {"a": {"t": "f.h5"}}


def test_a_key_without_a_default_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"--settings lacks 'no_such\.key'"):
        setting({}, "no_such.key")
    with pytest.raises(KeyError, match="corpus.manifest.x"):
        schema_default("corpus.manifest.x")


def test_schema_default_is_a_copy():
    mlp = schema_default("evaluate.mlp")
    mlp["hidden"].append(1)
    assert schema_default("evaluate.mlp")["hidden"] == [256, 256]


def _fields(cls) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def test_settings_dataclasses_agree_with_the_schema():
    """Library defaults of the settings classes are the schema's (the stages pass full sections)."""
    from onerep.audio.acquire import DownloadSettings
    from onerep.audio.mel import MelParams
    from onerep.evaluate.als import ALSParams
    from onerep.evaluate.mlp import MLPParams

    mlp = MLPParams.from_settings(schema_default("evaluate.mlp"))
    assert dataclasses.asdict(mlp) == dataclasses.asdict(MLPParams())
    assert ALSParams.from_settings(schema_default("evaluate.als")) == ALSParams()
    download = schema_default("audio.download")
    assert {k: v for k, v in _fields(DownloadSettings).items() if k in download} == download
    assert MelParams.from_settings(schema_default("audio")) == MelParams()


def test_a_cli_step_with_partial_settings_uses_the_schema_defaults(tmp_path):
    from onerep.cli import main
    from onerep.models.summary import parameter_counts

    out = tmp_path / "parameters.tsv"
    assert main(["analysis", "parameters", "--settings", json.dumps({"design.sources": ["self", "bpm"]}),
                 "--out", str(out)]) == 0
    import pandas as pd

    table = pd.read_csv(out, sep="\t", na_values=["NA"])
    assert set(table.width) == {1.0} and set(table.k) == {50}
    expected = parameter_counts(["self", "bpm"], schema_default("design.strategies"), k=50, width=1.0)
    assert list(table.strategy) == list(expected.strategy)
    assert list(table.params_mean) == pytest.approx(list(expected.params_mean))


def test_figures_compute_nothing():
    """The figure code imports no torch, scikit-learn or model code (its numbers come from tables)."""
    figures = SRC / "analysis" / "figures.py"
    names = set()
    for node in ast.walk(ast.parse(figures.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    assert not {n for n in names if n.split(".")[0] in ("torch", "sklearn") or "models" in n}, names
    code = ("import sys, onerep.analysis.figures, onerep.analysis.tsne, onerep.analysis.summary; "
            "print(sorted(m for m in ('torch', 'sklearn', 'onerep.models') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _dict_gets_of_config_keys_with_a_default() -> list[str]:
    """``file:line key`` of every ``x.get("<dotted config key>", default)`` in the package: a
    rule's settings always hold the key, so such a default is a second copy of the schema's."""
    from onerep.config import key_schema

    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and len(node.args) == 2 and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str) and "." in node.args[0].value
                    and key_schema(node.args[0].value) is not None):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.args[0].value}")
    return found


def test_no_stage_reads_a_config_key_with_its_own_default():
    assert _dict_gets_of_config_keys_with_a_default() == []
