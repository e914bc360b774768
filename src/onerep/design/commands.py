"""CLI: ``onerep design`` previews or writes a study's experimental design."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onerep.util import atomic_path, parse_settings, setup_logging, write_text_atomic

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("onerep.design")

#: Files written into ``--out``.
OUTPUTS = ("runs.tsv", "alias.tsv", "alias_phase3.tsv", "alias.png", "balance.tsv", "summary.json")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``design`` command."""
    p = subparsers.add_parser(
        "design",
        help="write a study's run table, alias matrix and balance counts (no data needed)",
        description=(
            "Generate the experimental design of a study (SPEC section 6): phase 1 (SS-R per "
            "source), phase 2 (each multi-source strategy with all sources), phase 3 (greedy "
            "fractional runs). Writes runs.tsv, alias.tsv (all runs), alias_phase3.tsv, "
            "alias.png, balance.tsv and summary.json into --out."),
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--configfile", help="study config (YAML)")
    src.add_argument("--settings", help="JSON with the 'design' section and the master 'seed' (workflow use)")
    p.add_argument("--budget", type=int, default=None, help="phase-3 runs (overrides design.budget)")
    p.add_argument("--seed", type=int, default=None,
                   help="design seed (default: derived from the config's master seed)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--log", default=None, help="log file")
    add_cost_arguments(p)
    p.set_defaults(func=run)

    p = subparsers.add_parser(
        "cost",
        help="preview a study's training crops, extraction windows, device-hours and memory plan",
        description=(
            "Count what a study will compute, per phase of its design and in total: training crops "
            "(l x m iterations per epoch, b crops each, 2b for self pairs), validation passes, "
            "feature-extraction windows; the device-hours at the given or measured throughput; and "
            "where a training run holds its mel frames. Needs no data; says where each size comes "
            "from. 'onerep design --configfile' prints the same after the design."),
    )
    p.add_argument("--configfile", required=True, help="study config (YAML)")
    p.add_argument("--budget", type=int, default=None, help="phase-3 runs (overrides design.budget)")
    p.add_argument("--seed", type=int, default=None, help="design seed (as for onerep design)")
    p.add_argument("--tsv", action="store_true", help="one tab-separated row per phase instead of the text")
    add_cost_arguments(p)
    p.set_defaults(func=run_cost)


def add_cost_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the cost preview (``onerep cost`` and ``onerep design``)."""
    g = p.add_argument_group("cost preview")
    g.add_argument("--samples-per-second", nargs="+", metavar="RATE",
                   help="training crops per second: one number for all strategies, or strategy=number "
                        "items (default: the package's measured table for the study's device and width)")
    g.add_argument("--windows-per-second", nargs="+", metavar="RATE",
                   help="forward passes per second of one network path (validation, extraction): a "
                        "number or strategy=number items (default: 3x the training rate)")
    g.add_argument("--throughput-table", default=None,
                   help="TSV of measured rates (bench/gpu.py --write-table) instead of the package's")
    g.add_argument("--device", choices=["cpu", "cuda"], default=None,
                   help="device the rates are for (default: train.device; auto = cuda when "
                        "resources.train.gpu > 0)")
    g.add_argument("--train-tracks", type=int, default=None,
                   help="training tracks of the corpus (default: from results, the manifest or the paper)")
    g.add_argument("--valid-tracks", type=int, default=None, help="validation tracks of the corpus")
    g.add_argument("--gpu-memory-gb", nargs="+", type=float, default=[80.0, 40.0], metavar="GB",
                   help="free GPU memory (GB) of the cards to plan for (default: 80 40)")


def _config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.configfile:
        from onerep.config import load

        return load(args.configfile)
    hint = " with a 'design' section (and 'seed')"
    cfg = parse_settings(args.settings, hint=hint)
    if "design" not in cfg:
        raise ValueError(f"--settings must be a JSON object{hint}")
    return cfg


def write_design(config: dict[str, Any], out: str | Path, budget: int | None = None,
                 seed: int | None = None, show_progress: bool = False) -> dict[str, Any]:
    """Generate the design of ``config`` and write every output into ``out``; return the summary."""
    from .diagnostics import alias_matrix, balance_table, reference_level, summary, write_alias
    from .plots import plot_alias
    from .runs import build_design, design_spec, write_runs

    out = Path(out)
    spec = design_spec(config, budget=budget, seed=seed)
    t0 = time.perf_counter()
    design = build_design(spec, show_progress=show_progress)
    elapsed = time.perf_counter() - t0
    table = design.table
    info = summary(design)
    info["generation_seconds"] = round(elapsed, 3)
    out.mkdir(parents=True, exist_ok=True)
    write_runs(table, out / "runs.tsv")
    phase3 = table[table.phase == 3]
    alias_all = alias_matrix(table, spec.sources)
    alias_p3 = alias_matrix(phase3, spec.sources)
    for name, mat in (("alias.tsv", alias_all), ("alias_phase3.tsv", alias_p3)):
        write_alias(out / name, mat)
    with atomic_path(out / "balance.tsv") as tmp:
        balance_table(design).to_csv(tmp, sep="\t", index=False)
    counts = info["runs"]

    def panel(what: str, runs: pd.DataFrame) -> str:
        ref = reference_level(runs)
        return f"{what} (strategy effect-coded, {ref} = -1)" if ref else what

    panels = {panel(f"all {counts['total']} runs", table): alias_all}
    if len(phase3) >= 2:
        panels[panel(f"phase 3: {counts['phase3']} greedy runs", phase3)] = alias_p3
    plot_alias(
        panels,
        out / "alias.png",
        title=f"Aliasing among main effects (design seed {spec.seed})",
    )
    write_text_atomic(out / "summary.json", json.dumps(info, indent=2) + "\n")
    return info


def _describe(info: dict[str, Any], out: Path) -> str:
    runs = info["runs"]
    corr = info["max_abs_correlation"]["phase3"]

    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    lines = [
        f"design: {runs['phase1']} phase-1 + {runs['phase2']} phase-2 + {runs['phase3']} phase-3 runs "
        f"= {runs['total']} (phase 3 chosen from {info['candidates']} candidates; design seed "
        f"{info['design_seed']}; {info['generation_seconds']:.2f} s)",
        f"phase 3: largest |correlation| source-source {fmt(corr['source_source'])}, "
        f"strategy-source {fmt(corr['strategy_source'])}; spreads {info['phase3_spread']}",
        f"wrote {', '.join(str(out / f) for f in OUTPUTS)}",
    ]
    return "\n".join(lines)


def cost_text(config: dict[str, Any], runs: pd.DataFrame, args: argparse.Namespace,
              tsv: bool = False) -> str:
    """The cost preview of ``config``'s run table ``runs`` with the command's options."""
    from .cost import cost_table, format_cost, memory_lines, preview
    from .throughput import read_table

    table = read_table(args.throughput_table) if args.throughput_table else None
    cost = preview(config, runs, device=args.device, samples=args.samples_per_second,
                   windows=args.windows_per_second, table=table, train_tracks=args.train_tracks,
                   valid_tracks=args.valid_tracks)
    if tsv:
        return cost_table(cost).to_csv(sep="\t", index=False, float_format="%.10g")
    return format_cost(cost, memory_lines(config, cost.corpus, cost.device, args.gpu_memory_gb))


def run(args: argparse.Namespace) -> int:
    """Handler of ``onerep design``."""
    setup_logging(args.log)
    config = _config_from_args(args)
    info = write_design(config, args.out, budget=args.budget, seed=args.seed, show_progress=True)
    text = _describe(info, Path(args.out))
    if info["runs"]["total"] == 0:
        log.warning("the design has no runs: check design.replicates_single, replicates_all and budget")
    if args.log:  # workflow: the rule's log (and stderr)
        for line in text.splitlines():
            log.info(line)
    else:  # a preview at the terminal
        from .runs import read_runs

        print(text)
        if args.configfile:
            runs = read_runs(Path(args.out) / "runs.tsv")
            print(cost_text(config, runs, args), end="")
    return 0


def run_cost(args: argparse.Namespace) -> int:
    """Handler of ``onerep cost``."""
    from onerep.config import load

    from .runs import build_design, design_spec

    config = load(args.configfile)
    runs = build_design(design_spec(config, budget=args.budget, seed=args.seed)).table
    print(cost_text(config, runs, args, tsv=args.tsv), end="")
    return 0
