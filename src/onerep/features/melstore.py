"""Access to a data set's mel store (format in docs/architecture.md).

Feature extraction reads mel stores with the audio stage's reader
:class:`onerep.audio.store.MelStore` (``track_ids``, ``offsets``, ``attrs``,
``len``, ``get(i)``, ``close()``); these functions are the stage's entry points.
"""

from __future__ import annotations

from pathlib import Path

from onerep.audio.store import MelStore

__all__ = ["MelStore", "mel_track_ids", "open_mel_store"]


def open_mel_store(path: str | Path) -> MelStore:
    """The reader of the mel store at ``path`` (FileNotFoundError / ValueError naming it)."""
    return MelStore(path)


def mel_track_ids(path: str | Path) -> list[str]:
    """The track ids of a mel store, in store order."""
    with MelStore(path) as store:
        return list(store.track_ids)
