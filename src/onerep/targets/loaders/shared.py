"""Helpers the native-layout loaders share: absolute locations, class counts, split
values, audio-extension-less names and CSV tables read as stripped text."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..common import (
    AUDIO_EXTENSIONS,
    SPLIT_VALUES,
    TargetData,
)


def abs_location(path: Path) -> str:
    """Absolute path (symlinks kept as given)."""
    return os.path.abspath(path)


def strip_audio_ext(name: str) -> str:
    """A file name without its audio extension (other dots kept: ``blues.00000``)."""
    p = Path(name)
    return p.stem if p.suffix.lower() in AUDIO_EXTENSIONS else p.name


def class_counts(data: TargetData) -> None:
    counts = data.labels["label"].value_counts().sort_index()
    data.note("classes", len(counts), [f"{k}={v}" for k, v in counts.items()])

def split_value(raw: str, where: str) -> str:
    value = SPLIT_VALUES.get(raw.strip().lower())
    if value is None:
        raise ValueError(f"{where}: unknown split '{raw.strip()}' "
                         f"(expected one of {sorted(SPLIT_VALUES)})")
    return value



def read_csv_stripped(path: Path) -> pd.DataFrame:
    """A CSV with whitespace around cells and header names removed, all as text."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except UnicodeDecodeError:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                         encoding="latin-1")
    df.columns = [str(c).strip() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip()
    return df
