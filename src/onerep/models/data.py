"""Training data held in memory: the mel frames, labels and the crop sampler.

The mel store is read once per run into one float16 tensor ``(frames, 2, n_mels)``
(on the GPU when one is used and the frames fit, else in pinned host memory: the
memory plan of :mod:`onerep.models.device`) with the
per-track offsets. A batch of crops is then pure index arithmetic: one random start per
track, ``start + arange(crop)`` row indices, one ``index_select``. No HDF5 access, no
worker processes and no per-sample Python loop after loading.

Every file is read by its format's one reader (docs/architecture.md, "Formats"): the
mel store by :class:`onerep.audio.store.MelStore`, the scaler by
:func:`onerep.audio.scaler.load_scaler`, the split by
:func:`onerep.sources.split.read_split_table`, the labels by
:func:`onerep.sources.labelfile.load_labels`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..audio.scaler import load_scaler
from ..audio.store import MelStore
from ..sources.labelfile import load_labels
from ..sources.split import read_split_table
from .device import device_memory, host_free_bytes, plan_placement
from .strategies import SELF

log = logging.getLogger("onerep.models")

#: Frames read per HDF5 call while loading.
READ_CHUNK = 1 << 17


def read_scaler(path: str | Path, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    """The per-band scaler ``(mean, std)`` (the audio stage's reader), checked to have ``n_mels`` bands."""
    mean, std = load_scaler(path)
    if mean.shape != (n_mels,):
        raise ValueError(f"{path}: scaler has {mean.shape[0]} bands, the mel store {n_mels}")
    return mean, std


# ---------------------------------------------------------------------------------
# In-memory frames and crops
# ---------------------------------------------------------------------------------
def _ranges(rows: np.ndarray) -> list[tuple[int, int, int]]:
    """Group store rows into runs of consecutive rows: (first row, last row + 1, position)."""
    out: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i] != rows[i - 1] + 1:
            out.append((int(rows[start]), int(rows[i - 1]) + 1, start))
            start = i
    return out


#: Gaps (frames) between wanted tracks that are read through rather than skipped.
READ_GAP = 1 << 14


def _read_groups(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, list[tuple[int, int, int]]]]:
    """Group sorted frame spans ``(start, stop, destination)`` into few large reads."""
    groups: list[tuple[int, int, list[tuple[int, int, int]]]] = []
    for span in spans:
        if groups and span[0] - groups[-1][1] <= READ_GAP:
            g0, _, members = groups[-1]
            members.append(span)
            groups[-1] = (g0, span[1], members)
        else:
            groups.append((span[0], span[1], [span]))
    return groups


def _check_finite(part: np.ndarray, first_frame: int, index: MelStore) -> None:
    """Raise ``ValueError`` naming the track when ``part`` holds a NaN or infinity."""
    if part.dtype == np.float16:  # exponent bits all set <=> inf or nan; integer test is fast
        bad = (part.view(np.uint16) & 0x7C00) == 0x7C00
    else:
        bad = ~np.isfinite(part)
    if not bad.any():
        return
    frame = first_frame + int(np.flatnonzero(bad.reshape(len(part), -1).any(axis=1))[0])
    tr = int(np.searchsorted(index.offsets, frame, side="right") - 1)
    raise ValueError(f"{index.path}: track '{index.track_ids[tr]}' has non-finite mel values "
                     f"(frame {frame - index.offsets[tr]})")


