"""Score one representation on one target: the tidy score table of (run, target).

One row per repetition and metric: run_id, target, repetition, metric, value, seed,
strategy, sources, n, followed by n_train and n_test (the tracks actually used, after
tracks without features were left out), protocol (how the score was obtained, a code
of :data:`PROTOCOLS`), main (1 on the row of the target's main metric, the one the
analysis uses, 0 on the others), and for tagging targets n_tags and n_tags_dropped
(the tags that entered the macro averages, and those left out for want of positive or
negative test tracks; empty for other tasks). Classification, regression and
recommendation give one metric, so one row per repetition; tagging gives two rows per
repetition, ``roc_auc`` and ``pr_auc``, one of them main (the target's
``main_metric``, ROC-AUC by default). :func:`write_scores` writes the table and
:func:`read_score_file` reads and checks one (files written before the protocol
column existed read as protocol ``unrecorded``, before the main column as main 1).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onerep.targets.files import read_splits
from onerep.util import setting

from ..util import atomic_path, derive_seed
from .data import TASKS, Features, load_features, load_interactions, load_labels, repetition_plan
from .mlp import TAG_METRICS, MLPParams, fit_score, fit_tagging

log = logging.getLogger(__name__)

SCORE_COLUMNS = [
    "run_id", "target", "repetition", "metric", "value", "seed", "strategy", "sources", "n", "n_train", "n_test",
    "protocol", "main", "n_tags", "n_tags_dropped",
]
#: The main metric of a tagging target unless its config names another (``main_metric``).
DEFAULT_TAG_METRIC = "roc_auc"
#: Columns every score file must have (files of earlier versions lack ``protocol``).
REQUIRED_COLUMNS = ("run_id", "target", "repetition", "metric", "value", "strategy", "sources", "n")
RUN_META_KEYS = ("run_id", "target", "strategy", "sources", "n")

#: The protocol of a score file written before the ``protocol`` column existed.
UNRECORDED = "unrecorded"
#: The ``protocol`` codes of a score and what each means (where it departs from the paper).
PROTOCOLS: dict[str, str] = {
    "mlp-classifier": "accuracy of the MLP classifier on features standardised on the training part "
                      "(the paper's protocol)",
    "mlp-regressor-target-standardised": "R² of the MLP regressor fitted to the target standardised on the "
                                         "training part (mean 0, sd 1; predictions mapped back to the rating "
                                         "scale); the paper fitted the raw ratings",
    "mlp-tagger": "macro ROC-AUC and macro PR-AUC (average precision) of an MLP with one sigmoid output per "
                  "tag (binary cross-entropy) on features standardised on the training part; tags without "
                  "positive or without negative test tracks are left out of the averages (n_tags counts the "
                  "tags scored)",
    "als-rank-heldout": "nDCG: each user ranks only the held-out tracks (evaluate.als.candidates: heldout; "
                        "not the paper's protocol, which ranks every track and gives lower or equal nDCG)",
    "als-rank-all": "nDCG: each user ranks every track except their own training tracks "
                    "(evaluate.als.candidates: all; the paper's protocol)",
    UNRECORDED: "not recorded (scored before score files recorded their protocol)",
}
_MLP_PROTOCOLS = {"classification": "mlp-classifier", "regression": "mlp-regressor-target-standardised",
                  "tagging": "mlp-tagger"}


def score_protocol(task: str, candidates: str = "heldout") -> str:
    """The ``protocol`` code of a score of ``task``; ``candidates`` is evaluate.als.candidates."""
    code = f"als-rank-{candidates}" if task == "recommendation" else _MLP_PROTOCOLS.get(task, "")
    if code not in PROTOCOLS:
        raise ValueError(f"no scoring protocol for task '{task}'"
                         + (f" with evaluate.als.candidates '{candidates}'" if task == "recommendation" else ""))
    return code


def check_run_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The run metadata with its keys checked: run_id, target, strategy, sources, n."""
    missing = [k for k in RUN_META_KEYS if k not in meta]
    if missing:
        raise ValueError(f"run metadata lacks {missing} (has {sorted(meta)})")
    out = {k: meta[k] for k in RUN_META_KEYS}
    if isinstance(out["sources"], list | tuple):
        out["sources"] = ",".join(out["sources"])
    out["n"] = int(out["n"])
    return out


