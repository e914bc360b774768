"""Mel-spectrogram speed: the workflow's code against a plain librosa reference, same clips, same run.

    .venv/bin/python bench/mel.py                  # 6 synthetic 30 s stereo MP3 clips, 3 passes
    .venv/bin/python bench/mel.py --crops          # also: random-crop reads per store layout
    .venv/bin/python bench/mel.py --backend numpy  # ratio line for another back end (both are timed)

Both sides run end to end from the MP3 file, on one core (BLAS/OpenMP/torch threads = 1):

* reference: ``librosa.load(sr=22050, mono=False)`` + ``librosa.feature.melspectrogram``
  (n_fft 1024, hop 256, 128 bands) + ``librosa.power_to_db`` (top_db 80);
* workflow: ``onerep.audio.mel.extract_track`` (what ``onerep audio-mel`` runs per track).

Passes alternate the order of the two sides. Clips per second are given per CPU second
of this process (per core; robust on a shared machine) and per wall second; the last
line is ``ratio: X.XX``, workflow over reference, per core. Decoding and resampling are
the same work on both sides (the parity contract), so the ratio cannot exceed
(decode + resample + librosa mel) / (decode + resample); the script prints that bound.
With a CUDA device, the batched GPU path (``mel_batch``) is measured as well.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def _schema_backend() -> str:
    from onerep.config import validate

    return validate({})["audio"]["backend"]


def make_clips(folder: Path, n: int, seconds: float) -> list[Path]:
    """``n`` synthetic music-like stereo MP3 clips at 44.1 kHz."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.clips import write_clip

    return [write_clip(folder / f"clip{i}.mp3", seconds, sr=44100, seed=100 + i) for i in range(n)]


def reference(path: Path) -> np.ndarray:
    import librosa

    y, sr = librosa.load(str(path), sr=22050, mono=False)
    s = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=256, n_mels=128)
    return librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80.0)


def _timed(fn, *args) -> tuple[float, float, object]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    return time.process_time() - c0, time.perf_counter() - w0, out


def bench_mel(clips: list[Path], backends: list[str], passes: int) -> dict[str, tuple[float, float]]:
    """Print per-side throughput; return backend -> (ratio per core, ratio per wall second)."""
    from onerep.audio.mel import MelParams, extract_track, load_audio

    sides: dict[str, object] = {"ref": reference}
    for b in backends:
        params = MelParams(backend=b)
        sides[b] = lambda q, params=params: extract_track(q, params)
    sides["load"] = lambda q: load_audio(q, 22050)
    # warm-up (imports, filter banks, FFT plans) and a parity check on every clip
    for b in backends:
        worst = 0.0
        for p in clips:
            worst = max(worst, float(np.abs(sides[b](p).transpose(1, 2, 0) - reference(p)).max()))
        print(f"parity ({b}): max |workflow - librosa| = {worst:.2e} dB over {len(clips)} clips")
    cpu = dict.fromkeys(sides, 0.0)
    wall = dict.fromkeys(sides, 0.0)
    names = list(sides)
    for k in range(passes):
        order = names[k % len(names):] + names[: k % len(names)]  # rotate who goes first
        for p in clips:
            for name in order:
                c, w, _ = _timed(sides[name], p)
                cpu[name] += c
                wall[name] += w
    n = len(clips) * passes
    labels = {"ref": "librosa reference", "load": "decode + resample only", **{b: f"workflow ({b})" for b in backends}}
    for name in names:
        print(f"{labels[name]:>24}: {n / cpu[name]:6.2f} clips/s per core ({n / wall[name]:6.2f} per wall second)")
    print(f"bound on the ratio with a free mel computation: {cpu['ref'] / cpu['load']:.2f} "
          "(decoding and resampling are shared by both sides)")
    return {b: (cpu["ref"] / cpu[b], wall["ref"] / wall[b]) for b in backends}


