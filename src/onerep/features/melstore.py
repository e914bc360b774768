"""Access to a data set's mel store (format in docs/architecture.md).

The audio stage's reader ``onerep.audio.store.MelStore`` is used when it is
installed. Until then this module reads the documented layout itself
(``mel`` (frames, 2, n_mels), ``offsets`` (N+1,), ``track_id`` (N,), attributes).
TODO(lead): drop ``_H5MelStore`` once onerep.audio.store is merged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np


class MelReader(Protocol):
    """What feature extraction needs from a mel store."""

    track_ids: list[str]
    offsets: np.ndarray
    attrs: dict[str, Any]

    def __len__(self) -> int: ...

    def get(self, i: int) -> np.ndarray: ...


class _H5MelStore:
    """Minimal reader of the documented mel-store layout (stand-in for MelStore)."""

    def __init__(self, path: str | Path) -> None:
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: mel store not found")
        self._h5 = h5py.File(self.path, "r")
        for name in ("mel", "offsets", "track_id"):
            if name not in self._h5:
                raise ValueError(f"{self.path}: dataset '{name}' missing (not a mel store)")
        self.track_ids = [str(t) for t in self._h5["track_id"].asstr()[:]]
        self.offsets = np.asarray(self._h5["offsets"][:], dtype=np.int64)
        self.attrs = {k: (v.item() if isinstance(v, np.generic) else v)
                      for k, v in self._h5.attrs.items()}
        if len(self.offsets) != len(self.track_ids) + 1:
            raise ValueError(f"{self.path}: {len(self.offsets)} offsets for "
                             f"{len(self.track_ids)} tracks (expected N+1)")

    def __len__(self) -> int:
        return len(self.track_ids)

    def index(self, track_id: str) -> int:
        return self.track_ids.index(track_id)

    def get(self, i: int) -> np.ndarray:
        return self._h5["mel"][self.offsets[i]:self.offsets[i + 1]]

    def close(self) -> None:
        self._h5.close()


def open_mel_store(path: str | Path) -> MelReader:
    """A reader of the mel store at ``path`` (the audio stage's, or the stand-in)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: mel store not found")
    try:
        from onerep.audio.store import MelStore
    except ImportError:
        return _H5MelStore(path)
    return MelStore(path)  # type: ignore[return-value]


def mel_track_ids(path: str | Path) -> list[str]:
    """The track ids of a mel store, in store order."""
    store = open_mel_store(path)
    ids = list(store.track_ids)
    close = getattr(store, "close", None)
    if close:
        close()
    return ids
