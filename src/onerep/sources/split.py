"""Which corpus tracks enter training (the equal-sample rule) and their train/valid split.

Survivors are the corpus tracks that have z for every source of the study's design
(``self`` needs no labels), as in the paper, where 46,490 tracks had labels of all
sources; with ``sources.require_all: false`` a track needs z of at least one design
source. The split is drawn over the survivors that are in the corpus mel store,
``audio.valid_fraction`` of them (the paper: 10 %) for validation, with a seed derived
from the study's seed and recorded in every row. A corpus with its own split
(``corpus.split_file``, e.g. MTG-Jamendo's official split) keeps it instead: its train
and valid (or validation) tracks keep their part, its test tracks and unlisted tracks
are left out (they may be a target's test part); the rows record seed -1.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..util import derive_seed, write_text_atomic
from .labelfile import label_attrs, load_labels

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = [
    "source", "method", "in_design", "in_manifest", "labelled_ids", "outside_corpus", "malformed",
    "unknown_ids", "missing_values", "with_labels", "survivors",
]


def survivors(
    manifest_ids: Sequence[str] | None,
    labels: dict[str, np.ndarray],
    design_sources: Sequence[str],
    require_all: bool = True,
) -> np.ndarray:
    """Track ids that enter training, sorted.

    ``labels`` maps a source to the ids that have its z. ``manifest_ids`` (None = the
    union of ``labels``) is the pool for a design whose only source is ``self``, or
    for ``require_all=False`` with ``self`` in the design."""
    need = [s for s in design_sources if s != "self"]
    missing = [s for s in need if s not in labels]
    if missing:
        raise ValueError(f"no label file given for design source(s) {missing}")
    pool = set(manifest_ids) if manifest_ids is not None else set().union(*map(set, labels.values()))
    if not need:
        return np.array(sorted(pool), dtype=str)
    sets = [set(map(str, labels[s])) for s in need]
    if require_all:
        keep = set.intersection(*sets)
    elif "self" in design_sources:
        keep = set(pool) | set.union(*sets)
    else:
        keep = set.union(*sets)
    if manifest_ids is not None:
        keep &= set(manifest_ids)
    return np.array(sorted(keep), dtype=str)


def _read_labels(paths: Sequence[str | Path]) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    ids: dict[str, np.ndarray] = {}
    attrs: dict[str, dict] = {}
    for p in paths:
        a = label_attrs(p)
        source = str(a.get("source", Path(p).stem))
        if source in ids:
            raise ValueError(f"{p}: a second label file for source {source}")
        ids[source], _ = load_labels(p)
        attrs[source] = a
    return ids, attrs


def summary_table(label_paths: Sequence[str | Path], design_sources: Sequence[str],
                  require_all: bool = True, manifest_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Per source: tracks in the manifest, with labels, ignored and bad records; a last
    row ``survivors`` with the number of tracks that have every design source."""
    ids, attrs = _read_labels(label_paths)
    rows = []
    for source, a in attrs.items():
        st = a.get("stats", {})
        rows.append({
            "source": source,
            "method": a.get("method", ""),
            "in_design": source in design_sources,
            "in_manifest": st.get("in_manifest"),
            "labelled_ids": st.get("labelled_ids"),
            "outside_corpus": st.get("outside_corpus"),
            "malformed": st.get("malformed"),
            "unknown_ids": st.get("unknown_ids"),
            "missing_values": st.get("missing_values"),
            "with_labels": len(ids[source]),
            "survivors": None,
        })
    in_manifest = max((r["in_manifest"] or 0 for r in rows), default=None)
    surv = survivors(manifest_ids, {s: ids[s] for s in ids}, [s for s in design_sources], require_all)
    rows.append({
        "source": "survivors", "method": "all design sources" if require_all else "any design source",
        "in_design": True, "in_manifest": in_manifest, "with_labels": len(surv), "survivors": len(surv),
    })
    for r in rows[:-1]:
        r["survivors"] = int(pd.Index(ids[r["source"]]).isin(surv).sum())
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for col in SUMMARY_COLUMNS[3:]:
        table[col] = table[col].astype("Int64")  # counts; empty where not applicable
    return table


def write_summary(path: str | Path, table: pd.DataFrame) -> None:
    """Write the labels summary (``labels/summary.tsv``, :func:`summary_table`) atomically."""
    write_text_atomic(path, table.to_csv(sep="\t", index=False))


