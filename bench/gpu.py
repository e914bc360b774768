"""The GPU measurement: run it the first time a GPU is at hand (under 8 minutes on one H100).

    .venv/bin/python bench/gpu.py                          # on the GPU (the default when one is visible)
    .venv/bin/python bench/gpu.py --write-table rates.tsv  # also the measured rates, for
                                                           # onerep cost --throughput-table
    .venv/bin/python bench/gpu.py --device cpu --quick     # the same tables on the CPU, tiny sizes (CI)

Everything runs the workflow's own code on a synthetic corpus written to a temporary
folder (``tests/support/corpus.py``, the workflow's file formats):

1. training throughput, training crops per second (a ``self`` batch of b pairs counts
   2b crops; sampling included), of SS-R and of MS-CR@2 and MS-SR@FC with 8 sources,
   in the modes ``eager`` (``Trainer.step``: bf16 autocast, channels-last, fused
   Adam on CUDA), ``compiled`` (``train.compile``: ``torch.compile`` of the forward),
   ``graph`` (CUDA only: the forward, backward and fused Adam step of each source
   captured as one CUDA graph, replayed on static input buffers) and ``compiled-cg``
   (CUDA only: ``torch.compile(mode="reduce-overhead")``, CUDA graphs of the
   compiled forward and backward); a mode that fails prints its error in its cell;
2. runs side by side on one device: K SS-R trainers in one process sharing one copy
   of the frames (one CUDA stream each), and K processes each with its own copy:
   total crops per second and the gain over one run;
3. feature extraction, windows per second: the workflow's path
   (``onerep.features.extract.torch_embedder`` + ``pooled_features``: numpy windows,
   float32) and, for comparison, windows gathered on the device from the frame tensor
   and embedded under the training path's autocast;
4. mel spectrograms, clips per second: the CPU path (``mel_from_audio``, numpy, one
   clip at a time) against the batched torch path (``mel_batch``) on the device;
5. the projection: the paper's study (``--config``, default config/paper.yaml)
   through the cost preview (``onerep.design.cost``) at the best measured training
   rate of each strategy (times the side-by-side gain when it is above 1) and the
   workflow's extraction rate.

The last line is ``study_gpu_hours: <number>`` (device-hours of training, validation
and extraction; on the CPU it is CPU-hours of the tiny network, which only proves
that the script works). Optional measurements stop when ``--budget-s`` is spent and
say so. The goal: at least 50,000 crops/s of SS-R training on one H100 and the whole
study within 2 GPU-days (48 GPU-hours).
"""

from __future__ import annotations

import argparse
import datetime
import math
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the synthetic corpus: tests/support/corpus.py
EIGHT = ["self", "bpm", "year", "taste", "tag", "lyrics", "cdr_tag", "artist"]
#: The measured networks: label, strategy, sources.
NETWORKS = (("SS-R (tag)", "ssr", ["tag"]), ("MS-CR@2 (8 sources)", "mscr2", EIGHT),
            ("MS-SR@FC (8 sources)", "mssr_fc", EIGHT))
GOAL_SSR = 50_000
GOAL_HOURS = 48.0


# ---------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------
@dataclass
class Sizes:
    """What a run of the benchmark measures with."""

    tracks: int
    frames: int
    n_mels: int
    width: float
    batch: int
    steps: int
    warmup: int
    clips: int
    seconds: float
    mel_clips: int
    side: list[int]
    proc_seconds: float


def sizes(args: argparse.Namespace, device: torch.device) -> Sizes:
    """GPU sizes (the paper's network and batch), fewer steps and clips on the CPU, or tiny
    ones for ``--quick``; ``--width``, ``--batch``, ``--steps``, ``--side-by-side`` override."""
    if args.quick:
        s = Sizes(tracks=48, frames=300, n_mels=32, width=0.125, batch=8, steps=3, warmup=1,
                  clips=4, seconds=6.0, mel_clips=2, side=[1, 2], proc_seconds=1.0)
    elif device.type == "cuda":
        s = Sizes(tracks=256, frames=1292, n_mels=128, width=1.0, batch=128, steps=300, warmup=20,
                  clips=256, seconds=30.0, mel_clips=64, side=[1, 2, 4], proc_seconds=10.0)
    else:
        s = Sizes(tracks=256, frames=1292, n_mels=128, width=1.0, batch=128, steps=20, warmup=2,
                  clips=32, seconds=30.0, mel_clips=4, side=[1, 2], proc_seconds=5.0)
    for key in ("width", "batch", "steps"):
        if getattr(args, key) is not None:
            setattr(s, key, getattr(args, key))
    if args.side_by_side:
        s.side = [int(k) for k in args.side_by_side.split(",")]
    return s


