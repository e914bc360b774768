"""Small helpers shared by every stage: atomic outputs, seeds, logging, progress."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def derive_seed(*parts: object) -> int:
    """A 32-bit seed derived deterministically from ``parts`` (stable across runs and machines)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


# Kinds of temporary siblings an output's writers use: ``.{name}.{kind}{pid}``.
TEMP_KINDS = ("tmp", "unmerged", "old")


def temp_sibling(path: str | Path, kind: str = "tmp") -> Path:
    """The temporary name of this process for ``path``: ``.{name}.{kind}{pid}`` beside it."""
    if kind not in TEMP_KINDS:
        raise ValueError(f"{path}: unknown kind of temporary {kind!r} (one of {TEMP_KINDS})")
    path = Path(path)
    return path.with_name(f".{path.name}.{kind}{os.getpid()}")


def pid_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists on this machine (signal 0 probes it)."""
    if pid <= 0:
        return True  # not a process id we write; treat as in use
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists but belongs to another user
        return True
    return True


def _remove(path: Path) -> None:
    """Delete a file or a folder tree; a path already gone is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete the temporaries of ``path`` left by processes that no longer exist.

    A temporary is a sibling named like :func:`temp_sibling` makes them, possibly nested
    (``..x.h5.unmerged17.tmp17``, the temporary of a temporary). It is deleted only when
    no process id in its name is alive; one whose process runs is kept (a pid reused by
    an unrelated process merely keeps the litter). Returns the paths deleted.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    kinds = "|".join(TEMP_KINDS)
    pattern = re.compile(rf"\.+{re.escape(path.name)}((?:\.(?:{kinds})\d+)+)")
    removed: list[Path] = []
    for sibling in path.parent.iterdir():
        match = pattern.fullmatch(sibling.name)
        if not match:
            continue
        pids = [int(p) for p in re.findall(r"\d+", match.group(1))]
        if any(pid_alive(p) for p in pids):
            continue
        _remove(sibling)
        removed.append(sibling)
    if removed:
        logging.getLogger("onerep").info(
            "%s: removed %d temporary file(s) left by killed jobs: %s", path, len(removed),
            ", ".join(p.name for p in removed))
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    An interrupted job therefore never leaves a file that looks complete; temporaries
    of ``path`` left by killed jobs are deleted first (:func:`remove_stale_temporaries`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = temp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            _remove(tmp)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Log to stderr and, when given, to ``log_file`` (the rule's log)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    return logging.getLogger("onerep")


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterable[T]:
    """Progress bar on stderr (tqdm), quiet when stderr is not a terminal except for periodic lines."""
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, file=sys.stderr, mininterval=5.0,
                disable=os.environ.get("ONEREP_NO_PROGRESS") == "1")


def lazy_exports(package: str, names: dict[str, tuple[str, ...]]):
    """Module-level ``__getattr__``, ``__dir__`` and ``__all__`` that import on first use.

    ``names`` maps a submodule of ``package`` to the names it exports. A stage package
    uses this so that importing it (as the ``onerep`` command line does for every
    command) does not pull in torch, scipy or pandas before a command needs them.
    """
    import importlib

    where = {name: module for module, exported in names.items() for name in exported}

    def __getattr__(name: str):
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)


def load_json_arg(text: str, what: str):
    """The JSON value of a command-line option (``@file`` reads a file).

    Raises ValueError naming the option when the text is not valid JSON."""
    import json

    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None


def parse_settings(text: str | None, what: str = "--settings", hint: str = "") -> dict:
    """The JSON object a rule passes on the command line (or ``@file``); ``{}`` when empty.

    Raises ValueError naming the option (and ``hint``) when it is not a JSON object."""
    if not text:
        return {}
    value = load_json_arg(text, what)
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object{hint}")
    return value


def setting(settings: dict, key: str):
    """A setting by dotted key, from the flat ``{"sources.k": 50}`` JSON the rules pass
    or a nested ``{"sources": {"k": 50}}`` dict.

    A key the settings lack takes the config schema's default (the single place defaults
    live), and a section given in part gets the defaults of its other keys; a key without
    a default is a ValueError naming it and ``--settings``."""
    if key in settings:
        return _filled(key, settings[key])
    node = settings
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _schema_default(key)
        node = node[part]
    return _filled(key, node)


def _filled(key: str, value):
    """A settings section (a dict) with the schema defaults of the keys it lacks; other values as given."""
    if not isinstance(value, dict):
        return value
    from onerep.config import with_defaults

    return with_defaults(key, value)


def _schema_default(key: str):
    """The schema's default of ``key``; ValueError when it has none."""
    from onerep.config import schema_default

    try:
        return schema_default(key)
    except KeyError:
        raise ValueError(f"--settings lacks '{key}' and the config schema gives it no default") from None