class MelBank:
    """Frames of selected tracks in one float16 tensor, with crop gathering.

    ``mel`` is ``(frames, 2, n_mels)`` on ``storage`` (the compute device, or host
    memory, pinned when the compute device is a GPU); crops are gathered there and
    moved to ``device``. Row ``j`` of the bank is track ``track_ids[j]``.
    """

    def __init__(self, mel: torch.Tensor, offsets: np.ndarray, track_ids: Sequence[str],
                 mean: np.ndarray, std: np.ndarray, device: torch.device):
        self.mel = mel
        self.storage = mel.device
        self.device = torch.device(device)
        self.track_ids = list(track_ids)
        self.offsets = torch.as_tensor(offsets, dtype=torch.int64, device=self.storage)
        self.starts = self.offsets[:-1]
        self.lengths = self.offsets[1:] - self.offsets[:-1]
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=self.device)
        self.inv_std = torch.as_tensor(1.0 / std, dtype=torch.float32, device=self.device)
        self.shift = -self.mean * self.inv_std
        self.n_mels = int(mel.shape[2])
        self._ramps: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.track_ids)

    @classmethod
    def load(cls, index: MelStore, rows: Sequence[int], mean: np.ndarray, std: np.ndarray,
             device: torch.device | str = "cpu", placement: str = "auto") -> MelBank:
        """Read the frames of store rows ``rows`` (in that order) into memory.

        ``placement``: ``device`` (on the compute device), ``host`` or ``auto`` (the
        GPU when it is the compute device and the frames fit, else host memory); the
        decision is :func:`onerep.models.device.plan_placement`'s.
        """
        device = torch.device(device)
        rows = np.asarray(rows, dtype=np.int64)
        lengths = index.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        total = int(offsets[-1])
        nbytes = total * 2 * index.n_mels * 2
        memory = device_memory(device)
        plan = plan_placement(nbytes, None if memory is None else memory[0], placement,
                              host_free=host_free_bytes() if memory is not None else None)
        if memory is not None:
            (log.info if plan.where == "device" else log.warning)("%s", plan.message)
        storage = device if plan.where == "device" else torch.device("cpu")
        pin = storage.type == "cpu" and device.type == "cuda"
        mel = torch.empty((total, 2, index.n_mels), dtype=torch.float16, device=storage,
                          pin_memory=pin)
        log.info("loading %d tracks, %d frames (%.2f GB float16) from %s onto %s",
                 len(rows), total, nbytes / 1e9, index.path, storage)
        spans = sorted((int(index.offsets[r0]), int(index.offsets[r1]), int(offsets[pos]))
                       for r0, r1, pos in _ranges(rows))
        with index:
            dset = index.mel
            for g0, g1, members in _read_groups(spans):
                k = 0
                for a in range(g0, g1, READ_CHUNK):
                    b = min(g1, a + READ_CHUNK)
                    block = dset[a:b]
                    while k < len(members) and members[k][1] <= a:
                        k += 1
                    j = k
                    while j < len(members) and members[j][0] < b:
                        s0, s1, dst = members[j]
                        lo, hi = max(s0, a), min(s1, b)
                        part = block[lo - a:hi - a]
                        _check_finite(part, lo, index)
                        mel[dst + lo - s0:dst + hi - s0].copy_(torch.from_numpy(part))
                        j += 1
        return cls(mel, offsets, [index.track_ids[r] for r in rows], mean, std, device)

    # -- sampling ---------------------------------------------------------------------
    def random_starts(self, rows: torch.Tensor, crop: int, generator: torch.Generator) -> torch.Tensor:
        """One uniformly random crop start (absolute frame) per bank row in ``rows``.

        A crop ``[start, start + crop)`` always lies inside its track.
        """
        room = (self.lengths[rows] - crop + 1).to(torch.float64)
        u = torch.rand(rows.shape[0], generator=generator, device=self.storage, dtype=torch.float64)
        offset = torch.minimum((u * room).to(torch.int64), room.to(torch.int64) - 1)
        return self.starts[rows] + offset

    def crops(self, starts: torch.Tensor, crop: int, dtype: torch.dtype = torch.float32,
              channels_last: bool = False) -> torch.Tensor:
        """Standardised crops ``(B, 2, crop, n_mels)`` on ``device`` starting at ``starts``.

        One gather of float16 frames, then one fused pass that transposes, converts
        and standardises into the output (``(x - mean) / std`` per mel band).
        """
        ramp = self._ramps.get(crop)
        if ramp is None:
            ramp = self._ramps[crop] = torch.arange(crop, device=self.storage)
        idx = (starts[:, None] + ramp).reshape(-1)
        x = self.mel.index_select(0, idx)
        if self.storage != self.device:
            x = x.pin_memory().to(self.device, non_blocking=True)
        x = x.view(starts.shape[0], crop, 2, self.n_mels).permute(0, 2, 1, 3)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        out = torch.empty((starts.shape[0], 2, crop, self.n_mels), dtype=dtype, device=self.device,
                          memory_format=fmt)
        return torch.addcmul(self.shift, x, self.inv_std, out=out)


# ---------------------------------------------------------------------------------
# One run's data
# ---------------------------------------------------------------------------------
@dataclass
class RunData:
    """Everything a training run reads: frames, track sets and label tensors."""

    bank: MelBank
    sources: list[str]
    n_train: int
    n_valid: int
    k: int
    z_train: dict[str, torch.Tensor]
    z_valid: dict[str, torch.Tensor]
    mel_params: dict[str, Any]
    scaler_mean: np.ndarray
    scaler_std: np.ndarray
    crop_frames: int
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def train_ids(self) -> list[str]:
        """Training track ids (bank rows 0 .. n_train - 1)."""
        return self.bank.track_ids[: self.n_train]

    @property
    def valid_ids(self) -> list[str]:
        """Validation track ids (bank rows n_train .. n_train + n_valid - 1)."""
        return self.bank.track_ids[self.n_train:]


