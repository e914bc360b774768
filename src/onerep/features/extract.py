"""Feature extraction with a trained network: from a mel store, or from a folder of audio.

Feature files (HDF5): ``track_id`` (N,) UTF-8, ``features`` float32 (N, 2D) =
[means | stds] over the clip's windows (see :mod:`onerep.features.pool`),
``n_windows`` int64 (N,); attributes ``rep``, ``target``, ``windows`` (total number
of windows), ``crop_frames``, ``windowing`` (the rule placing the windows, "even-cover",
see :mod:`onerep.features.pool`), ``pooling`` (the same in words), ``seed`` (-1 where
nothing is random) and what produced the file (run id, strategy, sources,
representation layout).
Inside the workflow the rows follow the order of the target's mel store, so every
representation of a target lists the same tracks in the same order.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from onerep import __version__
from onerep.audio.store import MelStore
from onerep.util import atomic_path, progress

from .pool import CROP_FRAMES, WINDOWING, Embed, pooled_features

log = logging.getLogger("onerep.features")

POOLING = ("[means | stds] over windows of crop_frames frames; population std (ddof=0); "
           "windowing even-cover: ceil(T / crop_frames) windows evenly spaced from frame 0 to "
           "the last frame (starts = round(linspace(0, T - crop_frames, W))), every frame "
           "covered, no padding; clips shorter than one window tiled by repetition")

# Mel parameters that must agree between a model and the mel frames fed to it.
MEL_KEYS = ("sample_rate", "n_fft", "hop_length", "n_mels")


# ------------------------------------------------------------------ files

def write_features(path: str | Path, track_ids: Sequence[str], features: np.ndarray,
                   n_windows: np.ndarray, attrs: dict[str, Any]) -> None:
    """Write a feature file atomically (format in the module docstring)."""
    import h5py

    features = np.asarray(features, dtype=np.float32)
    if len(features) != len(track_ids) or len(n_windows) != len(track_ids):
        raise ValueError(f"{path}: {len(track_ids)} track ids, {len(features)} feature rows, "
                         f"{len(n_windows)} window counts")
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("track_id", data=np.array(list(track_ids), dtype=object),
                              dtype=h5py.string_dtype())
            h5.create_dataset("features", data=features)
            h5.create_dataset("n_windows", data=np.asarray(n_windows, dtype=np.int64))
            full = {"windows": int(np.sum(n_windows)), "crop_frames": CROP_FRAMES,
                    "windowing": WINDOWING, "pooling": POOLING, "seed": -1,
                    "onerep_version": __version__}
            full.update(attrs)
            for key, value in full.items():
                if isinstance(value, (list, tuple)) and (not value or isinstance(value[0], str)):
                    h5.attrs[key] = np.array(list(value), dtype=h5py.string_dtype())
                elif isinstance(value, (dict, list, tuple)):
                    h5.attrs[key] = json.dumps(value)
                elif value is None:
                    h5.attrs[key] = ""
                else:
                    h5.attrs[key] = value


def read_features_file(path: str | Path) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """The datasets ``track_id`` and ``features`` (as stored) and the attributes of a
    feature file, unchecked: the format's one HDF5 reader (user files are checked by
    ``onerep.features.baselines.user_features``, the stage's own by :func:`load_features`)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: feature file not found")
    try:
        with h5py.File(path, "r") as h5:
            for name in ("track_id", "features"):
                if name not in h5:
                    raise ValueError(f"{path}: dataset '{name}' missing (has {sorted(h5)})")
            ids = [str(t) for t in h5["track_id"].asstr()[:]]
            raw = np.asarray(h5["features"][:])
            attrs: dict[str, Any] = {}
            for k, v in h5.attrs.items():
                if isinstance(v, np.ndarray) and v.dtype.kind in "OSU":
                    attrs[k] = [x.decode() if isinstance(x, bytes) else str(x) for x in v]
                elif isinstance(v, np.generic):
                    attrs[k] = v.item()
                else:
                    attrs[k] = v
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 features file ({exc})") from None
    return ids, raw, attrs


def load_features(path: str | Path) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """Read a feature file: (track ids, features (N, F) float32, attributes).

    The reader evaluation and the analysis use; it checks what they rely on: 2-D
    numeric finite features, one row per track id, ids unique.
    """
    ids, raw, attrs = read_features_file(path)
    _check_features(Path(path), ids, raw)
    return ids, raw.astype(np.float32, copy=False), attrs


