"""Where and how a network computes: the device switches and the GPU memory plan.

Training runs the same functions on every device (feature extraction likewise calls
the network's ``embed`` on any device). What differs is decided here, in one place, so
that the CPU can run the GPU path (CI has no GPU):

- :class:`ComputePlan`: autocast precision (bf16 on CUDA, float32 on the CPU unless
  asked), channels-last layout, fused Adam, how often the loss is checked for NaN.
  :func:`compute_plan` ``(device, "bf16")`` gives the CUDA numerics on the CPU
  (CPU autocast), which is how the tests exercise the bf16 path.
- :func:`configure_torch`: backend switches (cuDNN autotuning and TF32 on CUDA,
  deterministic algorithms on the CPU) -- the only global state touched.
- :func:`plan_placement`: whether a run's mel frames (one float16 tensor) are held on
  the GPU next to the network or in pinned host memory, from the sizes alone (the
  tests give fake device sizes). The paper's corpus, 46,490 clips x 2,584 frames x 2
  channels x 128 bands in float16, is 61.5 GB: on an 80 GB card it is held on the
  GPU with room for the network (one run per card: a second copy does not fit); a
  smaller card uses the host path (pinned host memory, a copy per batch), and when
  the job's host memory cannot hold it either the run stops with a message saying so.

Only :func:`device_memory` and :func:`configure_torch` call CUDA APIs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: Precisions a run may ask for: ``auto`` = bf16 on CUDA, float32 elsewhere.
PRECISIONS = ("auto", "bf16", "fp32")
#: GPU memory kept free beside the mel tensor: the network, Adam's moments, the
#: activations saved for the backward pass of 256 crops (a ``self`` batch of 128 pairs:
#: 0.76 GB in bf16 at width 1, more where autocast keeps float32), cuDNN's autotuning
#: workspaces and torch.compile's or CUDA graphs' buffers.
GPU_RESERVE_BYTES = 6 << 30
#: Host memory a training process needs beside its frames: torch with the CUDA
#: libraries loaded takes 2-3 GB; on the CPU about 1 GB (torch, labels, read buffers).
HOST_RESERVE_BYTES = {"cuda": 3 << 30, "cpu": 1 << 30}


def gb(nbytes: float) -> str:
    """``nbytes`` as decimal gigabytes, one decimal (``61.5 GB``)."""
    return f"{nbytes / 1e9:.1f} GB"


# ---------------------------------------------------------------------------------
# Device and numerics
# ---------------------------------------------------------------------------------
def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("training setting device is 'cuda' but no CUDA device is available "
                         "(set train.device: auto or cpu)")
    return torch.device(name)


def configure_torch(device: torch.device, threads: int | None = None) -> None:
    """Threads and backend switches: deterministic on CPU, fast kernels on CUDA."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        torch.use_deterministic_algorithms(True, warn_only=True)


@dataclass(frozen=True)
class ComputePlan:
    """How a network computes on ``device`` (see :func:`compute_plan`)."""

    device: torch.device
    bf16: bool
    """Autocast to bfloat16 (crops are gathered in bf16 too); else float32 throughout."""
    channels_last: bool = True
    """NHWC layout of the network and its input (also faster on the CPU with oneDNN)."""
    fused_adam: bool = False
    """Adam's single-kernel (fused) update: CUDA by default; the CPU has one too."""
    check_every: int = 1
    """Iterations between NaN checks (each check waits for the GPU)."""

    @property
    def input_dtype(self) -> torch.dtype:
        """Dtype of the standardised crops fed to the network."""
        import torch

        return torch.bfloat16 if self.bf16 else torch.float32

    @property
    def precision(self) -> str:
        """``bf16`` or ``fp32``."""
        return "bf16" if self.bf16 else "fp32"

    @property
    def tag(self) -> str:
        """The device type, with the precision when it is not the device's default
        (``cuda``, ``cpu``, ``cpu-bf16``, ``cuda-fp32``): the resume fingerprint's entry,
        unchanged for runs that use the defaults."""
        default = "bf16" if self.device.type == "cuda" else "fp32"
        return self.device.type if self.precision == default else f"{self.device.type}-{self.precision}"

    def autocast(self, cache: bool = True) -> contextlib.AbstractContextManager[object]:
        """A fresh autocast context of this plan (a no-op in float32). ``cache=False``
        inside CUDA graph capture (autocast's cache of cast weights must not outlive it)."""
        import torch

        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=cache)

    def prepare(self, net: torch.nn.Module) -> torch.nn.Module:
        """Move ``net`` to the device (and to channels-last); returns it."""
        import torch

        net.to(self.device)
        if self.channels_last:
            net.to(memory_format=torch.channels_last)
        return net

    def adam(self, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float
             ) -> torch.optim.Adam:
        """Adam with the paper's L2 term (``weight_decay``), fused where the plan says."""
        import torch

        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay,
                                **({"fused": True} if self.fused_adam else {}))


