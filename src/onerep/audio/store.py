"""The ragged mel store: one HDF5 file per data set, built for random crops.

Layout (docs/architecture.md, "Mel store")::

    mel       (total_frames, 2, n_mels)  float16 (audio.dtype)   frames of all tracks, concatenated
    offsets   (N + 1,) int64                                      track i = mel[offsets[i]:offsets[i+1]]
    track_id  (N,) UTF-8 strings
    attrs     every extraction parameter (MelParams.attrs) + library versions + counts

A 216-frame crop of track i starting at frame s is ``mel[offsets[i] + s : ... + 216]``:
one hyperslab read, no per-item file open (the reader keeps one handle per process
and reopens it after a fork or unpickling, e.g. in DataLoader workers).

Choices (measured with ``bench/mel.py --crops``: random 216-frame crops of 150
tracks x 2584 frames, page cache warm, one core):

* dtype float16 (default, ``audio.dtype``): dB values lie in about [-100, +50] where
  float16 keeps ~0.03 dB, and the size halves (46k x 30 s stereo: ~60 GB instead of
  ~120 GB).
* A data set's store (written once, size known) is **contiguous**: a crop is one
  read of exactly the bytes it needs (216 x 2 x 128 x 2 B = 108 KiB). It served
  ~37,000-50,000 crops/s against ~13,000-20,000 for chunks of ``(216, 2, n_mels)``
  (a crop straddles two chunks, plus chunk-index lookups), ~17,000 for 54-frame and
  ~9,000-11,000 for 1024-frame chunks. From disk the contiguous layout also reads the
  least (a chunked crop reads up to 2 chunks = 2x the bytes).
* Shard stores, grown track by track, are chunked ``(crop_frames, 2, n_mels)`` (HDF5
  needs chunks to resize); they are temporary.
* No compression: dB mel values compress poorly (~10 %) and decompression would
  dominate crop reads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..util import remove_stale_temporaries, temp_sibling

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_STR = None  # h5py string dtype, created lazily


def _str_dtype() -> Any:
    global _STR
    if _STR is None:
        import h5py

        _STR = h5py.string_dtype("utf-8")
    return _STR


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the numbers, for the store's attributes."""
    import h5py
    import librosa
    import scipy
    import soundfile
    import soxr

    from .. import __version__

    try:
        import torch

        torch_version = str(torch.__version__)
    except ImportError:  # pragma: no cover - torch is a dependency
        torch_version = "absent"
    versions = {
        "onerep_version": __version__,
        "librosa_version": librosa.__version__,
        "torch_version": torch_version,
        "soundfile_version": soundfile.__version__,
        "libsndfile_version": soundfile.__libsndfile_version__,
        "soxr_version": soxr.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "h5py_version": h5py.__version__,
    }
    return {k: str(v) for k, v in versions.items()}


