"""The training settings: the config's ``train`` section plus ``audio.crop_frames``.

A setting's default and its valid values live in the config schema only
(``schema/config.schema.yaml``): :meth:`TrainSettings.from_mapping` fills every key
the mapping lacks with the schema's default and checks the values against the
schema's description of the key.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from ..util import parse_settings


@dataclass
class TrainSettings:
    """The training settings; build them with :meth:`from_mapping` or :meth:`from_json`."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    width: float
    loss_weighting: str
    probe_epochs: int
    max_iterations_per_epoch: int | None
    crop_frames: int
    # Runtime settings: how the run is executed, not what it computes.
    checkpoint_every: int
    device: str
    compile: bool
    #: Autocast precision: auto = bf16 on CUDA, float32 on the CPU (see
    #: :func:`onerep.models.device.compute_plan`); bf16 on the CPU runs the GPU's numerics.
    precision: str

    #: Keys that change the trained parameters (they enter the resume fingerprint;
    #: ``epochs`` is left out so that a finished run can be extended).
    RESULT_KEYS = ("batch_size", "learning_rate", "weight_decay", "width", "loss_weighting",
                   "probe_epochs", "max_iterations_per_epoch", "crop_frames")
    #: Config keys accepted but not used by a training job.
    IGNORED_KEYS = ("mss_from_ssr",)

    @staticmethod
    def _flatten(data: dict[str, Any]) -> dict[str, Any]:
        """Field names from nested (``{"train": {...}}``) or dotted (``"train.x"``) keys."""
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("train", "audio") and isinstance(value, dict):
                for k, v in value.items():
                    flat[k if key == "train" else f"audio.{k}"] = v
            elif key.startswith("train."):
                flat[key[len("train."):]] = value
            else:
                flat[key] = value
        if "audio.crop_frames" in flat:
            flat["crop_frames"] = flat.pop("audio.crop_frames")
        return flat

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> TrainSettings:
        """Settings from the rule's JSON: ``{"train": {...}, "audio.crop_frames": N}``.

        Dotted keys (``"train.epochs"``), a nested ``audio`` section and plain field
        names are accepted too; unknown keys are errors. A missing key takes the
        schema's default; a value the schema rejects raises ``ValueError`` naming the key.
        """
        from ..config import schema_default

        flat = cls._flatten(data)
        names = [f.name for f in dataclasses.fields(cls)]
        kwargs = {}
        for key, value in flat.items():
            if key in cls.IGNORED_KEYS or (key.startswith("audio.") and key != "audio.crop_frames"):
                continue
            if key not in names:
                raise ValueError(f"unknown training setting '{key}'; known: {', '.join(sorted(names))}")
            kwargs[key] = value
        for key in names:
            if key not in kwargs:
                kwargs[key] = schema_default(config_key(key))
        _check_against_schema(kwargs)
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str, runtime: str | None = None) -> TrainSettings:
        """Settings from the rule's ``--settings`` JSON, plus the ``--runtime`` JSON
        (device, compile, checkpoint interval) when given (see :meth:`from_mapping`)."""
        merged: dict[str, Any] = {}
        for name, value in (("--settings", text), ("--runtime", runtime)):
            if not value:
                continue
            merged.update(cls._flatten(parse_settings(value, name)))
        return cls.from_mapping(merged)

    def result_dict(self) -> dict[str, Any]:
        """The settings that determine the trained parameters (recorded with the model)."""
        out = {k: getattr(self, k) for k in self.RESULT_KEYS}
        out["epochs"] = self.epochs
        return out


def config_key(field: str) -> str:
    """The config's dotted key of a setting (``crop_frames`` -> ``audio.crop_frames``)."""
    return "audio.crop_frames" if field == "crop_frames" else f"train.{field}"


@functools.cache
def setting_schemas() -> dict[str, dict[str, Any]]:
    """The config schema's description of every setting (field name -> property schema)."""
    from ..config import key_schema

    out = {}
    for f in dataclasses.fields(TrainSettings):
        schema = key_schema(config_key(f.name))
        if schema is None:
            raise KeyError(f"the config schema has no key '{config_key(f.name)}'")
        out[f.name] = schema
    return out


def _check_against_schema(values: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first setting the schema rejects."""
    import jsonschema

    schema = {"type": "object", "properties": setting_schemas()}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(values),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        e = errors[0]
        key = ".".join(map(str, e.absolute_path))
        raise ValueError(f"training setting '{key}' ({config_key(key)}): {e.message}")
