"""Each file format has one reader, next to its writer (docs/architecture.md, "Formats").

The package is scanned for calls that open files of a format by hand (``h5py.File``,
``torch.load``, ``np.load``, ``pd.read_csv``); each is allowed only in the modules that
own a format (its writer and reader) or read a foreign native format. A second
hand-written reader anywhere else fails here: call the format's reader instead.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "onerep"

#: call -> modules (relative to src/onerep) allowed to make it, and why.
ALLOWED: dict[str, dict[str, str]] = {
    "h5py.File": {
        "audio/store.py": "mel store: StoreWriter / MelStore",
        "sources/labelfile.py": "labels: write_labels / load_labels, label_attrs",
        "features/extract.py": "features: write_features / read_features_file",
        "sources/audio_sources.py": "audio descriptors: compute_descriptors / load_descriptors",
        "sources/loaders/tables.py": "foreign: the MSD summary HDF5 (tempo)",
    },
    "torch.load": {"models/checkpoint.py": "model: save_model / load_model, checkpoints"},
    "np.load": {"audio/scaler.py": "scaler: compute_scaler / load_scaler"},
    "pd.read_csv": {
        "targets/files.py": "target files: write_target / read_table, read_splits",
        "evaluate/scores.py": "scores: write_scores / read_score_file",
        "sources/split.py": "corpus split: corpus_split / read_split_table; labels summary: read_summary",
        "sources/labelfile.py": "topic tables: write_topics / read_topics",
        "design/runs.py": "run table: write_runs / read_runs",
        "design/diagnostics.py": "alias matrices: write_alias / read_alias",
        "models/trainlog.py": "training logs: write_log / read_log",
        "audio/manifest.py": "manifest and records TSVs: read_tsv (records: audio/records.read_records)",
        "analysis/tables.py": "the analysis stage's own tables: write_tsv / read_tsv",
        "analysis/tsne.py": "the t-SNE table: write_tsne / read_tsne",
        "sources/loaders/taste.py": "foreign: Taste Profile triplets",
        "targets/loaders/lastfm.py": "foreign: Last.fm-1K audio manifest",
        "targets/loaders/tables.py": "foreign: FMA tracks.csv",
        "targets/loaders/shared.py": "foreign: CSV tables of MediaEval and custom targets",
    },
}

#: Aliases under which the modules are imported in the package.
MODULE_ALIASES = {"h5py": "h5py", "torch": "torch", "np": "np", "numpy": "np", "pd": "pd", "pandas": "pd"}


def _calls(path: Path) -> list[tuple[str, int]]:
    """``(module.function, line)`` of the watched calls in one source file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in MODULE_ALIASES:
            name = f"{MODULE_ALIASES[node.func.value.id]}.{node.func.attr}"
            if name in ALLOWED:
                out.append((name, node.lineno))
    return out


def _found() -> list[tuple[str, str, int]]:
    """``(module relative to src/onerep, call, line)`` of every watched call checked here."""
    out = []
    for p in sorted(PACKAGE.rglob("*.py")):
        rel = p.relative_to(PACKAGE).as_posix()
        out += [(rel, name, line) for name, line in _calls(p)]
    return out


def test_formats_are_read_only_by_their_reader_modules() -> None:
    stray = [f"{rel}:{line}: {name}" for rel, name, line in _found() if rel not in ALLOWED[name]]
    assert not stray, ("files opened by hand outside their format's module; call the reader "
                       "(docs/architecture.md, Formats) instead:\n" + "\n".join(stray))


def test_every_allowed_module_still_reads() -> None:
    """A stale entry would let a new hand reader in unnoticed."""
    found = {(rel, name) for rel, name, _ in _found()}
    stale = [f"{mod}: {name}" for name, mods in ALLOWED.items() for mod in mods if (mod, name) not in found]
    assert not stale, "ALLOWED lists modules that no longer make the call: " + ", ".join(stale)


@pytest.mark.parametrize("module,writer,reader", [
    ("onerep.audio.store", "write_store", "MelStore"),
    ("onerep.sources.split", "corpus_split", "read_split_table"),
    ("onerep.sources.labelfile", "write_labels", "load_labels"),
    ("onerep.features.extract", "write_features", "load_features"),
    ("onerep.evaluate.scores", "write_scores", "read_score_file"),
    ("onerep.models.checkpoint", "save_model", "load_model"),
    ("onerep.targets.files", "write_target", "read_splits"),
    ("onerep.design.runs", "write_runs", "read_runs"),
    ("onerep.design.diagnostics", "write_alias", "read_alias"),
    ("onerep.sources.labelfile", "write_topics", "read_topics"),
    ("onerep.sources.split", "write_summary", "read_summary"),
    ("onerep.models.trainlog", "write_log", "read_log"),
    ("onerep.audio.records", "write_records", "read_records"),
])
def test_reader_sits_next_to_its_writer(module: str, writer: str, reader: str) -> None:
    mod = importlib.import_module(module)
    assert callable(getattr(mod, writer)) and callable(getattr(mod, reader))
    assert getattr(mod, reader).__module__ == module


def test_the_thin_forwarding_readers_are_gone() -> None:
    """The wrappers that only forwarded to a format's reader were removed; callers import
    the reader itself."""
    gone = {"onerep.models.data": ("read_store_index", "StoreIndex", "read_split", "read_labels"),
            "onerep.audio.scaler": ("read_split",),
            "onerep.features.extract": ("load_model",),
            "onerep.features.baselines": ("load_scaler_file",),
            "onerep.evaluate.data": ("load_splits",)}
    left = [f"{m}.{n}" for m, names in gone.items() for n in names if hasattr(importlib.import_module(m), n)]
    assert not left, left
    with pytest.raises(ImportError):
        importlib.import_module("onerep.features.melstore")
