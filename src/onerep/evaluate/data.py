"""The evaluation inputs (features, labels, interactions) as the scorers need them, read
by each format's one reader (:func:`onerep.features.extract.load_features`,
:func:`onerep.targets.files.read_table`; the splits by
:func:`onerep.targets.files.read_splits`), with checks whose errors name the file, the
line or the track and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from onerep.targets.files import line_of, read_table

TASKS = ("classification", "regression", "recommendation", "tagging")

# The task of each built-in target kind; a custom target names its own.
KIND_TASKS = {
    "gtzan": "classification",
    "fma": "classification",
    "ballroom": "classification",
    "irmas": "classification",
    "mediaeval2013": "regression",
    "lastfm1k": "recommendation",
    "mtg_jamendo": "tagging",
    "magnatagatune": "tagging",
}


def task_of(target_cfg: dict) -> str:
    """The task of a target config entry: from its ``kind``, or ``task`` for a custom one."""
    kind = target_cfg["kind"]
    task = KIND_TASKS.get(kind) or target_cfg.get("task")
    if task not in TASKS:
        raise ValueError(f"target '{target_cfg.get('name')}' (kind {kind}) has no known task; set 'task'")
    return task


@dataclass
class Features:
    """One representation of one target's tracks."""

    track_ids: np.ndarray  # (N,) str
    X: np.ndarray  # (N, D) float32
    path: str

    def rows(self, track_ids: np.ndarray) -> np.ndarray:
        """Row index of each of ``track_ids`` (-1 where the track has no features)."""
        index = pd.Index(self.track_ids)
        return index.get_indexer(pd.Index(track_ids))


def load_features(path: str | Path) -> Features:
    """A features file as :class:`Features`, read and checked by the format's one reader
    (``onerep.features.extract.load_features``)."""
    from onerep.features import extract

    ids, X, _ = extract.load_features(path)
    return Features(track_ids=np.asarray(ids, dtype=str), X=X, path=str(path))


def load_labels(path: str | Path, task: str) -> pd.Series | pd.DataFrame:
    """``label`` per ``track_id`` of a target's labels.tsv: strings for classification,
    floats for regression, a track x tag 0/1 DataFrame for tagging (the label format of
    :mod:`onerep.targets.files`, read by its :func:`~onerep.targets.files.tag_matrix`)."""
    df = read_table(path, ["track_id", "label"], "labels")
    dup = df["track_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise ValueError(f"{path}, line {line_of(i)}: track '{df.track_id.iloc[i]}' appears twice")
    empty = df["label"].str.strip() == ""
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise ValueError(f"{path}, line {line_of(i)}: track '{df.track_id.iloc[i]}' has an empty label")
    labels = df.set_index("track_id")["label"]
    if task == "tagging":
        from onerep.targets.files import tag_matrix

        return tag_matrix(labels, path)
    if task == "regression":
        values = pd.to_numeric(labels, errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{path}, line {line_of(i)}: label '{labels.iloc[i]}' of track '{labels.index[i]}' "
                "is not a finite number (regression target)"
            )
        return values.astype(float)
    return labels


def load_interactions(path: str | Path) -> pd.DataFrame:
    """``user``, ``track_id``, ``count`` (float > 0) of an interactions.tsv.

    Rows with a zero count are not interactions and are dropped; repeated
    (user, track) pairs are summed.
    """
    df = read_table(path, ["user", "track_id", "count"], "interactions")
    count = pd.to_numeric(df["count"], errors="coerce")
    bad = ~np.isfinite(count.to_numpy(dtype=float)) | (count < 0).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{path}, line {line_of(i)}: count '{df['count'].iloc[i]}' is not a non-negative number"
        )
    df["count"] = count.astype(float)
    df = df[df["count"] > 0]
    return df.groupby(["user", "track_id"], as_index=False, sort=True)["count"].sum()


def repetition_plan(splits: pd.DataFrame, repetitions: int, path: str = "splits") -> list[tuple[int, int]]:
    """``(repetition label, split repetition)`` pairs for ``repetitions`` evaluations.

    Uses the first ``repetitions`` repetitions of the splits file. A file with a single
    repetition is a fixed split: it is evaluated ``repetitions`` times, labelled
    ``r0, r0+1, ...``, each with its own model seed.
    """
    reps = sorted(int(r) for r in splits["repetition"].unique())
    if len(reps) >= repetitions:
        return [(r, r) for r in reps[:repetitions]]
    if len(reps) == 1:
        return [(reps[0] + i, reps[0]) for i in range(repetitions)]
    raise ValueError(f"{path}: {len(reps)} repetitions {reps}, but evaluate.repetitions is {repetitions}")
