"""The learning sources and the inputs each reads (no heavy imports: the CLI parser and
the Snakemake rules use these names).

A source named in ``sources.names`` is one of

- ``self`` (no labels);
- a source of the **MSD preset** (the paper's sources: bpm, year, taste, tag, lyrics,
  cdr_tag, artist), read from its ``corpus.*`` files by the loaders of ``loaders``;
- a label-free audio source (mfcc, chroma, tempogram), from the corpus mel store;
- a **declared** source: ``sources.declared.<name>`` gives its generic kind (terms,
  interactions, values), the format of its file, the file and the options (see
  ``generic``). A declaration may reuse an MSD name; it then replaces the preset source.
"""

from __future__ import annotations

import copy
from typing import Any

SELF = "self"
#: Label-free sources computed from the corpus audio (off unless listed in sources.names).
AUDIO_SOURCES = ("mfcc", "chroma", "tempogram")

#: The inputs each built-in source reads; keys are the ``corpus.*`` config keys, except
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
MSD_SOURCES = ("bpm", "year", "taste", "tag", "lyrics", "cdr_tag", "artist")
PLSA_SOURCES = ("taste", "tag", "lyrics", "cdr_tag", "artist")
GMM_SOURCES = ("bpm", "year", *AUDIO_SOURCES)
LABEL_SOURCES = tuple(SOURCE_INPUTS)  # every built-in source with a label file (all but self)

#: The generic kinds a declared source may have, and how each is reduced.
DECLARED_KINDS: dict[str, str] = {"terms": "plsa", "interactions": "plsa", "values": "gmm"}
#: The inputs of a declared source (CLI options ``--file`` and ``--group-file``).
DECLARED_INPUTS = ("file", "group_file")
#: The keys of a declaration that are not handed to the adapter as options.
GENERIC_KEYS = ("kind", "format", "file", "tfidf", "log", "group")
GROUP_KEYS = ("format", "file")


def declared_entry(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The declaration of source ``name`` with the schema's defaults filled in and the
    group's format defaulting to the source's."""
    from onerep.config import fill_defaults, load_schema

    schema = load_schema()
    out = fill_defaults(copy.deepcopy(dict(entry)), {"$ref": "#/$defs/declared_source"}, schema)
    if isinstance(out.get("group"), dict) and not out["group"].get("format"):
        out["group"] = {**out["group"], "format": out.get("format")}
    return out


def declared_sources(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``sources.declared`` of a validated config, each with its defaults filled in."""
    raw = (config.get("sources") or {}).get("declared") or {}
    return {name: declared_entry(name, entry) for name, entry in raw.items()}


def _declared(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    return ((config.get("sources") or {}).get("declared") or {}).get(name)


def reduction(config: dict[str, Any], name: str) -> str:
    """``plsa`` or ``gmm``: how the labels of source ``name`` are reduced."""
    entry = _declared(config, name)
    if entry is not None:
        return DECLARED_KINDS[entry["kind"]]
    return "plsa" if name in PLSA_SOURCES else "gmm"


def source_inputs(config: dict[str, Any], name: str, audio_descriptors: str) -> dict[str, str]:
    """The files source ``name`` reads, by CLI input key: ``file`` (and ``group_file``)
    of a declared source, the ``corpus.*`` files of an MSD source, ``audio_descriptors``
    of an audio source."""
    entry = _declared(config, name)
    if entry is not None:
        out = {"file": entry["file"]}
        if entry.get("group"):
            out["group_file"] = entry["group"]["file"]
        return out
    return {key: audio_descriptors if key == "audio_descriptors" else config["corpus"][key]
            for key in SOURCE_INPUTS[name]}


def check_names(config: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the config key when a source of ``sources.names`` is
    neither built in nor declared, or a declared format has no adapter for its kind."""
    for name in config["sources"]["names"]:
        entry = _declared(config, name)
        if entry is not None:
            _check_declared(name, entry)
        elif name != SELF and name not in SOURCE_INPUTS:
            raise ValueError(
                f"key 'sources.names': source '{name}' is neither built in ({SELF}, "
                f"{', '.join(LABEL_SOURCES)}) nor declared under 'sources.declared'")


def check_sources(config: dict[str, Any]) -> None:
    """:func:`check_names`, and every MSD source of ``sources.names`` has its ``corpus.*`` files set."""
    check_names(config)
    for name in config["sources"]["names"]:
        if _declared(config, name) is None and name in SOURCE_INPUTS:
            for key in SOURCE_INPUTS[name]:
                if key != "audio_descriptors" and not config["corpus"].get(key):
                    raise ValueError(f"key 'corpus.{key}': source '{name}' is in sources.names but its "
                                     f"label file is not set")


def _check_declared(name: str, entry: dict[str, Any]) -> None:
    """The format of a declared source (and of its grouping) has an adapter for its kind."""
    from .generic import FORMATS

    wants = [(f"sources.declared.{name}.format", entry["format"], entry["kind"])]
    if entry.get("group"):
        wants.append((f"sources.declared.{name}.group.format", entry["group"].get("format") or entry["format"],
                      "grouping"))
    for key, fmt, kind in wants:
        if fmt not in FORMATS:
            raise ValueError(f"key '{key}': no adapters registered for format {fmt!r} "
                             f"(registered: {', '.join(sorted(FORMATS))})")
        if kind not in FORMATS[fmt]:
            raise ValueError(f"key '{key}': format {fmt!r} has no {kind} adapter "
                             f"(it reads: {', '.join(sorted(FORMATS[fmt]))})")
