"""Multi-source training of one run (SPEC section 5, Algorithm 1), resumable and GPU-first.

:func:`train_run` is what ``onerep train`` runs: it sets up the device
(:mod:`onerep.models.device`), loads the run's data, resumes the run's checkpoint or
probes the loss weights, builds the network, runs the epochs of
:class:`onerep.models.loop.Trainer` and writes the training log, the checkpoints and
the model file. The settings are :class:`onerep.models.settings.TrainSettings`.

One epoch is ``L = ceil(train tracks / b) x m`` iterations. A user may cap it with
``max_iterations_per_epoch``; a cap below L departs from Algorithm 1 (each source gets
fewer updates than the paper gives it), so the run's log warns once and the model file
records ``epoch_capped``, ``iterations_per_epoch`` and
``algorithm1_iterations_per_epoch``.

Every random choice comes from generators seeded with ``derive_seed(seed, ...)``;
their states are saved in each checkpoint together with the weights and optimizer,
so a killed run resumes from its last checkpoint and, on the CPU, ends with the
same parameters as a run that was never interrupted.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..util import derive_seed, progress
from .checkpoint import fingerprint, load_checkpoint, save_checkpoint, save_model
from .data import RunData, load_run_data
from .device import compute_plan, configure_torch, resolve_device
from .loop import Trainer
from .network import build_network
from .settings import TrainSettings
from .strategies import get_strategy
from .trainlog import write_log

log = logging.getLogger("onerep.models")

#: Called with the epoch right after each checkpoint is written (see :func:`train_run`).
CheckpointHook = Callable[[int], None]


# ---------------------------------------------------------------------------------
# Loss weighting
# ---------------------------------------------------------------------------------
def probe_weights(strategy: str, sources: list[str], data: RunData, settings: TrainSettings,
                  seed: int, device: torch.device, run_id: str = ""
                  ) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Inverse mean validation loss per source from a short equal-weight probe run.

    The probe trains a separately initialised network for ``probe_epochs`` epochs
    (its own random streams); the weights are ``1 / mean validation loss``,
    scaled so that they average 1 over the sources (Wu et al. 2021's re-weighting).
    """
    net = build_network(strategy, sources, k=data.k, width=settings.width,
                        seed=derive_seed(seed, "probe", "init"))
    trainer = Trainer(net, data, settings, seed, device, stream="probe", run_id=run_id)
    history: dict[str, list[float]] = {s: [] for s in sources}
    rows = []
    for epoch in range(1, settings.probe_epochs + 1):
        t0 = time.perf_counter()
        train = trainer.run_epoch(epoch, phase="probe")
        valid = trainer.validate()
        for s in sources:
            v = valid[s] if math.isfinite(valid[s]) else train[s][0]
            history[s].append(v)
        rows += log_rows(run_id, "probe", epoch, train, valid, trainer.weights, time.perf_counter() - t0)
    inv = {s: 1.0 / max(sum(v) / len(v), 1e-12) for s, v in history.items()}
    scale = len(inv) / sum(inv.values())
    weights = {s: w * scale for s, w in inv.items()}
    log.info("loss weights from the probe: %s", {s: round(w, 4) for s, w in weights.items()})
    return weights, rows




# ---------------------------------------------------------------------------------
# Logs and seeds
# ---------------------------------------------------------------------------------
def derived_seeds(seed: int, probe: bool = False) -> dict[str, int]:
    """Every seed a run derives from its run seed (recorded in the model file)."""
    streams = ["train", "probe"] if probe else ["train"]
    out = {f"{st}.{part}": derive_seed(seed, st, part) for st in streams
           for part in ("init", "sample", "schedule", "dropout")}
    out["valid.crops"] = derive_seed(seed, "valid", "crops")
    return out