def _split_tracks(splits: pd.DataFrame, split_rep: int) -> pd.Series:
    part = splits[splits["repetition"] == split_rep]
    return part.set_index("track_id")["fold"]


def score_mlp(
    features: Features, labels: pd.Series | pd.DataFrame, splits: pd.DataFrame, task: str,
    settings: dict[str, Any], meta: dict[str, Any], splits_path: str = "splits",
    main_metric: str = DEFAULT_TAG_METRIC,
) -> pd.DataFrame:
    """Classification/regression/tagging scores of ``features`` over the repetitions of
    ``splits`` (tagging: ``labels`` is the track x tag matrix; ``main_metric`` marks its main row)."""
    if task == "tagging" and main_metric not in TAG_METRICS:
        raise ValueError(f"main metric '{main_metric}' of a tagging target is not one of {TAG_METRICS}")
    params = MLPParams.from_settings(setting(settings, "evaluate.mlp"))
    repetitions = int(setting(settings, "evaluate.repetitions"))
    master = int(setting(settings, "seed"))
    rows = []
    for rep_label, split_rep in repetition_plan(splits, repetitions, splits_path):
        folds = _split_tracks(splits, split_rep)
        no_label = folds.index.difference(labels.index)
        if len(no_label):
            raise ValueError(
                f"{splits_path}: repetition {split_rep} has {len(no_label)} tracks without a label, "
                f"e.g. {list(no_label[:3])}"
            )
        idx = features.rows(folds.index.to_numpy())
        missing = folds.index[idx < 0]
        if len(missing):
            log.warning(
                "repetition %s: %d of %d split tracks have no features and are left out, e.g. %s",
                rep_label, len(missing), len(folds), list(missing[:5]),
            )
        present = idx >= 0
        fold = folds.to_numpy()[present]
        X = features.X[idx[present]]
        y = labels.reindex(folds.index[present]).to_numpy()
        tr, te = fold == "train", fold == "test"
        if tr.sum() == 0 or te.sum() == 0:
            raise ValueError(
                f"{splits_path}: repetition {split_rep} has {int(tr.sum())} training and {int(te.sum())} test "
                f"tracks with features in {features.path}; both must be non-empty"
            )
        seed = derive_seed(master, "mlp", meta["run_id"], meta["target"], rep_label)
        common = dict(repetition=rep_label, seed=seed, n_train=int(tr.sum()), n_test=int(te.sum()))
        if task == "tagging":
            try:
                res = fit_tagging(X[tr], y[tr], X[te], y[te], params, seed)
            except ValueError as exc:
                raise ValueError(f"{splits_path}, repetition {split_rep}: {exc}") from None
            rows += [dict(common, metric=m, value=getattr(res, m), main=int(m == main_metric),
                          n_tags=res.scored, n_tags_dropped=res.dropped) for m in TAG_METRICS]
            log.info("repetition %s: ROC-AUC %.4f, PR-AUC %.4f over %d tags (%d without positive or negative "
                     "test tracks left out; train %d, test %d, seed %d)", rep_label, res.roc_auc, res.pr_auc,
                     res.scored, res.dropped, int(tr.sum()), int(te.sum()), seed)
            continue
        metric, value = fit_score(task, X[tr], y[tr], X[te], y[te], params, seed)
        log.info("repetition %s: %s = %.4f (train %d, test %d, seed %d)", rep_label, metric, value,
                 int(tr.sum()), int(te.sum()), seed)
        rows.append(dict(common, metric=metric, value=value))
    return _table(rows, meta, score_protocol(task))


def score_recommendation(
    features: Features, interactions: pd.DataFrame, splits: pd.DataFrame, settings: dict[str, Any],
    meta: dict[str, Any], splits_path: str = "splits",
) -> pd.DataFrame:
    """nDCG@k of the content-aware ALS with ``features`` over the repetitions of ``splits``."""
    from .als import ALSParams
    from .recommend import evaluate_split

    als = setting(settings, "evaluate.als")
    params = ALSParams.from_settings(als)
    k = int(als["ndcg_k"])
    candidates = str(als["candidates"])
    protocol = score_protocol("recommendation", candidates)
    repetitions = int(setting(settings, "evaluate.repetitions"))
    master = int(setting(settings, "seed"))
    rows = []
    for rep_label, split_rep in repetition_plan(splits, repetitions, splits_path):
        folds = _split_tracks(splits, split_rep)
        seed = derive_seed(master, "als", meta["run_id"], meta["target"], rep_label)
        try:
            res = evaluate_split(
                interactions, features.track_ids, features.X, folds, params, seed, k=k,
                min_user_tracks=int(als["min_user_tracks"]),
                min_track_users=int(als["min_track_users"]),
                candidates=candidates,
            )
        except ValueError as exc:
            raise ValueError(f"{splits_path}, repetition {split_rep}: {exc}") from None
        rows.append(dict(repetition=rep_label, metric=f"ndcg@{k}", value=res.ndcg, seed=seed,
                         n_train=res.n_train_tracks, n_test=res.n_heldout_tracks))
    return _table(rows, meta, protocol)


