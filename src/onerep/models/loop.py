"""The training loop of Algorithm 1 (SPEC section 5): one step, one epoch, validation.

:class:`Trainer` holds one network, its optimizer and its random streams on one run's
data. Each iteration draws a source (uniformly at random; MSS-CR, whose networks share
nothing, gets a balanced schedule instead: every source exactly ``L / m`` steps in
random order), then ``b`` distinct training tracks, then one random crop per track, and
takes one Adam step on the KL divergence between the source's labels and the softmax
of its head (per-sample sum over outputs, mean over the batch). Its generators are
seeded with ``derive_seed(seed, stream, ...)`` and saved with :meth:`Trainer.state`,
so that a resumed run continues the same random numbers.

How the network computes on the device (bf16 autocast on CUDA, channels-last, fused
Adam) is the :class:`onerep.models.device.ComputePlan` the trainer is given; the same
code runs on every device. :mod:`onerep.models.train` runs a whole run around it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..util import derive_seed
from .checkpoint import rng_states, set_rng_states
from .data import RunData
from .device import ComputePlan, compute_plan
from .network import MultiSourceNet
from .settings import TrainSettings
from .strategies import SELF

log = logging.getLogger("onerep.models")


class NonFiniteLossError(ValueError):
    """Training produced a NaN or infinite loss; the message names source and iteration."""



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