def bench_gpu(clips: list[Path], batch: int, passes: int) -> None:
    """Batched GPU mel (decode on CPU), if a CUDA device exists."""
    import torch

    from onerep.audio.mel import MelParams, load_audio, mel_batch

    if not torch.cuda.is_available():
        print("gpu: no CUDA device; batched GPU path not measured")
        return
    dev = torch.device("cuda")
    params = MelParams(backend="torch")
    c0 = time.process_time()
    ys = [load_audio(p, 22050) for p in clips]
    decode_cpu = (time.process_time() - c0) / len(clips)
    n = min(y.shape[1] for y in ys)
    reps = max(1, batch // len(ys))
    x = torch.from_numpy(np.stack([y[:, :n] for y in ys] * reps)).to(dev)
    mel_batch(x, params)  # warm-up
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(passes):
        out = mel_batch(x, params)
    torch.cuda.synchronize()
    per_clip = (time.perf_counter() - t0) / (passes * x.shape[0])
    ref = reference(clips[0])
    err = float(np.abs(out[0].cpu().numpy().transpose(1, 2, 0) - ref[..., : out.shape[1]]).max())
    print(f"gpu ({torch.cuda.get_device_name(0)}), batch {x.shape[0]}: mel {1 / per_clip:8.1f} clips/s; "
          f"with CPU decode+resample on one core {1 / (per_clip + decode_cpu):6.2f} clips/s; parity {err:.1e} dB")


def bench_crops(folder: Path, n_tracks: int = 150, frames: int = 2584, n_crops: int = 3000) -> None:
    """Random 216-frame crop reads from float16 stores of different layouts (page cache warm)."""
    import h5py

    from onerep.audio.mel import MelParams
    from onerep.audio.store import MelStore, write_store

    rng = np.random.default_rng(0)
    mels = [rng.normal(-30, 15, (frames, 2, 128)).astype(np.float16) for _ in range(n_tracks)]
    ids = [f"t{i}" for i in range(n_tracks)]
    base = write_store(folder / "contiguous.h5", ids, mels, MelParams().attrs())
    with h5py.File(base) as f:
        data, offsets = f["mel"][:], f["offsets"][:]
    layouts = {"contiguous": base}
    for chunk in (54, 216, 1024):
        p = folder / f"chunk{chunk}.h5"
        shutil.copy(base, p)
        with h5py.File(p, "a") as f:
            del f["mel"]
            f.create_dataset("mel", data=data, chunks=(chunk, 2, 128))
        layouts[f"chunks ({chunk}, 2, 128)"] = p
    items = [(int(i), int(rng.integers(0, frames - 216))) for i in rng.integers(0, n_tracks, n_crops)]
    print(f"crop reads: {n_tracks} tracks x {frames} frames float16 ({data.nbytes / 2**20:.0f} MB), "
          f"{n_crops} random 216-frame crops, one core")
    for name, p in layouts.items():
        with MelStore(p) as st:
            st.crops(items[:50])
            c0 = time.process_time()
            for i, s in items:
                st.crop(i, s, dtype=np.float16)
            single = n_crops / (time.process_time() - c0)
            c0 = time.process_time()
            for b in range(0, n_crops, 128):
                st.crops(items[b : b + 128], dtype=np.float16)
            batched = n_crops / (time.process_time() - c0)
        print(f"  {name:>24}: {single:8.0f} crops/s one by one, {batched:8.0f} crops/s in batches of 128")
    del offsets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=6, help="number of synthetic clips")
    ap.add_argument("--seconds", type=float, default=30.0, help="clip length (MSD previews: 30 s)")
    ap.add_argument("--passes", type=int, default=3, help="timed passes over the clips")
    ap.add_argument("--backend", default=None, choices=["numpy", "torch"],
                    help="workflow back end of the last line (default: the config schema's); both are measured")
    ap.add_argument("--gpu-batch", type=int, default=32, help="clips per batch on the GPU")
    ap.add_argument("--crops", action="store_true", help="also measure crop reads per store layout")
    ap.add_argument("--keep", help="keep the clips in this folder (reused when present)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    backend = args.backend or _schema_backend()
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="onerep-bench-mel-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        existing = sorted(tmp.glob("clip*.mp3"))
        clips = existing[: args.clips] if len(existing) >= args.clips else make_clips(tmp, args.clips, args.seconds)
        print(f"{len(clips)} stereo MP3 clips of {args.seconds:g} s at 44.1 kHz in {tmp}; "
              f"python {sys.version.split()[0]}, torch threads {torch.get_num_threads()}")
        if args.crops:
            bench_crops(tmp)
        bench_gpu(clips, args.gpu_batch, args.passes)
        others = [b for b in ("numpy", "torch") if b != backend]
        ratios = bench_mel(clips, [backend, *others], args.passes)
        for b in others:
            print(f"ratio ({b}): {ratios[b][0]:.2f} per core, {ratios[b][1]:.2f} per wall second")
        print(f"ratio per wall second ({backend}): {ratios[backend][1]:.2f}")
        print(f"ratio: {ratios[backend][0]:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
