"""The open corpora of the demo world in their real layouts: MTG-Jamendo and MagnaTagATune.

MTG-Jamendo (a learning corpus): ``jamendo/data/autotagging*.tsv`` with CRLF lines and one
field per tag, the artist-disjoint ``splits/split-0`` files, the audio at ``audio/NN/<id>.mp3``
and a one-space SHA-256 list. MagnaTagATune (a tagging target): songs cut into consecutive
segments in 16 hex folders (an album never spans two), a tab-separated ``annotations_final.csv``
whose tag names hold spaces, ``clip_info_final.csv``, and zero-byte files like the real ones.
See shared/formats/open-corpora.md sections 1 and 3.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

from . import labels as L
from .styles import MTT_TAGS
from .world import Track, World
from .writers import write_jamendo_tsv, write_quoted_tsv, write_sha256_list

JAMENDO_SPLIT = {"train": 0.6, "validation": 0.2, "test": 0.2}
JAMENDO_SUBSETS = ("", "_genre", "_instrument", "_moodtheme", "_top50tags")
MTT_FOLDERS = "0123456789abcdef"
MTT_CLIP_INFO = ("clip_id", "track_number", "title", "artist", "album", "url", "segmentStart", "segmentEnd",
                 "original_url", "mp3_path")


# ---------------------------------------------------------------------------
# MTG-Jamendo
# ---------------------------------------------------------------------------


def jamendo_path(key: str) -> str:
    """``NN/<id>.mp3`` of a ``track_NNNNNNN`` key: NN is the id mod 100, the file name the bare id."""
    number = int(key.split("_")[1])
    return f"{number % 100:02d}/{number}.mp3"


def _subset_tags(tags: list[str], subset: str, top50: set[str]) -> list[str]:
    """The tags of a row that a subset file keeps."""
    prefix = {"_genre": "genre---", "_instrument": "instrument---", "_moodtheme": "mood/theme---"}.get(subset)
    if subset == "_top50tags":
        return [t for t in tags if t in top50]
    return [t for t in tags if prefix is None or t.startswith(prefix)]


def write_jamendo(world: World, root: Path) -> None:
    """Metadata TSVs, split-0 and the checksum list of the MTG-Jamendo-style tracks under ``root/jamendo``
    (the audio is already written)."""
    tracks = world.tracks["jamendo"]
    if not tracks:
        return
    base = root / "jamendo"
    rng = world.rng("labels", "jamendo")
    artist_ids = [int(i) + 1 for i in rng.choice(99_999, size=len(world.artists), replace=False)]
    album_ids: dict[tuple[int, str], int] = {}
    free_albums = [int(i) + 1 for i in rng.choice(399_999, size=len(tracks), replace=False)]
    duration = f"{world.settings.clip_seconds:.1f}"  # the clip's length (real DURATIONs are full tracks)
    rows: list[tuple[Track, list[str], list[str]]] = []
    for t in tracks:
        album = album_ids.setdefault((t.artist, t.album), free_albums[len(album_ids)])
        tags = L.jamendo_tags(t, rng)
        fixed = [t.key, f"artist_{artist_ids[t.artist]:06d}", f"album_{album:06d}", jamendo_path(t.key), duration]
        rows.append((t, fixed, tags))
        t.extra.update({"jamendo_artist": fixed[1], "jamendo_album": fixed[2], "tags": tags})
    counts: dict[str, int] = {}
    for _, _, tags in rows:
        for tag in tags:
            counts[tag] = counts.get(tag, 0) + 1
    top50 = set(sorted(counts, key=lambda tag: (-counts[tag], tag))[:50])
    splits = L.artist_disjoint_split(rng, [t.artist for t in tracks], JAMENDO_SPLIT)
    for t, part in zip(tracks, splits):
        t.extra["split"] = part
    for subset in JAMENDO_SUBSETS:
        kept = [(fixed + sub, part) for (_, fixed, tags), part in zip(rows, splits)
                for sub in [_subset_tags(tags, subset, top50)] if sub]
        write_jamendo_tsv(base / "data" / f"autotagging{subset}.tsv", [row for row, _ in kept])
        for part in JAMENDO_SPLIT:
            write_jamendo_tsv(base / "data" / "splits" / "split-0" / f"autotagging{subset}-{part}.tsv",
                              [row for row, p in kept if p == part])
    paths = sorted((jamendo_path(t.key) for t in tracks), key=lambda p: (p[:2], int(p[3:-4])))
    write_sha256_list(base / "data" / "download" / "autotagging_audio_sha256_tracks.txt", base / "audio", paths)


# ---------------------------------------------------------------------------
# MagnaTagATune
# ---------------------------------------------------------------------------


def mtt_slug(text: str) -> str:
    """A name part as the MagnaTagATune build script wrote it: lower case, other characters -> ``_``."""
    return re.sub(r"[^a-z0-9]", "_", text.lower())


def _folder(sku: str) -> str:
    """The last hex digit of the MD5 of an album SKU."""
    return hashlib.md5(sku.encode()).hexdigest()[-1]


def mtt_layout(world: World) -> None:
    """Note each song's album ``sku``, ``folder`` and file-name ``stem`` in ``Track.extra``. The folder
    is the last hex digit of a hash of the SKU, so an album never spans two folders; a catalogue
    number in the SKU is chosen so that the albums fill the 16 folders evenly (each folder of the
    usual 12:1:3 folder split then holds songs). Idempotent."""
    skus: dict[tuple[int, str], str] = {}
    filled = dict.fromkeys(MTT_FOLDERS, 0)
    for t in world.tracks["mtt"]:
        album = (t.artist, t.album)
        if album not in skus:
            base = f"{mtt_slug(world.artists[t.artist].name)}-{mtt_slug(t.album)}".replace("_", "-")
            least = min(filled.values())
            skus[album] = next((f"{base}-{n}" for n in range(1, 400) if filled[_folder(f"{base}-{n}")] == least),
                               f"{base}-1")
            filled[_folder(skus[album])] += 1
        name = world.artists[t.artist].name
        t.extra.update(sku=skus[album], folder=_folder(skus[album]),
                       stem=f"{mtt_slug(name)}-{mtt_slug(t.album)}-{t.extra['track_number']:02d}-{mtt_slug(t.title)}")


def mtt_clip_path(t: Track, segment: int) -> str:
    """``<folder>/<artist>-<album>-<NN>-<title>-<start>-<end>.mp3`` of a segment (after ``mtt_layout``)."""
    start, end = t.extra["segments"][segment]
    return f"{t.extra['folder']}/{t.extra['stem']}-{start}-{end}.mp3"


def write_magnatagatune(world: World, root: Path) -> None:
    """The zero-byte clips, ``annotations_final.csv`` and ``clip_info_final.csv`` under
    ``root/magnatagatune`` (the other clips are already written)."""
    songs = world.tracks["mtt"]
    if not songs:
        return
    base = root / "magnatagatune"
    for folder in MTT_FOLDERS:
        (base / folder).mkdir(parents=True, exist_ok=True)
    tag_rows = iter(L.mtt_annotations(world))
    annotations, info = [], []
    for t in songs:
        artist = world.artists[t.artist].name
        url = f"http://www.magnatune.com/artists/albums/{t.extra['sku']}/"
        original = f"http://he3.magnatune.com/all/{t.extra['track_number']:02d}-{quote(t.title)}-{quote(artist)}.mp3"
        for j, clip_id in enumerate(t.extra["clip_ids"]):
            rel = mtt_clip_path(t, j)
            if j in t.extra["empty"]:
                (base / rel).write_bytes(b"")
            start, end = t.extra["segments"][j]
            annotations.append([clip_id, *next(tag_rows), rel])
            info.append([clip_id, t.extra["track_number"], t.title, artist, t.album, url, start, end, original, rel])
    write_quoted_tsv(base / "annotations_final.csv", ("clip_id", *MTT_TAGS, "mp3_path"), annotations)
    write_quoted_tsv(base / "clip_info_final.csv", MTT_CLIP_INFO, info)