def _plain(value: Any) -> Any:
    """HDF5 attribute value -> plain Python."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class StoreWriter:
    """Append tracks one at a time to a new mel store; the file appears (atomically) on :meth:`close`.

    Use as a context manager: an exception removes the temporary file. Temporaries of
    the same store left by killed jobs are deleted when a writer starts.
    """

    def __init__(self, path: str | Path, n_mels: int, dtype: str = "float16", crop_frames: int = 216,
                 attrs: dict[str, Any] | None = None, total_frames: int | None = None) -> None:
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.path)
        self.tmp = temp_sibling(self.path)
        self.n_mels = int(n_mels)
        self.dtype = np.dtype(dtype)
        self.attrs = dict(attrs or {})
        self._ids: list[str] = []
        self._seen: set[str] = set()
        self._offsets = [0]
        self._pending = 0  # frames written
        self._file = h5py.File(self.tmp, "w")
        chunk = (max(1, int(crop_frames)), 2, self.n_mels)
        if total_frames is None:
            self._mel = self._file.create_dataset(
                "mel", shape=(0, 2, self.n_mels), maxshape=(None, 2, self.n_mels), dtype=self.dtype, chunks=chunk
            )
        else:  # known size (merge): contiguous, the fastest layout for crops
            self._mel = self._file.create_dataset("mel", shape=(total_frames, 2, self.n_mels), dtype=self.dtype)
        self._fixed = total_frames is not None

    @property
    def n_frames(self) -> int:
        """Frames written so far."""
        return self._offsets[-1]

    def append(self, track_id: str, mel: np.ndarray) -> None:
        """Add one track's ``(T, 2, n_mels)`` mel."""
        if mel.ndim != 3 or mel.shape[1:] != (2, self.n_mels):
            raise ValueError(f"{self.path}: track {track_id!r} has shape {mel.shape}, expected (T, 2, {self.n_mels})")
        if str(track_id) in self._seen:
            raise ValueError(f"{self.path}: track {track_id!r} appended twice")
        self.append_frames(mel)
        self.add_tracks([track_id], [mel.shape[0]])

    def append_frames(self, frames: np.ndarray) -> None:
        """Write frames after the last ones without closing a track (used by merge)."""
        start = self._pending
        stop = start + frames.shape[0]
        if self._fixed:
            if stop > self._mel.shape[0]:
                raise ValueError(f"{self.path}: more frames than declared ({stop} > {self._mel.shape[0]})")
        else:
            self._mel.resize(stop, axis=0)
        if frames.shape[0]:
            self._mel[start:stop] = frames.astype(self.dtype, copy=False)
        self._pending = stop

    def add_tracks(self, track_ids: Sequence[str], lengths: Sequence[int]) -> None:
        """Register tracks whose frames were written with :meth:`append_frames`."""
        for tid, n in zip(track_ids, lengths):
            tid = str(tid)
            if tid in self._seen:
                raise ValueError(f"{self.path}: track {tid!r} appears twice")
            self._ids.append(tid)
            self._seen.add(tid)
            self._offsets.append(self._offsets[-1] + int(n))
        if self._offsets[-1] != self._pending:
            raise ValueError(f"{self.path}: track lengths ({self._offsets[-1]}) do not match frames written")

    def close(self) -> Path:
        """Write offsets, ids and attributes; rename into place; return the path."""
        if self._fixed and self._offsets[-1] != self._mel.shape[0]:
            raise ValueError(f"{self.path}: wrote {self._offsets[-1]} of {self._mel.shape[0]} declared frames")
        f = self._file
        f.create_dataset("offsets", data=np.asarray(self._offsets, dtype=np.int64))
        f.create_dataset("track_id", data=np.asarray(self._ids, dtype=object), dtype=_str_dtype())
        attrs = {**self.attrs, "n_tracks": len(self._ids), "total_frames": int(self._offsets[-1]),
                 "dtype": self.dtype.name, "format_version": FORMAT_VERSION,
                 "storage": "contiguous" if self._fixed else f"chunked {tuple(self._mel.chunks)}",
                 "layout": "track i = mel[offsets[i]:offsets[i+1]], axes (frame, channel, mel band)"}
        for key, value in attrs.items():
            f.attrs[key] = value
        f.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file."""
        try:
            self._file.close()
        finally:
            if self.tmp.exists():
                self.tmp.unlink()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_store(path: str | Path, track_ids: Iterable[str], mels: Iterable[np.ndarray],
                attrs: dict[str, Any], dtype: str | None = None, crop_frames: int | None = None) -> Path:
    """Write a mel store atomically.

    ``mels`` is a sequence (written contiguous, see the module docstring) or any
    iterable such as a generator (streamed, one track in memory, chunked layout).
    ``attrs`` should hold :meth:`MelParams.attrs` (``dtype`` and ``crop_frames`` are
    taken from it unless given); library versions are added.
    """
    dtype = dtype or str(attrs.get("dtype", "float16"))
    crop = int(crop_frames or attrs.get("crop_frames", 216))
    total = sum(int(np.shape(m)[0]) for m in mels) if isinstance(mels, Sequence) else None
    full_attrs = {**attrs, **library_versions()}
    writer: StoreWriter | None = None
    try:
        for tid, mel in zip(track_ids, mels, strict=True):
            mel = np.asarray(mel)
            if writer is None:
                writer = StoreWriter(path, mel.shape[2], dtype, crop, full_attrs, total_frames=total)
            writer.append(tid, mel)
        if writer is None:
            writer = StoreWriter(path, int(attrs.get("n_mels", 128)), dtype, crop, full_attrs, total_frames=total)
        return writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


class MelStore:
    """Reader of a mel store. ``store.get(i)``, ``store.crop(i, start)``, ``store.index(track_id)``.

    Holds one HDF5 handle per process; safe to pickle (the handle is reopened lazily).
    """

    def __init__(self, path: str | Path) -> None:
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"mel store not found: {self.path}")
        self._file: Any = None
        self._ds: Any = None
        self._pid = -1
        try:
            with h5py.File(self.path, "r") as f:
                missing = [k for k in ("mel", "offsets", "track_id") if k not in f]
                if missing:
                    raise ValueError(f"{self.path}: not a mel store (missing {', '.join(missing)})")
                self.offsets = f["offsets"][:].astype(np.int64)
                self.track_ids: list[str] = list(f["track_id"].asstr()[:])
                self.attrs: dict[str, Any] = {k: _plain(v) for k, v in f.attrs.items()}
                self.shape = tuple(f["mel"].shape)
                self.dtype = f["mel"].dtype
        except OSError as exc:
            raise ValueError(f"{self.path}: cannot read as HDF5 ({exc})") from None
        self._check()
        self._index = {tid: i for i, tid in enumerate(self.track_ids)}

    def _check(self) -> None:
        """Raise ``ValueError`` naming the store when its layout is inconsistent."""
        if len(self.shape) != 3 or self.shape[1] != 2:
            raise ValueError(f"{self.path}: 'mel' must have shape (frames, 2, n_mels), got {self.shape}")
        if len(self.offsets) != len(self.track_ids) + 1 or self.offsets[-1] != self.shape[0]:
            raise ValueError(f"{self.path}: offsets ({len(self.offsets)}) do not match tracks/frames")
        if self.offsets[0] != 0:
            raise ValueError(f"{self.path}: offsets must start at 0, got {self.offsets[0]}")
        bad = np.flatnonzero(np.diff(self.offsets) < 0)
        if bad.size:
            raise ValueError(f"{self.path}: offsets decrease at track '{self.track_ids[bad[0]]}'")
        if len(set(self.track_ids)) != len(self.track_ids):
            seen: set[str] = set()
            dup = next(t for t in self.track_ids if t in seen or seen.add(t))
            raise ValueError(f"{self.path}: track '{dup}' appears twice")

    # -- handle management ---------------------------------------------------
    @property
    def mel(self) -> Any:
        """The h5py ``mel`` dataset (opened on first use in this process, then cached)."""
        import h5py

        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r", rdcc_nbytes=8 * 1024 * 1024)
            self._ds = self._file["mel"]
            self._pid = os.getpid()
        return self._ds

    def close(self) -> None:
        """Close the HDF5 handle (reopened on next access)."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None
        self._ds = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_file"] = None
        state["_ds"] = None
        state["_pid"] = -1
        return state

    def __enter__(self) -> MelStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def lengths(self) -> np.ndarray:
        """Frames per track, ``(N,)`` int64."""
        return np.diff(self.offsets)

    @property
    def n_mels(self) -> int:
        return int(self.shape[2])

    def index(self, track_id: str) -> int:
        """Row of ``track_id``; KeyError naming the store if absent."""
        try:
            return self._index[str(track_id)]
        except KeyError:
            raise KeyError(f"track {track_id!r} is not in mel store {self.path}") from None

    def __contains__(self, track_id: object) -> bool:
        return str(track_id) in self._index

    def get(self, i: int, dtype: Any = np.float32) -> np.ndarray:
        """All frames of track ``i``: ``(T, 2, n_mels)`` (float32 unless ``dtype`` says otherwise)."""
        if not 0 <= i < len(self):
            raise IndexError(f"{self.path}: track index {i} outside [0, {len(self)})")
        return np.asarray(self.mel[self.offsets[i] : self.offsets[i + 1]], dtype=dtype)

    def crop(self, i: int, start: int, length: int | None = None, dtype: Any = np.float32) -> np.ndarray:
        """Frames ``start:start+length`` of track ``i`` (``length`` = the store's crop_frames)."""
        length = int(length or self.attrs.get("crop_frames", 216))
        n = int(self.offsets[i + 1] - self.offsets[i])
        if start < 0 or start + length > n:
            raise ValueError(
                f"{self.path}: crop [{start}, {start + length}) outside track {self.track_ids[i]!r} of {n} frames"
            )
        o = int(self.offsets[i]) + int(start)
        return np.asarray(self.mel[o : o + length], dtype=dtype)

    def crops(self, items: Sequence[tuple[int, int]], length: int | None = None, dtype: Any = np.float32) -> np.ndarray:
        """Many crops ``[(track index, start), ...]`` -> ``(B, length, 2, n_mels)``, read in file order."""
        length = int(length or self.attrs.get("crop_frames", 216))
        out = np.empty((len(items), length, 2, self.n_mels), dtype=dtype)
        ds, lengths = self.mel, self.lengths
        starts = np.array([int(self.offsets[i]) + int(s) for i, s in items], dtype=np.int64)
        for k in np.argsort(starts, kind="stable"):
            i, s = items[k]
            if s < 0 or s + length > lengths[i]:
                raise ValueError(f"{self.path}: crop [{s}, {s + length}) outside track {self.track_ids[i]!r} "
                                 f"of {lengths[i]} frames")
            o = int(starts[k])
            out[k] = ds[o : o + length]
        return out

    def random_starts(self, indices: Sequence[int], rng: np.random.Generator, length: int | None = None) -> np.ndarray:
        """One uniformly random crop start per track index (every track has at least one crop)."""
        length = int(length or self.attrs.get("crop_frames", 216))
        n = self.lengths[np.asarray(indices, dtype=np.int64)]
        if (n < length).any():
            bad = np.asarray(indices)[n < length][0]
            raise ValueError(f"{self.path}: track {self.track_ids[bad]!r} is shorter than {length} frames")
        return rng.integers(0, n - length + 1)

    def load_all(self, dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(mel (total_frames, 2, n_mels), offsets)``; ``dtype`` None keeps the stored one."""
        mel = self.mel[:]
        return (mel if dtype is None else mel.astype(dtype, copy=False)), self.offsets.copy()

    def iter_blocks(self, spans: Iterable[tuple[int, int]], max_frames: int = 1 << 17) -> Iterable[np.ndarray]:
        """Frames of the given ``[start, stop)`` frame spans in blocks of at most ``max_frames`` (stored dtype)."""
        ds = self.mel
        for start, stop in spans:
            for s in range(int(start), int(stop), max_frames):
                yield ds[s : min(int(stop), s + max_frames)]


PARAM_KEYS = ("sample_rate", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "top_db", "power",
              "dtype", "crop_frames", "window", "center", "pad_mode", "mel_scale", "mel_norm",
              "resample", "channels", "ref", "amin", "excerpt_seconds")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def merge_stores(out: str | Path, shard_paths: Sequence[str | Path], extra_attrs: dict[str, Any] | None = None,
                 block_frames: int = 1 << 16, order: Sequence[str] | None = None) -> Path:
    """Merge shard stores into one store, streaming frames.

    The tracks are written in ``order`` (track ids; every track of every shard exactly
    once), or with ``order`` None the shards concatenated in the given order. Runs of
    tracks that follow each other in one shard are copied in blocks of at most
    ``block_frames`` frames; one shard is open at a time, so memory does not grow with
    the data set or the number of shards.

    Every shard must have the same extraction parameters; a track id in two shards is
    an error. Library versions of the first shard are kept (differences are logged).
    """
    stores = [MelStore(p) for p in shard_paths]
    if not stores:
        raise ValueError(f"{out}: no shard stores to merge")
    first = stores[0]
    for st in stores[1:]:
        diff = [k for k in PARAM_KEYS if k in first.attrs and not _same(first.attrs[k], st.attrs.get(k))]
        if diff:
            raise ValueError(
                f"{st.path}: extraction parameters differ from {first.path} in {', '.join(diff)}; "
                "rerun the mel shards with one configuration"
            )
        vdiff = [k for k in first.attrs if k.endswith("_version") and first.attrs[k] != st.attrs.get(k)]
        if vdiff:
            log.warning("%s was made with other library versions (%s) than %s", st.path, ", ".join(vdiff), first.path)
    runs = _merge_runs(out, stores, order)
    total = int(sum(st.shape[0] for st in stores))
    attrs = {k: v for k, v in first.attrs.items() if k not in ("n_tracks", "total_frames")}
    attrs.update(extra_attrs or {})
    writer = StoreWriter(out, first.n_mels, str(first.attrs.get("dtype", first.dtype.name)),
                         int(first.attrs.get("crop_frames", 216)), attrs, total_frames=total)
    try:
        for k, (s, (start, stop)) in enumerate(runs):
            st = stores[s]
            for block in st.iter_blocks([(st.offsets[start], st.offsets[stop])], block_frames):
                writer.append_frames(block)
            writer.add_tracks(st.track_ids[start:stop], st.lengths[start:stop].tolist())
            if k + 1 == len(runs) or runs[k + 1][0] != s:
                st.close()
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def _merge_runs(out: str | Path, stores: Sequence[MelStore],
                order: Sequence[str] | None) -> list[tuple[int, tuple[int, int]]]:
    """The merge's copies: (store index, (first row, stop row)) per run of consecutive rows of one store."""
    where: dict[str, tuple[int, int]] = {}
    for s, st in enumerate(stores):
        for i, tid in enumerate(st.track_ids):
            if tid in where:
                raise ValueError(f"{out}: track {tid!r} appears twice, in {stores[where[tid][0]].path} and {st.path}")
            where[tid] = (s, i)
    if order is None:
        return [(s, (0, len(st))) for s, st in enumerate(stores) if len(st)]
    missing = [tid for tid in order if tid not in where]
    listed = set(order)
    extra = [tid for tid in where if tid not in listed]
    if missing or extra or len(listed) != len(order):
        raise ValueError(f"{out}: the shard stores do not hold the tracks to merge: "
                         f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} not listed (e.g. {extra[:3]}), "
                         f"{len(order) - len(listed)} listed twice")
    runs: list[tuple[int, tuple[int, int]]] = []
    for tid in order:
        s, i = where[tid]
        if runs and runs[-1][0] == s and runs[-1][1][1] == i:
            runs[-1] = (s, (runs[-1][1][0], i + 1))
        else:
            runs.append((s, (i, i + 1)))
    return runs
