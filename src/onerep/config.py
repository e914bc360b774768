"""Study configuration: load YAML, fill schema defaults, validate with clear messages.

The schema (``schema/config.schema.yaml``, also reachable as
``workflow/schemas/config.schema.yaml``) is the single description of every key.
Validation happens before any job starts: in the Snakefile at parse time and in
every CLI command that takes ``--configfile``.
"""

from __future__ import annotations

import copy
import difflib
import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # jsonschema is imported by validate() only: the stages' jobs read defaults without it
    import jsonschema

SCHEMA_FILE = "config.schema.yaml"

#: Keys of earlier versions (dotted) -> what replaced them; an old config naming one fails
#: with this hint rather than a plain "unknown key".
REPLACED_KEYS = {
    "audio.shard_size": (
        "audio.shards, the number of shards per data set, fixed at parse time (data set name -> "
        "shards, 'default' for the others, e.g. {default: 1, corpus: 100}); give a data set about "
        "its number of tracks / shard_size shards"
    ),
}


class ConfigError(ValueError):
    """A configuration that does not match the schema; the message names the key."""


def load_schema() -> dict[str, Any]:
    """Return the packaged JSON schema as a dict."""
    return copy.deepcopy(_schema())


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    """The packaged JSON schema, read once (callers must not change it)."""
    text = resources.files("onerep.schema").joinpath(SCHEMA_FILE).read_text()
    # libyaml's loader where PyYAML has it (a fifth of the time of the pure-Python one)
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    """The configuration every schema default gives (an empty config, defaults filled)."""
    return expand_data_root(fill_defaults({}, _schema()))


def schema_default(key: str) -> Any:
    """The schema's default of a dotted ``key`` (``"evaluate.repetitions"`` -> 5), with the
    defaults of its own keys filled in (``"evaluate.mlp"`` -> every MLP setting).

    Raises KeyError naming the key when the schema gives it no default (or has no such key).
    """
    node: Any = _defaults()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"the config schema has no default for '{key}'")
        node = node[part]
    return copy.deepcopy(node)


def key_schema(key: str) -> dict[str, Any] | None:
    """The (resolved) schema of a dotted ``key``; None when the schema has no such key."""
    root = _schema()
    node = _resolve(root, root)
    for part in key.split("."):
        sub = node.get("properties", {}).get(part)
        if sub is None:
            return None
        node = _resolve(sub, root)
    return node


def with_defaults(key: str, value: Any) -> Any:
    """``value`` of the dotted ``key`` with the schema defaults of its missing keys filled in
    (a partial ``evaluate.als`` dict gets every other ALS setting); unchanged where the schema
    has nothing to fill."""
    sub = key_schema(key)
    return value if sub is None else fill_defaults(value, sub, _schema())


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    merged = dict(node)
    merged.update({k: v for k, v in schema.items() if k != "$ref"})
    return _resolve(merged, root)


def fill_defaults(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """Return ``value`` with every missing key that has a schema default filled in."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if isinstance(value, dict) and "properties" in schema:
        out = dict(value)
        for key, sub in schema["properties"].items():
            sub_r = _resolve(sub, root)
            if key not in out and "default" in sub_r:
                out[key] = copy.deepcopy(sub_r["default"])
            if key in out:
                out[key] = fill_defaults(out[key], sub_r, root)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [fill_defaults(v, schema["items"], root) for v in value]
    return value


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "<top level>"


def _message(error: jsonschema.ValidationError, schema: dict[str, Any]) -> str:
    where = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        parts = []
        for key in extra:
            full = f"{where}.{key}" if where != "<top level>" else key
            if full in REPLACED_KEYS:
                parts.append(f"key '{full}' was removed: replaced by {REPLACED_KEYS[full]}")
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            parts.append(f"unknown key '{full}'{hint}; allowed here: {', '.join(allowed)}")
        return "; ".join(parts)
    if error.validator == "required":
        return f"missing key in '{where}': {error.message}"
    return f"key '{where}': {error.message}"


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults into ``config`` and validate it; raise :class:`ConfigError`.

    Returns the completed configuration (a new dict). Every problem is listed,
    each naming the dotted key it concerns.
    """
    import jsonschema

    schema = load_schema()
    full = fill_defaults(copy.deepcopy(config or {}), schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(full), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [_message(e, schema) for e in errors]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))
    full = expand_data_root(full)
    _check_semantics(full)
    return full


DATA_ROOT = "{data_root}"


def expand_data_root(cfg: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` with ``{data_root}`` in every string value replaced by ``cfg["data_root"]``."""
    root = str(cfg.get("data_root", "data")).rstrip("/") or "/"
    if DATA_ROOT in root:
        raise ConfigError(f"key 'data_root': {root!r} cannot itself contain {DATA_ROOT}")

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(DATA_ROOT, root)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(cfg)


def _check_semantics(cfg: dict[str, Any]) -> None:
    """Cross-key checks the JSON schema cannot express."""
    from onerep.sources.catalog import check_names

    try:
        check_names(cfg)  # every source of sources.names is built in or declared
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    unknown = [s for s in cfg["design"]["sources"] if s not in cfg["sources"]["names"]]
    if unknown:
        raise ConfigError(
            f"key 'design.sources': {unknown} are not among 'sources.names' {cfg['sources']['names']}"
        )
    names = [t["name"] for t in cfg["targets"]]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"key 'targets': duplicate target names {dup}")
    for i, t in enumerate(cfg["targets"]):
        if t["kind"] == "mediaeval2013" and t["dimension"] is None:
            raise ConfigError(f"key 'targets.{i}.dimension': mediaeval2013 needs arousal or valence")
        if t["kind"] == "custom" and (t["labels_csv"] is None or t["task"] is None):
            raise ConfigError(f"key 'targets.{i}': a custom target needs labels_csv and task")
        if t["kind"] != "custom" and t["root"] is None:
            raise ConfigError(f"key 'targets.{i}.root': target '{t['name']}' needs its data folder")


def load(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and return it validated with defaults filled in."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    try:
        return validate(raw or {})
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