def compute_plan(device: torch.device | str, precision: str = "auto",
                 fused_adam: bool | None = None) -> ComputePlan:
    """The :class:`ComputePlan` of ``device``.

    ``precision``: ``auto`` (bf16 on CUDA, float32 elsewhere), ``bf16`` or ``fp32``;
    ``fused_adam``: None = on CUDA only.
    """
    import torch

    device = torch.device(device)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    cuda = device.type == "cuda"
    bf16 = cuda if precision == "auto" else precision == "bf16"
    return ComputePlan(device=device, bf16=bf16, channels_last=True,
                       fused_adam=cuda if fused_adam is None else bool(fused_adam),
                       check_every=50 if cuda else 1)


# ---------------------------------------------------------------------------------
# Memory plan
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MemoryPlan:
    """Where a run's mel frames live, and why.

    ``where``: ``device`` (one tensor on the GPU; crops gathered there) or ``host``
    (pinned host memory; each batch's crops gathered on the CPU and copied).
    ``copies``: how many runs, each holding its own copy of the frames and its
    reserve, fit side by side on the device (0 when not even one does).
    """

    where: str
    frames_bytes: int
    device_free: int | None
    reserve: int
    copies: int
    message: str


def plan_placement(frames_bytes: int, device_free: int | None, placement: str = "auto",
                   host_free: int | None = None, reserve: int = GPU_RESERVE_BYTES) -> MemoryPlan:
    """Decide where ``frames_bytes`` of float16 frames are held.

    ``device_free``: free bytes on the GPU (None: the compute device is the CPU, the
    frames stay in host memory). ``placement``: ``auto`` (the GPU when the frames
    and ``reserve`` fit, else pinned host memory), ``device`` (the GPU or an error)
    or ``host``. ``host_free``: host bytes available to this job (None: unknown,
    not checked). Raises ``ValueError`` with the sizes when nothing can hold them.
    """
    if placement not in ("auto", "device", "host"):
        raise ValueError(f"placement must be auto, device or host, got {placement!r}")
    need = frames_bytes + reserve
    gpu = device_free is not None
    copies = max(0, int(device_free // need)) if gpu else 0
    host_need = frames_bytes + HOST_RESERVE_BYTES["cuda" if gpu else "cpu"]

    def host_plan(why: str) -> MemoryPlan:
        if host_free is not None and host_need > host_free:
            raise ValueError(
                f"{why + ', and ' if why else ''}the {gb(host_free)} of host memory available to this "
                f"job cannot hold them{' either' if why else ''}: the mel frames ({gb(frames_bytes)}) "
                f"and the process need {gb(host_need)} (raise resources.train.mem_mb"
                + (", or use a GPU with more memory)" if gpu else ")"))
        held = f"mel frames ({gb(frames_bytes)}) held in {'pinned ' if gpu else ''}host memory"
        return MemoryPlan("host", frames_bytes, device_free, reserve, copies,
                          f"{why}{': ' if why else ''}{held} (the job needs about {gb(host_need)})")

    if not gpu:
        return host_plan("")
    if placement == "host":
        return host_plan("placement host")
    if need <= device_free:
        side = ("one run per GPU: a second run's copy does not fit" if copies == 1 else
                f"room for {copies} such runs side by side")
        return MemoryPlan("device", frames_bytes, device_free, reserve, copies,
                          f"mel frames ({gb(frames_bytes)}) held on the GPU next to the network "
                          f"({gb(reserve)} reserved, {gb(device_free)} free); {side}")
    short = (f"the mel frames ({gb(frames_bytes)}) and the network's reserve ({gb(reserve)}) "
             f"do not fit in the {gb(device_free)} free on the GPU")
    if placement == "device":
        raise ValueError(f"{short}; use placement auto or host (pinned host memory, a host-to-GPU "
                         f"copy per batch) or a GPU with at least {gb(need)} free")
    plan = host_plan(short)
    return MemoryPlan(plan.where, frames_bytes, device_free, reserve, copies,
                      plan.message + "; every batch is gathered on the CPU and copied to the GPU "
                      "(slower than the on-GPU path)")


def device_memory(device: torch.device) -> tuple[int, int] | None:
    """``(free, total)`` bytes of a CUDA device; None for the CPU."""
    import torch

    if device.type != "cuda":
        return None
    free, total = torch.cuda.mem_get_info(device)
    return int(free), int(total)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def host_free_bytes(proc: Path = Path("/proc/meminfo"), cgroup: Path = Path("/sys/fs/cgroup")
                    ) -> int | None:
    """Host memory available to this process: MemAvailable, lowered to the room left
    under a cgroup (v2) memory limit such as a SLURM job's; None when unknown."""
    avail = None
    with contextlib.suppress(OSError):
        for line in proc.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    limit, used = _read_int(cgroup / "memory.max"), _read_int(cgroup / "memory.current")
    if limit is not None and used is not None:
        room = max(0, limit - used)
        avail = room if avail is None else min(avail, room)
    return avail
