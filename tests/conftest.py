"""Shared fixtures: repository paths and a quiet environment for subprocesses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

os.environ.setdefault("ONEREP_NO_PROGRESS", "1")


def rules_snakefile(*rule_files: str, between: dict[str, str] | None = None) -> str:
    """A Snakefile that validates the config like the real one, defines ``rule all`` over
    ``FINAL_TARGETS`` and includes only ``workflow/rules/<name>.smk`` for each name
    (``common`` first). ``between`` maps a rule file to code placed before its include."""
    between = between or {}
    lines = [
        "import sys",
        "from onerep.config import ConfigError, validate",
        "try:",
        "    _validated = validate(config)",
        "except ConfigError as _exc:",
        '    sys.stderr.write(f"onerep: {_exc}\\n")',
        "    sys.exit(1)",
        "config.clear()",
        "config.update(_validated)",
        "FINAL_TARGETS = []",
        "rule all:",
        "    input: lambda wildcards: FINAL_TARGETS",
        "    default_target: True",
    ]
    for name in ("common", *rule_files):
        if name in between:
            lines.append(between[name])
        lines.append(f'include: "{REPO}/workflow/rules/{name}.smk"')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def env_with_venv() -> dict[str, str]:
    """Environment for subprocesses with the test interpreter's bin folder first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("OMP_NUM_THREADS", "1")
    return env
