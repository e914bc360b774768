"""Multi-source training (SPEC section 5, Algorithm 1), resumable and GPU-first.

One epoch is ``L = ceil(train tracks / b) x m`` iterations. A user may cap it with
``max_iterations_per_epoch``; a cap below L departs from Algorithm 1 (each source gets
fewer updates than the paper gives it), so the run's log warns once and the model file
records ``epoch_capped``, ``iterations_per_epoch`` and
``algorithm1_iterations_per_epoch``. Each iteration draws a source uniformly at random,
then ``b`` distinct training tracks, then one random crop per track, and takes one Adam
step on the KL divergence between the source's labels and the softmax of its head
(per-sample sum over outputs, mean over the batch). MSS-CR, whose networks share
nothing, gets a balanced schedule instead (every source exactly ``L / m`` steps in
random order), which is the same as training its networks independently.

Every random choice comes from generators seeded with ``derive_seed(seed, ...)``;
their states are saved in each checkpoint together with the weights and optimizer,
so a killed run resumes from its last checkpoint and, on the CPU, ends with the
same parameters as a run that was never interrupted.

The same code runs on every device; how the network computes there (bf16 autocast
on CUDA, float32 on the CPU unless ``precision: bf16``; channels-last; fused Adam on
CUDA) is the :class:`onerep.models.device.ComputePlan` of the device, and where the
frames live is :func:`onerep.models.device.plan_placement`'s decision.

Testing hook: with the environment variable ``ONEREP_TRAIN_KILL_AFTER_EPOCH=K`` the
process kills itself (SIGKILL) right after writing the checkpoint of epoch K.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F

from .. import __version__
from ..util import atomic_path, derive_seed, parse_settings, progress
from .checkpoint import (
    fingerprint,
    load_checkpoint,
    rng_states,
    save_checkpoint,
    save_model,
    set_rng_states,
)
from .data import RunData, load_run_data
from .device import PRECISIONS, ComputePlan, compute_plan, configure_torch, resolve_device
from .network import MultiSourceNet, build_network
from .strategies import SELF, get_strategy

log = logging.getLogger("onerep.models")

LOG_COLUMNS = ["run_id", "phase", "epoch", "source", "iterations", "train_loss", "valid_loss",
               "weight", "epoch_seconds"]


class NonFiniteLossError(ValueError):
    """Training produced a NaN or infinite loss; the message names source and iteration."""


# ---------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------
@dataclass
class TrainSettings:
    """The training settings (config section ``train`` plus ``audio.crop_frames``)."""

    epochs: int = 200
    batch_size: int = 128
    learning_rate: float = 0.00025
    weight_decay: float = 1.0e-6
    width: float = 1.0
    loss_weighting: str = "equal"
    probe_epochs: int = 1
    max_iterations_per_epoch: int | None = None
    crop_frames: int = 216
    # Runtime settings: how the run is executed, not what it computes.
    checkpoint_every: int = 5
    device: str = "auto"
    compile: bool = False
    #: Autocast precision: auto = bf16 on CUDA, float32 on the CPU (see
    #: :func:`onerep.models.device.compute_plan`); bf16 on the CPU runs the GPU's numerics.
    precision: str = "auto"

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
        names are accepted too; unknown keys are errors.
        """
        flat = cls._flatten(data)
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, value in flat.items():
            if key in cls.IGNORED_KEYS or (key.startswith("audio.") and key != "audio.crop_frames"):
                continue
            if key not in names:
                raise ValueError(f"unknown training setting '{key}'; known: {', '.join(sorted(names))}")
            kwargs[key] = value
        settings = cls(**kwargs)
        settings.check()
        return settings

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

    def check(self) -> None:
        """Raise ``ValueError`` naming the first invalid setting."""
        ints = {"epochs": 1, "batch_size": 2, "probe_epochs": 1, "crop_frames": 1, "checkpoint_every": 1}
        for key, low in ints.items():
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ValueError(f"training setting '{key}' must be an integer >= {low}, got {v!r}")
        if self.max_iterations_per_epoch is not None and (
                not isinstance(self.max_iterations_per_epoch, int) or self.max_iterations_per_epoch < 1):
            raise ValueError(f"training setting 'max_iterations_per_epoch' must be null or >= 1, "
                             f"got {self.max_iterations_per_epoch!r}")
        for key in ("learning_rate", "width"):
            if not getattr(self, key) > 0:
                raise ValueError(f"training setting '{key}' must be positive, got {getattr(self, key)!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"training setting 'weight_decay' must be >= 0, got {self.weight_decay!r}")
        if self.loss_weighting not in ("equal", "inverse_val_loss"):
            raise ValueError(f"training setting 'loss_weighting' must be equal or inverse_val_loss, "
                             f"got {self.loss_weighting!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"training setting 'device' must be auto, cpu or cuda, got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"training setting 'precision' must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.precision!r}")

    def result_dict(self) -> dict[str, Any]:
        """The settings that determine the trained parameters (recorded with the model)."""
        out = {k: getattr(self, k) for k in self.RESULT_KEYS}
        out["epochs"] = self.epochs
        return out


# ---------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------
def kl_batchmean(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL(target || softmax(logits)): sum over outputs, mean over the batch (float32)."""
    return F.kl_div(F.log_softmax(logits.float(), dim=1), target, reduction="batchmean")


class Trainer:
    """Algorithm 1 for one network on one run's data.

    ``stream`` names the random streams (``train`` for the run, ``probe`` for the
    loss-weighting probe), so that both draw independent, reproducible numbers.
    ``plan`` says how the network computes (default: :func:`compute_plan` of
    ``device`` and ``settings.precision``); every device runs the same code below.
    """

    def __init__(self, net: MultiSourceNet, data: RunData, settings: TrainSettings, seed: int,
                 device: torch.device, stream: str = "train",
                 weights: dict[str, float] | None = None, run_id: str = "",
                 plan: ComputePlan | None = None):
        self.plan = plan if plan is not None else compute_plan(device, settings.precision)
        if self.plan.device != torch.device(device):
            raise ValueError(f"the compute plan is for {self.plan.device}, the trainer for {device}")
        self.net = net
        self.data = data
        self.settings = settings
        self.device = device
        self.run_id = run_id
        self.sources = list(net.sources)
        missing = [s for s in self.sources if s != SELF and s not in data.z_train]
        if missing:
            raise ValueError(f"no labels loaded for sources {missing}")
        self.cuda = device.type == "cuda"
        self.crop = data.crop_frames
        self.b = min(settings.batch_size, data.n_train)
        if self.b < settings.batch_size:
            log.warning("batch size %d reduced to %d: only %d training tracks",
                        settings.batch_size, self.b, data.n_train)
        self.weights = {s: 1.0 for s in self.sources}
        if weights:
            self.weights.update(weights)
        self.iterations = self.epoch_length()
        self.check_every = self.plan.check_every

        # Channels-last (NHWC) on both devices: on the CPU, oneDNN's NHWC convolutions
        # cost about 1.3-1.6x less CPU time per sample than NCHW for this network.
        self.channels_last = self.plan.channels_last
        self.plan.prepare(net).train()
        self.opt = self.plan.adam(net.parameters(), settings.learning_rate, settings.weight_decay)
        self.forward: Callable[[torch.Tensor, str], torch.Tensor] = net
        if settings.compile:
            self.forward = compile_forward(net)
        self.x_dtype = self.plan.input_dtype

        storage = data.bank.storage
        self.gen_sample = torch.Generator(device=storage)
        self.gen_sample.manual_seed(derive_seed(seed, stream, "sample"))
        self.gen_schedule = torch.Generator(device="cpu")
        self.gen_schedule.manual_seed(derive_seed(seed, stream, "schedule"))
        # Dropout draws from torch's global generator(s).
        torch.manual_seed(derive_seed(seed, stream, "dropout"))
        half = self.b // 2
        self.self_target = torch.zeros(self.b, 2, device=device)
        self.self_target[:half, 0] = 1.0
        self.self_target[half:, 1] = 1.0
        self._prepare_validation(seed)

    # -- schedule and batches ---------------------------------------------------------
    def algorithm1_length(self) -> int:
        """Algorithm 1's epoch length L = ceil(n_train / b) x m, without any cap."""
        return math.ceil(self.data.n_train / self.b) * len(self.sources)

    def epoch_length(self) -> int:
        """L = ceil(n_train / b) x m, capped by ``max_iterations_per_epoch``."""
        length = self.algorithm1_length()
        cap = self.settings.max_iterations_per_epoch
        return min(length, cap) if cap else length

    @property
    def capped(self) -> bool:
        """Whether ``max_iterations_per_epoch`` shortens the epoch below Algorithm 1's."""
        return self.iterations < self.algorithm1_length()

    def schedule(self) -> list[int]:
        """Source index of every iteration of one epoch."""
        m, length = len(self.sources), self.iterations
        g = self.gen_schedule
        if self.net.strategy.shared == 0 and m > 1:
            per, rem = divmod(length, m)
            order = [i for i in range(m) for _ in range(per)]
            order += torch.randperm(m, generator=g)[:rem].tolist()
            perm = torch.randperm(length, generator=g).tolist()
            return [order[p] for p in perm]
        return torch.randint(m, (length,), generator=g).tolist()

    def batch(self, source: str) -> tuple[torch.Tensor, torch.Tensor]:
        """One training batch of ``source``: ``b`` distinct tracks, one random crop each.

        For ``self`` the batch holds ``b`` pairs (``2b`` crops): the first ``b // 2``
        pairs are two crops of the same track, the others crops of two different tracks.
        """
        bank, g = self.data.bank, self.gen_sample
        rows = torch.randperm(self.data.n_train, generator=g, device=bank.storage)[: self.b]
        if source == SELF:
            half = self.b // 2
            partner = torch.cat([rows[:half], torch.roll(rows, -1)[half:]])
            starts = torch.cat([bank.random_starts(rows, self.crop, g),
                                bank.random_starts(partner, self.crop, g)])
            x = bank.crops(starts, self.crop, self.x_dtype, channels_last=self.channels_last)
            return x, self.self_target
        starts = bank.random_starts(rows, self.crop, g)
        x = bank.crops(starts, self.crop, self.x_dtype, channels_last=self.channels_last)
        return x, self.data.z_train[source][rows.to(self.device, non_blocking=True)]

    # -- one step and one epoch -------------------------------------------------------
    def step(self, source: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One Adam step on ``source``'s weighted loss; returns the unweighted loss."""
        with self.plan.autocast():
            logits = self.forward(x, source)
        loss = kl_batchmean(logits, y)
        w = self.weights[source]
        (loss if w == 1.0 else loss * w).backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return loss.detach()

    def run_epoch(self, epoch: int, phase: str = "train",
                  tick: Callable[[], object] | None = None) -> dict[str, tuple[float, int]]:
        """Train one epoch; returns ``{source: (mean training loss, iterations)}``.

        ``tick`` is called after every iteration (progress display).
        """
        self.net.train()
        sched = self.schedule()
        losses = torch.zeros(len(sched), device=self.device)
        checked = 0
        for i, si in enumerate(sched):
            source = self.sources[si]
            x, y = self.batch(source)
            losses[i] = self.step(source, x, y)
            if tick is not None:
                tick()
            if i + 1 - checked >= self.check_every or i + 1 == len(sched):
                self._check_finite(losses, sched, checked, i + 1, epoch, phase)
                checked = i + 1
        idx = torch.tensor(sched, device=self.device)
        sums = torch.zeros(len(self.sources), device=self.device).index_add_(0, idx, losses)
        counts = torch.bincount(torch.tensor(sched), minlength=len(self.sources)).tolist()
        sums_list = sums.tolist()
        return {s: (sums_list[j] / counts[j] if counts[j] else float("nan"), counts[j])
                for j, s in enumerate(self.sources)}

    def _check_finite(self, losses: torch.Tensor, sched: list[int], a: int, b: int,
                      epoch: int, phase: str) -> None:
        window = losses[a:b]
        if bool(torch.isfinite(window).all()):
            return
        j = a + int(torch.nonzero(~torch.isfinite(window))[0])
        value = float(losses[j])
        raise NonFiniteLossError(
            f"run {self.run_id or '?'}: non-finite training loss ({value}) for source "
            f"'{self.sources[sched[j]]}' at {phase} epoch {epoch}, iteration {j + 1} of {len(sched)}; "
            "training stopped (the last checkpoint is kept)")

    # -- validation -------------------------------------------------------------------
    def _prepare_validation(self, seed: int) -> None:
        """Fixed validation crops (and self pairs), identical in every epoch and stream."""
        bank, n_train, n_valid = self.data.bank, self.data.n_train, self.data.n_valid
        g = torch.Generator(device=bank.storage)
        g.manual_seed(derive_seed(seed, "valid", "crops"))
        rows = torch.arange(n_train, n_train + n_valid, device=bank.storage)
        self.valid_starts = bank.random_starts(rows, self.crop, g)
        self.valid_pairs: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        if SELF in self.sources and n_valid >= 2:
            half = n_valid // 2
            second = bank.random_starts(rows, self.crop, g)
            other = bank.random_starts(torch.roll(rows, -1), self.crop, g)
            starts_b = torch.cat([second[:half], other[half:]])
            target = torch.zeros(n_valid, 2, device=self.device)
            target[:half, 0] = 1.0
            target[half:, 1] = 1.0
            self.valid_pairs = (self.valid_starts, starts_b, target)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Loss of every source on the whole validation split (eval mode, fixed crops)."""
        net, bank, crop = self.net, self.data.bank, self.crop
        net.eval()
        labelled = [s for s in self.sources if s != SELF]
        n = self.data.n_valid
        sums = {s: torch.zeros((), device=self.device) for s in self.sources}
        vb = max(2 * self.b, 64)
        try:
            if n and labelled:
                for a in range(0, n, vb):
                    starts = self.valid_starts[a:a + vb]
                    x = bank.crops(starts, crop, self.x_dtype, channels_last=self.channels_last)
                    with self.plan.autocast():
                        h = net.trunk(x)
                        feats = {s: net.branches[s](h) for s in labelled}
                        logits = {s: net.head(s, feats[s]) for s in labelled}
                    for s in labelled:
                        y = self.data.z_valid[s][a:a + vb]
                        sums[s] += F.kl_div(F.log_softmax(logits[s].float(), 1), y, reduction="sum")
            if self.valid_pairs is not None:
                sa, sb, target = self.valid_pairs
                for a in range(0, n, self.b):
                    starts = torch.cat([sa[a:a + self.b], sb[a:a + self.b]])
                    x = bank.crops(starts, crop, self.x_dtype, channels_last=self.channels_last)
                    with self.plan.autocast():
                        logits = net(x, SELF)
                    sums[SELF] += F.kl_div(F.log_softmax(logits.float(), 1), target[a:a + self.b],
                                           reduction="sum")
        finally:
            net.train()
        out = {}
        for s in self.sources:
            has = n >= (2 if s == SELF else 1)
            out[s] = float(sums[s]) / n if has else float("nan")
        return out

    # -- state ------------------------------------------------------------------------
    def generators(self) -> dict[str, torch.Generator]:
        """The trainer's own generators (saved in checkpoints)."""
        return {"sample": self.gen_sample, "schedule": self.gen_schedule}

    def state(self) -> dict[str, Any]:
        """Model, optimizer and random states for a checkpoint."""
        from .checkpoint import cpu_state_dict

        return {"model": cpu_state_dict(self.net), "optimizer": self.opt.state_dict(),
                "rng": rng_states(self.generators())}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state` saved."""
        self.net.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        set_rng_states(state["rng"], self.generators())


def compile_forward(net: MultiSourceNet) -> Callable[[torch.Tensor, str], torch.Tensor]:
    """``torch.compile`` of the training forward (one graph per source and batch shape)."""
    import torch._dynamo.config as dcfg

    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(dcfg, name):
            setattr(dcfg, name, max(getattr(dcfg, name), 4 * (len(net.sources) + 2)))
    return torch.compile(net.forward, dynamic=False)


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
# One run
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


def write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the training log TSV atomically."""
    with atomic_path(path) as tmp:
        pd.DataFrame(rows, columns=LOG_COLUMNS).to_csv(tmp, sep="\t", index=False,
                                                       float_format="%.6g")


def train_run(run_id: str, strategy: str, sources: list[str], seed: int, mel: str | Path,
              split: str | Path, scaler: str | Path,
              labels: Sequence[str | Path] | Mapping[str, str | Path], settings: TrainSettings,
              out: str | Path, threads: int | None = None,
              placement: str = "auto") -> Path:
    """Train one run of the design (resuming its checkpoint) and write ``out/model.pt``.

    ``labels``: the labels file of each labelled source (``<source>.h5``, see
    :func:`onerep.models.data.label_files`).

    Writes ``out/train_log.tsv`` after every epoch and ``out/checkpoint.pt`` every
    ``checkpoint_every`` epochs and at the end.
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
    ckpt = load_checkpoint(ckpt_path)
    if ckpt is not None and (ckpt.get("fingerprint") != fp or ckpt["epoch"] > settings.epochs):
        log.warning("ignoring %s: it belongs to a different run description or to more epochs "
                    "(epoch %s); training from scratch", ckpt_path, ckpt.get("epoch"))
        ckpt = None

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
    log.info("%d iterations of batch %d per epoch, %d epochs, weights %s",
             trainer.iterations, trainer.b, settings.epochs, weights)
    if trainer.capped:
        log.warning("train.max_iterations_per_epoch = %d caps the epoch below Algorithm 1's "
                    "l x m = %d x %d = %d iterations: each source gets %.2f of the paper's updates "
                    "per epoch", trainer.iterations, trainer.algorithm1_length() // len(sources),
                    len(sources), trainer.algorithm1_length(),
                    trainer.iterations / trainer.algorithm1_length())
    kill_after = int(os.environ.get("ONEREP_TRAIN_KILL_AFTER_EPOCH", "0") or 0)
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
        rows += log_rows(run_id, "train", epoch, train, valid, weights, seconds)
        write_log(out / "train_log.tsv", rows)
        samples = trainer.iterations * trainer.b
        log.info("epoch %d/%d: %.1f s, %.0f samples/s, train %s, valid %s", epoch, settings.epochs,
                 seconds, samples / max(seconds, 1e-9),
                 {s: round(v[0], 4) for s, v in train.items()},
                 {s: round(v, 4) for s, v in valid.items()})
        if epoch % settings.checkpoint_every == 0 or epoch == settings.epochs:
            save_checkpoint(ckpt_path, {"fingerprint": fp, "epoch": epoch, "weights": weights,
                                        "log_rows": rows, "state": trainer.state()})
            if kill_after and epoch == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
    next(ticks, None)  # closes the progress bar
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
