"""Collect every score table into one tidy table and standardise it (SPEC section 9).

- :func:`expected_score_files` lists the score files of a study (each design run on
  each target, each baseline on its targets), the same list the workflow builds.
- :func:`collect_scores` reads and checks them (:func:`onerep.evaluate.scores.read_score_file`):
  one tidy table of every repetition and metric (a tagging target has two, roc_auc and
  pr_auc; its score files mark one ``main``).
- :func:`target_protocols` names the protocol each target was scored with.
- :func:`run_means` averages the repetitions of each target's main metric: the score
  of a representation on a target (as the paper); the other metrics stay in the tidy
  table only.
- :func:`standardise` adds y* = (y - mean_d) / sd_d within each target (mean and
  standard deviation over the design runs; baselines are put on the same scale), n*,
  r* and one 0/1 column ``has_<source>`` per learning source.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from onerep.evaluate.scores import UNRECORDED, read_score_file

from .coding import BASELINE, R_STAR, SINGLE, n_star, r_star, strategy_label

log = logging.getLogger(__name__)

#: Columns of the standardised table (``has_<source>`` columns follow).
STANDARDISED_COLUMNS = (
    "run_id", "target", "metric", "kind", "strategy", "strategy_label", "sources", "n",
    "n_star", "r_star", "repetitions", "y", "y_sd", "target_mean", "target_sd", "y_std",
)




def expected_score_files(scores_dir: str | Path, run_ids: Sequence[str], targets: Sequence[str],
                         baselines: Sequence[str] = (), strategies: Sequence[str] = (),
                         user_features: dict[str, dict[str, str]] | None = None) -> list[Path]:
    """Every score file of a study under ``scores_dir`` (``<rep>/<target>.tsv``).

    The list is the evaluation stage's (:func:`onerep.evaluate.plan.score_files`):
    each design run on each target, ``mfcc`` and ``rand-<strategy>`` on every target
    when listed in ``baselines``, ``user-<name>`` on the targets its features cover.
    """
    from onerep.evaluate.plan import score_files

    config = {
        "targets": [{"name": t} for t in targets],
        "extract": {"baselines": list(baselines), "user_features": dict(user_features or {})},
        "design": {"strategies": list(strategies)},
    }
    scores_dir = Path(scores_dir)
    files = score_files(str(scores_dir.parent), config, list(run_ids))
    # score_files joins "<results>/scores/..."; rebase onto the given folder.
    return [scores_dir / Path(f).relative_to(Path(str(scores_dir.parent)) / "scores") for f in files]


def match_score_files(given: Iterable[str | Path], expected: Sequence[Path]) -> list[Path | None]:
    """The given score files in the order of ``expected``, matched by their
    ``<rep>/<target>.tsv`` ending (None where none was given).

    A given file that is not one of the expected ones, or a second file for the same
    representation and target, is an error naming it.
    """
    key_of = {(f.parent.name, f.name): i for i, f in enumerate(expected)}
    out: list[Path | None] = [None] * len(expected)
    for p in map(Path, given):
        i = key_of.get((p.parent.name, p.name))
        if i is None:
            raise ValueError(f"{p}: not a score file of the study (expected <rep>/<target>.tsv for the "
                             f"study's representations and targets)")
        if out[i] is not None:
            raise ValueError(f"two score files for {p.parent.name} on {Path(p.name).stem}: {out[i]} and {p}")
        out[i] = p
    return out


def collect_scores(paths: Iterable[str | Path], runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """All score files as one tidy table (one row per repetition), checked for consistency.

    Checks: no (run, target, repetition, metric) twice; one main metric and one recorded
    protocol per target; the strategy, sources and n of a design run agree with the run
    table ``runs`` when given.
    Adds ``kind`` ('run' or 'baseline'); the column ``source_file`` names each row's file.
    """
    frames = [read_score_file(p) for p in paths]
    if not frames:
        raise ValueError("no score files to analyse")
    df = pd.concat(frames, ignore_index=True)
    dup = df.duplicated(["run_id", "target", "repetition", "metric"], keep=False)
    if dup.any():
        row = df[dup].iloc[0]
        files = sorted(df.loc[dup & (df.run_id == row.run_id) & (df.target == row.target), "source_file"].unique())
        raise ValueError(f"run {row.run_id} on target {row.target}, repetition {row.repetition} "
                         f"appears more than once with metric {row.metric} (in {files})")
    metrics = df[df["main"] == 1].groupby("target")["metric"].unique()
    for target, ms in metrics.items():
        if len(ms) > 1:
            raise ValueError(f"target {target}: score files mix main metrics {sorted(ms)}; one main metric "
                             "per target")
    target_protocols(df)
    df["kind"] = np.where(df["strategy"] == BASELINE, "baseline", "run")
    unknown = sorted(set(df.loc[df.kind == "run", "strategy"]) - set(R_STAR))
    if unknown:
        first = df[df.strategy.isin(unknown)].iloc[0]
        raise ValueError(f"{first.source_file}: unknown strategy {first.strategy!r}; "
                         f"expected one of {list(R_STAR)} or '{BASELINE}'")
    if runs is not None:
        _check_against_runs(df, runs)
    return df


def target_protocols(scores: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
    """The protocol code each target was scored with, and notes on files that lack one.

    Scores of one target obtained under two protocols are not comparable (nor
    standardisable together): an error. Files without a protocol (written by an
    earlier version) count as ``unrecorded``; beside recorded ones they get a note.
    """
    found: dict[str, str] = {}
    notes: list[str] = []
    for target, part in scores.groupby("target", sort=True):
        codes = sorted(set(part["protocol"]))
        recorded = [c for c in codes if c != UNRECORDED]
        if len(recorded) > 1:
            runs = {c: sorted(part.loc[part.protocol == c, "run_id"].unique())[:3] for c in recorded}
            raise ValueError(f"target {target}: scores come from different protocols (e.g. runs {runs}); "
                             f"score every representation of a target the same way")
        found[str(target)] = recorded[0] if recorded else UNRECORDED
        if recorded and UNRECORDED in codes:
            old = part[part.protocol == UNRECORDED].run_id.nunique()
            notes.append(f"target {target}: {old} representations' score files record no protocol "
                         f"(written by an earlier version); the others say '{recorded[0]}'")
    return found, notes


def _canon_sources(text: str) -> str:
    return ",".join(sorted(s for s in str(text).split(",") if s))


def _check_against_runs(df: pd.DataFrame, runs: pd.DataFrame) -> None:
    table = runs.set_index("run_id")
    design = df[df.kind == "run"].drop_duplicates("run_id")
    for row in design.itertuples():
        if row.run_id not in table.index:
            raise ValueError(f"{row.source_file}: run {row.run_id} is not in the run table")
        ref = table.loc[row.run_id]
        if (str(ref["strategy"]) != row.strategy or int(ref["n"]) != int(row.n)
                or _canon_sources(ref["sources"]) != _canon_sources(row.sources)):
            raise ValueError(
                f"{row.source_file}: run {row.run_id} says strategy={row.strategy}, n={row.n}, "
                f"sources={row.sources} but the run table has strategy={ref['strategy']}, n={ref['n']}, "
                f"sources={ref['sources']}")


def run_means(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean (and standard deviation) over repetitions of each representation on each
    target, of the target's main metric (rows with ``main`` 1; all rows without the column)."""
    if "main" in scores.columns:
        scores = scores[scores["main"] == 1]
    keys = ["run_id", "target", "metric", "kind", "strategy", "sources", "n"]
    g = scores.groupby(keys, sort=False)["value"]
    out = g.agg(y="mean", y_sd="std", repetitions="count").reset_index()
    out["y_sd"] = out["y_sd"].fillna(0.0)
    return out


