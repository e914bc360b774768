"""Shared pieces of the target loaders: the TargetData record, track ids, audio lookup."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger("onerep.targets")

# File name endings treated as audio when a loader walks a folder.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".au", ".snd", ".aiff", ".aif", ".m4a"}
)

MANIFEST_COLUMNS = ["track_id", "location", "md5"]
LABEL_COLUMNS = ["track_id", "label", "group", "split"]
INTERACTION_COLUMNS = ["user", "track_id", "count"]

TASKS = ("classification", "regression", "recommendation", "tagging")

# Values of a data set's own split, mapped onto the two folds the evaluation uses
# (the paper folds validation data into training).
SPLIT_VALUES = {
    "train": "train",
    "training": "train",
    "valid": "train",
    "validation": "train",
    "val": "train",
    "development": "train",
    "test": "test",
    "testing": "test",
}

# Report rows beyond this many example ids are counted, not listed.
MAX_EXAMPLES = 20


@dataclass
class TargetData:
    """One target data set read from its native layout.

    ``manifest``: track_id, location (absolute path or URL), md5 (may be empty).
    ``labels``: track_id, label (a tagging target's label is its tags joined by
    :data:`onerep.targets.files.TAG_SEPARATOR`), group, split ('train'/'test' from the data set's own
    split, or '' when the split is drawn at random). ``interactions``: user,
    track_id, count (recommendation targets only). ``report``: ordered counts
    (``item -> (value, detail)``) for ``report.tsv``.
    """

    name: str
    kind: str
    task: str
    manifest: pd.DataFrame
    labels: pd.DataFrame
    interactions: pd.DataFrame | None = None
    report: dict[str, tuple[Any, str]] = field(default_factory=dict)

    @property
    def fixed_split(self) -> bool:
        """True when every track carries the data set's own split."""
        return bool(len(self.labels)) and bool((self.labels["split"] != "").all())

    def note(self, item: str, value: Any, examples: list[str] | None = None) -> None:
        """Add a report row; ``examples`` (ids or paths) are listed up to MAX_EXAMPLES."""
        detail = ""
        if examples:
            shown = examples[:MAX_EXAMPLES]
            detail = ", ".join(shown) + (f", ... ({len(examples) - len(shown)} more)"
                                         if len(examples) > len(shown) else "")
        self.report[item] = (value, detail)


def track_id_from_path(relative: str | Path) -> str:
    """A stable track id from a path relative to the data set root.

    The path without its extension, with '/' replaced by '__'
    (``blues/blues.00000.wav`` -> ``blues__blues.00000``).
    """
    rel = Path(relative)
    parts = list(rel.parent.parts) + [rel.stem if rel.suffix else rel.name]
    parts = [p for p in parts if p not in ("", ".")]
    return "__".join(parts)


def is_audio(path: Path) -> bool:
    """Whether ``path`` names an audio file by its extension (hidden files excluded)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def audio_files(folder: Path) -> list[Path]:
    """Audio files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_audio(p))


def class_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` that hold audio files (one per class), sorted."""
    return sorted(d for d in root.iterdir()
                  if d.is_dir() and not d.name.startswith(".") and audio_files(d))


def bad_name(path: str) -> bool:
    """Whether a path contains characters that would break a TSV row."""
    return any(c in path for c in "\t\n\r")


def require_dir(path: Path, what: str) -> Path:
    """Return ``path`` if it is a folder, else raise a ValueError naming ``what``."""
    if not path.is_dir():
        raise ValueError(f"{what}: folder not found: {path}")
    return path


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise a ValueError naming ``what``."""
    if not path.is_file():
        raise ValueError(f"{what}: file not found: {path}")
    return path


def make_frames(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Manifest and label frames from rows with track_id, location, label, group, split."""
    manifest = pd.DataFrame(
        {"track_id": [r["track_id"] for r in rows],
         "location": [str(r["location"]) for r in rows],
         "md5": [r.get("md5", "") or "" for r in rows]},
        columns=MANIFEST_COLUMNS,
    )
    labels = pd.DataFrame(
        {"track_id": [r["track_id"] for r in rows],
         "label": [r.get("label", "") for r in rows],
         "group": [r.get("group", "") or "" for r in rows],
         "split": [r.get("split", "") or "" for r in rows]},
        columns=LABEL_COLUMNS,
    )
    return manifest, labels


def check_unique(ids: list[str], where: str) -> None:
    """Raise a ValueError when track ids repeat (two files mapped to one id)."""
    seen: set[str] = set()
    dup = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if dup:
        raise ValueError(f"{where}: {len(dup)} track ids occur twice, e.g. {dup[:5]}")


def target_from_rows(name: str, kind: str, task: str, rows: list[dict[str, Any]]) -> TargetData:
    """A TargetData from loader rows (track ids checked unique), report still empty."""
    check_unique([r["track_id"] for r in rows], f"target '{name}'")
    manifest, labels = make_frames(rows)
    return TargetData(name=name, kind=kind, task=task, manifest=manifest, labels=labels)
