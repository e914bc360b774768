# Helpers shared by the rule files: paths, per-rule settings and resources.
import json
import os
import shlex
import sys

# Rules call the package's `onerep` command: it sits beside the Python that runs
# Snakemake (.venv/bin), which every shell command puts first on its PATH, so that
# `.venv/bin/snakemake ...` works from a shell that has not activated the environment
# (cluster jobs re-read this file and get the same prefix).
_BIN = os.path.dirname(sys.executable)
if os.path.isfile(os.path.join(_BIN, "onerep")):
    # (Snakemake formats the prefix too: {{ }} reach the shell as { })
    shell.prefix('set -euo pipefail; export PATH=%s%s"${{PATH:-/usr/bin:/bin}}"; ' % (shlex.quote(_BIN), os.pathsep))

R = config["results"]
LOGS = f"{R}/logs"
BENCH = f"{R}/benchmarks"
TARGETS = {t["name"]: t for t in config["targets"]}
DATASETS = ["corpus", *TARGETS]


def _get(path: str):
    node = config
    for part in path.split("."):
        node = node[part]
    return node


def settings(*keys: str, **extra) -> str:
    """JSON of the config keys (dotted paths) a rule depends on, for its params.

    Only these keys enter the rule's params, so changing any other key does not
    rerun the rule."""
    out = {key: _get(key) for key in keys}
    out.update(extra)
    return json.dumps(out, sort_keys=True)


def res(stage: str, key: str):
    """A resource of a stage from the config's `resources` section (falls back to `default`)."""
    section = config["resources"].get(stage) or {}
    if key in section:
        return section[key]
    return config["resources"]["default"][key]