def read_summary(path: str | Path) -> pd.DataFrame:
    """The labels summary written by :func:`write_summary`; ValueError naming the file when
    it lacks the ``source`` or ``survivors`` column."""
    table = pd.read_csv(path, sep="\t")
    missing = [c for c in ("source", "survivors") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: labels summary lacks columns {missing}")
    return table


def make_split(track_ids: Sequence[str], valid_fraction: float, seed: int) -> pd.DataFrame:
    """A seeded random train/valid split of ``track_ids`` (sorted first, so the order
    of the input does not matter). At least one track each when there are two or more."""
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    ids = np.array(sorted(set(map(str, track_ids))), dtype=str)
    n = len(ids)
    if n == 0:
        raise ValueError("no track survives: no corpus track has the mel spectrogram and the labels "
                         "of every design source (see labels/summary.tsv)")
    n_valid = int(round(valid_fraction * n))
    if n >= 2:
        n_valid = min(max(n_valid, 1), n - 1)
    rng = np.random.default_rng(seed)
    valid = np.zeros(n, dtype=bool)
    valid[rng.permutation(n)[:n_valid]] = True
    return pd.DataFrame({"track_id": ids, "split": np.where(valid, "valid", "train"), "seed": seed})


#: Parts of an own split file, and the corpus part each becomes (None: left out).
OWN_PARTS = {"train": "train", "valid": "valid", "validation": "valid", "test": None}


def write_own_split(parts: dict[str, str], out: str | Path) -> None:
    """Write an own split file (``track_id``, ``split``) read by :func:`read_own_split`."""
    df = pd.DataFrame({"track_id": list(parts), "split": list(parts.values())})
    write_text_atomic(out, df.sort_values("track_id").to_csv(sep="\t", index=False))


def read_own_split(path: str | Path) -> dict[str, str]:
    """An own split file: track_id -> train | valid | validation | test (checked, unique ids)."""
    df = read_split_table(path, tuple(OWN_PARTS))
    return dict(zip(df["track_id"], df["split"]))


def apply_own_split(track_ids: Sequence[str], parts: dict[str, str], where: str) -> pd.DataFrame:
    """The corpus split of ``track_ids`` from an own split (test and unlisted tracks left out)."""
    ids = sorted(set(map(str, track_ids)))
    split = [OWN_PARTS.get(parts.get(t, "test")) for t in ids]
    keep = [i for i, p in enumerate(split) if p is not None]
    out = pd.DataFrame({"track_id": [ids[i] for i in keep], "split": [split[i] for i in keep], "seed": -1})
    n_test = sum(1 for t in ids if parts.get(t) == "test")
    n_unlisted = sum(1 for t in ids if t not in parts)
    log.info("own split %s: %d train, %d valid; left out %d test and %d unlisted tracks", where,
             int((out["split"] == "train").sum()), int((out["split"] == "valid").sum()), n_test, n_unlisted)
    for part in ("train", "valid"):
        if not (out["split"] == part).any():
            raise ValueError(f"{where}: no track of the corpus is in its {part} part")
    return out


def corpus_split(mel_store: str | Path, label_paths: Sequence[str | Path], design_sources: Sequence[str],
                 require_all: bool, valid_fraction: float, master_seed: int, out: str | Path,
                 split_file: str | Path | None = None) -> pd.DataFrame:
    """Survivors that are in the mel store, split (randomly, or by ``split_file``) and
    written to ``out`` (TSV)."""
    from ..audio.store import MelStore

    mel_ids = np.array(MelStore(mel_store).track_ids, dtype=str)
    ids, _ = _read_labels(label_paths)
    surv = survivors(mel_ids, ids, design_sources, require_all)
    log.info("corpus split: %d tracks in the mel store; %d have %s design source(s) %s",
             len(mel_ids), len(surv), "every" if require_all else "at least one", list(design_sources))
    for s, i in ids.items():
        log.info("  %s: %d tracks with z, %d of them in the mel store", s, len(i), int(pd.Index(i).isin(mel_ids).sum()))
    if split_file is not None:
        df, seed = apply_own_split(surv, read_own_split(split_file), str(split_file)), -1
    else:
        seed = derive_seed(master_seed, "split")
        df = make_split(surv, valid_fraction, seed)
    write_text_atomic(out, df.to_csv(sep="\t", index=False))
    log.info("corpus split: %d train, %d valid (seed %d) -> %s",
             int((df["split"] == "train").sum()), int((df["split"] == "valid").sum()), seed, out)
    return df


def read_split_table(path: str | Path, parts: Sequence[str] = ("train", "valid")) -> pd.DataFrame:
    """A split TSV (header ``track_id``, ``split``; other columns kept), checked: every split
    value among ``parts`` and every track listed once; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"split file not found: {path}")
    df = pd.read_csv(path, sep="\t", dtype=str, na_filter=False)
    for col in ("track_id", "split"):
        if col not in df.columns:
            raise ValueError(f"{path}: no '{col}' column (needs a header track_id, split)")
    bad = ~df["split"].isin(list(parts))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{path}: line {i + 2}: split {df['split'].iloc[i]!r} is not one of "
                         f"{', '.join(parts)}")
    dup = df["track_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(f"{path}: line {i + 2}: track {df['track_id'].iloc[i]!r} is listed twice")
    return df


def load_split(path: str | Path) -> pd.DataFrame:
    """The corpus split as a DataFrame with columns track_id, split (train/valid)."""
    return read_split_table(path)[["track_id", "split"]].reset_index(drop=True)
