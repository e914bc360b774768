"""Model files and training checkpoints (atomic writes, safe loading).

A **model file** (``model.pt``) holds what feature extraction needs without the
config: the weights, the strategy, the ordered sources, width and k, the scaler, the
mel parameters, the representation layout, the run id, seed and code version.

A **checkpoint** (``checkpoint.pt``) adds what exact resumption needs: the optimizer
state, every random number generator state, the epoch reached, the log rows so far,
and a fingerprint of the run so that a changed run never resumes a stale checkpoint.

Both are ``torch.save`` dicts of tensors and plain Python values, loaded with
``weights_only=True`` (no arbitrary code runs when a file is read).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..util import atomic_path
from .network import MultiSourceNet, build_network

MODEL_FORMAT = "onerep-model/1"
CHECKPOINT_FORMAT = "onerep-checkpoint/1"


def _plain(value: Any) -> Any:
    """Convert numpy values to Python ones so that a file loads with ``weights_only``."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def cpu_state_dict(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The network's state on the CPU in contiguous (channels-first) layout."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in net.state_dict().items()}


def save_model(path: str | Path, net: MultiSourceNet, meta: dict[str, Any]) -> None:
    """Write a model file atomically.

    ``meta`` should hold ``scaler_mean``, ``scaler_std``, ``mel_params``, ``run_id``
    and ``seed`` (anything else is kept too); the network's own description
    (strategy, sources, width, k, representation) is filled in from ``net``.
    """
    payload = {k: _plain(v) for k, v in meta.items()}
    payload.update(
        format=MODEL_FORMAT,
        state_dict=cpu_state_dict(net),
        strategy=net.strategy.name,
        sources=list(net.sources),
        width=net.width,
        k=net.k,
        representation=[list(r) for r in net.representation],
        embedding_size=net.embedding_size,
    )
    payload.setdefault("onerep_version", __version__)
    payload.setdefault("torch_version", str(torch.__version__))
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path: str | Path, map_location: str | torch.device = "cpu"
               ) -> tuple[MultiSourceNet, dict[str, Any]]:
    """Rebuild the network of a model file; returns ``(net in eval mode, meta)``.

    In ``meta`` the scaler is given as float32 arrays and the representation as a
    list of ``(source, start, stop)`` tuples.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"{path}: not a readable onerep model file ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload)
        raise ValueError(f"{path}: not an onerep model file (format {found})")
    net = build_network(payload["strategy"], payload["sources"], k=payload["k"], width=payload["width"])
    try:
        net.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not match a '{payload['strategy']}' network "
                         f"of {payload['sources']}: {exc}") from None
    net.to(map_location).eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    for key in ("scaler_mean", "scaler_std"):
        if key in meta:
            meta[key] = np.asarray(meta[key], dtype=np.float32)
    meta["representation"] = [tuple(r) for r in meta["representation"]]
    return net, meta


# ---------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------
def fingerprint(parts: dict[str, Any]) -> str:
    """A short stable hash of the run description (settings, sources, seed, tracks...)."""
    text = json.dumps(_plain(parts), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rng_states(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    """Every random state training uses: torch's global CPU/CUDA ones and ``generators``."""
    out: dict[str, Any] = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["torch_cuda"] = torch.cuda.get_rng_state_all()
    out["generators"] = {name: g.get_state() for name, g in generators.items()}
    return out


def set_rng_states(states: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    """Restore what :func:`rng_states` saved."""
    torch.set_rng_state(states["torch_cpu"])
    if "torch_cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch_cuda"])
    for name, g in generators.items():
        g.set_state(states["generators"][name])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically (a kill during the write leaves the old one)."""
    payload = dict(state)
    payload["format"] = CHECKPOINT_FORMAT
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None when there is none or it cannot be read."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        return None
    return payload
