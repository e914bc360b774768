"""The shell prefix of the workflow's jobs (set by workflow/rules/common.smk).

Rules call the package's ``onerep`` command. Where it comes from depends on how
Snakemake deploys software:

* by default, the ``onerep`` console script beside the Python that runs Snakemake
  (``.venv/bin``): the prefix puts that folder first on PATH, so that
  ``.venv/bin/snakemake ...`` works from a shell that has not activated the venv;
* with ``--software-deployment-method conda``, each rule's conda environment
  (``envs/*.yaml``) holds the package's dependencies but not the package itself:
  Snakemake copies env files elsewhere, so a ``pip: [-e .]`` entry would not find the
  repository. The prefix then leaves PATH to the activated environment, puts the
  repository's ``src`` on PYTHONPATH and makes ``onerep`` a shell function that runs
  ``python -m onerep`` with the environment's Python.

Snakemake formats the prefix like a shell command: literal braces are doubled here.
"""

from __future__ import annotations

import os
import shlex


def _literal(text: str) -> str:
    """``text`` escaped for Snakemake's formatting of the prefix (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def shell_prefix(*, conda: bool, venv_bin: str, src_dir: str) -> str | None:
    """The prefix of every job's shell command, or None for Snakemake's default one.

    ``conda``: whether Snakemake deploys the rules' conda environments.
    ``venv_bin``: the folder of the Python that runs Snakemake.
    ``src_dir``: the repository's ``src`` folder (the package's code).

    Without conda and without an ``onerep`` script in ``venv_bin`` (Snakemake run by a
    Python that has not installed the package), there is no prefix: ``onerep`` must
    then be on the caller's PATH.
    """
    if conda:
        pythonpath = "export PYTHONPATH=" + shlex.quote(src_dir)
        return _literal("set -euo pipefail; " + pythonpath + '; onerep() { python -m onerep "$@"; }; ')
    if os.path.isfile(os.path.join(venv_bin, "onerep")):
        path = "export PATH=" + shlex.quote(venv_bin) + os.pathsep + '"${PATH:-/usr/bin:/bin}"'
        return _literal("set -euo pipefail; " + path + "; ")
    return None
