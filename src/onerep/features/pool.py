"""Window and pooling arithmetic of feature extraction (SPEC section 7).

Windowing rule ("even-cover"): a clip of T mel frames is covered by
``W = ceil(T / crop)`` windows of ``crop`` frames (216 = 2.5 s), evenly spaced, the
first starting at frame 0 and the last ending at frame T:
``starts = round(linspace(0, T - crop, W))``. Every frame is covered and every window
is real audio (no zero padding). When T is a multiple of ``crop`` the windows are the
plain non-overlapping ones (0, crop, 2 crop, ...); otherwise neighbouring windows
overlap by less than ``crop`` frames in total, e.g. a 3 s IRMAS clip of 259 frames
gives windows at 0 and 43. Any clip longer than one window gets at least two
windows, so its std half is never identically zero. A clip shorter than one window
is tiled by repetition to one full window (frame i of the window is frame i mod T of
the clip).

The authors' code zero-padded the last partial window instead, which pulls every mean
towards the padding value and inflates the standard deviations; dropping that window
(the previous rule here) lost up to 215 frames per clip and left a 3 s clip with a
single window (std 0).

Each window is standardised per mel band with the run's scaler, ``(x - mean) / std``,
passed through the network, and the per-window features are pooled into
``[means | stds]``: the mean and the population standard deviation (ddof = 0)
over the clip's windows, per dimension. A clip of one window has std 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

CROP_FRAMES = 216
# Machine-readable name of the windowing rule (feature files' attribute ``windowing``).
WINDOWING = "even-cover"

# Maps standardised windows (B, 2, crop, n_mels) float32 to features (B, D).
Embed = Callable[[np.ndarray], np.ndarray]


def window_starts(n_frames: int, crop: int = CROP_FRAMES) -> np.ndarray:
    """Start frames of the windows of a clip of ``n_frames`` frames (rule in the module docstring).

    ``round(linspace(0, n_frames - crop, ceil(n_frames / crop)))``; a clip shorter than
    ``crop`` gets the single start 0 (it is tiled to one window by :func:`clip_windows`).
    """
    if crop < 1:
        raise ValueError(f"window length must be positive, got {crop}")
    if n_frames < 1:
        raise ValueError("a clip without frames has no window")
    if n_frames <= crop:
        return np.zeros(1, dtype=np.int64)
    n_windows = -(-n_frames // crop)  # ceil without floating point
    return np.rint(np.linspace(0, n_frames - crop, n_windows)).astype(np.int64)


def clip_windows(mel: np.ndarray, crop: int = CROP_FRAMES) -> np.ndarray:
    """The windows of one clip: (T, 2, n_mels) -> (W, 2, crop, n_mels) float32."""
    if mel.ndim != 3:
        raise ValueError(f"expected mel frames (T, channels, n_mels), got shape {mel.shape}")
    n = len(mel)
    starts = window_starts(n, crop)  # raises for a clip without frames
    if n < crop:
        frames = mel[np.arange(crop) % n][None]
    else:  # windows may overlap: gather frame indices (W, crop)
        frames = mel[starts[:, None] + np.arange(crop)]
    return np.ascontiguousarray(frames.transpose(0, 2, 1, 3), dtype=np.float32)


def standardise(windows: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Per-band standardisation ``(x - mean) / std`` of windows (W, 2, crop, n_mels)."""
    if mean.shape[-1] != windows.shape[-1] or std.shape[-1] != windows.shape[-1]:
        raise ValueError(f"scaler has {mean.shape[-1]} bands, the mel frames "
                         f"{windows.shape[-1]}")
    return ((windows - mean.astype(np.float32)) / std.astype(np.float32)).astype(np.float32)


def pool(window_features: np.ndarray) -> np.ndarray:
    """[means | stds] over windows: (W, D) -> (2D,) float32, population std (ddof = 0)."""
    f = np.asarray(window_features, dtype=np.float64)
    return np.concatenate([f.mean(axis=0), f.std(axis=0, ddof=0)]).astype(np.float32)


def _batches(clips: Iterable[np.ndarray], crop: int, mean: np.ndarray, std: np.ndarray,
             batch_size: int) -> Iterator[tuple[np.ndarray, list[int]]]:
    """Group the standardised windows of consecutive clips into runs of >= batch_size windows."""
    buf: list[np.ndarray] = []
    counts: list[int] = []
    n = 0
    for mel in clips:
        w = standardise(clip_windows(np.asarray(mel), crop), mean, std)
        buf.append(w)
        counts.append(len(w))
        n += len(w)
        if n >= batch_size:
            yield np.concatenate(buf), counts
            buf, counts, n = [], [], 0
    if buf:
        yield np.concatenate(buf), counts


def pooled_features(clips: Iterable[np.ndarray], embed: Embed, *, mean: np.ndarray,
                    std: np.ndarray, crop: int = CROP_FRAMES, batch_size: int = 256,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Pooled features of each clip: (features (N, 2D) float32, windows per clip (N,)).

    ``clips`` yields mel frames (T, 2, n_mels) in dB; ``embed`` maps standardised
    windows to features and is called with at most ``batch_size`` windows at a time.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be positive, got {batch_size}")
    pooled: list[np.ndarray] = []
    windows: list[int] = []
    for block, counts in _batches(clips, crop, mean, std, batch_size):
        parts = [np.asarray(embed(block[i:i + batch_size]), dtype=np.float32)
                 for i in range(0, len(block), batch_size)]
        feats = np.concatenate(parts)
        if len(feats) != len(block):
            raise ValueError(f"the network returned {len(feats)} rows for {len(block)} windows")
        start = 0
        for c in counts:
            pooled.append(pool(feats[start:start + c]))
            start += c
        windows.extend(counts)
    if not pooled:
        return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
    return np.stack(pooled), np.asarray(windows, dtype=np.int64)
