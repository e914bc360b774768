"""Loaders of the target data sets, each reading the data set's own native layout.

Every loader takes the target's config entry (see the ``target`` definition in the
config schema) and returns a :class:`TargetData`; those of the multi-label corpora
(MTG-Jamendo, MagnaTagATune) are in :mod:`onerep.targets.tagging`. Paths in the
config are relative to the working directory. Tracks whose audio file is missing are
left out of the manifest and counted in the report; files that exist but cannot be
decoded are the audio stage's business (it records them).

One module per format family: :mod:`.folders` (GTZAN, Ballroom, IRMAS),
:mod:`.tables` (FMA, MediaEval 2013), :mod:`.lastfm` (Last.fm-1K), :mod:`.custom`;
the multi-label corpora are in :mod:`onerep.targets.tagging`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..common import TargetData, is_audio, log
from ..tagging import load_magnatagatune, load_mtg_jamendo
from .custom import load_custom
from .folders import irmas_group, load_ballroom, load_gtzan, load_irmas, read_gtzan_split
from .lastfm import load_lastfm1k, read_lastfm_log, read_manifest_file
from .tables import load_fma, load_mediaeval2013

LOADERS: dict[str, Callable[[dict[str, Any]], TargetData]] = {
    "gtzan": load_gtzan,
    "fma": load_fma,
    "ballroom": load_ballroom,
    "irmas": load_irmas,
    "mediaeval2013": load_mediaeval2013,
    "lastfm1k": load_lastfm1k,
    "custom": load_custom,
    "mtg_jamendo": load_mtg_jamendo,
    "magnatagatune": load_magnatagatune,
}


def load_target(target_cfg: dict[str, Any]) -> TargetData:
    """Read one target data set (a ``targets`` entry of the config) from its native layout."""
    kind = target_cfg.get("kind")
    if kind not in LOADERS:
        raise ValueError(f"target '{target_cfg.get('name')}': unknown kind {kind!r} "
                         f"(known: {', '.join(LOADERS)})")
    if not target_cfg.get("name"):
        raise ValueError(f"a target of kind {kind} has no name")
    data = LOADERS[kind](target_cfg)
    labels = data.labels
    if data.task == "regression":
        y = labels["label"].astype(float).to_numpy()
        data.note("label_mean", round(float(np.mean(y)), 6))
        data.note("label_std", round(float(np.std(y)), 6))
    if data.fixed_split:
        n_test = int((labels["split"] == "test").sum())
        data.note("own_split_train", len(labels) - n_test)
        data.note("own_split_test", n_test)
    log.info("target %s (%s): %d tracks", data.name, kind, len(data.manifest))
    return data


__all__ = ["load_target", "LOADERS", "read_gtzan_split", "irmas_group", "read_manifest_file",
           "read_lastfm_log", "is_audio"]
