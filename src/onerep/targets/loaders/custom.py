"""A custom target: a labels CSV with a track id, a label, optional group and split
columns, and a folder of audio."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..common import (
    TargetData,
    bad_name,
    require_dir,
    require_file,
    target_from_rows,
    track_id_from_path,
)
from .shared import abs_location, class_counts, read_csv_stripped, split_value

# --------------------------------------------------------------------------- custom

def load_custom(cfg: dict[str, Any]) -> TargetData:
    """A user data set: a CSV of audio paths and labels (classification or regression).

    Paths are relative to ``root`` (default: the CSV's folder) or absolute. An
    optional ``group_column`` keeps tracks of a group on one side of the split. A
    column named ``split`` (train/valid/test), when present, is the data set's own
    split; otherwise the split is drawn at random (stratified for classification).
    Rows without a label or whose audio file is missing are skipped and counted.
    """
    name = cfg["name"]
    task = cfg.get("task")
    if task not in ("classification", "regression"):
        raise ValueError(f"target '{name}': a custom target's task must be classification or "
                         f"regression, got {task!r}")
    csv = require_file(Path(cfg.get("labels_csv") or ""), f"target '{name}' labels_csv")
    root = Path(cfg["root"]) if cfg.get("root") else csv.parent
    require_dir(root, f"target '{name}' root")
    df = read_csv_stripped(csv)
    path_col = cfg.get("path_column") or "path"
    label_col = cfg.get("label_column") or "label"
    group_col = cfg.get("group_column")
    split_col = cfg.get("split_column") or ("split" if "split" in df.columns else None)
    for c in (path_col, label_col, group_col, split_col):
        if c and c not in df.columns:
            raise ValueError(f"{csv}: column '{c}' missing (columns: {list(df.columns)})")
    rows, missing, unlabeled, bad = [], [], [], []
    seen: dict[str, int] = {}
    for i, r in df.iterrows():
        line = int(i) + 2
        where = f"{csv}:{line}"
        rel = r[path_col].replace("\\", "/")
        if not rel:
            raise ValueError(f"{where}: empty '{path_col}'")
        if bad_name(rel):
            bad.append(where)
            continue
        path = Path(rel) if os.path.isabs(rel) else root / rel
        if not r[label_col]:
            unlabeled.append(where)
            continue
        label = r[label_col]
        if task == "regression":
            try:
                label = repr(float(label))
            except ValueError:
                raise ValueError(f"{where}: label '{label}' in column '{label_col}' is not a "
                                 "number (task regression)") from None
        try:
            tid = track_id_from_path(Path(os.path.abspath(path)).relative_to(os.path.abspath(root)))
        except ValueError:
            tid = track_id_from_path(Path(os.path.abspath(path)).relative_to("/"))
        if tid in seen:
            raise ValueError(f"{where}: '{rel}' is the same track as line {seen[tid]}")
        seen[tid] = line
        if not path.is_file():
            missing.append(rel)
            continue
        row = {"track_id": tid, "location": abs_location(path), "label": label,
               "group": r[group_col] if group_col else ""}
        if split_col:
            row["split"] = split_value(r[split_col], f"{where} column '{split_col}'")
        rows.append(row)
    if not rows:
        raise ValueError(f"{csv}: no row names an existing audio file under {root}")
    data = target_from_rows(name, "custom", task, rows)
    data.note("rows", len(df))
    data.note("tracks", len(rows))
    data.note("missing_audio", len(missing), missing)
    data.note("rows_without_label", len(unlabeled), unlabeled)
    data.note("rows_with_tab_or_newline_in_path", len(bad), bad)
    if task == "classification":
        class_counts(data)
    if group_col:
        data.note("groups", int(data.labels["group"].nunique()))
    data.note("split", f"column '{split_col}'" if split_col else
              ("stratified random" if task == "classification" else "random"))
    return data
