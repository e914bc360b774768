"""The files of a target under ``results/targets/<target>/``: writers and readers.

- ``manifest.tsv``: track_id, location, md5. A location is written relative to the
  manifest's folder when both lie inside the working directory (the project), so the
  project can move as a whole; otherwise it stays absolute. URLs are kept.
- ``labels.tsv``: track_id, label, group, split. For a tagging (multi-label) target the
  label is the track's tags, distinct, sorted and joined by ``|`` (:data:`TAG_SEPARATOR`,
  a character no tag name may contain; the loaders refuse such a tag), e.g.
  ``genre---rock|instrument---guitar`` or ``classical|no vocals|strings``; every track
  has at least one tag. :func:`join_tags` writes such a label, :func:`tag_matrix` reads
  a labels column back into a track x tag 0/1 matrix (the vocabulary is every tag that
  occurs, sorted).
- ``interactions.tsv`` (recommendation targets): user, track_id, count.
- ``report.tsv``: item, value, detail (counts, missing audio with examples).
- ``splits.tsv`` (split stage): repetition, track_id, fold, seed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from onerep.util import atomic_path

from .common import INTERACTION_COLUMNS, LABEL_COLUMNS, MANIFEST_COLUMNS, TargetData

SPLIT_COLUMNS = ["repetition", "track_id", "fold", "seed"]
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


#: Separator of the tags in a tagging target's label (labels.tsv).
TAG_SEPARATOR = "|"


def join_tags(tags: Iterable[str], where: str) -> str:
    """The label of a tagging track: its distinct tags, sorted, joined by TAG_SEPARATOR.

    ``where`` (file and line) names the source in the error raised for an empty tag, one
    with surrounding spaces, or one containing the separator, a tab or a line break.
    """
    out = sorted(set(tags))
    for tag in out:
        if not tag or tag != tag.strip() or any(c in tag for c in TAG_SEPARATOR + "\t\r\n"):
            raise ValueError(f"{where}: tag {tag!r} is empty, has surrounding spaces or contains "
                             f"'{TAG_SEPARATOR}', a tab or a line break")
    if not out:
        raise ValueError(f"{where}: no tags")
    return TAG_SEPARATOR.join(out)


def tag_matrix(labels: pd.Series, path: str | Path = "labels.tsv") -> pd.DataFrame:
    """Track x tag 0/1 matrix (int8; index track_id, columns the sorted vocabulary) from
    the ``label`` column of a tagging target's labels.tsv (index track_id, file order)."""
    split = [str(text).split(TAG_SEPARATOR) for text in labels]
    for i, tags in enumerate(split):
        if any(not t or t != t.strip() for t in tags):
            raise ValueError(f"{path}, line {i + 2}: track '{labels.index[i]}' has the label "
                             f"{labels.iloc[i]!r}; expected tags joined by '{TAG_SEPARATOR}' "
                             "without empty ones or surrounding spaces")
    vocab = sorted({t for tags in split for t in tags})
    col = {t: j for j, t in enumerate(vocab)}
    Y = np.zeros((len(split), len(vocab)), dtype=np.int8)
    for i, tags in enumerate(split):
        Y[i, [col[t] for t in tags]] = 1
    return pd.DataFrame(Y, index=labels.index, columns=vocab)


def relative_location(location: str, folder: Path) -> str:
    """``location`` relative to ``folder`` when both are inside the working directory."""
    if _URL.match(location):
        return location
    cwd = os.path.abspath(os.getcwd())
    loc = os.path.abspath(location)
    base = os.path.abspath(folder)
    try:
        inside = (os.path.commonpath([cwd, loc]) == cwd and os.path.commonpath([cwd, base]) == cwd)
    except ValueError:  # different drives
        inside = False
    return os.path.relpath(loc, base) if inside else loc


def write_tsv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a DataFrame as a tab-separated file with header, atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, lineterminator="\n")


def write_target(data: TargetData, out_dir: str | Path) -> dict[str, Path]:
    """Write manifest.tsv, labels.tsv, report.tsv (and interactions.tsv) of one target."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = data.manifest[MANIFEST_COLUMNS].copy()
    manifest["location"] = [relative_location(x, out) for x in manifest["location"]]
    paths = {"manifest": out / "manifest.tsv", "labels": out / "labels.tsv",
             "report": out / "report.tsv"}
    write_tsv(manifest, paths["manifest"])
    write_tsv(data.labels[LABEL_COLUMNS], paths["labels"])
    if data.interactions is not None:
        paths["interactions"] = out / "interactions.tsv"
        write_tsv(data.interactions[INTERACTION_COLUMNS], paths["interactions"])
    rows = [("name", data.name, ""), ("kind", data.kind, ""), ("task", data.task, "")]
    rows += [(k, v, d) for k, (v, d) in data.report.items()]
    write_tsv(pd.DataFrame(rows, columns=["item", "value", "detail"]), paths["report"])
    return paths


def read_table(path: str | Path, columns: list[str], what: str = "target") -> pd.DataFrame:
    """One of a target's TSV files as text columns ('' where empty): the one TSV reader of
    the target files; errors name the file and the columns ``columns`` it needs."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: not a valid {what} TSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file; expected a {what} TSV with columns {columns}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: columns {missing} missing (columns: {list(df.columns)})")
    return df


def line_of(i: int) -> int:
    """File line number of data row ``i`` (1-based lines, the header is line 1)."""
    return int(i) + 2


def read_labels(path: str | Path) -> pd.DataFrame:
    """labels.tsv as text columns track_id, label, group, split ('' where empty)."""
    return read_table(path, LABEL_COLUMNS, "labels")[LABEL_COLUMNS]


def read_interactions(path: str | Path) -> pd.DataFrame:
    """interactions.tsv: user, track_id (text), count (int)."""
    df = read_table(path, INTERACTION_COLUMNS, "interactions")[INTERACTION_COLUMNS]
    df["count"] = df["count"].astype("int64")
    return df


def read_splits(path: str | Path) -> pd.DataFrame:
    """splits.tsv: repetition (int), track_id, fold ('train'/'test'), seed (int), checked:
    errors name the file and line of a bad repetition or fold or a repeated track."""
    df = read_table(path, SPLIT_COLUMNS, "splits")[SPLIT_COLUMNS]
    rep = pd.to_numeric(df["repetition"], errors="coerce")
    if rep.isna().any():
        i = int(np.flatnonzero(rep.isna())[0])
        raise ValueError(f"{path}, line {line_of(i)}: repetition '{df.repetition.iloc[i]}' is not an integer")
    df["repetition"] = rep.astype("int64")
    bad = ~df["fold"].isin(["train", "test"])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path}, line {line_of(i)}: fold '{df.fold.iloc[i]}' is neither 'train' nor 'test'")
    dup = df.duplicated(["repetition", "track_id"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise ValueError(f"{path}, line {line_of(i)}: track '{df.track_id.iloc[i]}' appears twice in "
                         f"repetition {df.repetition.iloc[i]}")
    df["seed"] = df["seed"].astype("int64")
    return df


def read_report(path: str | Path) -> dict[str, str]:
    """report.tsv as item -> value."""
    df = read_table(path, ["item", "value"], "report")
    return dict(zip(df["item"], df["value"], strict=True))
