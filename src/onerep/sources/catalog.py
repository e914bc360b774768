"""The learning sources and the inputs each reads (no heavy imports: the CLI parser and
the Snakemake rules use these names)."""

from __future__ import annotations

#: Label-free sources computed from the corpus audio (off unless listed in sources.names).
AUDIO_SOURCES = ("mfcc", "chroma", "tempogram")

#: The inputs each source reads; keys are the ``corpus.*`` config keys, except
#: ``audio_descriptors`` (the descriptor file of the audio sources).
SOURCE_INPUTS: dict[str, tuple[str, ...]] = {
    "bpm": ("tempo",),
    "year": ("track_metadata",),
    "taste": ("taste_triplets", "track_metadata"),
    "tag": ("lastfm_tags",),
    "lyrics": ("musixmatch",),
    "cdr_tag": ("cdr_genres",),
    "artist": ("lastfm_tags", "track_metadata"),
    **{s: ("audio_descriptors",) for s in AUDIO_SOURCES},
}
PLSA_SOURCES = ("taste", "tag", "lyrics", "cdr_tag", "artist")
GMM_SOURCES = ("bpm", "year", *AUDIO_SOURCES)
LABEL_SOURCES = tuple(SOURCE_INPUTS)  # every source with a label file (all but self)
