"""Training-step throughput: the workflow's data path and step against a naive reference.

    python bench/train.py [--width 1] [--batch 64] [--steps 12] [--repeats 3]

Both sides train the same SS-R network on the same synthetic corpus (written to a
temporary folder in the workflow's formats, 8 sources, 128 mel bands):

- workflow: ``onerep.models.loop.Trainer`` -- frames loaded once into memory as
  float16, crops gathered by index arithmetic, one fused standardise pass, Adam step
  (bf16 autocast and channels-last on CUDA);
- reference: a ``torch.utils.data.DataLoader`` over a Dataset that reads each crop
  from the HDF5 file (the file kept open), standardises it in float32 with numpy, and
  the same network and optimizer in float32 without channels-last.

Workflow and reference blocks alternate and the median of ``--repeats`` blocks is
taken, so that a busy machine slows both alike. MS-CR@2 with all 8 sources is
measured on the workflow side too. With a GPU, SS-R at ``--gpu-width`` /
``--gpu-batch`` is measured on it and reported as a share of the card's peak
(``--peak-tflops``; about 0.35 GFLOP per sample forward and backward at width 1).
The last line is ``ratio: X.XX`` (workflow over reference, SS-R, samples per second).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from onerep.models.data import load_run_data
from onerep.models.loop import Trainer
from onerep.models.network import build_network
from onerep.models.settings import TrainSettings
from onerep.models.summary import PAPER_SOURCES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.corpus import write_synthetic_corpus  # noqa: E402

GFLOP_PER_SAMPLE = 0.35  # forward + backward at width 1 (SPEC section 4)


class CropDataset(torch.utils.data.Dataset):
    """Naive reference: every item reads one random crop from the HDF5 file."""

    def __init__(self, path: Path, rows: list[int], labels: np.ndarray, mean: np.ndarray,
                 std: np.ndarray, crop: int, seed: int):
        self.path, self.rows, self.labels = path, rows, labels
        self.mean, self.std, self.crop = mean, std, crop
        with h5py.File(path) as f:
            self.offsets = f["offsets"][()]
        self.rng = np.random.default_rng(seed)
        self.file: h5py.File | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.file is None:
            self.file = h5py.File(self.path, "r")
        r = self.rows[i]
        start = self.offsets[r] + self.rng.integers(0, self.offsets[r + 1] - self.offsets[r] - self.crop + 1)
        x = self.file["mel"][start:start + self.crop].astype(np.float32)
        x = ((x - self.mean) / self.std).transpose(1, 0, 2)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(self.labels[i])


def reference_rate(corpus, data, width: float, batch: int, steps: int, device: torch.device
                   ) -> tuple[float, float]:
    """Samples per second (wall clock, CPU time) of the naive DataLoader training loop
    (float32, channels-first)."""
    if batch > data.n_train:
        raise ValueError(f"batch {batch} is larger than the {data.n_train} training tracks")
    with h5py.File(corpus.mel) as f:
        ids = [t.decode() for t in f["track_id"][()]]
    rows = [ids.index(t) for t in data.train_ids]
    z = data.z_train["tag"].cpu().numpy()
    ds = CropDataset(corpus.mel, rows, z, data.scaler_mean, data.scaler_std, data.crop_frames, 0)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True,
                                         num_workers=0)
    net = build_network("ssr", ["tag"], k=data.k, width=width, seed=1).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=2.5e-4, weight_decay=1e-6)

    def run(n: int) -> None:
        done = 0
        while done < n:
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                loss = F.kl_div(F.log_softmax(net(x, "tag"), 1), y, reduction="batchmean")
                opt.zero_grad()
                loss.backward()
                opt.step()
                done += 1
                if done == n:
                    break
        if device.type == "cuda":
            torch.cuda.synchronize()

    run(2)
    t0, c0 = time.perf_counter(), time.process_time()
    run(steps)
    return steps * batch / (time.perf_counter() - t0), steps * batch / (time.process_time() - c0)


def workflow_trainer(data, strategy: str, sources: list[str], width: float, batch: int,
                     device: torch.device, compile_: bool = False) -> Trainer:
    """A trainer of the workflow for ``strategy`` on ``sources``."""
    settings = TrainSettings.from_mapping(dict(batch_size=batch, width=width, device=device.type, compile=compile_))
    net = build_network(strategy, sources, k=data.k, width=width, seed=1)
    return Trainer(net, data, settings, seed=1, device=device)


def workflow_rate(trainer: Trainer, steps: int) -> tuple[float, float]:
    """Samples per second (wall clock, CPU time) of the workflow's training step,
    batch sampling included."""
    sched = [trainer.sources[i] for i in trainer.schedule()]
    sched = (sched * (steps // max(len(sched), 1) + 2))[: steps + 2]

    def run(items: list[str]) -> None:
        for source in items:
            x, y = trainer.batch(source)
            trainer.step(source, x, y)
        if trainer.cuda:
            torch.cuda.synchronize()

    run(sched[:2])
    t0, c0 = time.perf_counter(), time.process_time()
    run(sched[2:])
    return steps * trainer.b / (time.perf_counter() - t0), steps * trainer.b / (time.process_time() - c0)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the ratio as the last line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=float, default=1.0,
                    help="network width on the CPU (default 1, the paper's network; the demo trains at 0.25)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=12, help="training steps per timed block")
    ap.add_argument("--repeats", type=int, default=3, help="alternating blocks per side")
    ap.add_argument("--tracks", type=int, default=256)
    ap.add_argument("--frames", type=int, default=690, help="frames per track (8 s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="device of the workflow/reference comparison")
    ap.add_argument("--gpu-width", type=float, default=1.0)
    ap.add_argument("--gpu-batch", type=int, default=128)
    ap.add_argument("--gpu-steps", type=int, default=300)
    ap.add_argument("--peak-tflops", type=float, default=989.0,
                    help="dense bf16 peak of the card (H100 SXM: 989)")
    ap.add_argument("--compile", action="store_true", help="torch.compile on the GPU measurement")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    with tempfile.TemporaryDirectory(prefix="onerep-bench-train-") as tmp:
        corpus = write_synthetic_corpus(tmp, n_tracks=args.tracks, frames=args.frames, n_mels=128,
                                        sources=list(PAPER_SOURCES), k=50, seed=0)
        data = load_run_data(corpus.mel, corpus.split, corpus.scaler,
                             [corpus.labels_dir / f"{s}.h5" for s in PAPER_SOURCES if s != "self"],
                             list(PAPER_SOURCES), 216, device)
        print(f"corpus: {data.n_train} training tracks x {args.frames} frames, 128 mel bands; "
              f"device {device}, {torch.get_num_threads()} threads, width {args.width}, "
              f"batch {args.batch}", flush=True)
        ssr = workflow_trainer(data, "ssr", ["tag"], args.width, args.batch, device)
        ms = workflow_trainer(data, "mscr2", list(PAPER_SOURCES), args.width, args.batch, device)
        wf, ref, wf_ms = [], [], []
        for rep in range(args.repeats):
            wf.append(workflow_rate(ssr, args.steps))
            ref.append(reference_rate(corpus, data, args.width, ssr.b, args.steps, device))
            wf_ms.append(workflow_rate(ms, args.steps))
            print(f"block {rep + 1}: samples/s (wall clock | per CPU-second): workflow SS-R "
                  f"{wf[-1][0]:.1f} | {wf[-1][1]:.1f}, reference SS-R {ref[-1][0]:.1f} | "
                  f"{ref[-1][1]:.1f}, workflow MS-CR@2 (8 sources) {wf_ms[-1][0]:.1f} | "
                  f"{wf_ms[-1][1]:.1f}", flush=True)
        w, r, m = (statistics.median(v[0] for v in x) for x in (wf, ref, wf_ms))
        wc, rc = (statistics.median(v[1] for v in x) for x in (wf, ref))
        print(f"workflow SS-R: {w:.1f} samples/s (median; {wc:.1f} per CPU-second)")
        print(f"reference SS-R: {r:.1f} samples/s (median; {rc:.1f} per CPU-second)")
        print(f"workflow MS-CR@2, 8 sources: {m:.1f} samples/s (median)")
        print(f"ratio per CPU-second (robust to a busy machine): {wc / rc:.2f}")

        if torch.cuda.is_available():
            gdev = torch.device("cuda")
            gdata = load_run_data(corpus.mel, corpus.split, corpus.scaler, [corpus.labels_dir / "tag.h5"],
                                  ["tag"], 216, gdev)
            g = workflow_trainer(gdata, "ssr", ["tag"], args.gpu_width, args.gpu_batch, gdev,
                                 args.compile)
            rate = workflow_rate(g, args.gpu_steps)[0]
            flops = GFLOP_PER_SAMPLE * args.gpu_width ** 2 * rate / 1e3
            print(f"GPU {torch.cuda.get_device_name()}: SS-R width {args.gpu_width} batch "
                  f"{args.gpu_batch}: {rate:.0f} samples/s, {flops:.1f} TFLOP/s = "
                  f"{100 * flops / args.peak_tflops:.2f}% of {args.peak_tflops:.0f} TFLOP/s peak")
        print(f"ratio: {w / r:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
