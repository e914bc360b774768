"""MTG-Jamendo's distributed files, read as they are (shared/formats/open-corpora.md, section 1).

- ``data/*.tsv`` and ``data/splits/split-N/*.tsv``: a header of six names, CRLF line
  endings, five fixed fields (``TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION``) then one
  field per tag, ``category---tag`` with category ``genre``, ``instrument`` or
  ``mood/theme`` (:func:`read_autotagging`);
- ``data/download/<dataset>_<type>_sha256_tracks.txt``: ``<sha256> <relative path>``,
  one space (the two-space ``sha256sum`` layout is accepted too) (:func:`read_sha256_list`);
- the audio, unpacked from the archives, under ``NN/<id>.mp3`` or ``NN/<id>.low.mp3``
  (:func:`jamendo_audio_manifest`).

**Canonical ids.** The writer pads ids to the widest id of each file (``track_0000382``
in one file may be ``track_000382`` in another), so ids are parsed as the integer after
the underscore and written back unpadded: ``track_382``, ``artist_20``, ``album_46``.
This form is the same whatever file a track comes from, and its number is the audio
file's name (``82/382.mp3``); it is the id of the labels, the splits and the manifest.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ...audio.manifest import Track
from ..kinds import SourceTable
from ..loaders import LoadStats, Problems
from .common import NativeFileError, bookkeeping, check_options, lines_of, require_file, source_table

log = logging.getLogger(__name__)

HEADER = ("TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS")
CATEGORIES = ("genre", "instrument", "mood/theme")
PARTS = ("train", "validation", "test")
TAG_SEPARATOR = "---"
_ID = re.compile(r"([a-z]+)_(\d+)\Z")
_AUDIO_PATH = re.compile(r"(\d{2})/(\d+)\.mp3\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_STAND_IN = re.compile(r"[^\s]+")
_STAND_IN_MAX_BYTES = 4096


class _BadRow(ValueError):
    """One data row that does not fit the format (the message says what is wrong)."""


@dataclass(frozen=True)
class JamendoTrack:
    """One data row of an autotagging TSV, ids in canonical form, tags as written."""

    track_id: str
    artist_id: str
    album_id: str
    path: str  # PATH as written: NN/<id>.mp3, relative to the audio root
    duration: float  # seconds (full tracks)
    tags: tuple[str, ...]  # category---tag, in file order, without repeats
    line: int

    def terms(self, category: str) -> list[str]:
        """The tags of one category without the prefix, or every tag with it for ``all``."""
        if category == "all":
            return list(self.tags)
        prefix = category + TAG_SEPARATOR
        return [t[len(prefix):] for t in self.tags if t.startswith(prefix)]


@dataclass
class Autotagging:
    """The valid rows of one autotagging TSV and what was read and skipped."""

    path: Path
    tracks: list[JamendoTrack]
    stats: LoadStats


def canonical_id(text: str, kind: str) -> tuple[str, int]:
    """(``<kind>_<n>`` without leading zeros, n) of an id such as ``track_0000382``."""
    m = _ID.match(text)
    if m is None or m.group(1) != kind:
        raise _BadRow(f"{kind} id {text!r} is not {kind}_<digits>")
    n = int(m.group(2))
    return f"{kind}_{n}", n


# --------------------------------------------------------------------------- reading


def read_autotagging(path: str | Path, on_bad_line: str = "error") -> Autotagging:
    """Every row of an MTG-Jamendo TSV (``data/*.tsv``, ``data/splits/split-N/*.tsv``).

    A bad row (fewer than 5 fields, an id, PATH or DURATION that does not parse, a tag
    without ``---`` or of an unknown category, a track listed twice, text that is not
    UTF-8) raises :class:`~onerep.sources.loaders.LabelFileError` naming the file and
    line (``on_bad_line='error'``) or is skipped and counted (``'skip'``). A missing or
    wrong header and git's one-line symlink stand-in raise :class:`NativeFileError`.
    """
    path = require_file(path, "MTG-Jamendo TSV")
    _refuse_symlink_stand_in(path)
    stats, problems = bookkeeping("jamendo", [path], on_bad_line)
    lines = lines_of(path)
    _check_header(path, next(lines, (1, "")))
    tracks: list[JamendoTrack] = []
    first_line: dict[str, int] = {}
    for lineno, text in lines:
        if text is not None and not text.strip():
            continue
        stats.rows += 1
        try:
            if text is None:
                raise _BadRow("not UTF-8 text")
            track = _parse_row(text.split("\t"), lineno)
            if track.track_id in first_line:
                raise _BadRow(f"track {track.track_id} already listed at line {first_line[track.track_id]}")
        except _BadRow as exc:
            problems("malformed", f"{path}: line {lineno}", str(exc))
            continue
        first_line[track.track_id] = lineno
        tracks.append(track)
    return Autotagging(path, tracks, stats)


def _refuse_symlink_stand_in(path: Path) -> None:
    """Raise when the file is git's stand-in for a symlink (one line naming the target)."""
    with open(path, "rb") as fh:
        head = fh.read(_STAND_IN_MAX_BYTES + 1)
    text = head.decode("utf-8", "replace").strip()
    if not text:
        raise NativeFileError(f"{path}: empty file (expected the header {' '.join(HEADER)})")
    if len(head) > _STAND_IN_MAX_BYTES or not _STAND_IN.fullmatch(text) or text.upper() == HEADER[0]:
        return
    target = path.parent / text
    where = "it exists beside this file" if target.is_file() else "it is absent here"
    raise NativeFileError(
        f"{path}: not a TSV but git's one-line stand-in for a symlink to {text!r} (the repository was "
        f"checked out without symlinks); read {target} instead ({where}), or check the repository out "
        "with core.symlinks=true")


def _check_header(path: Path, first: tuple[int, str | None]) -> None:
    names = [] if first[1] is None else [f.strip().upper() for f in first[1].split("\t")]
    if names != list(HEADER):
        got = "text that is not UTF-8" if first[1] is None else repr(first[1][:120])
        raise NativeFileError(f"{path}: line 1: expected the header {' '.join(HEADER)} (tab-separated), got {got}")


def _parse_row(fields: list[str], lineno: int) -> JamendoTrack:
    if len(fields) < 5:
        raise _BadRow(f"{len(fields)} tab-separated field(s), expected at least 5 "
                      f"({' '.join(HEADER[:5])}, then one field per tag)")
    track_id, number = canonical_id(fields[0], "track")
    artist_id, _ = canonical_id(fields[1], "artist")
    album_id, _ = canonical_id(fields[2], "album")
    audio = _AUDIO_PATH.match(fields[3])
    if audio is None or int(audio.group(2)) != number or int(audio.group(1)) != number % 100:
        raise _BadRow(f"PATH {fields[3]!r} does not fit {track_id} (expected {number % 100:02d}/{number}.mp3)")
    try:
        duration = float(fields[4])
    except ValueError:
        duration = math.nan
    if not math.isfinite(duration) or duration <= 0:
        raise _BadRow(f"DURATION {fields[4]!r} is not a positive number of seconds")
    for tag in fields[5:]:
        category, sep, name = tag.partition(TAG_SEPARATOR)
        if not sep:
            raise _BadRow(f"tag {tag!r} has no {TAG_SEPARATOR!r} (expected category{TAG_SEPARATOR}tag)")
        if category not in CATEGORIES:
            raise _BadRow(f"tag {tag!r} has the unknown category {category!r} (expected {', '.join(CATEGORIES)})")
        if not name:
            raise _BadRow(f"tag {tag!r} has no name after {TAG_SEPARATOR!r}")
    return JamendoTrack(track_id, artist_id, album_id, fields[3], duration,
                        tuple(dict.fromkeys(fields[5:])), lineno)


# --------------------------------------------------------------------------- adapters


def jamendo_terms(path: Path, options: dict[str, Any], on_bad_line: str = "error") -> SourceTable:
    """``terms``: track x tag, weight 1, from the tags of one category.

    Option ``category``: ``genre`` | ``instrument`` | ``mood/theme`` (term = the tag
    without its prefix, e.g. ``rock``) or ``all`` (default; term = ``genre---rock``)."""
    opts = check_options(options, {"category": (*CATEGORIES, "all")}, f"jamendo terms adapter ({path})")
    category = opts.get("category", "all")
    data = read_autotagging(path, on_bad_line)
    rows = [(t.track_id, term, 1.0) for t in data.tracks for term in t.terms(category)]
    return source_table("terms", rows, data.stats, format="jamendo", category=category,
                        tracks=len(data.tracks), tracks_with_terms=len({r[0] for r in rows}),
                        distinct_terms=len({r[1] for r in rows}))


def jamendo_grouping(path: Path, options: dict[str, Any], on_bad_line: str = "error") -> SourceTable:
    """``grouping``: track -> ARTIST_ID (canonical ``artist_<n>``); no options."""
    check_options(options, {}, f"jamendo grouping adapter ({path})")
    data = read_autotagging(path, on_bad_line)
    rows = [(t.track_id, t.artist_id) for t in data.tracks]
    return source_table("grouping", rows, data.stats, format="jamendo", group="artist",
                        groups=len({r[1] for r in rows}))


# --------------------------------------------------------------------------- splits


@dataclass
class JamendoSplit:
    """An official split: canonical track id -> part (``train``, ``validation``, ``test``)."""

    part: dict[str, str]
    files: list[str] = field(default_factory=list)
    skipped: int = 0
    examples: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """The split as a table (``track_id``, ``part``), in file order."""
        return pd.DataFrame({"track_id": list(self.part), "part": list(self.part.values())})


def read_split(folder: str | Path, prefixes: Sequence[str] = ("autotagging",),
               on_bad_line: str = "error") -> JamendoSplit:
    """The official split of ``data/splits/split-N`` from ``<prefix>-{train,validation,test}.tsv``
    for each prefix (several prefixes: the union of their files, e.g. the category files
    where ``autotagging-train.tsv`` is absent). See :func:`read_split_files`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"MTG-Jamendo split folder not found: {folder}")
    files = {part: [folder / f"{prefix}-{part}.tsv" for prefix in prefixes] for part in PARTS}
    return read_split_files(files, on_bad_line)


def read_split_files(files: dict[str, Sequence[str | Path]], on_bad_line: str = "error") -> JamendoSplit:
    """The official split from the files of each part (``train``, ``validation``, ``test``).
    A track in two parts is an error naming both files and lines, whatever
    ``on_bad_line`` says."""
    unknown = sorted(set(files) - set(PARTS))
    if unknown:
        raise ValueError(f"MTG-Jamendo split: unknown parts {unknown}; parts are {', '.join(PARTS)}")
    seen: dict[str, tuple[str, Path, int]] = {}
    out = JamendoSplit({})
    for part in PARTS:
        for f in map(Path, files.get(part, ())):
            if not f.is_file():
                raise FileNotFoundError(
                    f"MTG-Jamendo split file not found: {f} (where autotagging-train.tsv is absent, use the "
                    "prefixes autotagging_genre, autotagging_instrument and autotagging_moodtheme together)")
            data = read_autotagging(f, on_bad_line)
            out.files.append(str(f))
            out.skipped += data.stats.malformed
            out.examples += data.stats.examples
            for t in data.tracks:
                before = seen.setdefault(t.track_id, (part, f, t.line))
                if before[0] != part:
                    raise NativeFileError(f"{f}: line {t.line}: track {t.track_id} is in part {part!r}, but "
                                          f"{before[1]}: line {before[2]} puts it in {before[0]!r}")
                out.part.setdefault(t.track_id, part)
    return out


# --------------------------------------------------------------------------- checksums and audio


def read_sha256_list(path: str | Path, on_bad_line: str = "error") -> dict[str, str]:
    """relative path -> sha256 of a ``*_sha256_tracks.txt`` (or ``_tars.txt``) list.

    A line is 64 hex digits, one space, the path (split on the first space); the
    ``sha256sum`` layout (two spaces, or a space and ``*``) is accepted too. Bad lines
    (no path, not 64 hex digits, a path listed again with another digest) are an error
    naming file and line, or skipped and counted (logged) with ``on_bad_line='skip'``."""
    path = require_file(path, "checksum list")
    stats, problems = bookkeeping("checksums", [path], on_bad_line)
    digests = _read_sha256(path, problems)
    if stats.malformed:
        log.warning("%s: skipped %d bad line(s), e.g. %s", path, stats.malformed, stats.examples[0])
    return digests


def _read_sha256(path: Path, problems: Problems) -> dict[str, str]:
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for lineno, text in lines_of(path):
        if text is not None and not text.strip():
            continue
        digest, _, rel = (text or "").partition(" ")
        if rel[:1] in (" ", "*"):  # sha256sum: two spaces (text mode) or ' *' (binary mode)
            rel = rel[1:]
        digest = digest.lower()
        if text is None:
            what = "not UTF-8 text"
        elif not rel:
            what = f"expected '<sha256> <relative path>', got {text[:120]!r}"
        elif not _SHA256.match(digest):
            what = f"{digest[:80]!r} is not a SHA-256 digest (64 hex digits)"
        elif out.get(rel, digest) != digest:
            what = f"{rel} already listed with another digest at line {first_line[rel]}"
        else:
            out[rel] = digest
            first_line.setdefault(rel, lineno)
            continue
        problems("malformed", f"{path}: line {lineno}", what)
    return out


def audio_path(path: str, low: bool = False) -> str:
    """The audio file of a PATH cell: ``NN/<id>.mp3``, or ``NN/<id>.low.mp3`` for ``audio-low``."""
    return path.removesuffix(".mp3") + ".low.mp3" if low else path


@dataclass
class JamendoAudio:
    """The manifest rows of the tracks whose audio is present, and what is missing."""

    tracks: list[Track]  # location absolute, sha256 when the checksum list has the file
    without_audio: list[tuple[str, str]]  # (track id, expected relative path)
    without_checksum: list[str]  # track ids with audio but not in the checksum list
    stats: LoadStats

    def summary(self) -> str:
        """One line for the log: counts and the first missing file."""
        text = f"{len(self.tracks)} tracks with audio"
        if self.without_audio:
            tid, rel = self.without_audio[0]
            text += f"; {len(self.without_audio)} listed without an audio file (first: {tid}, {rel})"
        if self.without_checksum:
            text += f"; {len(self.without_checksum)} without a checksum (first: {self.without_checksum[0]})"
        if self.stats.malformed:
            text += f"; {self.stats.malformed} bad line(s) skipped (e.g. {self.stats.examples[0]})"
        return text


def jamendo_audio_manifest(tsv: str | Path, audio_root: str | Path, checksums: str | Path | None = None,
                           low: bool = False, require_audio: bool = False,
                           on_bad_line: str = "error") -> JamendoAudio:
    """Audio manifest rows (track id, location, sha256) of an autotagging TSV's tracks.

    The file of a track is ``audio_root/`` + its PATH (``NN/<id>.mp3``; ``NN/<id>.low.mp3``
    with ``low``). Tracks without a file are counted and left out, or an error with
    ``require_audio``; no file at all is always an error. With ``checksums`` (a
    ``*_sha256_tracks.txt`` list) each file gets its sha256; a list that names none of
    the files present is an error (probably the list of the other audio type)."""
    root = Path(audio_root)
    if not root.is_dir():
        raise FileNotFoundError(f"MTG-Jamendo audio root not found (a folder holding NN/<id>.mp3): {root}")
    data = read_autotagging(tsv, on_bad_line)
    digests: dict[str, str] = {}
    if checksums is not None:
        checksums = require_file(checksums, "checksum list")
        data.stats.files.append(str(checksums))
        digests = _read_sha256(checksums, Problems(on_bad_line, data.stats))
    out = JamendoAudio([], [], [], data.stats)
    for t in data.tracks:
        rel = audio_path(t.path, low)
        f = root / rel
        if not f.is_file():
            out.without_audio.append((t.track_id, rel))
            continue
        sha = digests.get(rel, "")
        if checksums is not None and not sha:
            out.without_checksum.append(t.track_id)
        out.tracks.append(Track(t.track_id, os.path.abspath(f), sha256=sha))
    _check_audio(data, root, out, require_audio, checksums, low)
    log.info("%s: %s", data.path, out.summary())
    return out


def _check_audio(data: Autotagging, root: Path, out: JamendoAudio, require_audio: bool,
                 checksums: Path | None, low: bool) -> None:
    missing = out.without_audio
    if missing and (require_audio or not out.tracks):
        tid, rel = missing[0]
        raise NativeFileError(f"{data.path}: {len(missing)} of {len(data.tracks)} tracks have no audio file "
                              f"under {root} (first: {tid}, expected {root / rel})")
    if checksums is not None and out.tracks and len(out.without_checksum) == len(out.tracks):
        example = os.path.relpath(out.tracks[0].location, root)
        raise NativeFileError(f"{checksums}: lists none of the {len(out.tracks)} audio files found under {root} "
                              f"(e.g. {example}); is it the list of the other audio type? (low is {low}: "
                              f"the files are {'NN/<id>.low.mp3' if low else 'NN/<id>.mp3'})")
