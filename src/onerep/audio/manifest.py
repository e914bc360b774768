"""Audio manifests and their shards.

A manifest is a TSV with a header: ``track_id``, ``location`` (a path, relative to the
manifest's folder unless absolute, or an ``http(s)://`` URL) and optionally ``md5``.
Relative paths in every TSV this stage writes are likewise relative to that TSV's
own folder, so a results folder can be moved as a whole.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..util import write_text_atomic

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("track_id", "location", "md5")
SHARD_NAME = "shard-{:04d}.tsv"
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class Track:
    """One manifest row: id, location (URL or path as written) and optional md5."""

    track_id: str
    location: str
    md5: str = ""

    @property
    def is_url(self) -> bool:
        return is_url(self.location)


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
    location, a duplicated id or a malformed md5.
    """
    path = Path(path)
    df = read_tsv(path)
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in ("track_id", "location") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)} (header has: {', '.join(df.columns)}); "
            "a manifest needs track_id, location and optionally md5"
        )
    if "md5" not in df.columns:
        df["md5"] = ""
    base = path.parent
    tracks: list[Track] = []
    first_line: dict[str, int] = {}
    for k, (tid, loc, md5) in enumerate(zip(df["track_id"], df["location"], df["md5"])):
        line = k + 2  # header is line 1
        tid, loc, md5 = tid.strip(), loc.strip(), md5.strip().lower()
        if not tid:
            raise ValueError(f"{path}, line {line}: empty track_id")
        if not loc:
            raise ValueError(f"{path}, line {line}: track {tid!r} has an empty location")
        if md5 and not _MD5.match(md5):
            raise ValueError(f"{path}, line {line}: track {tid!r} has a malformed md5 {md5!r} (32 hex digits)")
        if tid in first_line:
            raise ValueError(f"{path}, line {line}: track {tid!r} already listed on line {first_line[tid]}")
        first_line[tid] = line
        tracks.append(Track(tid, resolve(loc, base), md5))
    return tracks


def write_manifest(path: str | Path, tracks: list[Track]) -> None:
    """Write a manifest (paths relative to its folder), atomically."""
    path = Path(path)
    lines = ["\t".join(MANIFEST_COLUMNS)]
    for t in tracks:
        loc = t.location if t.is_url else relative_to(t.location, path.parent)
        lines.append("\t".join((t.track_id, loc, t.md5)))
    write_text_atomic(path, "\n".join(lines) + "\n")


def shard_manifest(manifest: str | Path, out_dir: str | Path, shard_size: int) -> list[Path]:
    """Split a manifest into ``out_dir/shard-NNNN.tsv`` files of ``shard_size`` tracks (manifest order)."""
    if shard_size < 1:
        raise ValueError(f"audio.shard_size must be at least 1, got {shard_size}")
    tracks = read_manifest(manifest)
    if not tracks:
        raise ValueError(f"{manifest}: the manifest lists no tracks")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("shard-*.tsv"):
        old.unlink()
    paths = []
    for k, start in enumerate(range(0, len(tracks), shard_size)):
        p = out_dir / SHARD_NAME.format(k)
        write_manifest(p, tracks[start : start + shard_size])
        paths.append(p)
    log.info("%s: %d tracks in %d shards of up to %d", manifest, len(tracks), len(paths), shard_size)
    return paths
