"""A small synthetic learning corpus in the workflow's file formats (tests and benchmarks).

Every track has a latent class; its frames are noise plus a class-specific band
profile, and each labelled source's ``z`` is a soft one-hot of a source-specific
permutation of the class. A network can therefore learn every source from the audio.

The mel store and the label files are written by the formats' own writers
(:class:`onerep.audio.store.StoreWriter`, :func:`onerep.sources.labelfile.write_labels`);
the split and the scaler are computed here (the scaler from the float32 frames, before
they are stored in ``dtype``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from onerep.audio.store import StoreWriter
from onerep.models.strategies import SELF
from onerep.sources.labelfile import LabelResult, write_labels

#: The mel parameters recorded in the store (the workflow's defaults).
MEL_ATTRS = dict(sample_rate=22050, n_fft=1024, hop_length=256, fmin=0.0, fmax=11025.0, top_db=80.0,
                 power=2.0, crop_frames=216)


@dataclass
class SyntheticCorpus:
    """Paths of a synthetic corpus."""

    mel: Path
    split: Path
    scaler: Path
    labels_dir: Path
    track_ids: list[str]
    classes: np.ndarray


def write_synthetic_corpus(root: str | Path, n_tracks: int = 40, frames: int | Sequence[int] = 260,
                           n_mels: int = 32, sources: Sequence[str] = ("self", "bpm", "tag"),
                           k: int = 8, valid_fraction: float = 0.25, seed: int = 0,
                           dtype: str = "float16") -> SyntheticCorpus:
    """Write ``mel/corpus.h5``, ``corpus/split.tsv``, ``corpus/scaler.npz`` and
    ``labels/<source>.h5`` under ``root`` and return their paths."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    lengths = (np.full(n_tracks, frames, dtype=np.int64) if np.isscalar(frames)
               else np.asarray(frames, dtype=np.int64))
    if len(lengths) != n_tracks:
        raise ValueError("frames must be one number or one per track")
    ids = [f"TR{i:05d}" for i in range(n_tracks)]
    classes = rng.integers(0, k, n_tracks)
    profiles = rng.normal(0.0, 6.0, (k, 2, n_mels))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    mel = np.empty((offsets[-1], 2, n_mels), dtype=np.float32)
    for i in range(n_tracks):
        n = lengths[i]
        mel[offsets[i]:offsets[i + 1]] = (-40.0 + profiles[classes[i]]
                                           + rng.normal(0.0, 4.0, (n, 2, n_mels)))
    attrs = dict(MEL_ATTRS, n_mels=n_mels)
    with StoreWriter(root / "mel" / "corpus.h5", n_mels, dtype, attrs["crop_frames"], attrs,
                     total_frames=len(mel)) as store:
        for i, tid in enumerate(ids):
            store.append(tid, mel[offsets[i]:offsets[i + 1]])
    n_valid = max(2, int(round(valid_fraction * n_tracks)))
    order = rng.permutation(n_tracks)
    split = np.where(np.isin(np.arange(n_tracks), order[:n_valid]), "valid", "train")
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"track_id": ids, "split": split, "seed": seed}).to_csv(
        root / "corpus" / "split.tsv", sep="\t", index=False)
    train = mel[np.concatenate([np.arange(offsets[i], offsets[i + 1])
                                for i in range(n_tracks) if split[i] == "train"])]
    np.savez(root / "corpus" / "scaler.npz", mean=train.mean(axis=(0, 1)).astype(np.float32),
             std=train.std(axis=(0, 1)).astype(np.float32), n_frames=len(train))
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for j, s in enumerate(x for x in sources if x != SELF):
        perm = np.random.default_rng(seed + 100 + j).permutation(k)
        z = np.full((n_tracks, k), 0.1 / (k - 1), dtype=np.float32)
        z[np.arange(n_tracks), perm[classes]] = 0.9
        write_labels(root / "labels" / f"{s}.h5",
                     LabelResult(source=s, method="synthetic", track_ids=np.array(ids), z=z,
                                 topics=pd.DataFrame(), attrs=dict(k=k, seed=seed)))
    return SyntheticCorpus(root / "mel" / "corpus.h5", root / "corpus" / "split.tsv",
                           root / "corpus" / "scaler.npz", root / "labels", ids, classes)