def hardware(device: torch.device) -> str:
    """The device in words (recorded with measured rates)."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def sync(device: torch.device) -> None:
    """Wait for the device."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Budget:
    """Wall-clock budget of the optional measurements."""

    def __init__(self, seconds: float):
        self.t0, self.seconds = time.perf_counter(), seconds

    def left(self) -> float:
        """Seconds left."""
        return self.seconds - (time.perf_counter() - self.t0)


def load_data(corpus, sources: list[str], device: torch.device):
    """The workflow's in-memory data of ``sources`` (frames on ``device``)."""
    from onerep.models.data import load_run_data

    labels = [corpus.labels_dir / f"{s}.h5" for s in sources if s != "self"]
    return load_run_data(corpus.mel, corpus.split, corpus.scaler, labels, sources, 216, device)


def make_trainer(data, strategy: str, sources: list[str], sz: Sizes, device: torch.device,
                 compile_: bool = False, seed: int = 1):
    """A workflow trainer (the device's default compute plan)."""
    from onerep.models.loop import Trainer
    from onerep.models.network import build_network
    from onerep.models.settings import TrainSettings

    settings = TrainSettings.from_mapping(dict(batch_size=sz.batch, width=sz.width, device=device.type,
                                               compile=compile_))
    net = build_network(strategy, sources, k=data.k, width=sz.width, seed=seed)
    return Trainer(net, data, settings, seed=seed, device=device)


# ---------------------------------------------------------------------------------
# 1. Training throughput
# ---------------------------------------------------------------------------------
def crops_of(trainer, source: str) -> int:
    """Crops of one batch of ``source`` (2b for self pairs)."""
    return trainer.b * (2 if source == "self" else 1)


