"""Baseline representations computed by the extraction stage (SPEC section 7).

- ``mfcc``: 20 MFCCs, their first and second differences, mean and standard deviation
  over time: [means (60) | stds (60)] = 120 values, ordered mfcc, delta, delta-delta
  within each half. Computed from the mel store: the two channels are combined by
  averaging their power (dB -> power -> mean -> dB), i.e. the mel spectrum of the
  channels' mean power, which for a mono file equals its own dB mel; then
  ``librosa.feature.mfcc(S=...)`` (DCT-II, ortho) and ``librosa.feature.delta``
  (width 9). Clips shorter than 9 frames are tiled by repetition to 9 frames. With
  fewer than 20 mel bands there are only n_mels coefficients (6 n_mels values).
- ``rand-<strategy>``: the network of a strategy, untrained (initialised with the seed
  ``derive_seed(seed, "rand", strategy)``), standardised with the learning corpus's
  scaler, pooled like a trained run. SS-R is built with the first design source
  (its fc-feature does not depend on the source); the other strategies with all
  design sources.
- ``user-<name>``: features a user computed elsewhere (an HDF5 with ``track_id`` and
  ``features`` per target), checked to cover every track of the target and written
  in the target's track order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from onerep.audio.store import MelStore
from onerep.util import derive_seed

from .extract import read_features_file, store_clips
from .pool import Embed, pool

log = logging.getLogger("onerep.features")

N_MFCC = 20
DELTA_WIDTH = 9


def mel_db_mono(mel: np.ndarray) -> np.ndarray:
    """(T, channels, n_mels) dB mel -> (n_mels, T) dB mel of the channels' mean power."""
    db = np.asarray(mel, dtype=np.float64)
    peak = db.max(axis=1, keepdims=True)  # factor the largest channel out for stability
    power = np.power(10.0, (db - peak) / 10.0).mean(axis=1)
    return (10.0 * np.log10(power) + peak[:, 0]).T


def mfcc_vector(mel: np.ndarray, n_mfcc: int = N_MFCC) -> np.ndarray:
    """The MFCC baseline of one clip: (T, 2, n_mels) dB mel -> (6 n_mfcc,) float32.

    librosa's definitions, computed with the scipy calls librosa makes (an orthonormal
    DCT-II over the mel bands; deltas by Savitzky-Golay filters, ``mode='interp'``):
    importing ``librosa.feature`` compiles numba kernels (12 s in a fresh environment)
    that a job of one target would pay each time. tests/test_features.py checks the
    result against librosa itself.
    """
    from scipy.fft import dct
    from scipy.signal import savgol_filter

    s_db = mel_db_mono(mel)
    if s_db.shape[1] < DELTA_WIDTH:
        s_db = s_db[:, np.arange(DELTA_WIDTH) % s_db.shape[1]]
    m = dct(s_db, axis=-2, type=2, norm="ortho")[:n_mfcc]
    d1 = savgol_filter(m, DELTA_WIDTH, polyorder=1, deriv=1, axis=-1, mode="interp")
    d2 = savgol_filter(m, DELTA_WIDTH, polyorder=2, deriv=2, axis=-1, mode="interp")
    return pool(np.concatenate([m, d1, d2]).T)


def mfcc_store(store: MelStore) -> np.ndarray:
    """MFCC baseline of every track of a mel store (N, 120), in store order."""
    if len(store) == 0:
        raise ValueError("the mel store holds no track")
    return np.stack([mfcc_vector(m) for m in store_clips(store, "mfcc")])


def rand_sources(strategy: str, sources: Sequence[str]) -> list[str]:
    """Sources of the untrained network of a strategy (SS-R: the first one)."""
    if not sources:
        raise ValueError("the Rand baseline needs at least one design source")
    return [sources[0]] if strategy == "ssr" else list(sources)


def rand_seed(seed: int, strategy: str) -> int:
    """Initialisation seed of the Rand baseline of a strategy."""
    return derive_seed(seed, "rand", strategy)


def rand_network(strategy: str, sources: Sequence[str], *, k: int, width: float, seed: int,
                 build: Callable[..., Any] | None = None) -> Any:
    """The untrained network of ``strategy``, initialised from ``seed`` (eval mode)."""
    import torch

    if build is None:
        from onerep.models import build_network as build
    torch.manual_seed(seed)
    net = build(strategy, rand_sources(strategy, sources), k=k, width=width)
    net.eval()
    return net


def user_features(path: str | Path, track_ids: Sequence[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """A user's feature file, checked and reordered to ``track_ids``: (features, info).

    The file must hold ``track_id`` (N,) strings and ``features`` (N, D) finite
    numbers, ids unique, covering every id of ``track_ids``; extra ids are dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: user feature file not found")
    ids, feats, _ = read_features_file(path)
    if feats.ndim != 2 or len(feats) != len(ids):
        raise ValueError(f"{path}: features must be (N, D) with N = {len(ids)} track ids, "
                         f"got shape {feats.shape}")
    if feats.dtype.kind not in "fiu":
        raise ValueError(f"{path}: features must be numbers, got dtype {feats.dtype}")
    index: dict[str, int] = {}
    for i, t in enumerate(ids):
        if t in index:
            raise ValueError(f"{path}: track id '{t}' occurs twice (rows {index[t]} and {i})")
        index[t] = i
    missing = [t for t in track_ids if t not in index]
    if missing:
        raise ValueError(f"{path}: {len(missing)} of the target's {len(track_ids)} tracks have "
                         f"no features, e.g. {missing[:5]}")
    rows = np.array([index[t] for t in track_ids], dtype=np.int64)
    out = feats[rows].astype(np.float32)
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        first = track_ids[int(np.flatnonzero(bad)[0])]
        raise ValueError(f"{path}: features of {int(bad.sum())} tracks are not finite, "
                         f"e.g. track '{first}'")
    return out, {"source_file": str(path), "extra_ids_dropped": len(ids) - len(track_ids)}


__all__ = ["mfcc_vector", "mfcc_store", "rand_network", "rand_seed", "rand_sources",
           "user_features", "mel_db_mono", "Embed"]
