"""Software environments: envs/*.yaml, the rules' conda directives, the shell prefix
with `--software-deployment-method conda`, and `snakemake --lint`.

conda itself is not needed (nor run): the env files are checked against
requirements/lock.txt and the installed packages' metadata, the workflow is parsed
through Snakemake's API with conda deployment switched on, and the conda-mode prefix
runs one real command with a Python that has the dependencies but not the package.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from argparse import ArgumentParser
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from onerep.cli import STAGES
from onerep.workflow_support import shell_prefix

REPO = Path(__file__).resolve().parents[1]
ENVS = REPO / "envs"
SRC = REPO / "src"
RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
# Together these define every rule (the demo world, the MTG-Jamendo corpus rules, the
# audio-descriptor source and the tagging evaluation are defined only where used).
CONFIGS = ["config/config.yaml", "config/jamendo.yaml", "config/paper.yaml", "tests/config/tiny_jamendo.yaml"]

# Parses the workflow (no DAG, no job) for each config given, with conda deployment on
# or off, through Snakemake's API: its lints (JSON), its rules and the jobs' shell prefix.
PROBE = r"""
import contextlib, io, json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (ConfigSettings, DeploymentMethod, DeploymentSettings,
                                      OutputSettings, ResourceSettings)
from snakemake.shell import shell

out = {}
for arg in sys.argv[1:]:
    mode, configfile = arg.split(":", 1)
    shell._process_prefix = None
    methods = {DeploymentMethod.CONDA} if mode == "conda" else set()
    with SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[Path(configfile).absolute()]),
            deployment_settings=DeploymentSettings(deployment_method=methods),
            snakefile=Path("Snakefile").absolute(),
            workdir=Path.cwd(),
        )
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            wf.lint(json=True)
        rules = {
            # the env file as Snakemake resolves it (rules.Rule.expand_conda_env)
            r.name: {"conda": r.conda_env and r.basedir.join(r.conda_env).get_path_or_uri(secret_free=True),
                     "norun": r.norun, "shell": r.shellcmd}
            for r in wf._workflow.rules
        }
    out[arg] = {"prefix": shell._process_prefix, "lints": json.loads(buf.getvalue()), "rules": rules}
print("PROBE " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict]:
    """``{"conda:<config>" / "default:<config>": {prefix, lints, rules}}``."""
    args = [f"conda:{c}" for c in CONFIGS] + ["default:config/config.yaml"]
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PROBE "))
    return json.loads(line[len("PROBE "):])


# -- envs/*.yaml against the lock file ----------------------------------------------


def _lock() -> dict[str, tuple[str, str]]:
    pins = {}
    for line in (REPO / "requirements" / "lock.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = (name, version)
    return pins


@cache
def _env(name: str) -> dict:
    """An env file: its conda dependencies, pip options and pins (canonical name -> version)."""
    spec = yaml.safe_load((ENVS / f"{name}.yaml").read_text())
    conda, pip = [], []
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            pip.extend(dep["pip"])
        else:
            conda.append(dep)
    pins = {}
    for line in pip:
        if line.startswith("-"):
            continue
        req = Requirement(line)
        (spec_,) = req.specifier
        assert spec_.operator == "==", f"envs/{name}.yaml: {line} is not pinned with =="
        assert canonicalize_name(req.name) not in pins, f"envs/{name}.yaml: {req.name} twice"
        pins[canonicalize_name(req.name)] = spec_.version
    return {"conda": conda, "options": [x for x in pip if x.startswith("-")], "pins": pins}


ENV_NAMES = sorted(p.stem for p in ENVS.glob("*.yaml"))


def test_there_are_env_files() -> None:
    assert ENV_NAMES, "envs/ holds no *.yaml"


@pytest.mark.parametrize("name", ENV_NAMES)
def test_env_pins_are_the_lock_files(name: str) -> None:
    env, lock = _env(name), _lock()
    assert env["conda"] == ["python=3.11", "pip"], f"envs/{name}.yaml: conda provides Python 3.11 and pip only"
    for pkg, version in env["pins"].items():
        assert pkg in lock, f"envs/{name}.yaml pins {pkg}, which requirements/lock.txt does not"
        assert version == lock[pkg][1], f"envs/{name}.yaml: {pkg}=={version}, the lock has {lock[pkg][1]}"
    if "torch" in env["pins"]:
        assert "--extra-index-url https://download.pytorch.org/whl/cpu" in env["options"], (
            f"envs/{name}.yaml: torch without PyTorch's CPU index (PyPI's Linux wheel pulls CUDA)")


@pytest.mark.parametrize("name", ENV_NAMES)
def test_env_pins_everything_its_packages_require(name: str) -> None:
    """Like the lock, an env pins the whole dependency tree (from the installed packages'
    metadata), except what the lock leaves unpinned too (setuptools)."""
    pins, lock = _env(name)["pins"], _lock()
    missing = set()
    for pkg in pins:
        for text in importlib.metadata.requires(pkg) or []:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            dep = canonicalize_name(req.name)
            if dep not in pins and dep in lock:
                missing.add(f"{dep} (for {pkg})")
    assert not missing, f"envs/{name}.yaml misses {', '.join(sorted(missing))}"


def test_envs_cover_the_package_dependencies() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M).group(1)
    union: dict[str, str] = {}
    for name in ENV_NAMES:
        union.update(_env(name)["pins"])
    for text in re.findall(r'"([^"]+)"', deps):
        req = Requirement(text)
        (spec_,) = req.specifier
        assert union.get(canonicalize_name(req.name)) == spec_.version, f"no env pins {text}"


