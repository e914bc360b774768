"""bench/gpu.py, the first measurement on a GPU, runs on the CPU with tiny sizes: every
section prints, its rates go through the cost preview, and the last line is
``study_gpu_hours: <number>``. No speed is asserted (speed belongs to bench/)."""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys

import pandas as pd
import pytest

from onerep.cli import main
from onerep.design.throughput import read_table

SECTIONS = ("training throughput", "runs side by side", "feature extraction", "mel spectrograms",
            "projection")


@pytest.fixture(scope="module")
def quick(repo, tmp_path_factory, env_with_venv):
    out = tmp_path_factory.mktemp("bench")
    run = subprocess.run(
        [sys.executable, str(repo / "bench" / "gpu.py"), "--device", "cpu", "--quick",
         "--write-table", str(out / "rates.tsv")],
        cwd=out, env=dict(env_with_venv, OMP_NUM_THREADS="1"), capture_output=True, text=True,
        timeout=300)
    return run, out


def test_the_quick_cpu_run_prints_every_table_and_the_study_hours(quick):
    run, _ = quick
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    for title in SECTIONS:
        assert any(line.startswith(f"== {title}") for line in lines), title
    m = re.fullmatch(r"study_gpu_hours: (\d+(\.\d+)?)", lines[-1])
    assert m, lines[-1]
    assert float(m.group(1)) > 0
    # every network's eager cell is a measured rate, not an error
    for label in ("SS-R (tag)", "MS-CR@2 (8 sources)", "MS-SR@FC (8 sources)"):
        row = next(line for line in lines if line.startswith(label))
        assert re.fullmatch(rf"{re.escape(label)}\s+[\d,]+", row), row
    assert "failed" not in run.stdout


def test_the_projection_is_the_cost_preview_at_the_measured_rates(quick, repo, capsys, monkeypatch):
    """The printed command reproduces study_gpu_hours through ``onerep cost``."""
    run, out = quick
    command = next(line for line in run.stdout.splitlines() if line.startswith("onerep cost "))
    monkeypatch.chdir(repo)
    assert main([*shlex.split(command)[1:], "--tsv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t", dtype={"phase": str})
    hours = float(table.set_index("phase").loc["total", "hours"])
    printed = float(run.stdout.strip().splitlines()[-1].split(": ")[1])
    assert printed == pytest.approx(hours, abs=0.05)  # printed with one decimal
    rows = read_table(out / "rates.tsv")
    assert {r.strategy for r in rows} == {"ssr", "mscr2", "mssr_fc"}
    assert all(r.device == "cpu" and r.mode == "eager" and r.width == 0.125 and r.batch == 8
               for r in rows)
