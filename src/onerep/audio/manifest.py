"""Audio manifests and their shards.

A manifest is a TSV with a header: ``track_id``, ``location`` (a path, relative to the
manifest's folder unless absolute, or an ``http(s)://`` URL) and optional checksums:

- a column named ``md5`` (32 hex digits) and/or ``sha256`` (64 hex digits): the header
  name decides the algorithm and a value of another length is an error;
- a column named ``checksum``: each value's algorithm is recognised by its length
  (32 hex digits: md5, 64: sha256); it may not contradict a named column on the same row.

Empty cells mean "no checksum". Digits are compared in lower case. Manifests are
written with ``track_id, location, md5`` (as before) plus ``sha256`` only when a track
has one. Relative paths in every TSV this stage writes are likewise relative to that TSV's
own folder, so a results folder can be moved as a whole.

Shards: the workflow splits a data set's manifest into ``audio.shards`` shards (one
acquisition and one mel job each), fixed at parse time: a track's shard is a hash of
its id (:func:`shard_of`), so no job has to read the manifest to know the shards.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..util import write_text_atomic

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("track_id", "location", "md5")
#: Shard ids (file names shard-<id>.tsv / .h5 in the workflow).
SHARD_ID = "{:04d}"
#: Checksum algorithms a manifest may give, with the number of hex digits of a digest.
CHECKSUM_DIGITS = {"md5": 32, "sha256": 64}
_ALGORITHM_OF_LENGTH = {n: name for name, n in CHECKSUM_DIGITS.items()}
_HEX = re.compile(r"[0-9a-f]+\Z")


@dataclass(frozen=True)
class Track:
    """One manifest row: id, location (URL or path as written) and optional md5 / sha256."""

    track_id: str
    location: str
    md5: str = ""
    sha256: str = ""

    @property
    def is_url(self) -> bool:
        return is_url(self.location)

    @property
    def checksums(self) -> dict[str, str]:
        """The expected digests, algorithm -> lower-case hex (empty when none is given)."""
        return {name: digest for name, digest in (("md5", self.md5), ("sha256", self.sha256)) if digest}


def is_url(location: str) -> bool:
    """True for ``http://`` and ``https://`` locations."""
    return location.lower().startswith(("http://", "https://"))


def resolve(location: str, base: str | Path) -> str:
    """A URL unchanged; a path made absolute against ``base`` (the TSV's folder) unless already absolute."""
    if is_url(location):
        return location
    p = Path(os.path.expanduser(location))
    return str(p if p.is_absolute() else Path(os.path.abspath(Path(base) / p)))


def relative_to(path: str | Path, folder: str | Path) -> str:
    """``path`` written relative to ``folder`` (falls back to absolute across drives)."""
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    except ValueError:
        return os.path.abspath(path)


def read_tsv(path: str | Path) -> pd.DataFrame:
    """A TSV with a header as strings (empty cells are empty strings, never NaN)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path}")
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False,
                           quoting=3, comment=None)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file (a manifest needs a header: track_id, location, md5)") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: not a valid TSV: {exc}") from None


def read_manifest(path: str | Path) -> list[Track]:
    """Read and check a manifest; locations are resolved against the manifest's folder.

    Raises ValueError naming the file and line for a missing column, an empty id or
    location, a duplicated id or a malformed or contradictory checksum.
    """
    path = Path(path)
    df = read_tsv(path)
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in ("track_id", "location") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)} (header has: {', '.join(df.columns)}); "
            "a manifest needs track_id, location and optionally md5, sha256 or checksum"
        )
    sums = [c for c in (*CHECKSUM_DIGITS, "checksum") if c in df.columns]
    base = path.parent
    tracks: list[Track] = []
    first_line: dict[str, int] = {}
    for k, (tid, loc, *cells) in enumerate(zip(df["track_id"], df["location"], *(df[c] for c in sums))):
        line = k + 2  # header is line 1
        tid, loc = tid.strip(), loc.strip()
        if not tid:
            raise ValueError(f"{path}, line {line}: empty track_id")
        if not loc:
            raise ValueError(f"{path}, line {line}: track {tid!r} has an empty location")
        where = f"{path}, line {line}: track {tid!r}"
        digests = _row_checksums(where, dict(zip(sums, cells)))
        if tid in first_line:
            raise ValueError(f"{path}, line {line}: track {tid!r} already listed on line {first_line[tid]}")
        first_line[tid] = line
        tracks.append(Track(tid, resolve(loc, base), **digests))
    return tracks


def _row_checksums(where: str, cells: dict[str, str]) -> dict[str, str]:
    """algorithm -> digest of one row's checksum cells (``md5``, ``sha256``, ``checksum``)."""
    out: dict[str, str] = {}
    for column, cell in cells.items():
        digest = cell.strip().lower()
        if not digest:
            continue
        if column == "checksum":
            name = _ALGORITHM_OF_LENGTH.get(len(digest))
            if name is None or not _HEX.match(digest):
                raise ValueError(f"{where} has a malformed checksum {digest!r} "
                                 "(32 hex digits for md5 or 64 for sha256)")
            if out.get(name, digest) != digest:
                raise ValueError(f"{where}: checksum {digest} contradicts the {name} column ({out[name]})")
        else:
            name = column
            if len(digest) != CHECKSUM_DIGITS[name] or not _HEX.match(digest):
                raise ValueError(f"{where} has a malformed {name} {digest!r} ({CHECKSUM_DIGITS[name]} hex digits)")
        out[name] = digest
    return out


def write_manifest(path: str | Path, tracks: list[Track]) -> None:
    """Write a manifest (paths relative to its folder; a ``sha256`` column only when a track has one), atomically."""
    path = Path(path)
    with_sha256 = any(t.sha256 for t in tracks)
    lines = ["\t".join(MANIFEST_COLUMNS + (("sha256",) if with_sha256 else ()))]
    for t in tracks:
        loc = t.location if t.is_url else relative_to(t.location, path.parent)
        lines.append("\t".join((t.track_id, loc, t.md5) + ((t.sha256,) if with_sha256 else ())))
    write_text_atomic(path, "\n".join(lines) + "\n")


def shard_of(track_id: str, n_shards: int) -> int:
    """The shard (0 .. ``n_shards`` - 1) of a track: the first 8 bytes of the SHA-1 of its id
    (UTF-8) as a big-endian integer, modulo ``n_shards``.

    Stable across machines and Python runs (unlike ``hash()``), so the workflow fixes the
    shards of every data set at parse time from ``audio.shards`` alone.
    """
    if n_shards < 1:
        raise ValueError(f"the number of shards must be at least 1, got {n_shards}")
    digest = hashlib.sha1(track_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_shards


def shard_count(shards: Mapping[str, int], dataset: str) -> int:
    """A data set's number of shards from ``audio.shards``: its own entry, else ``default``."""
    return int(shards.get(dataset, shards["default"]))


def shard_ids(n_shards: int) -> list[str]:
    """The ids of ``n_shards`` shards as the workflow names them: ``0000``, ``0001``, ..."""
    return [SHARD_ID.format(i) for i in range(n_shards)]


def shard_tracks(tracks: Sequence[Track], shard: int, n_shards: int) -> list[Track]:
    """The tracks of shard ``shard`` of ``n_shards`` of a manifest's tracks (:func:`shard_of`), in manifest order.

    May be empty (a small manifest split into many shards).
    """
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is outside the {n_shards} shard(s) 0 .. {n_shards - 1}")
    return [t for t in tracks if shard_of(t.track_id, n_shards) == shard]
