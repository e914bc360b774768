"""The command line starts fast: building the parser imports no heavy library.

Every Snakemake job is one ``onerep`` process, so a heavy import at parser-build time
is paid hundreds of times per study."""

from __future__ import annotations

import subprocess
import sys

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