def _table(rows: list[dict[str, Any]], meta: dict[str, Any], protocol: str) -> pd.DataFrame:
    """The score rows with the run metadata, the protocol and (single-metric tasks) main 1."""
    df = pd.DataFrame(rows)
    for key in RUN_META_KEYS:
        df[key] = meta[key]
    df["protocol"] = protocol
    if "main" not in df.columns:
        df["main"] = 1
    for col in ("n_tags", "n_tags_dropped"):
        df[col] = df[col].astype("Int64") if col in df.columns else pd.array([pd.NA] * len(df), dtype="Int64")
    return df[SCORE_COLUMNS]


def evaluate_representation(
    features: str | Path,
    task: str,
    settings: dict[str, Any],
    run_meta: dict[str, Any],
    labels: str | Path | None = None,
    splits: str | Path | None = None,
    interactions: str | Path | None = None,
    main_metric: str | None = None,
) -> pd.DataFrame:
    """Score the features file of one representation on one target; the tidy score table.

    ``settings``: the seed and the ``evaluate`` keys (flat dotted keys as the rules pass
    them, or nested); ``run_meta``: run_id, target, strategy, sources, n;
    ``main_metric``: the main one of a tagging target's two (default roc_auc).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task '{task}'; one of {TASKS}")
    meta = check_run_meta(run_meta)
    if splits is None:
        raise ValueError("a splits file is needed")
    feats = load_features(features)
    split_df = read_splits(splits)
    if task == "recommendation":
        if interactions is None:
            raise ValueError("the recommendation task needs an interactions file (--interactions)")
        return score_recommendation(feats, load_interactions(interactions), split_df, settings, meta, str(splits))
    if labels is None:
        raise ValueError(f"the {task} task needs a labels file (--labels)")
    return score_mlp(feats, load_labels(labels, task), split_df, task, settings, meta, str(splits),
                     main_metric=main_metric or DEFAULT_TAG_METRIC)


def write_scores(table: pd.DataFrame, path: str | Path) -> None:
    """Write a score table as TSV, atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g")


def _first_bad_line(bad: pd.Series | np.ndarray) -> int:
    """The file line (header = line 1) of the first True in ``bad``."""
    return int(np.flatnonzero(np.asarray(bad))[0]) + 2


def _check_main(df: pd.DataFrame, path: Path) -> None:
    """Check (and fill) the ``main`` column: each repetition has each metric once and
    exactly one main row, the same metric in every repetition. A file without the
    column (one metric, written before it existed) gets main 1."""
    dup = df.duplicated(["repetition", "metric"])
    if dup.any():
        line = _first_bad_line(dup)
        raise ValueError(f"{path}, line {line}: repetition {df['repetition'].iloc[line - 2]} appears more than "
                         f"once with metric {df['metric'].iloc[line - 2]!r}")
    if "main" not in df.columns:
        if df.groupby("repetition")["metric"].nunique().max() > 1:
            raise ValueError(f"{path}: several metrics per repetition but no 'main' column naming the main one")
        df["main"] = 1
        return
    main = pd.to_numeric(df["main"], errors="coerce")
    bad = ~main.isin([0, 1])
    if bad.any():
        line = _first_bad_line(bad)
        raise ValueError(f"{path}, line {line}: main {df['main'].iloc[line - 2]!r} is neither 0 nor 1")
    df["main"] = main.astype(int)
    per_rep = df.groupby("repetition")["main"].sum()
    if (per_rep != 1).any():
        rep = per_rep.index[per_rep != 1][0]
        raise ValueError(f"{path}: repetition {rep} has {int(per_rep[rep])} rows with main 1; exactly one "
                         "metric per repetition is the main one")
    mains = sorted(df.loc[df["main"] == 1, "metric"].unique())
    if len(mains) > 1:
        raise ValueError(f"{path}: the main metric differs between repetitions ({mains})")