def source_names(runs_or_scores: pd.DataFrame) -> list[str]:
    """The learning sources that appear in the ``sources`` column of design runs, sorted."""
    rows = runs_or_scores
    if "kind" in rows.columns:
        rows = rows[rows.kind == "run"]
    names: set[str] = set()
    for text in rows["sources"].astype(str):
        names.update(s for s in text.split(",") if s)
    return sorted(names)


def standardise(means: pd.DataFrame, sources: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Add y*, n*, r* and ``has_<source>`` columns; return the table and the notes.

    Within each target, y* = (y - mean) / sd with the mean and the sample standard
    deviation (ddof 1) of the design runs' scores; baselines get the same transform.
    A target whose design runs all score the same cannot be standardised: its rows get
    y* = NaN and a note says so (the models then leave it out).
    """
    notes: list[str] = []
    df = means.copy()
    runs = df[df.kind == "run"]
    stats = runs.groupby("target")["y"].agg(["mean", "std", "count"])
    df["target_mean"] = df["target"].map(stats["mean"])
    df["target_sd"] = df["target"].map(stats["std"])
    for target, row in stats.iterrows():
        if row["count"] < 2 or not np.isfinite(row["std"]) or row["std"] <= 0:
            notes.append(f"target {target}: the {int(row['count'])} design-run scores have no spread "
                         f"(sd {row['std']}); it cannot be standardised and is left out of the models")
    no_runs = sorted(set(df.target) - set(stats.index))
    for target in no_runs:
        notes.append(f"target {target}: only baselines were scored; it is left out of the models")
    ok = df["target_sd"] > 0
    df["y_std"] = np.where(ok, (df["y"] - df["target_mean"]) / df["target_sd"].where(ok, 1.0), np.nan)
    is_run = df.kind == "run"
    df["n_star"] = np.nan
    df.loc[is_run, "n_star"] = n_star(df.loc[is_run, "strategy"], df.loc[is_run, "n"]).astype(float)
    df["r_star"] = np.nan
    df.loc[is_run, "r_star"] = r_star(df.loc[is_run, "strategy"])
    df["strategy_label"] = df["strategy"].map(strategy_label)
    if sources is None:
        sources = source_names(df)
    sets = df["sources"].astype(str).str.split(",")
    for s in sources:
        df[f"has_{s}"] = [int(is_r and s in parts) for is_r, parts in zip(is_run, sets)]
    bad_ssr = df[is_run & (df.strategy == SINGLE) & (df.n != 1)]
    if len(bad_ssr):
        raise ValueError(f"SS-R run {bad_ssr.run_id.iloc[0]} has n = {bad_ssr.n.iloc[0]}; SS-R uses one source")
    cols = list(STANDARDISED_COLUMNS) + [f"has_{s}" for s in sources]
    return df[cols], notes


def model_data(standardised: pd.DataFrame) -> pd.DataFrame:
    """The rows the mixed models use: design runs on targets with a finite y*."""
    df = standardised[(standardised.kind == "run") & np.isfinite(standardised.y_std)].copy()
    return df.reset_index(drop=True)