def _check_features(path: Path, ids: list[str], X: np.ndarray) -> None:
    """Raise ``ValueError`` naming the file (and tracks) when the features are unusable."""
    if X.ndim != 2:
        raise ValueError(f"{path}: 'features' must be 2-D (tracks x dimensions), has shape {X.shape}")
    if X.shape[0] != len(ids):
        raise ValueError(f"{path}: {len(ids)} track ids but {X.shape[0]} feature rows")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{path}: empty features (shape {X.shape})")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{path}: 'features' is not numeric ({X.dtype})")
    seen: set[str] = set()
    dup = [t for t in ids if t in seen or seen.add(t)]
    if dup:
        raise ValueError(f"{path}: duplicate track ids, e.g. {dup[:3]}")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        examples = [ids[i] for i in np.flatnonzero(bad)[:3]]
        raise ValueError(f"{path}: non-finite feature values (NaN/inf) for {int(bad.sum())} tracks, "
                         f"e.g. {examples}")


# ------------------------------------------------------------------ networks

def resolve_device(device: str = "auto") -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no GPU is visible")
    return device


def torch_embedder(net: Any, device: str = "cpu") -> Embed:
    """Wrap a network with ``.embed`` as a function of numpy windows (eval mode, no grad).

    Channels-last (NHWC) on every device: on the CPU oneDNN's NHWC convolutions ran this
    network 1.65x faster than NCHW (measured at width 0.25, one thread).
    """
    import torch

    net.eval()
    net.to(device=device, memory_format=torch.channels_last)

    def embed(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            xt = torch.from_numpy(x).to(device).contiguous(memory_format=torch.channels_last)
            out = net.embed(xt)
        return out.float().cpu().numpy()

    return embed


def check_mel_params(model_params: dict[str, Any] | None, store_attrs: dict[str, Any],
                     where: str) -> None:
    """Raise when the mel store was computed with other parameters than the model's input."""
    if not model_params:
        return
    diff = [f"{k}: model {model_params[k]} vs store {store_attrs[k]}" for k in MEL_KEYS
            if k in model_params and k in store_attrs
            and float(model_params[k]) != float(store_attrs[k])]
    if diff:
        raise ValueError(f"{where}: mel parameters differ from the model's ({'; '.join(diff)})")


def _scaler(meta: dict[str, Any], where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        mean = np.asarray(meta["scaler_mean"], dtype=np.float32).reshape(-1)
        std = np.asarray(meta["scaler_std"], dtype=np.float32).reshape(-1)
    except KeyError as exc:
        raise ValueError(f"{where}: model has no {exc.args[0]}") from None
    if not (np.all(np.isfinite(std)) and np.all(std > 0)):
        raise ValueError(f"{where}: scaler standard deviations must be positive and finite")
    return mean, std


# ------------------------------------------------------------------ mel store

def store_clips(store: MelStore, desc: str) -> Iterator[np.ndarray]:
    """The mel frames of every track of a store, in store order (with a progress bar)."""
    for i in progress(range(len(store)), desc=desc, total=len(store)):
        yield np.asarray(store.get(i))


def store_crop(store: MelStore) -> int:
    """Window length of a store (its ``crop_frames`` attribute, default 216)."""
    return int(store.attrs.get("crop_frames", CROP_FRAMES))


def extract_store(embed: Embed, store: MelStore, mean: np.ndarray, std: np.ndarray,
                  batch_size: int, desc: str = "extract", crop: int | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Pooled features of every track of a mel store: (features, windows per track).

    ``crop`` defaults to the store's window length.
    """
    if len(store) == 0:
        raise ValueError("the mel store holds no track")
    return pooled_features(store_clips(store, desc), embed, mean=mean, std=std,
                           crop=crop or store_crop(store), batch_size=batch_size)


def extract_run(model_path: str | Path, mel_path: str | Path, out: str | Path, *, rep: str,
                target: str, batch_size: int = 256, device: str = "auto",
                loaded: tuple[Any, dict[str, Any]] | None = None) -> int:
    """Features of one target with one trained run; writes ``out``; returns the track count.

    ``loaded``: the ``onerep.models.load_model(model_path)`` pair, when the caller serves
    several targets.
    """
    from onerep.models import load_model

    net, meta = loaded if loaded is not None else load_model(model_path)
    mean, std = _scaler(meta, str(model_path))
    store = MelStore(mel_path)
    check_mel_params(meta.get("mel_params"), store.attrs, f"{mel_path} with {model_path}")
    crop = int(meta.get("crop_frames") or store_crop(store))
    dev = resolve_device(device)
    feats, windows = extract_store(torch_embedder(net, dev), store, mean, std, batch_size,
                                   desc=f"{rep}/{target}", crop=crop)
    write_features(out, store.track_ids, feats, windows, {
        "rep": rep, "target": target, "source": "run", "model": str(model_path),
        "run_id": str(meta.get("run_id", rep)), "seed": int(meta.get("seed", -1)),
        "strategy": str(meta.get("strategy", "")), "sources": list(meta.get("sources", [])),
        "representation": meta.get("representation", []), "crop_frames": crop,
        "device": dev})
    log.info("%s/%s: %d tracks, %d windows, %d dims", rep, target, len(feats),
             int(windows.sum()), feats.shape[1])
    return len(feats)


# ------------------------------------------------------------------ a folder of audio

def find_audio(audio_dir: str | Path) -> list[Path]:
    """Audio files under ``audio_dir`` (recursively, by extension), sorted by relative path."""
    from onerep.targets.common import AUDIO_EXTENSIONS  # here: it imports pandas

    root = Path(audio_dir)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    return sorted((p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in AUDIO_EXTENSIONS),
                  key=lambda p: p.relative_to(root).as_posix())


def mel_function(params: dict[str, Any]) -> Callable[[Path], np.ndarray]:
    """path -> dB mel (T, 2, n_mels) with the model's parameters.

    ``params`` uses the mel store's attribute names (a model's ``mel_params``); a NaN
    ``top_db`` (how a store records "no clipping") means None.
    """
    from onerep.audio.mel import MelParams, compute_mel

    mp = MelParams.from_settings(params)
    return lambda p: compute_mel(p, mp)


def extract_folder(model_path: str | Path, audio_dir: str | Path, out: str | Path, *,
                   batch_size: int = 64, device: str = "auto",
                   ) -> tuple[int, list[tuple[str, str]]]:
    """One feature vector per audio file under ``audio_dir``; writes ``out``.

    ``track_id`` is the path relative to ``audio_dir``. Files that cannot be read are
    skipped, listed on stderr and in the attribute ``unreadable`` ("path: reason").
    Returns (files written, unreadable (path, reason) pairs).
    """
    from onerep.targets.common import AUDIO_EXTENSIONS

    root = Path(audio_dir)
    files = find_audio(root)
    if not files:
        raise ValueError(f"{root}: no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))})")
    from onerep.models import load_model

    net, meta = load_model(model_path)
    mean, std = _scaler(meta, str(model_path))
    params = dict(meta.get("mel_params") or {})
    compute = mel_function(params)
    crop = int(meta.get("crop_frames") or params.get("crop_frames") or CROP_FRAMES)
    ids: list[str] = []
    bad: list[tuple[str, str]] = []

    def clips() -> Iterator[np.ndarray]:
        for f in progress(files, desc="extract", total=len(files)):
            rel = f.relative_to(root).as_posix()
            try:
                mel = compute(f)
                if mel.ndim != 3 or len(mel) == 0:
                    raise ValueError(f"no frames (shape {mel.shape})")
            except Exception as exc:  # noqa: BLE001 - any decoding failure skips the file
                text = str(getattr(exc, "reason", "") or exc).strip()
                reason = text.splitlines()[0] if text else type(exc).__name__
                bad.append((rel, reason))
                print(f"unreadable: {rel}: {reason}", file=sys.stderr)
                continue
            ids.append(rel)
            yield mel

    dev = resolve_device(device)
    feats, windows = pooled_features(clips(), torch_embedder(net, dev), mean=mean, std=std,
                                     crop=crop, batch_size=batch_size)
    write_features(out, ids, feats, windows, {
        "rep": str(meta.get("run_id", Path(model_path).stem)), "target": "",
        "source": "folder", "model": str(model_path), "audio_dir": str(root),
        "seed": int(meta.get("seed", -1)), "strategy": str(meta.get("strategy", "")),
        "sources": list(meta.get("sources", [])),
        "representation": meta.get("representation", []), "crop_frames": crop,
        "files": len(files), "unreadable": [f"{p}: {r}" for p, r in bad]})
    return len(ids), bad
