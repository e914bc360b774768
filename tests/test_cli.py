"""The command line starts fast: building the parser imports no heavy library.

Every Snakemake job is one ``onerep`` process, so a heavy import at parser-build time
is paid hundreds of times per study."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "scipy", "sklearn", "librosa", "pandas", "numba", "matplotlib", "statsmodels", "h5py")


def test_parser_build_imports_no_heavy_library() -> None:
    code = (
        "import sys; from onerep.cli import build_parser; build_parser(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported at start-up: {out.stdout.strip()}"


def test_every_stage_registers_its_commands() -> None:
    from onerep.cli import build_parser

    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in ("demo-world", "audio-mel", "labels", "design", "train", "model-summary",
                    "target-manifest", "extract", "evaluate", "analysis"):
        assert command in choices


def test_lazy_package_exports_resolve() -> None:
    import onerep.design as design
    import onerep.models as models

    assert callable(models.build_network) and callable(design.runs_table)
    assert "build_network" in dir(models)


def test_a_stage_that_does_not_import_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from onerep.cli import StageImportError, build_parser

    monkeypatch.setitem(sys.modules, "onerep.features.commands", None)  # import raises
    with pytest.raises(StageImportError, match=r"stage 'features'.*onerep\.features\.commands"):
        build_parser()


def test_main_reports_a_broken_stage_and_fails(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from onerep.cli import main

    monkeypatch.setitem(sys.modules, "onerep.evaluate.commands", None)
    assert main(["--help"]) == 1
    err = capsys.readouterr().err
    assert "stage 'evaluate'" in err and "broken" in err


def test_a_missing_stage_module_stops_the_command_line() -> None:
    """A stage's commands module that is not installed at all (ModuleNotFoundError with
    its own name, which the parser used to skip) stops the ``onerep`` process."""
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'onerep.design.commands':\n"
        "            raise ModuleNotFoundError(\"No module named 'onerep.design.commands'\", "
        "name='onerep.design.commands')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from onerep.cli import main\n"
        "sys.exit(main(['design', '--help']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    assert "stage 'design'" in out.stderr


def test_rules_find_onerep_without_an_activated_environment(tmp_path, repo):
    """`.venv/bin/snakemake ...` from a shell whose PATH lacks the environment (the README's
    commands as a new user types them) still runs the rules' `onerep` commands."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    snakemake = Path(sys.executable).parent / "snakemake"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PATH")}
    env["PATH"] = "/usr/bin:/bin"
    run = subprocess.run([str(snakemake), "results/design/runs.tsv", "-s", str(repo / "Snakefile"),
                          "--cores", "1", "--configfile", str(repo / "tests" / "config" / "tiny.yaml")],
                         cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-2000:]
    assert (tmp_path / "results" / "design" / "runs.tsv").read_text().startswith("run_id\t")


def test_a_failed_job_s_log_holds_the_reason(tmp_path, repo, env_with_venv):
    """Snakemake keeps a job's log, not its stderr: a job that fails on bad input must
    leave the message (file, what is wrong) in results/logs/<rule>/."""
    import json
    import subprocess

    from conftest import rules_snakefile

    (tmp_path / "Snakefile").write_text(rules_snakefile("targets"))
    data = tmp_path / "data" / "mine"
    data.mkdir(parents=True)
    (data / "a.wav").write_bytes(b"")
    (data / "labels.csv").write_text("file,genre\na.wav,rock\n")  # no 'mood' column
    (tmp_path / "config.yaml").write_text(json.dumps({
        "results": "results", "design": {"sources": ["self"], "strategies": ["ssr"]},
        "sources": {"names": ["self"]},
        "targets": [{"name": "mine", "kind": "custom", "root": "data/mine", "labels_csv": "data/mine/labels.csv",
                     "path_column": "file", "label_column": "mood", "task": "classification"}]}))
    run = subprocess.run(["snakemake", "results/targets/mine/manifest.tsv", "--cores", "1",
                          "--configfile", "config.yaml"], cwd=tmp_path, env=env_with_venv,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    log = (tmp_path / "results" / "logs" / "target_manifest" / "mine.log").read_text()
    assert "error:" in log and "labels.csv" in log and "'mood' missing" in log


def test_an_unexpected_failure_leaves_its_traceback_in_the_log(tmp_path, monkeypatch):
    from onerep import cli as cli_module

    def boom(args):
        raise RuntimeError("disk on fire")

    parser = cli_module.build_parser()
    real = parser.parse_args

    def parse(argv=None):
        ns = real(argv)
        ns.func = boom
        return ns

    monkeypatch.setattr(parser, "parse_args", parse)
    monkeypatch.setattr(cli_module, "build_parser", lambda: parser)
    log = tmp_path / "logs" / "x.log"
    with pytest.raises(RuntimeError):
        cli_module.main(["design", "--settings", "{}", "--out", str(tmp_path / "d"), "--log", str(log)])
    text = log.read_text()
    assert "RuntimeError: disk on fire" in text and "Traceback" in text
