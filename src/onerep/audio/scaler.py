"""Per-band standardisation of the mel input (SPEC section 2).

The mean and standard deviation of each mel band over every frame (both channels
pooled) of the learning corpus's *training* tracks, in one streaming pass over the
mel store with float64 accumulation (per block mean and sum of squared deviations,
combined with Chan et al.'s pairwise update, so the result does not depend on the
block size and does not lose precision over 10^8 frames). The standard deviation is
the population one (ddof 0). Stored as ``scaler.npz``: ``mean``, ``std`` (n_mels,)
float64, ``std_raw``, ``n_frames`` (time frames), ``n_values`` (frames x channels),
``n_tracks``, ``seed`` (of the split) and ``n_mels``.

Standardise a crop with ``(x - mean) / std`` band by band; a band that is constant
over the corpus (std below 1e-6) gets std 1 so that it maps to 0 instead of inf.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..util import atomic_path, progress
from .store import MelStore

log = logging.getLogger(__name__)

MIN_STD = 1e-6


class RunningMoments:
    """Streaming per-column mean and sum of squared deviations (float64)."""

    def __init__(self, n_cols: int) -> None:
        self.n = 0
        self.mean = np.zeros(n_cols, dtype=np.float64)
        self.m2 = np.zeros(n_cols, dtype=np.float64)

    def update(self, x: np.ndarray) -> None:
        """Add the rows of ``x`` ``(rows, n_cols)``."""
        x = np.asarray(x, dtype=np.float64)
        nb = x.shape[0]
        if nb == 0:
            return
        mb = x.mean(axis=0)
        m2b = np.square(x - mb).sum(axis=0)
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * (nb / n)
        self.m2 += m2b + np.square(delta) * (self.n * nb / n)
        self.n = n

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(1, self.n))


def _spans(store: MelStore, rows: np.ndarray) -> list[tuple[int, int]]:
    """Frame spans of the given track rows, adjacent tracks merged, in file order."""
    spans: list[tuple[int, int]] = []
    for i in np.sort(rows):
        a, b = int(store.offsets[i]), int(store.offsets[i + 1])
        if spans and spans[-1][1] == a:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


def compute_scaler(mel_path: str | Path, split_path: str | Path, out_path: str | Path,
                   block_frames: int = 1 << 16) -> dict[str, np.ndarray]:
    """Compute the scaler over the training tracks of ``split_path`` and write ``out_path`` (npz)."""
    from ..sources.split import read_split_table

    split = read_split_table(split_path)
    train = split.loc[split["split"] == "train", "track_id"].tolist()
    first_seed = str(split["seed"].iloc[0]).strip() if "seed" in split.columns and len(split) else ""
    seed = int(first_seed) if first_seed else None
    if not train:
        raise ValueError(f"{split_path}: no track has split 'train'")
    with MelStore(mel_path) as store:
        rows = np.array([store.index(t) for t in train if t in store], dtype=np.int64)
        missing = len(train) - len(rows)
        if missing:
            log.warning("%d of %d training tracks of %s are not in %s (lost at acquisition or decoding)",
                        missing, len(train), split_path, mel_path)
        if len(rows) == 0:
            raise ValueError(f"none of the {len(train)} training tracks of {split_path} is in {mel_path}")
        spans = _spans(store, rows)
        total = sum(b - a for a, b in spans)
        moments = RunningMoments(store.n_mels)
        n_frames = 0
        blocks = store.iter_blocks(spans, block_frames)
        for block in progress(blocks, desc="scaler", total=sum(-(-(b - a) // block_frames) for a, b in spans)):
            moments.update(block.reshape(-1, store.n_mels))
            n_frames += block.shape[0]
        assert n_frames == total
    std_raw = moments.std
    std = np.where(std_raw < MIN_STD, 1.0, std_raw)
    flat = np.flatnonzero(std_raw < MIN_STD)
    if flat.size:
        log.warning("mel bands %s are constant over the training frames; their std is set to 1", flat.tolist())
    out = {
        "mean": moments.mean,
        "std": std,
        "std_raw": std_raw,
        "n_frames": np.int64(n_frames),
        "n_values": np.int64(moments.n),
        "n_tracks": np.int64(len(rows)),
        "seed": np.int64(-1 if seed is None else seed),
        "n_mels": np.int64(len(std)),
    }
    with atomic_path(out_path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **out)
    log.info("scaler over %d training tracks (%d frames) of %s -> %s", len(rows), n_frames, mel_path, out_path)
    return out


def load_scaler(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)``, each ``(n_mels,)`` float32; ValueError naming the file if malformed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scaler not found: {path}")
    try:
        with np.load(path) as z:
            if "mean" not in z or "std" not in z:
                raise ValueError(f"{path}: a scaler needs arrays 'mean' and 'std'")
            mean = np.asarray(z["mean"], dtype=np.float32)
            std = np.asarray(z["std"], dtype=np.float32)
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable npz file ({exc})") from None
    if mean.ndim != 1 or mean.shape != std.shape:
        raise ValueError(f"{path}: mean {mean.shape} and std {std.shape} must be equal 1-D shapes")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise ValueError(f"{path}: mean/std hold non-finite values or a std <= 0")
    return mean, std


__all__ = ["compute_scaler", "load_scaler", "RunningMoments"]
