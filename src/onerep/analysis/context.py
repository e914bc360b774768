"""What the report shows besides the statistics: design summary, acquisition losses,
training curves, labels summary and software versions."""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from onerep.audio.records import RECORD_COLUMNS, read_records
from onerep.design.runs import read_runs
from onerep.models.trainlog import read_log
from onerep.sources.split import read_summary

from .coding import order_strategies, strategy_label

log = logging.getLogger(__name__)

#: Packages whose versions the report lists.
PACKAGES = ("onerep", "numpy", "scipy", "pandas", "h5py", "soundfile", "soxr", "librosa", "numba",
            "scikit-learn", "statsmodels", "matplotlib", "torch", "jsonschema", "PyYAML", "tqdm",
            "threadpoolctl", "snakemake")

#: Statuses of a track record that mean the track was kept.
KEPT = {"ok", "done", "kept", "success", "cached"}


def versions() -> pd.DataFrame:
    """Python, platform and the versions of the pinned packages (``not installed`` when absent)."""
    rows = [dict(package="python", version=sys.version.split()[0]),
            dict(package="platform", version=platform.platform())]
    for name in PACKAGES:
        try:
            v = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            v = "not installed"
        rows.append(dict(package=name, version=v))
    return pd.DataFrame(rows)


def design_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Run counts per phase and strategy, with the range of n."""
    rows = []
    for (phase, strategy), d in runs.groupby(["phase", "strategy"], sort=False):
        rows.append(dict(phase=int(phase), strategy=strategy, label=strategy_label(strategy), runs=len(d),
                         n_min=int(d.n.min()), n_max=int(d.n.max())))
    df = pd.DataFrame(rows, columns=["phase", "strategy", "label", "runs", "n_min", "n_max"])
    order = {s: i for i, s in enumerate(order_strategies(runs.strategy))}
    df = df.sort_values(["phase", "strategy"], key=lambda c: c.map(order) if c.name == "strategy" else c)
    total = pd.DataFrame([dict(phase="all", strategy="all", label="all runs", runs=len(runs),
                               n_min=int(runs.n.min()), n_max=int(runs.n.max()))])
    return pd.concat([df.astype({"phase": str}), total], ignore_index=True)


def acquisition_losses(records: Mapping[str, str | Path]) -> pd.DataFrame:
    """Per data set: tracks in the manifest, kept, lost (percent) and the reasons of the losses.

    ``records`` maps a data set to its ``mel/<dataset>.records.tsv`` (track_id, stage,
    status, reason; possibly several rows per track, the last one decides). A missing
    file gives a row with NA counts.
    """
    rows = []
    for name, path in records.items():
        path = Path(path)
        if not path.exists():
            rows.append(dict(dataset=name, tracks=np.nan, kept=np.nan, lost=np.nan, lost_percent=np.nan,
                             reasons="records file not found"))
            continue
        df = pd.DataFrame([asdict(r) for r in read_records(path)], columns=list(RECORD_COLUMNS))
        last = df.drop_duplicates("track_id", keep="last")
        lost = last[~last.status.str.lower().isin(KEPT)]
        why = (lost.get("stage", "") + ": " + lost.get("reason", lost.status)).value_counts()
        reasons = "; ".join(f"{k} ({v})" for k, v in why.head(5).items())
        rows.append(dict(dataset=name, tracks=len(last), kept=len(last) - len(lost), lost=len(lost),
                         lost_percent=100 * len(lost) / max(len(last), 1), reasons=reasons))
    return pd.DataFrame(rows, columns=["dataset", "tracks", "kept", "lost", "lost_percent", "reasons"])


def training_logs(paths: Iterable[str | Path], runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """All training logs in one table, with each run's strategy."""
    frames = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            log.warning("training log %s not found; left out of the curves", p)
            continue
        df = read_log(p)
        if "run_id" not in df.columns:
            df["run_id"] = p.parent.name
        frames.append(df)
    cols = ["run_id", "phase", "epoch", "source", "train_loss", "valid_loss"]
    if not frames:
        return pd.DataFrame(columns=cols + ["strategy"])
    logs = pd.concat(frames, ignore_index=True)
    if "phase" in logs.columns:  # a probe run (loss weighting) is not part of the curves
        logs = logs[logs.phase.astype(str) != "probe"]
    if runs is not None:
        logs["strategy"] = logs.run_id.map(runs.set_index("run_id").strategy)
    else:
        logs["strategy"] = logs.run_id.str.split("_").str[0]
    return logs


def write_context(out_dir: str | Path, figures_dir: str | Path, runs_path: str | Path,
                  records: Mapping[str, str | Path], train_logs: Iterable[str | Path],
                  labels_summary: str | Path | None = None) -> dict[str, Path]:
    """Write the report's context tables into ``out_dir`` and the training curves into ``figures_dir``."""
    from .figures import training_curves
    from .tables import write_tsv

    out = Path(out_dir)
    runs = read_runs(runs_path)
    paths = {"design": out / "design.tsv", "acquisition": out / "acquisition.tsv", "versions": out / "versions.tsv",
             "labels": out / "labels.tsv"}
    write_tsv(design_summary(runs), paths["design"])
    write_tsv(acquisition_losses(records), paths["acquisition"])
    write_tsv(versions(), paths["versions"])
    if labels_summary and Path(labels_summary).exists():
        write_tsv(read_summary(labels_summary), paths["labels"])
    else:
        write_tsv(pd.DataFrame({"note": ["labels summary not available"]}), paths["labels"])
    paths["training_curves"] = training_curves(training_logs(train_logs, runs), figures_dir)
    return paths