def schedule(trainer, n: int) -> list[str]:
    """``n`` sources drawn as the trainer draws them, every source at least once first."""
    drawn = [trainer.sources[i] for i in trainer.schedule()]
    drawn = (drawn * (n // max(len(drawn), 1) + 1))[:n]
    return list(trainer.sources) + drawn


def timed(step: Callable[[str], None], sources: list[str], warm: int, device: torch.device,
          trainer) -> float:
    """Crops per second of ``step`` over ``sources[warm:]`` after ``warm`` warm-up steps."""
    for s in sources[:warm]:
        step(s)
    sync(device)
    t0 = time.perf_counter()
    for s in sources[warm:]:
        step(s)
    sync(device)
    return sum(crops_of(trainer, s) for s in sources[warm:]) / (time.perf_counter() - t0)


def eager_step(trainer) -> Callable[[str], None]:
    """The workflow's step: a batch from the bank, one Adam step."""
    def step(source: str) -> None:
        x, y = trainer.batch(source)
        trainer.step(source, x, y)
    return step


def graph_step(trainer) -> Callable[[str], None]:
    """One CUDA graph per source: forward, backward and a capturable fused Adam step on
    static buffers; each step samples its batch eagerly into the buffers and replays."""
    from onerep.models.loop import kl_batchmean

    net, plan = trainer.net, trainer.plan
    trainer.opt = torch.optim.Adam(net.parameters(), lr=trainer.settings.learning_rate,
                                   weight_decay=trainer.settings.weight_decay, fused=True,
                                   capturable=True)
    static: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    graphs: dict[str, torch.cuda.CUDAGraph] = {}

    def body(source: str) -> None:
        x, y = static[source]
        with plan.autocast(cache=False):
            logits = net(x, source)
        kl_batchmean(logits, y).backward()
        trainer.opt.step()

    for source in trainer.sources:
        x, y = trainer.batch(source)
        static[source] = (x.clone(), y.clone())
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):  # warm-up: cuDNN autotuning, Adam's state of this branch
                trainer.opt.zero_grad(set_to_none=True)
                body(source)
        torch.cuda.current_stream().wait_stream(side)
        trainer.opt.zero_grad(set_to_none=True)  # this graph's gradients live in its own pool
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            body(source)
        graphs[source] = g

    def step(source: str) -> None:
        x, y = trainer.batch(source)
        static[source][0].copy_(x)
        static[source][1].copy_(y)
        graphs[source].replay()
    return step


def compiled_cg_step(trainer) -> Callable[[str], None]:
    """``torch.compile(mode="reduce-overhead")`` of the forward (CUDA graph trees)."""
    trainer.forward = torch.compile(trainer.net.forward, mode="reduce-overhead", dynamic=False)

    def step(source: str) -> None:
        torch.compiler.cudagraph_mark_step_begin()
        x, y = trainer.batch(source)
        trainer.step(source, x, y)
    return step


MODES = ("eager", "graph", "compiled", "compiled-cg")
#: Seconds of budget a non-eager cell needs left before it starts (twice that for 8
#: sources): its own compilation or capture plus the sections after training (~90 s).
NEED_S = {"graph": 120.0, "compiled": 150.0, "compiled-cg": 150.0}


def train_rate(data, strategy: str, sources: list[str], mode: str, sz: Sizes,
               device: torch.device) -> float:
    """Training crops per second of one network in one mode."""
    trainer = make_trainer(data, strategy, sources, sz, device, compile_=(mode == "compiled"))
    steps = {"eager": eager_step, "compiled": eager_step, "graph": graph_step,
             "compiled-cg": compiled_cg_step}[mode](trainer)
    reps = 3 if mode.startswith("compiled") else 1  # compiled: every source's graphs first
    order = list(trainer.sources) * (reps - 1) + schedule(trainer, sz.warmup + sz.steps)
    return timed(steps, order, len(trainer.sources) * reps + sz.warmup, device, trainer)


def cell(fn: Callable[[], float], errors: list[str], label: str) -> float | str:
    """A measured number, or the error's first line (kept in ``errors`` in full)."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a failing mode must not stop the benchmark
        errors.append(f"{label}: {traceback.format_exc()}")
        return f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:60] if str(exc) else ''}"


def fmt(v: float | str | None) -> str:
    """A rate with thousands separators, or the text of a skipped or failed cell."""
    if v is None:
        return "-"
    return f"{v:,.0f}" if isinstance(v, float) else v


_LAST = [time.perf_counter()]


def print_table(title: str, head: list[str], rows: list[list[str]]) -> None:
    """An aligned text table, with the seconds its measurements took."""
    now = time.perf_counter()
    print(f"\n== {title} ({now - _LAST[0]:.0f} s) ==")
    _LAST[0] = now
    table = [head] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for r in table:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))


# ---------------------------------------------------------------------------------
# 2. Side by side
# ---------------------------------------------------------------------------------
def in_process_rate(data, k: int, mode: str, sz: Sizes, device: torch.device) -> float:
    """Total crops per second of ``k`` SS-R trainers sharing one data copy (own streams)."""
    trainers = [make_trainer(data, "ssr", ["tag"], sz, device, seed=1 + i) for i in range(k)]
    steps = [(graph_step if mode == "graph" else eager_step)(t) for t in trainers]
    streams = [torch.cuda.Stream() for _ in trainers] if device.type == "cuda" else [None] * k

    def run(n: int) -> None:
        for _ in range(n):
            for st, step in zip(streams, steps):
                if st is None:
                    step("tag")
                else:
                    with torch.cuda.stream(st):
                        step("tag")

    run(sz.warmup + 1)
    sync(device)
    t0 = time.perf_counter()
    run(sz.steps)
    sync(device)
    return k * sz.steps * trainers[0].b / (time.perf_counter() - t0)


def _process_worker(corpus_dir: str, device: str, sz: Sizes, seed: int, barrier, queue) -> None:
    """One training process of the side-by-side measurement (its own copy of the frames)."""
    try:
        from support.corpus import SyntheticCorpus

        root = Path(corpus_dir)
        torch.set_num_threads(1)
        corpus = SyntheticCorpus(root / "mel" / "corpus.h5", root / "corpus" / "split.tsv",
                                 root / "corpus" / "scaler.npz", root / "labels", [], np.zeros(0))
        dev = torch.device(device)
        from onerep.models.device import configure_torch

        configure_torch(dev)
        trainer = make_trainer(load_data(corpus, ["tag"], dev), "ssr", ["tag"], sz, dev, seed=seed)
        step = eager_step(trainer)
        for _ in range(sz.warmup + 1):
            step("tag")
        sync(dev)
        barrier.wait(timeout=120)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < sz.proc_seconds:
            step("tag")
            n += 1
        sync(dev)
        queue.put((n * trainer.b, time.perf_counter() - t0))
    except Exception:  # noqa: BLE001 - reported by the parent
        queue.put(traceback.format_exc())


def processes_rate(corpus_dir: Path, k: int, sz: Sizes, device: torch.device) -> float:
    """Total crops per second of ``k`` SS-R training processes started together."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(k), ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(str(corpus_dir), device.type, sz, 1 + i,
                                                      barrier, queue)) for i in range(k)]
    for p in procs:
        p.start()
    try:
        results = [queue.get(timeout=sz.proc_seconds + 180) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    bad = [r for r in results if isinstance(r, str)]
    if bad:
        raise RuntimeError(bad[0].strip().splitlines()[-1])
    return sum(c for c, _ in results) / max(s for _, s in results)


# ---------------------------------------------------------------------------------
# 3. Extraction, 4. mel
# ---------------------------------------------------------------------------------
def extraction_rates(corpus, strategy: str, sources: list[str], sz: Sizes,
                     device: torch.device) -> tuple[float, float]:
    """Windows per second: the workflow's path, and windows gathered and embedded on the device."""
    from onerep.features.extract import torch_embedder
    from onerep.features.pool import pooled_features
    from onerep.models.device import compute_plan
    from onerep.models.network import build_network

    data = load_data(corpus, ["tag"], device)
    net = build_network(strategy, sources, k=data.k, width=sz.width, seed=3)
    rng = np.random.default_rng(0)
    frames = 1 + int(sz.seconds * 22050) // 256
    clips = [rng.normal(-40, 10, (frames, 2, sz.n_mels)).astype(np.float32) for _ in range(sz.clips)]
    mean, std = data.scaler_mean, data.scaler_std
    embed = torch_embedder(net, device.type)
    pooled_features(clips[:2], embed, mean=mean, std=std, batch_size=256)  # warm-up
    sync(device)
    t0 = time.perf_counter()
    _, windows = pooled_features(clips, embed, mean=mean, std=std, batch_size=256)
    sync(device)
    workflow = float(windows.sum()) / (time.perf_counter() - t0)

    plan = compute_plan(device)
    plan.prepare(net).eval()
    bank = data.bank
    g = torch.Generator(device=bank.storage).manual_seed(0)
    n = 256 * (32 if device.type == "cuda" else 2)
    rows = torch.arange(len(bank), device=bank.storage).repeat(math.ceil(n / len(bank)))[:n]
    starts = bank.random_starts(rows, 216, g)

    def run() -> None:
        with torch.inference_mode(), plan.autocast():
            for a in range(0, len(starts), 256):
                net.features_all(bank.crops(starts[a:a + 256], 216, plan.input_dtype, channels_last=True))

    run()
    sync(device)
    t0 = time.perf_counter()
    run()
    sync(device)
    return workflow, len(starts) / (time.perf_counter() - t0)


def mel_rates(sz: Sizes, device: torch.device) -> tuple[float, float]:
    """Clips per second: CPU numpy path one clip at a time, batched torch path on the device."""
    from onerep.audio.mel import MelParams, mel_batch, mel_from_audio

    rng = np.random.default_rng(1)
    n = int(sz.seconds * 22050)
    t = np.arange(n) / 22050
    ys = [(0.3 * np.sin(2 * np.pi * (110 + 40 * i) * t)[None] + 0.05 * rng.normal(size=(2, n)))
          .astype(np.float32) for i in range(sz.mel_clips)]
    params = MelParams(backend="numpy")
    mel_from_audio(ys[0], params)
    t0 = time.process_time()
    for y in ys[:8]:
        mel_from_audio(y, params)
    cpu = len(ys[:8]) / (time.process_time() - t0)
    x = torch.from_numpy(np.stack(ys)).to(device)
    tparams = MelParams(backend="torch")
    with torch.no_grad():
        mel_batch(x[:2], tparams)
        sync(device)
        t0 = time.perf_counter()
        mel_batch(x, tparams)
        sync(device)
    return cpu, len(ys) / (time.perf_counter() - t0)


# ---------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the tables, the projection and ``study_gpu_hours``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default=None,
                    help="default: cuda when visible, else cpu")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (the CPU check in CI)")
    ap.add_argument("--width", type=float, default=None, help="network width (default 1; quick 0.125)")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default 128; quick 8)")
    ap.add_argument("--steps", type=int, default=None,
                    help="timed steps per cell (default 300 on CUDA, 20 on the CPU; quick 3)")
    ap.add_argument("--modes", default=None,
                    help="comma-separated of eager,graph,compiled,compiled-cg (default: all on CUDA, "
                         "eager,compiled on the CPU, eager with --quick)")
    ap.add_argument("--side-by-side", default=None, help="run counts K to try (default 1,2,4; quick 1,2)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--budget-s", type=float, default=390.0,
                    help="seconds after which optional measurements are skipped (default 390)")
    ap.add_argument("--config", default=str(REPO / "config" / "paper.yaml"), help="study to project")
    ap.add_argument("--write-table", default=None, help="write the measured rates as a TSV here")
    args = ap.parse_args(argv)

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench/gpu.py: --device cuda but no CUDA device is visible", file=sys.stderr)
        return 2
    from onerep.models.device import configure_torch

    configure_torch(device, args.threads)
    sz = sizes(args, device)
    modes = (args.modes.split(",") if args.modes else
             list(MODES) if device.type == "cuda" else ["eager"] if args.quick else ["eager", "compiled"])
    unknown = [m for m in modes if m not in MODES]
    if unknown or (device.type != "cuda" and {"graph", "compiled-cg"} & set(modes)):
        print(f"bench/gpu.py: modes {unknown or modes} not available on {device.type}", file=sys.stderr)
        return 2
    budget = Budget(args.budget_s)
    errors: list[str] = []
    hw = hardware(device)
    print(f"device: {hw}; width {sz.width:g}, batch {sz.batch}, {sz.n_mels} mel bands, "
          f"{sz.steps} timed steps per cell; {'quick' if args.quick else 'full'} sizes")

    from support.corpus import write_synthetic_corpus

    with tempfile.TemporaryDirectory(prefix="onerep-bench-gpu-") as tmp:
        corpus = write_synthetic_corpus(tmp, n_tracks=sz.tracks, frames=sz.frames, n_mels=sz.n_mels,
                                        sources=EIGHT, k=50, seed=0)
        data = {"ssr": load_data(corpus, ["tag"], device), "multi": load_data(corpus, EIGHT, device)}
        print(f"corpus: {data['ssr'].n_train} training tracks x {sz.frames} frames on "
              f"{data['ssr'].bank.storage} ({time.perf_counter() - budget.t0:.0f} s so far)")
        _LAST[0] = time.perf_counter()

        # 1. training throughput: every network in eager mode first, then the other modes
        # while the budget leaves room for them and for the sections after them
        rates: dict[str, dict[str, float | str]] = {s: {} for _, s, _ in NETWORKS}
        for mode in modes:
            for label, strategy, sources in NETWORKS:
                need = NEED_S.get(mode, 0) * (2 if len(sources) > 1 else 1)
                if mode != "eager" and budget.left() < need:
                    rates[strategy][mode] = "skipped (time budget)"
                    continue
                d = data["ssr" if strategy == "ssr" else "multi"]
                rates[strategy][mode] = cell(
                    lambda d=d, s=strategy, src=sources, m=mode: train_rate(d, s, src, m, sz, device),
                    errors, f"{label} {mode}")
                torch._dynamo.reset()
        print_table(f"training throughput: crops/s at batch {sz.batch} (self pairs count 2 crops)",
                    ["network", *modes], [[label, *(fmt(rates[s][m]) for m in modes)]
                                          for label, s, _ in NETWORKS])
        best = {s: max((v for v in r.values() if isinstance(v, float)), default=None)
                for s, r in rates.items()}
        best_mode = {s: max(((v, m) for m, v in r.items() if isinstance(v, float)), default=(0, "-"))[1]
                     for s, r in rates.items()}

        # 2. side by side
        side_mode = best_mode["ssr"] if best_mode["ssr"] in ("eager", "graph") else "eager"
        side_rows, gain, single = [], 1.0, None
        for k in sz.side:
            row = [str(k)]
            for kind in ("one process", "processes"):
                if kind == "processes" and k == 1:
                    row.append("-")  # one process is the column before
                    continue
                if budget.left() < 45 and k > 1:
                    row.append("skipped (time budget)")
                    continue
                if kind == "one process":
                    v = cell(lambda k=k: in_process_rate(data["ssr"], k, side_mode, sz, device),
                             errors, f"side by side: {k} in one process")
                else:
                    v = cell(lambda k=k: processes_rate(Path(tmp), k, sz, device), errors,
                             f"side by side: {k} processes")
                if isinstance(v, float) and k == 1 and kind == "one process":
                    # the better of the two one-run measurements: a gain must beat both
                    same = rates["ssr"].get(side_mode)
                    single = max(v, same) if isinstance(same, float) else v
                if isinstance(v, float) and single and k > 1:
                    if kind == "one process":
                        gain = max(gain, v / single)
                    row.append(f"{v:,.0f} (x{v / single:.2f})")
                else:
                    row.append(fmt(v))
            side_rows.append(row)
        print_table(f"runs side by side: total SS-R crops/s (one process: {side_mode} steps, one "
                    "stream each, one copy of the frames; processes: eager, a copy each; gains over "
                    "the better one-run rate of this table and the training table)",
                    ["runs", "one process", "processes"], side_rows)

        # 3. extraction
        ext_rows, forward = [], {}
        for label, strategy, sources in NETWORKS[:2]:
            if budget.left() < 30 and strategy != "ssr":
                ext_rows.append([label, "skipped (time budget)", "-", "-"])
                continue
            v = cell(lambda s=strategy, src=sources: extraction_rates(corpus, s, src, sz, device),
                     errors, f"extraction {label}")
            if isinstance(v, tuple):
                paths = 1 if strategy == "ssr" else len(sources)
                forward[strategy] = v[0] * paths
                ext_rows.append([label, fmt(v[0]), fmt(v[0] * paths), fmt(v[1])])
            else:
                ext_rows.append([label, v, "-", "-"])
        print_table("feature extraction: windows/s (workflow: numpy windows, float32; on device: "
                    "gathered from the frame tensor, training's autocast); paths/s = windows/s x "
                    "network paths", ["network", "workflow", "paths/s", "on device"], ext_rows)

        # 4. mel
        if budget.left() > 20:
            mel = cell(lambda: mel_rates(sz, device), errors, "mel")
            mel_row = ([f"{sz.seconds:g} s stereo clips", f"{mel[0]:,.1f}", f"{mel[1]:,.1f}",
                        f"x{mel[1] / mel[0]:.1f}"] if isinstance(mel, tuple)
                       else [f"{sz.seconds:g} s stereo clips", mel, "-", "-"])
        else:
            mel_row = [f"{sz.seconds:g} s stereo clips", "skipped (time budget)", "-", "-"]
        print_table(f"mel spectrograms: clips/s (CPU: numpy, one clip, one process; {device.type}: "
                    f"mel_batch of {sz.mel_clips} clips)", ["clips", "CPU", f"batched {device.type}",
                                                            "ratio"], [mel_row])

        # 5. projection
        measured = {s: v for s, v in best.items() if v is not None}
        if not measured:
            print("\nno training rate measured: no projection", file=sys.stderr)
            for e in errors:
                print(e, file=sys.stderr)
            return 1
        table_rows = write_rows(args.write_table, device, hw, sz, rates, forward)
        hours = project(args.config, device, measured, forward, best_mode, sz)
        if gain > 1:
            shared = project(args.config, device, {s: v * gain for s, v in measured.items()},
                             forward, best_mode, sz, quiet=True)
            print(f"with the best side-by-side gain (x{gain:.2f}: runs in one process sharing one "
                  f"copy of the frames, which the workflow does not do yet): {shared:,.1f} "
                  "device-hours")
    if errors:
        print(f"\n{len(errors)} measurement(s) failed; the first:\n{errors[0]}", file=sys.stderr)
    ssr = best.get("ssr")
    if device.type == "cuda":
        print(f"goal: SS-R >= {GOAL_SSR:,} crops/s ({'met' if ssr and ssr >= GOAL_SSR else 'not met'}"
              f"), study <= {GOAL_HOURS:g} GPU-hours ({'met' if hours <= GOAL_HOURS else 'not met'})")
    if table_rows:
        print(f"measured rates written to {args.write_table} ({table_rows} rows)")
    print(f"run time: {time.perf_counter() - budget.t0:.0f} s")
    print(f"study_gpu_hours: {hours:.1f}")
    return 0