def read_score_file(path: str | Path) -> pd.DataFrame:
    """One score table, checked: required columns, numeric finite values, one run on one
    target, a known protocol (``unrecorded`` for files without the column), each metric
    once per repetition and one main metric (main 1 for files without the column).
    Adds the column ``source_file``."""
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype={"run_id": str, "target": str, "sources": str,
                                                 "metric": str, "strategy": str, "protocol": str})
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty score file") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing} (has {list(df.columns)})")
    if df.empty:
        raise ValueError(f"{path}: no score rows")
    value = pd.to_numeric(df["value"], errors="coerce")
    bad = ~np.isfinite(value.to_numpy(dtype=float))
    if bad.any():
        line = _first_bad_line(bad)
        raise ValueError(f"{path}, line {line}: score value {df['value'].iloc[line - 2]!r} is not a finite number")
    df["value"] = value.astype(float)
    n = pd.to_numeric(df["n"], errors="coerce")
    if n.isna().any():
        line = _first_bad_line(n.isna())
        raise ValueError(f"{path}, line {line}: n {df['n'].iloc[line - 2]!r} is not an integer")
    df["n"] = n.astype(int)
    for col in ("run_id", "target", "metric", "strategy"):
        if df[col].isna().any():
            raise ValueError(f"{path}, line {_first_bad_line(df[col].isna())}: empty {col}")
    df["sources"] = df["sources"].fillna("")
    df["protocol"] = df["protocol"].fillna(UNRECORDED) if "protocol" in df.columns else UNRECORDED
    unknown = ~df["protocol"].isin(list(PROTOCOLS))
    if unknown.any():
        line = _first_bad_line(unknown)
        raise ValueError(f"{path}, line {line}: unknown protocol {df['protocol'].iloc[line - 2]!r}; "
                         f"one of {list(PROTOCOLS)}")
    _check_main(df, path)
    if df["target"].nunique() != 1 or df["run_id"].nunique() != 1:
        raise ValueError(f"{path}: a score file holds one representation on one target; found runs "
                         f"{sorted(df['run_id'].unique())} on targets {sorted(df['target'].unique())}")
    df["source_file"] = str(path)
    return df


def read_scores(paths: Iterable[str | Path]) -> pd.DataFrame:
    """All score tables in ``paths`` (:func:`read_score_file` each) as one DataFrame."""
    frames = [read_score_file(p) for p in paths]
    if not frames:
        return pd.DataFrame(columns=[*SCORE_COLUMNS, "source_file"])
    return pd.concat(frames, ignore_index=True)


def baseline_comparison(scores: pd.DataFrame) -> pd.DataFrame:
    """Per target: the mean score of the trained runs against each baseline.

    ``scores``: score tables (:func:`read_scores`). Each representation's score is its
    mean over repetitions. Columns: target, metric, protocol (the target's protocols,
    comma-separated), runs (count), runs_mean, runs_best, baseline (name),
    baseline_score, runs_beating (fraction of runs above the baseline), mean_beats
    (runs_mean > baseline_score). A quick check that trained representations transfer;
    the analysis stage does the statistics.
    """
    per_rep = scores.groupby(["target", "metric", "run_id", "strategy"], as_index=False)["value"].mean()
    protocols = (scores.groupby("target")["protocol"].agg(lambda p: ",".join(sorted(set(p))))
                 if "protocol" in scores.columns else pd.Series(dtype=str))
    rows = []
    for (target, metric), part in per_rep.groupby(["target", "metric"], sort=True):
        runs = part[part["strategy"] != "baseline"]["value"]
        for _, base in part[part["strategy"] == "baseline"].sort_values("run_id").iterrows():
            rows.append(dict(
                target=target, metric=metric, protocol=protocols.get(target, UNRECORDED), runs=len(runs),
                runs_mean=runs.mean() if len(runs) else float("nan"),
                runs_best=runs.max() if len(runs) else float("nan"),
                baseline=base["run_id"], baseline_score=base["value"],
                runs_beating=float((runs > base["value"]).mean()) if len(runs) else float("nan"),
                mean_beats=bool(len(runs) and runs.mean() > base["value"]),
            ))
    return pd.DataFrame(rows)
