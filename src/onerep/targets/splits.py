"""Train/test splits of a target data set (SPEC section 8), written once per target.

Every representation of a study is scored on the same ``splits.tsv``:

- A data set with its own split (GTZAN with a split file, FMA, MediaEval, a custom
  CSV with a split column) repeats the same folds in each repetition; each
  repetition still gets its own recorded seed, which the evaluation uses for its
  model.
- Otherwise a split is drawn per repetition with the seed
  ``derive_seed(seed, "split", target, repetition)``: stratified by label for
  classification (the fraction ``test_fraction`` of each class goes to test), plain
  random for regression and tagging (the built-in tagging corpora have their own
  split). Tracks that share a group (IRMAS source tracks, a custom
  ``group_column``) are kept together; a group counts for the class most of its
  tracks have. A class with a single track (or group) stays in training; when no
  class has two (a tiny data set), the draw is made without strata.
- Recommendation (Last.fm-1K): the interactions of tracks with mel features are
  filtered (users with fewer than ``min_user_tracks`` tracks and tracks with fewer
  than ``min_track_users`` users are dropped, repeated until stable); the surviving
  tracks are split, ``holdout_fraction`` of them held out (fold 'test'). The split
  file lists exactly the tracks that pass the filter, so the evaluation needs no
  filter of its own beyond restricting the interactions to these tracks.

Only tracks present in the target's mel store are split, so a track whose audio
failed drops out of every representation's score alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from onerep.util import derive_seed

from .files import SPLIT_COLUMNS

log = logging.getLogger("onerep.targets")


def split_seed(seed: int, target: str, repetition: int) -> int:
    """Seed of one repetition's split of ``target``."""
    return derive_seed(seed, "split", target, repetition)


def filter_interactions(inter: pd.DataFrame, min_user_tracks: int,
                        min_track_users: int) -> pd.DataFrame:
    """Drop users with too few tracks and tracks with too few users, until stable.

    ``inter`` has one row per (user, track_id); a user's tracks and a track's users
    are counted as distinct rows.
    """
    cur = inter
    while True:
        per_user = cur.groupby("user")["track_id"].transform("size")
        per_track = cur.groupby("track_id")["user"].transform("size")
        keep = (per_user >= min_user_tracks) & (per_track >= min_track_users)
        if bool(keep.all()):
            return cur.reset_index(drop=True)
        cur = cur[keep]
        if cur.empty:
            return cur.reset_index(drop=True)


def draw_test(labels: np.ndarray, groups: np.ndarray, fraction: float,
              rng: np.random.Generator, stratify: bool) -> np.ndarray:
    """Boolean mask of test tracks for one random split.

    Units are groups (one track each where ``groups`` are all distinct). Within each
    class (all units form one class when ``stratify`` is false) the units are taken
    in a random order into test while that brings the test size of the class closer
    to ``fraction`` of its tracks; each class with at least two units gives at least
    one unit to test and keeps at least one in training.
    """
    unit_names, unit_of = np.unique(groups, return_inverse=True)
    sizes = np.bincount(unit_of, minlength=len(unit_names))
    if stratify:
        frame = pd.DataFrame({"unit": unit_of, "label": labels})
        counts = frame.groupby(["unit", "label"]).size().reset_index(name="n")
        counts = counts.sort_values(["unit", "n", "label"], ascending=[True, False, True])
        unit_label = counts.drop_duplicates("unit").set_index("unit")["label"]
        unit_label = unit_label.reindex(range(len(unit_names))).to_numpy()
    else:
        unit_label = np.zeros(len(unit_names), dtype=int)
    test_unit = np.zeros(len(unit_names), dtype=bool)
    for cls in sorted(set(unit_label.tolist())):
        units = np.flatnonzero(unit_label == cls)
        if len(units) < 2:
            continue
        goal = fraction * sizes[units].sum()
        taken = 0
        for u in rng.permutation(units)[:-1]:
            if taken and abs(taken + sizes[u] - goal) > abs(taken - goal):
                break
            test_unit[u] = True
            taken += sizes[u]
            if taken >= goal:
                break
    if stratify and not test_unit.any() and len(unit_names) > 1:
        # every class is a single unit (a tiny data set): draw without strata
        log.warning("no class has two units to stratify on; drawing the split unstratified")
        return draw_test(labels, groups, fraction, rng, stratify=False)
    return test_unit[unit_of]


def make_splits(labels: pd.DataFrame, task: str, *, target: str, seed: int, repetitions: int,
                test_fraction: float, keep_ids: Iterable[str] | None = None,
                interactions: pd.DataFrame | None = None, min_user_tracks: int = 5,
                min_track_users: int = 5, holdout_fraction: float = 0.2,
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The splits of one target: (DataFrame repetition, track_id, fold, seed; counts).

    ``labels`` is the target's labels.tsv, ``keep_ids`` the track ids with mel
    features (None keeps all), ``interactions`` the recommendation log.
    """
    if repetitions < 1:
        raise ValueError(f"target '{target}': repetitions must be at least 1")
    info: dict[str, Any] = {"labelled": len(labels)}
    lab = labels
    if keep_ids is not None:
        keep = set(keep_ids)
        lab = labels[labels["track_id"].isin(keep)]
        info["without_mel"] = len(labels) - len(lab)
    lab = lab.reset_index(drop=True)
    if task == "recommendation":
        if interactions is None:
            raise ValueError(f"target '{target}': a recommendation target needs interactions.tsv")
        inter = interactions[interactions["track_id"].isin(set(lab["track_id"]))]
        inter = filter_interactions(inter, min_user_tracks, min_track_users)
        info["filtered_out"] = len(lab) - inter["track_id"].nunique()
        info["users"] = int(inter["user"].nunique())
        lab = lab[lab["track_id"].isin(set(inter["track_id"]))].reset_index(drop=True)
        fraction = holdout_fraction
    else:
        fraction = test_fraction
    if len(lab) < 2:
        raise ValueError(f"target '{target}': only {len(lab)} tracks left to split "
                         f"(of {len(labels)} labelled; tracks need mel features"
                         + (" and enough listeners" if task == "recommendation" else "") + ")")
    own = lab["split"].to_numpy() != ""
    fixed = task != "recommendation" and bool(own.all())
    if task != "recommendation" and own.any() and not fixed:
        first = lab["track_id"][~own].iloc[0]
        raise ValueError(f"target '{target}': track '{first}' has no split while others do")
    groups = np.where(lab["group"].to_numpy() != "", "g:" + lab["group"].astype(str),
                      "t:" + lab["track_id"].astype(str))
    frames = []
    for rep in range(repetitions):
        rep_seed = split_seed(seed, target, rep)
        if fixed:
            fold = lab["split"].to_numpy()
        else:
            rng = np.random.default_rng(rep_seed)
            test = draw_test(lab["label"].to_numpy(), groups, fraction, rng,
                             stratify=task == "classification")
            fold = np.where(test, "test", "train")
        n_test = int((fold == "test").sum())
        if n_test == 0 or n_test == len(fold):
            raise ValueError(f"target '{target}': repetition {rep} has "
                             f"{n_test} test tracks of {len(fold)}; both folds need tracks")
        frames.append(pd.DataFrame({"repetition": rep, "track_id": lab["track_id"],
                                    "fold": fold, "seed": rep_seed}))
        log.info("%s repetition %d: %d train, %d test (seed %d)", target, rep,
                 len(fold) - n_test, n_test, rep_seed)
    info.update({"split_tracks": len(lab), "fixed": fixed, "fraction": fraction})
    return pd.concat(frames, ignore_index=True)[SPLIT_COLUMNS], info
