"""Does more training make the demo's representations beat MFCC? (issue 7's question)

    python bench/demo_budget.py [--results results] [--config config/config.yaml]
                                [--source tag] [--multipliers 1,3] [--repetitions 5]

Run after the demo study (``make demo``): it reuses the study's mel stores, labels,
corpus split, target splits and the MFCC / Rand (SS-R) features. For each multiplier
``x`` it trains the SS-R network of ``--source`` with the study's training settings but
``x`` times the epochs (same run seed as the study's ``ssr_<source>_r1``), extracts its
features on every classification and regression target, and scores them with the
study's MLP protocol next to MFCC and Rand. Nothing under ``--results`` is written;
models and features go to a temporary folder.

Prints one row per target and, last, ``beats MFCC at x<max>: K of N targets``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from onerep.config import load
from onerep.evaluate.data import task_of
from onerep.evaluate.scores import evaluate_representation
from onerep.features.extract import extract_run
from onerep.models.settings import TrainSettings
from onerep.models.train import train_run


def score(features: Path, target: dict, results: Path, settings: dict, rep: str) -> float:
    """Mean score over repetitions of one features file on one target (the study's protocol)."""
    name = target["name"]
    table = evaluate_representation(
        features, task_of(target), settings,
        {"run_id": rep, "target": name, "strategy": "ssr", "sources": "x", "n": 1},
        labels=results / "targets" / name / "labels.tsv",
        splits=results / "targets" / name / "splits.tsv")
    return float(table["value"].mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--source", default="tag")
    ap.add_argument("--multipliers", default="1,3")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    cfg = load(args.config)
    results = Path(args.results)
    runs = pd.read_csv(results / "design" / "runs.tsv", sep="\t")
    row = runs[(runs["strategy"] == "ssr") & (runs["sources"] == args.source)]
    if row.empty:
        sys.exit(f"no SS-R run of source '{args.source}' in {results}/design/runs.tsv")
    seed = int(row["seed"].iloc[0])
    targets = [t for t in cfg["targets"] if task_of(t) in ("classification", "regression")]
    eval_settings = {"seed": cfg["seed"], "evaluate.repetitions": args.repetitions,
                     "evaluate.mlp": cfg["evaluate"]["mlp"]}
    multipliers = [int(m) for m in args.multipliers.split(",")]

    table: dict[str, dict[str, float]] = {t["name"]: {} for t in targets}
    for t in targets:
        for rep in ("mfcc", "rand-ssr"):
            f = results / "features" / rep / f"{t['name']}.h5"
            if f.exists():
                table[t["name"]][rep] = score(f, t, results, eval_settings, rep)
    with tempfile.TemporaryDirectory() as tmp:
        for x in multipliers:
            train = dict(cfg["train"], epochs=cfg["train"]["epochs"] * x, checkpoint_every=10**6)
            train.pop("mss_from_ssr", None)
            settings = TrainSettings.from_mapping({"train": train,
                                                   "audio.crop_frames": cfg["audio"]["crop_frames"]})
            out = Path(tmp) / f"x{x}"
            t0 = time.perf_counter()
            train_run(f"x{x}", "ssr", [args.source], seed, results / "mel" / "corpus.h5",
                      results / "corpus" / "split.tsv", results / "corpus" / "scaler.npz",
                      [results / "labels" / f"{s}.h5" for s in [args.source] if s != "self"],
                      settings, out, threads=args.threads)
            print(f"x{x}: {settings.epochs} epochs trained in {time.perf_counter() - t0:.0f} s",
                  flush=True)
            for t in targets:
                f = out / f"{t['name']}.h5"
                extract_run(out / "model.pt", results / "mel" / f"{t['name']}.h5", f,
                            rep=f"x{x}", target=t["name"], device="cpu")
                table[t["name"]][f"x{x}"] = score(f, t, results, eval_settings, f"x{x}")
    df = pd.DataFrame(table).T
    print(df.round(3).to_string())
    best = f"x{max(multipliers)}"
    wins = int((df[best] > df["mfcc"]).sum()) if "mfcc" in df else 0
    print(f"beats MFCC at {best}: {wins} of {len(df)} targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