def log_rows(run_id: str, phase: str, epoch: int, train: dict[str, tuple[float, int]],
             valid: dict[str, float], weights: dict[str, float], seconds: float) -> list[dict[str, Any]]:
    """Rows of the per-epoch training log."""
    return [{"run_id": run_id, "phase": phase, "epoch": epoch, "source": s,
             "iterations": train[s][1], "train_loss": train[s][0], "valid_loss": valid[s],
             "weight": weights[s], "epoch_seconds": round(seconds, 3)} for s in train]


# ---------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------
def resumable_checkpoint(path: Path, fp: str, epochs: int) -> dict[str, Any] | None:
    """The checkpoint at ``path`` when it belongs to this run (fingerprint ``fp``) and to
    at most ``epochs`` epochs; otherwise None (with a warning when one was there)."""
    ckpt = load_checkpoint(path)
    if ckpt is not None and (ckpt.get("fingerprint") != fp or ckpt["epoch"] > epochs):
        log.warning("ignoring %s: it belongs to a different run description or to more epochs "
                    "(epoch %s); training from scratch", path, ckpt.get("epoch"))
        return None
    return ckpt


def log_schedule(trainer: Trainer, settings: TrainSettings) -> None:
    """Log the epoch length, and warn when the cap shortens it below Algorithm 1's."""
    m = len(trainer.sources)
    log.info("%d iterations of batch %d per epoch, %d epochs, weights %s",
             trainer.iterations, trainer.b, settings.epochs, trainer.weights)
    if trainer.capped:
        log.warning("train.max_iterations_per_epoch = %d caps the epoch below Algorithm 1's "
                    "l x m = %d x %d = %d iterations: each source gets %.2f of the paper's updates "
                    "per epoch", trainer.iterations, trainer.algorithm1_length() // m,
                    m, trainer.algorithm1_length(),
                    trainer.iterations / trainer.algorithm1_length())


def run_epochs(trainer: Trainer, settings: TrainSettings, start: int, rows: list[dict[str, Any]],
               out: Path, checkpoint: Callable[[int], dict[str, Any]],
               on_checkpoint: CheckpointHook | None = None) -> dict[str, float]:
    """Epochs ``start + 1 .. settings.epochs``: train, validate, append to ``rows`` and
    rewrite ``out/train_log.tsv``; every ``checkpoint_every`` epochs and at the end save
    ``checkpoint(epoch)`` to ``out/checkpoint.pt``. Returns the last validation losses."""
    run_id = trainer.run_id
    valid: dict[str, float] = {}
    ticks = iter(progress(range((settings.epochs - start) * trainer.iterations),
                          desc=f"train {run_id} (iterations)"))

    def tick() -> None:
        next(ticks, None)

    for epoch in range(start + 1, settings.epochs + 1):
        t0 = time.perf_counter()
        train = trainer.run_epoch(epoch, tick=tick)
        valid = trainer.validate()
        seconds = time.perf_counter() - t0
        rows += log_rows(run_id, "train", epoch, train, valid, trainer.weights, seconds)
        write_log(out / "train_log.tsv", rows)
        samples = trainer.iterations * trainer.b
        log.info("epoch %d/%d: %.1f s, %.0f samples/s, train %s, valid %s", epoch, settings.epochs,
                 seconds, samples / max(seconds, 1e-9),
                 {s: round(v[0], 4) for s, v in train.items()},
                 {s: round(v, 4) for s, v in valid.items()})
        if epoch % settings.checkpoint_every == 0 or epoch == settings.epochs:
            save_checkpoint(out / "checkpoint.pt", checkpoint(epoch))
            if on_checkpoint is not None:
                on_checkpoint(epoch)
    next(ticks, None)  # closes the progress bar
    return valid