# -- what each rule's command imports ----------------------------------------------

_MODULES = {
    ".".join(p.relative_to(SRC).with_suffix("").parts[:-1] if p.name == "__init__.py"
             else p.relative_to(SRC).with_suffix("").parts): p
    for p in (SRC / "onerep").rglob("*.py")
}


@cache
def _lazy_exports(package: str) -> dict[str, str]:
    """Name -> submodule of a package whose __init__ exports names with util.lazy_exports."""
    path = _MODULES.get(package)
    if path is None or path.name != "__init__.py":
        return {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_exports":
            table = ast.literal_eval(node.args[1])
            return {n: f"{package}.{module}" for module, names in table.items() for n in names}
    return {}


@cache
def _imports(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """The third-party top-level names and the onerep modules one module imports
    (anywhere in it, function bodies included)."""
    path = _MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    external, internal = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (internal if alias.name.split(".")[0] == "onerep" else external).add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "onerep":
                external.add(source)
                continue
            internal.add(source)
            lazy = _lazy_exports(source)
            for alias in node.names:
                internal.add(lazy.get(alias.name, f"{source}.{alias.name}"))
    external = {e.split(".")[0] for e in external} - set(sys.stdlib_module_names) - {"__future__"}
    return frozenset(external), frozenset(m for m in internal if m in _MODULES)


def _third_party(module: str) -> set[str]:
    """Every third-party top-level name the module may import, following onerep's own imports."""
    seen, found, todo = set(), set(), [module]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        parts = mod.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages run too
        external, internal = _imports(mod)
        found |= external
        todo.extend(internal)
    return found


@cache
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distributions(names: set[str]) -> set[str]:
    dists = _packages_distributions()
    missing = sorted(n for n in names if n not in dists)
    assert not missing, f"not installed: {missing}"
    return {canonicalize_name(d) for n in names for d in dists[n]}


@cache
def _command_stages() -> dict[str, str]:
    """Command name -> the stage whose commands module registers it."""
    stages = {}
    for stage in STAGES:
        sub = ArgumentParser().add_subparsers()
        importlib.import_module(f"onerep.{stage}.commands").register(sub)
        stages.update(dict.fromkeys(sub.choices, stage))
    return stages


def _startup_imports() -> set[str]:
    """Third-party top-level modules that `onerep` imports before any command runs."""
    code = ("import sys, json; from onerep.cli import build_parser; build_parser(); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out)) - set(sys.stdlib_module_names) - {"onerep", "__main__", "_distutils_hack"}


# -- the rules' conda directives ------------------------------------------------------

_RULE = re.compile(r"^(?P<indent>[ \t]*)rule\b[^:]*:\s*$")


def _rule_blocks(path: Path):
    """(line number, rule text) of every `rule ...:` block of a rule file, wherever it is
    defined (inside `if` and `for` too); `use rule` blocks inherit their directives."""
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        m = _RULE.match(line)
        if not m:
            continue
        indent, body = len(m.group("indent")), [line]
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt)
        yield i + 1, "\n".join(body)


def test_every_rule_with_a_command_names_an_env_in_envs() -> None:
    blocks = [(p, n, text) for p in RULE_FILES for n, text in _rule_blocks(p)]
    assert len(blocks) > 20
    for path, line, text in blocks:
        where = f"{os.path.relpath(path, REPO)}:{line}"
        assert not re.search(r"^\s+run:", text, re.M), f"{where}: a run: block cannot use a conda env"
        if not re.search(r"^\s+(shell|script|notebook|wrapper):", text, re.M):
            continue  # rule all
        m = re.search(r"^\s+conda:\s*\n\s+\"([^\"]+)\"", text, re.M)
        assert m, f"{where}: the rule runs a command but has no conda: directive"
        env = (path.parent / m.group(1)).resolve()
        assert env.parent == ENVS and env.is_file(), f"{where}: conda: {m.group(1)} is not a file of envs/"


def test_the_parsed_workflow_gives_every_rule_an_env_that_covers_its_command(parsed) -> None:
    stages = _command_stages()
    startup = _distributions(_startup_imports())
    seen = set()
    for key, result in parsed.items():
        for name, rule in result["rules"].items():
            if rule["norun"]:
                continue
            seen.add(name)
            assert rule["conda"], f"{key}: rule {name} has no conda environment"
            env_path = Path(rule["conda"]).resolve()
            assert env_path.parent == ENVS and env_path.is_file(), f"rule {name}: conda env {rule['conda']}"
            pins = set(_env(env_path.stem)["pins"])
            assert startup <= pins, f"envs/{env_path.name} lacks what `onerep` imports at start: {startup - pins}"
            commands = re.findall(r"(?:^|[;&|(]\s*|\s)(?:[A-Z_]+=\S+\s+)*onerep\s+([a-z][a-z0-9-]*)", rule["shell"])
            assert commands, f"rule {name}: no onerep command in {rule['shell']!r}"
            for command in commands:
                stage = stages[command]
                needed = _distributions(_third_party(f"onerep.{stage}.commands"))
                assert needed <= pins, (f"rule {name} (onerep {command}, stage {stage}): envs/{env_path.name} "
                                        f"lacks {sorted(needed - pins)}")
    assert {"demo_world", "jamendo_manifest", "audio_descriptors", "evaluate_tagging", "analysis"} <= seen


# -- snakemake --lint --------------------------------------------------------------


def test_snakemake_lint_reports_nothing(parsed) -> None:
    for key, result in parsed.items():
        lints = result["lints"]
        assert lints == {"snakefiles": [], "rules": []}, f"{key}: {json.dumps(lints, indent=1)[:3000]}"
    # The command `make lint` runs: Snakemake 9.27 exits 1 when it prints lints.
    proc = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--lint", "--configfile",
                           "config/config.yaml"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Lints for" not in proc.stderr + proc.stdout, proc.stderr[-3000:]


# -- the jobs' shell prefix ---------------------------------------------------------


def test_shell_prefix_function(tmp_path: Path) -> None:
    venv_bin = tmp_path / "bin"
    venv_bin.mkdir()
    assert shell_prefix(conda=False, venv_bin=str(venv_bin), src_dir="/x/src") is None
    (venv_bin / "onerep").touch()
    # the default: the venv's bin first on PATH, as before conda support
    assert shell_prefix(conda=False, venv_bin=str(venv_bin), src_dir="/x/src") == (
        f'set -euo pipefail; export PATH={venv_bin}{os.pathsep}"${{{{PATH:-/usr/bin:/bin}}}}"; ')
    conda = shell_prefix(conda=True, venv_bin=str(venv_bin), src_dir="/x y/{src}")
    assert conda == ("set -euo pipefail; export PYTHONPATH='/x y/{{src}}'; "
                     'onerep() {{ python -m onerep "$@"; }}; ')
    assert "PATH=" not in conda.replace("PYTHONPATH=", "")


def test_the_workflow_sets_the_prefix_by_deployment_method(parsed) -> None:
    venv_bin = str(Path(sys.executable).parent)
    default = parsed["default:config/config.yaml"]["prefix"]
    assert default.startswith(f"set -euo pipefail; export PATH={venv_bin}{os.pathsep}")
    for config in CONFIGS:
        prefix = parsed[f"conda:{config}"]["prefix"]
        assert f"export PYTHONPATH={SRC}; " in prefix
        assert 'onerep() { python -m onerep "$@"; }; ' in prefix
        assert venv_bin not in prefix and "PATH=" not in prefix.replace("PYTHONPATH=", "")


def test_conda_prefix_runs_onerep_without_the_venv(parsed, tmp_path: Path) -> None:
    """A job's shell command under conda deployment, with a PATH that lacks the venv and a
    `python` that has the dependencies but not onerep (as in envs/*.yaml): `onerep`
    resolves to the prefix's function and runs the repository's package."""
    bindir = tmp_path / "envbin"
    bindir.mkdir()
    site = os.pathsep.join(dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    python = bindir / "python"
    # -S: no site processing, so the venv's editable-install .pth (which would put src on
    # sys.path) is not read; the dependencies come from PYTHONPATH only.
    python.write_text(f'#!/bin/sh\nPYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{site}" exec {base} -S "$@"\n')
    python.chmod(0o755)
    env = {"PATH": f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path), "OMP_NUM_THREADS": "1"}
    bash = shutil.which("bash")
    assert bash

    control = subprocess.run([bash, "-c", "python -c 'import onerep'"], env=env, capture_output=True, text=True)
    assert control.returncode != 0, "the stand-in env's python imports onerep without the prefix"

    prefix = parsed["conda:config/config.yaml"]["prefix"]
    script = (prefix + 'echo "PATH=$PATH"; echo "type=$(type -t onerep)"; '
              'echo "file=$(type -P onerep || true)"; '
              "OMP_NUM_THREADS=1 onerep --help; "
              "python -c 'import onerep; print(\"package=\" + onerep.__file__)'")
    proc = subprocess.run([bash, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert f"PATH={env['PATH']}\n" in out and str(Path(sys.executable).parent) not in out.split("\n")[0]
    assert "type=function\n" in out and "file=\n" in out
    assert "usage: onerep" in out and "audio-mel" in out
    assert f"package={SRC / 'onerep' / '__init__.py'}" in out
