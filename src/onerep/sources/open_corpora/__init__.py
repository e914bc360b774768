"""Adapters for the open corpora's native files (shared/formats/open-corpora.md).

Each adapter has the signature :data:`~onerep.sources.kinds.Adapter`
``(path, options, on_bad_line) -> SourceTable`` and reads the file as distributed:

- ``jamendo``: an MTG-Jamendo autotagging TSV (``data/*.tsv`` or a split file);
  ``terms`` (option ``category``: genre | instrument | mood/theme | all, default all)
  and ``grouping`` (track -> artist; no options). Ids are canonical ``track_<n>``,
  ``artist_<n>`` (the integer without padding; see :mod:`.jamendo`).
- ``fma``: FMA's ``tracks.csv``; ``terms`` (option ``field``: genres_all (default) |
  genres | tags), ``values`` (option ``field``, required: listens | interest |
  favorites | year) and ``grouping`` (track -> ``('artist', 'id')``; no options).

:data:`FORMATS` maps format -> kind -> adapter for the generic layer. Also here:
MTG-Jamendo's official splits (:func:`read_split`), its sha256 lists and the audio
manifest of its tracks (:func:`jamendo_audio_manifest`).
"""

from __future__ import annotations

from ..kinds import Adapter
from .common import NativeFileError
from .fma import FmaTracks, fma_grouping, fma_terms, fma_values, read_fma_tracks
from .jamendo import (
    Autotagging,
    JamendoAudio,
    JamendoSplit,
    JamendoTrack,
    jamendo_audio_manifest,
    jamendo_grouping,
    jamendo_terms,
    read_autotagging,
    read_sha256_list,
    read_split,
)

#: format -> source kind -> adapter.
FORMATS: dict[str, dict[str, Adapter]] = {
    "jamendo": {"terms": jamendo_terms, "grouping": jamendo_grouping},
    "fma": {"terms": fma_terms, "values": fma_values, "grouping": fma_grouping},
}

__all__ = [
    "FORMATS", "NativeFileError",
    "Autotagging", "JamendoAudio", "JamendoSplit", "JamendoTrack", "jamendo_audio_manifest",
    "jamendo_grouping", "jamendo_terms", "read_autotagging", "read_sha256_list", "read_split",
    "FmaTracks", "fma_grouping", "fma_terms", "fma_values", "read_fma_tracks",
]