def train_run(run_id: str, strategy: str, sources: list[str], seed: int, mel: str | Path,
              split: str | Path, scaler: str | Path,
              labels: Sequence[str | Path] | Mapping[str, str | Path], settings: TrainSettings,
              out: str | Path, threads: int | None = None,
              placement: str = "auto", on_checkpoint: CheckpointHook | None = None) -> Path:
    """Train one run of the design (resuming its checkpoint) and write ``out/model.pt``.

    ``labels``: the labels file of each labelled source (``<source>.h5``, see
    :func:`onerep.models.data.label_files`).

    Writes ``out/train_log.tsv`` after every epoch and ``out/checkpoint.pt`` every
    ``checkpoint_every`` epochs and at the end; ``on_checkpoint(epoch)`` is called
    right after each checkpoint is written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    strat = get_strategy(strategy)
    device = resolve_device(settings.device)
    configure_torch(device, threads)
    plan = compute_plan(device, settings.precision)
    data = load_run_data(mel, split, scaler, labels, sources, settings.crop_frames, device,
                         placement)
    log.info("run %s: %s on %s, %d train / %d valid tracks, k=%d, device %s, %s",
             run_id, strat.label, ",".join(sources), data.n_train, data.n_valid, data.k, device,
             plan.precision)
    fp = fingerprint({"run_id": run_id, "strategy": strategy, "sources": sources, "seed": seed,
                      "settings": {k: getattr(settings, k) for k in settings.RESULT_KEYS},
                      "train": data.train_ids, "valid": data.valid_ids, "k": data.k,
                      "n_mels": data.bank.n_mels, "device": plan.tag})
    ckpt_path = out / "checkpoint.pt"
    ckpt = resumable_checkpoint(ckpt_path, fp, settings.epochs)
    if ckpt is not None:
        weights, rows, start = ckpt["weights"], list(ckpt["log_rows"]), int(ckpt["epoch"])
        log.info("resuming from %s after epoch %d", ckpt_path, start)
    else:
        rows, start = [], 0
        weights = {s: 1.0 for s in sources}
        if settings.loss_weighting == "inverse_val_loss" and len(sources) > 1:
            weights, rows = probe_weights(strategy, sources, data, settings, seed, device, run_id)

    weights_probed = any(r["phase"] == "probe" for r in rows)
    net = build_network(strategy, sources, k=data.k, width=settings.width,
                        seed=derive_seed(seed, "train", "init"))
    trainer = Trainer(net, data, settings, seed, device, weights=weights, run_id=run_id, plan=plan)
    if ckpt is not None:
        trainer.load_state(ckpt["state"])
    log_schedule(trainer, settings)

    def checkpoint(epoch: int) -> dict[str, Any]:
        return {"fingerprint": fp, "epoch": epoch, "weights": weights, "log_rows": rows,
                "state": trainer.state()}

    valid = run_epochs(trainer, settings, start, rows, out, checkpoint, on_checkpoint)
    if not rows or start == settings.epochs:
        write_log(out / "train_log.tsv", rows)
    if not valid and rows:
        valid = {r["source"]: r["valid_loss"] for r in rows if r["phase"] == "train"
                 and r["epoch"] == settings.epochs}
    meta = {
        "run_id": run_id, "seed": int(seed), "seeds": derived_seeds(seed, weights_probed),
        "scaler_mean": data.scaler_mean,
        "scaler_std": data.scaler_std, "mel_params": data.mel_params,
        "crop_frames": data.crop_frames, "settings": settings.result_dict(),
        "iterations_per_epoch": trainer.iterations,
        "algorithm1_iterations_per_epoch": trainer.algorithm1_length(),
        "epoch_capped": trainer.capped,
        "loss_weights": weights, "epochs_trained": settings.epochs,
        "train_tracks": data.n_train, "valid_tracks": data.n_valid,
        "final_valid_loss": valid, "skipped_tracks": data.skipped, "fingerprint": fp,
        "device": device.type, "precision": plan.precision, "onerep_version": __version__,
        "torch_version": str(torch.__version__),
    }
    model_path = out / "model.pt"
    save_model(model_path, net, meta)
    log.info("wrote %s", model_path)
    return model_path