def write_rows(path: str | None, device: torch.device, hw: str, sz: Sizes,
               rates: dict[str, dict[str, float | str]], forward: dict[str, float]) -> int:
    """Write the measured rates (``onerep.design.throughput`` format); returns the row count."""
    if not path:
        return 0
    from onerep.design.throughput import Measured, write_table

    today = datetime.date.today().isoformat()
    rows = [Measured(device.type, hw, s, sz.width, sz.batch, m, v,
                     forward.get(s, forward.get("ssr", 3 * v)), f"{today} bench/gpu.py")
            for s, r in rates.items() for m, v in r.items() if isinstance(v, float)]
    write_table(path, rows)
    return len(rows)


def project(config_path: str, device: torch.device, train: dict[str, float],
            forward: dict[str, float], modes: dict[str, str], sz: Sizes, quiet: bool = False) -> float:
    """The cost preview of ``config_path`` at the measured rates (printed unless ``quiet``);
    returns its device-hours (training, validation and extraction)."""
    from onerep.config import load
    from onerep.design import runs_table
    from onerep.design.cost import format_cost, memory_lines, preview

    config = load(config_path)
    samples = [f"{s}={v:.6g}" for s, v in train.items()]
    windows = [f"{s}={v:.6g}" for s, v in forward.items()] or None
    cost = preview(config, runs_table(config), device=device.type, samples=samples, windows=windows,
                   root=REPO)
    hours = cost.total.hours
    if hours is None:
        raise RuntimeError("the projection has a strategy without a rate")
    if not quiet:
        print(f"\n== projection: {config_path}, one run per device, at the best measured rates "
              f"({', '.join(f'{s} {m}' for s, m in modes.items())}) ==")
        t = config["train"]
        if (sz.width, sz.batch) != (t["width"], t["batch_size"]):
            print(f"(rates measured at width {sz.width:g}, batch {sz.batch}; the study trains at width "
                  f"{t['width']:g}, batch {t['batch_size']}: a check that the script works, not an estimate)")
        print(f"onerep cost --configfile {config_path} --device {device.type} "
              f"--samples-per-second {' '.join(samples)}"
              + (f" --windows-per-second {' '.join(windows)}" if windows else ""))
        print(format_cost(cost, memory_lines(config, cost.corpus, cost.device, [80.0, 40.0])), end="")
    return hours


if __name__ == "__main__":
    os.environ.setdefault("ONEREP_NO_PROGRESS", "1")
    sys.exit(main())
