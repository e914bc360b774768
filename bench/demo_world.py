"""Speed of the demo-world generator, measured against references in the same run.

1. Voice synthesis: our wavetable voices (one table per distinct note, one chord = one
   just-intonation table, note values expanded with ``np.repeat``, fixed-point phase) against
   the textbook way, additive synthesis per note (a harmonics x samples matrix of sines
   for each note). Same lines, same envelopes; the ratio reference / ours is printed.
2. Encoding: CPU per second of audio for every format the generator writes, with
   the MP3 encoder (soundfile / LAME) as the floor that synthesis is compared with.
3. An estimate of the whole generation for a config's ``demo`` section (CPU seconds,
   and wall seconds on ``--workers`` processes) from the costs measured above.

    .venv/bin/python bench/demo_world.py                                # config/config.yaml
    .venv/bin/python bench/demo_world.py --config tests/config/tiny.yaml --clips 40
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from onerep.demo.arrange import arrange  # noqa: E402
from onerep.demo.generator import audio_jobs  # noqa: E402
from onerep.demo.styles import TIMBRES  # noqa: E402
from onerep.demo.synth import harmonic_amplitudes, render, render_line, split_chord_line  # noqa: E402
from onerep.demo.world import DemoSettings, build_world  # noqa: E402
from onerep.demo.writers import encode_audio, render_rate  # noqa: E402


def additive_line(line, t0: float, n: int, sr: int) -> np.ndarray:
    """Reference: each note as a sum of sines over its own samples (harmonics x samples matrix)."""
    timbre = TIMBRES[line.inst]
    out = np.zeros(n, dtype=np.float32)
    starts = np.ceil((line.onsets - t0) * sr).astype(int)
    ends = np.append(starts[1:], n)
    for i in range(len(line.onsets)):
        a, b = max(starts[i], 0), min(ends[i], n)
        if b <= a:
            continue
        tau = (np.arange(a, b) - starts[i]) / sr
        f0 = 440.0 * 2 ** ((line.pitches[i] - 69) / 12)
        amps = harmonic_amplitudes(timbre, f0, sr)
        k = np.arange(1, len(amps) + 1)[:, None]
        wave = (amps[:, None] * np.sin(2 * np.pi * k * f0 * tau[None, :])).sum(0)
        past = np.maximum(tau - line.durs[i], 0)
        env = np.exp(-past / timbre.release) * np.minimum(tau / timbre.attack, 1.0) * line.vels[i]
        if timbre.env == "pluck":
            env *= np.exp(-tau / (timbre.decay * 2.0 ** (-(line.pitches[i] - 60) / 24)))
        out[a:b] = wave * env
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--clips", type=int, default=60, help="clips sampled for the measurements")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    demo = yaml.safe_load(open(args.config))["demo"]
    world = build_world(DemoSettings.from_dict(demo))
    jobs = audio_jobs(world)
    sample = jobs[:: max(1, len(jobs) // args.clips)][: args.clips]

    # 1. voices: ours against per-note additive synthesis, on the same lines
    sr = 22050
    lines = []
    for job in sample[:20]:
        score = arrange(job.spec, job.start, job.start + job.duration)
        for line in score.lines:
            if TIMBRES[line.inst].method == "table":
                lines.extend(split_chord_line(line) if line.chords is not None else [line])
    n = int(4.0 * sr)
    noise = np.zeros(n + 8192, dtype=np.float32)
    lines = lines[: len(sample)]
    t = time.process_time()
    for job, line in zip(sample, lines):
        render_line(line, job.start, n, sr, noise)
    ours = time.process_time() - t
    t = time.process_time()
    for job, line in zip(sample, lines):
        additive_line(line, job.start, n, sr)
    ref = time.process_time() - t
    print(f"voices: {len(lines)} lines of 4 s; ours {ours:.2f} s, per-note additive {ref:.2f} s, "
          f"ratio reference/ours = {ref / ours:.1f}")

    # 2. full clips: synthesis and encoding, CPU per second of audio
    synth_cost: dict[int, list[float]] = {}
    enc_cost: dict[tuple, list[float]] = {}
    for job in sample:
        rate = render_rate(job.fmt)
        t = time.process_time()
        audio = render(job.spec, job.start, job.duration, rate)
        synth_cost.setdefault(rate, []).append((time.process_time() - t) / job.duration)
        t = time.process_time()
        encode_audio(audio, rate, job.fmt)
        enc_cost.setdefault((job.fmt.ext, job.fmt.sample_rate, job.fmt.channels), []).append(
            (time.process_time() - t) / job.duration)
    synth = {r: float(np.mean(v)) for r, v in synth_cost.items()}
    enc = {f: float(np.mean(v)) for f, v in enc_cost.items()}
    for r, c in sorted(synth.items()):
        print(f"synthesis at {r} Hz: {1 / c:.0f}x realtime")
    for f, c in sorted(enc.items()):
        print(f"encode {f[0]} {f[1]} Hz {f[2]} ch: {1 / c:.0f}x realtime")
    mp3 = enc.get(("mp3", 22050, 2))
    if mp3:
        print(f"synthesis (22.05 kHz) / stereo MP3 encoding = {synth.get(22050, 0) / mp3:.2f}")

    # 3. estimate for the whole config
    total_s = Counter()
    cpu = 0.0
    for job in jobs:
        key = (job.fmt.ext, job.fmt.sample_rate, job.fmt.channels)
        c_enc = enc.get(key, max(enc.values()))
        cpu += job.duration * (synth.get(render_rate(job.fmt), synth.get(22050, 0)) + c_enc)
        total_s[job.fmt.ext] += job.duration
    print(f"{args.config}: {len(jobs)} clips, audio seconds by format {dict(total_s)}; estimated "
          f"{cpu:.0f} s CPU, about {cpu / args.workers:.0f} s wall on {args.workers} workers")


if __name__ == "__main__":
    main()