def label_files(labels: Sequence[str | Path] | Mapping[str, str | Path],
                sources: Sequence[str]) -> dict[str, Path]:
    """The labels file of each labelled source of a run (``self`` has none).

    ``labels`` maps a source to its file, or lists the files, each named
    ``<source>.h5`` (the sources stage's names). Every labelled source needs exactly
    one file, and every file must belong to one of ``sources``.
    """
    labelled = [s for s in sources if s != SELF]
    if isinstance(labels, (str, Path)):
        raise ValueError(f"labels: give the labels files (<source>.h5), not one path ({labels})")
    if isinstance(labels, Mapping):
        given = {str(s): Path(p) for s, p in labels.items()}
    else:
        given = {}
        for p in map(Path, labels):
            if p.suffix != ".h5":
                raise ValueError(f"{p}: a labels file must be named <source>.h5")
            if p.stem in given:
                raise ValueError(f"two labels files for source '{p.stem}': {given[p.stem]} and {p}")
            given[p.stem] = p
    extra = [f"{p} (source '{s}')" for s, p in given.items() if s not in labelled]
    if extra:
        raise ValueError(f"labels files of sources the run does not learn from ({', '.join(labelled) or 'none'}): "
                         f"{', '.join(extra)}")
    missing = [s for s in labelled if s not in given]
    if missing:
        raise ValueError(f"no labels file given for source(s) {', '.join(missing)} (expected <source>.h5; "
                         f"given: {', '.join(map(str, given.values())) or 'none'})")
    return {s: given[s] for s in labelled}


def load_run_data(mel: str | Path, split: str | Path, scaler: str | Path,
                  labels: Sequence[str | Path] | Mapping[str, str | Path], sources: Sequence[str],
                  crop_frames: int, device: torch.device | str = "cpu", placement: str = "auto") -> RunData:
    """Load a run's data: tracks = split ∩ store ∩ labels of every labelled source.

    ``labels``: the labels files of the run's labelled sources (:func:`label_files`).
    Tracks shorter than ``crop_frames`` cannot give a crop and are skipped (counted in
    ``skipped`` and logged).
    """
    files = label_files(labels, sources)
    index = MelStore(mel)
    mean, std = read_scaler(scaler, index.n_mels)
    split_df = read_split_table(split)
    store_row = {t: i for i, t in enumerate(index.track_ids)}
    labelled = [s for s in sources if s != SELF]
    labels: dict[str, tuple[dict[str, int], np.ndarray]] = {}
    ks = {}
    for s in labelled:
        ids, z = load_labels(files[s], s)
        labels[s] = ({t: i for i, t in enumerate(ids.tolist())}, z)
        ks[s] = z.shape[1]
    if len(set(ks.values())) > 1:
        raise ValueError(f"sources have different numbers of label dimensions k: {ks}")
    k = next(iter(ks.values())) if ks else 50
    lengths = index.lengths
    skipped: dict[str, int] = {"not_in_store": 0, "too_short": 0}
    chosen: dict[str, list[int]] = {"train": [], "valid": []}
    for t, part in zip(split_df["track_id"], split_df["split"]):
        row = store_row.get(t)
        if row is None:
            skipped["not_in_store"] += 1
            continue
        missing = [s for s in labelled if t not in labels[s][0]]
        if missing:
            key = f"no_labels_{missing[0]}"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        if lengths[row] < crop_frames:
            skipped["too_short"] += 1
            continue
        chosen[part].append(row)
    train_rows = sorted(chosen["train"])
    valid_rows = sorted(chosen["valid"])
    if len(train_rows) < 2:
        raise ValueError(f"only {len(train_rows)} training tracks have mel frames of at least "
                         f"{crop_frames} frames and labels of {labelled} (split {split}, store {mel}); "
                         f"skipped: {skipped}")
    if any(skipped.values()):
        log.warning("tracks left out of training: %s", {k_: v for k_, v in skipped.items() if v})
    device = torch.device(device)
    bank = MelBank.load(index, train_rows + valid_rows, mean, std, device, placement)

    def z_of(s: str, rows: list[int]) -> torch.Tensor:
        pos, z = labels[s]
        sel = [pos[index.track_ids[r]] for r in rows]
        return torch.as_tensor(z[sel], dtype=torch.float32, device=device)

    mel_params = dict(index.attrs)  # every extraction parameter the store records
    mel_params.setdefault("n_mels", index.n_mels)
    return RunData(
        bank=bank, sources=list(sources), n_train=len(train_rows), n_valid=len(valid_rows), k=k,
        z_train={s: z_of(s, train_rows) for s in labelled},
        z_valid={s: z_of(s, valid_rows) for s in labelled},
        mel_params=mel_params, scaler_mean=mean, scaler_std=std, crop_frames=int(crop_frames),
        skipped=skipped,
    )
