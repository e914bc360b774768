"""Audio rendering of a score: vectorised additive / plucked / FM voices, noise drums, production.

``render(spec, start, duration, sr)`` returns a stereo float32 array ``(2, n)``.
Every voice is computed for all samples at once: a note index per sample
(``searchsorted`` of the sample times into the note onsets) selects the note's
wavetable, envelope and pitch; there is no per-sample Python loop. Drums are
one-shot samples (noise bursts and swept sines) added at their hit times.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
from scipy import signal

from .arrange import Line, RenderSpec, Score, arrange
from .styles import DRUM_PAN, TIMBRES, VOWEL_FORMANTS, Timbre

TABLE_BITS = 11  # single-note wavetables have 2**11 samples per cycle
PREROLL = 0.5  # seconds rendered before the window so that reverb and release tails are in place
_VOWEL_KEYS = tuple(VOWEL_FORMANTS)


#: Just-intonation ratios of the intervals within an octave: the tones of a chord then share a
#: common period, so a whole chord is one wavetable.
JUST_RATIOS = {0: (1, 1), 1: (16, 15), 2: (9, 8), 3: (6, 5), 4: (5, 4), 5: (4, 3), 6: (7, 5), 7: (3, 2),
               8: (8, 5), 9: (5, 3), 10: (9, 5), 11: (15, 8)}
CHORD_TABLE_BITS = 12


@functools.lru_cache(maxsize=1024)
def chord_ratios(intervals: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Harmonic numbers of the chord tones over their common fundamental, and its divisor:
    tone i sounds at ``f_low * nums[i] / den``."""
    fr = [Fraction(*JUST_RATIOS[d % 12]) * 2 ** (d // 12) for d in intervals]
    den = math.lcm(*(f.denominator for f in fr))
    return tuple(int(f * den) for f in fr), den


def _tables(spectra: np.ndarray, bits: int) -> np.ndarray:
    """Wavetables ``sum_k a[k] sin(2 pi k j / L)`` (L = 2**bits) of harmonic spectra ``(rows, L/2)``
    (index k = harmonic k, index 0 unused), via an inverse FFT."""
    size = 2**bits
    x = np.zeros((len(spectra), size // 2 + 1), dtype=np.complex128)
    x[:, : spectra.shape[1]] = -0.5j * size * spectra
    x[:, 0] = 0.0
    return np.fft.irfft(x, n=size, axis=1).astype(np.float32)


def _formant_env(freqs: np.ndarray, formants, floor: float) -> np.ndarray:
    env = np.full(freqs.shape, floor)
    for f, width, gain in formants:
        env += gain * np.exp(-0.5 * (np.log2(np.maximum(freqs, 1.0) / f) / width) ** 2)
    return env


def harmonic_amplitudes(timbre: Timbre, f0: float, sr: int, vowel: int = -1, female: bool = False) -> np.ndarray:
    """Amplitudes of harmonics 1..K of one note (K kept below Nyquist), unit energy."""
    base = f0 / 2 if timbre.sub_octave else f0
    k_max = int(min(timbre.max_harmonics, max(1, math.floor(0.45 * sr / base))))
    k = np.arange(1, k_max + 1, dtype=float)
    if timbre.partials:
        amp = np.zeros(k_max)
        n = min(k_max, len(timbre.partials))
        amp[:n] = timbre.partials[:n]
    else:
        amp = k**-timbre.slope
        amp[1::2] *= timbre.even
    if timbre.comb:
        amp *= np.abs(np.sin(np.pi * k * timbre.comb)) + 0.05
    freqs = k * base
    if timbre.formants:
        amp *= _formant_env(freqs, timbre.formants, timbre.floor)
    if timbre.vowels and vowel >= 0:
        scale = 1.15 if female else 1.0
        f1, f2, f3 = (f * scale for f in VOWEL_FORMANTS[_VOWEL_KEYS[vowel]])
        amp *= _formant_env(freqs, ((f1, 0.14, 1.0), (f2, 0.12, 0.55), (f3, 0.1, 0.3)), timbre.floor)
    norm = float(np.sqrt(np.sum(amp**2)))
    return amp / norm if norm > 0 else amp


@functools.lru_cache(maxsize=4096)
def _note_spectrum(inst: str, p100: int, vowel: int, chord: tuple[int, ...], female: bool, sr: int,
                   bits: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Harmonic spectra (bright, dull) over a note's phase fundamental, and its divisor: a single
    tone, or a just-intonation chord whose tones are harmonics of their common fundamental."""
    timbre = TIMBRES[inst]
    limit = 2 ** (bits - 1) - 1
    f_low = 440.0 * 2 ** ((p100 / 100.0 - 69) / 12)
    nums, den = chord_ratios(chord)
    scale = 1 / math.sqrt(len(nums))
    bright = np.zeros(limit + 1)
    dull = np.zeros(limit + 1) if timbre.dull else None
    for num in nums:
        a = harmonic_amplitudes(timbre, f_low * num / den, sr, vowel, female) * scale
        k = min(len(a), limit // num)
        bright[num: num * k + 1: num] += a[:k]
        if dull is not None:
            dull[num: num * k + 1: num] += a[:k] * np.exp(-timbre.dull * np.arange(k))
    bright.flags.writeable = False
    if dull is not None:
        dull.flags.writeable = False
    return bright, dull, den


def _note_tables(timbre: Timbre, line: Line, sr: int, female: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """Bright and dull wavetables of the distinct notes (pitch, vowel or chord) of a line, each
    note's table row, the table size in bits, and each note's divisor of the phase frequency."""
    n = len(line.pitches)
    keys: dict[tuple, int] = {}
    row = np.empty(n, dtype=np.int64)
    for i in range(n):
        key = (round(float(line.pitches[i]) * 100), int(line.vowels[i]) if line.vowels is not None else -1,
               line.chords[i] if line.chords is not None else (0,))
        row[i] = keys.setdefault(key, len(keys))
    bits = CHORD_TABLE_BITS if line.chords is not None else TABLE_BITS
    spectra = [_note_spectrum(line.inst, p100, vowel, chord, female, sr, bits) for p100, vowel, chord in keys]
    tab_b = _tables(np.stack([b for b, _, _ in spectra]), bits)
    tab_d = _tables(np.stack([d for _, d, _ in spectra]), bits) if timbre.dull else tab_b
    divs = np.asarray([den for _, _, den in spectra], dtype=float)
    return tab_b, tab_d, row, bits, divs[row]


def split_chord_line(line: Line) -> list[Line]:
    """One line per chord voice (for timbres that cannot share a wavetable)."""
    n_voices = max(len(c) for c in line.chords)
    out = []
    for v in range(n_voices):
        keep = np.asarray([len(c) > v for c in line.chords])
        pitches = np.asarray([p + c[v] for p, c in zip(line.pitches, line.chords) if len(c) > v], dtype=float)
        out.append(Line(line.inst, line.onsets[keep], line.durs[keep], pitches, line.vels[keep], line.pan,
                        line.gain / math.sqrt(n_voices), line.role, line.drive))
    return out


def note_runs(onsets: np.ndarray, t0: float, sr: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each note's first sample relative to ``t0`` (onsets quantised to samples) and the number of
    samples it sounds within the ``n``-sample window (until the next onset); the first count is
    the silence before the first note."""
    starts = np.ceil((onsets - t0) * sr - 1e-9).astype(np.int64)
    clipped = np.clip(starts, 0, n)
    counts = np.diff(np.concatenate(([0], clipped, [n])))
    return starts, counts


def render_line(line: Line, t0: float, n: int, sr: int, noise: np.ndarray, female: bool = False) -> np.ndarray:
    """Mono signal of one monophonic line: ``n`` samples from time ``t0`` (seconds).

    Per-note values are expanded to samples with ``np.repeat`` (a note sounds until the next
    onset); the phase is an exact 32-bit fixed-point accumulator, continuous across notes."""
    timbre = TIMBRES[line.inst]
    if len(line.onsets) == 0:
        return np.zeros(n, dtype=np.float32)
    starts, counts = note_runs(line.onsets, t0, sr, n)

    def per_sample(values: np.ndarray, silent: float | int = 0) -> np.ndarray:
        return np.repeat(np.concatenate(([silent], values)).astype(values.dtype, copy=False), counts)

    k_local = (np.arange(n, dtype=np.int64) - per_sample(starts)).astype(np.int32)  # samples since onset
    tau = k_local.astype(np.float32) * np.float32(1 / sr)
    past = np.maximum(tau - per_sample(line.durs.astype(np.float32)), np.float32(0.0))
    vel = per_sample(line.vels.astype(np.float32))
    # amplitude envelope: attack ramp, decay, release after the note's end
    inv_rel = np.float32(1 / timbre.release)
    if timbre.env == "pluck":
        inv_decay = (1.0 / (timbre.decay * 2.0 ** (-(line.pitches - 60) / 24))).astype(np.float32)
        env = np.exp(-(tau * per_sample(inv_decay)) - past * inv_rel)
    else:
        env = np.exp(-past * inv_rel)
        if timbre.sustain < 1.0:
            env *= timbre.sustain + (1 - timbre.sustain) * np.exp(-tau * np.float32(1 / timbre.decay))
    env *= np.minimum(tau * np.float32(1 / timbre.attack), np.float32(1.0))
    env *= vel
    # phase: 32-bit fixed point (2**32 = one cycle); uint32 arithmetic wraps exactly at a cycle
    f_hz = 440.0 * np.exp2((line.pitches - 69) / 12) / (2.0 if timbre.sub_octave else 1.0)
    if timbre.method == "table":
        tab_b, tab_d, row, bits, divisor = _note_tables(timbre, line, sr, female)
        f_hz = f_hz / divisor  # a chord's table spans the common period of its tones
    f_cyc = f_hz / sr
    inc = np.round(f_cyc * 2**32).astype(np.uint64)
    seg = np.diff(starts, append=starts[-1])
    phase0 = np.concatenate(([0], np.cumsum((inc[:-1] * seg[:-1].astype(np.uint64)) % 2**32)))
    phase = per_sample(inc.astype(np.uint32)) * k_local.astype(np.uint32)
    phase += per_sample((phase0 % 2**32).astype(np.uint32))
    rate, depth, delay = timbre.vibrato
    offset = None
    if depth:  # vibrato as phase modulation: the integral of f * beta * sin(2 pi rate t)
        ramp = np.clip((tau - np.float32(delay)) * np.float32(4.0), np.float32(0.0), np.float32(1.0))
        amp = per_sample(f_hz.astype(np.float32)) * np.float32((2 ** (depth / 12) - 1) / (2 * np.pi * rate))
        lfo = np.cos(np.float32(2 * np.pi * rate / sr) * np.arange(n, dtype=np.float32) + np.float32(
            (2 * np.pi * rate * t0) % (2 * np.pi)))
        offset = -(amp * ramp * lfo)
    if timbre.glide:  # pitch falling from glide semitones above: integral of f * a * exp(-tau / 0.05)
        g = per_sample(f_hz.astype(np.float32)) * np.float32((2 ** (timbre.glide / 12) - 1) * 0.05)
        extra = g * (1 - np.exp(-tau * np.float32(20.0)))
        offset = extra if offset is None else offset + extra
    if offset is not None:
        phase += (offset.astype(np.float64) * 2**32).astype(np.int64).astype(np.uint32)
    if timbre.method == "fm":
        ratio, i0, i1 = timbre.fm
        index = np.float32(i0) + np.float32(i1) * env / np.maximum(vel, np.float32(1e-3))
        ph = phase.astype(np.float32) * np.float32(2 * np.pi / 2**32)
        sig = np.sin(ph + index * np.sin(np.float32(ratio) * ph))
    else:
        flat = per_sample((row << bits).astype(np.int32)) + (phase >> np.uint32(32 - bits)).astype(np.int32)
        sig = tab_b.ravel()[flat]
        if timbre.bright_tau and timbre.dull:
            w = np.exp(-tau * np.float32(1 / timbre.bright_tau))
            dull = tab_d.ravel()[flat]
            sig = dull + w * (sig - dull)
    out = sig * env
    if timbre.noise:
        out += np.float32(timbre.noise * 3.0) * env * noise[:n]
    if timbre.tremolo[1]:
        lfo = np.cos(np.float32(2 * np.pi * timbre.tremolo[0] / sr) * np.arange(n, dtype=np.float32))
        out *= np.float32(1 - timbre.tremolo[1] * 0.5) + np.float32(timbre.tremolo[1] * 0.5) * lfo
    if line.drive > 0:
        out = np.tanh(np.float32(line.drive) * out) * np.float32(1 / math.tanh(line.drive))
        b, a_ = _cab_filter(sr)
        out = signal.lfilter(b, a_, out)
    return out.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=4)
def _cab_filter(sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Loudspeaker-cabinet low-pass after the guitar distortion."""
    return signal.butter(2, min(0.9, 4500 / (sr / 2)))


# ---------------------------------------------------------------------------
# Drums
# ---------------------------------------------------------------------------

DRUM_GAIN = {"K": 1.0, "S": 0.75, "H": 0.3, "O": 0.3, "R": 0.28, "C": 0.35, "P": 0.55, "M": 0.4, "B": 0.3,
             "T": 0.5, "Z": 0.22, "J": 0.28, "W": 0.3}
DRUM_LENGTH = {"K": 0.5, "S": 0.35, "H": 0.08, "O": 0.45, "R": 1.2, "C": 1.6, "P": 0.3, "M": 0.05,
               "B": 0.25, "T": 0.35, "Z": 0.09, "J": 0.2, "W": 0.25}


def _hp_noise(rng: np.random.Generator, n: int, order: int = 1) -> np.ndarray:
    x = rng.standard_normal(n + order)
    for _ in range(order):
        x = np.diff(x)
    return x / (2.0**order) ** 0.5


@functools.lru_cache(maxsize=256)
def drum_sample(voice: str, genre: str, sr: int) -> np.ndarray:
    """One-shot sample of a drum voice in the kit of ``genre`` (noise-based percussion)."""
    rng = np.random.default_rng([ord(voice), sum(map(ord, genre)), sr])
    n = int(DRUM_LENGTH[voice] * sr)
    t = np.arange(n) / sr
    if voice == "K":
        f_hi, f_lo, dec, click = {"metal": (160, 55, 0.16, 0.5), "hiphop": (110, 42, 0.45, 0.1),
                                  "jazz": (90, 60, 0.2, 0.0), "disco": (140, 50, 0.22, 0.2)}.get(
            genre, (130, 50, 0.25, 0.2))
        f = f_lo + (f_hi - f_lo) * np.exp(-t / 0.035)
        x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / dec)
        x += click * _hp_noise(rng, n) * np.exp(-t / 0.004)
    elif voice == "S":
        tone, noise_dec, mix = {"jazz": (200, 0.1, 0.5), "metal": (180, 0.2, 0.75),
                                "hiphop": (190, 0.16, 0.7)}.get(genre, (190, 0.15, 0.65))
        x = (1 - mix) * np.sin(2 * np.pi * tone * t) * np.exp(-t / 0.05)
        x += mix * _hp_noise(rng, n) * np.exp(-t / noise_dec)
    elif voice in ("H", "O"):
        x = _hp_noise(rng, n, 2) * np.exp(-t / (0.03 if voice == "H" else 0.22))
    elif voice == "R":
        freqs = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0]) * 2.6
        x = np.sign(np.sin(2 * np.pi * freqs[:, None] * t)).sum(0) / 6.0
        x = np.diff(np.append(x, 0.0)) * 0.5 * np.exp(-t / 0.7)
        x += 0.4 * np.sin(2 * np.pi * 3200 * t) * np.exp(-t / 0.25)
    elif voice == "C":
        x = _hp_noise(rng, n, 2) * np.exp(-t / 0.8)
    elif voice == "P":
        env = sum(np.exp(-np.maximum(t - d, 0) / 0.004) * (t >= d) for d in (0.0, 0.011, 0.022))
        env = env + 0.5 * np.exp(-np.maximum(t - 0.03, 0) / 0.07) * (t >= 0.03)
        x = _hp_noise(rng, n) * env
    elif voice == "M":
        x = np.sin(2 * np.pi * 1750 * t) * np.exp(-t / 0.012)
    elif voice == "B":
        x = (np.sign(np.sin(2 * np.pi * 540 * t)) + np.sign(np.sin(2 * np.pi * 800 * t))) * 0.5
        x = signal.lfilter([0.3], [1, -0.7], x) * np.exp(-t / 0.07)
    elif voice == "T":
        f = 210 + 40 * np.exp(-t / 0.02)
        x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.12)
        x += 0.1 * _hp_noise(rng, n) * np.exp(-t / 0.01)
    elif voice == "Z":
        x = _hp_noise(rng, n, 2) * np.minimum(t / 0.01, 1.0) * np.exp(-t / 0.04)
    elif voice == "J":
        x = _hp_noise(rng, n, 2) * (1 + np.sin(2 * np.pi * 37 * t)) * np.exp(-t / 0.08)
    elif voice == "W":
        x = _hp_noise(rng, n) * np.minimum(t / 0.03, 1.0) * np.exp(-t / 0.1)
    else:
        raise ValueError(f"unknown drum voice {voice!r}")
    peak = float(np.max(np.abs(x))) or 1.0
    out = (x / peak).astype(np.float32)
    out.flags.writeable = False
    return out


def _place(buf: np.ndarray, sample: np.ndarray, positions: np.ndarray, vels: np.ndarray) -> None:
    """Add ``sample`` scaled by each velocity at each sample position (clipped to the buffer)."""
    n = len(buf)
    m = len(sample)
    for pos, v in zip(positions.tolist(), vels.tolist()):
        a, b = max(pos, 0), min(pos + m, n)
        if b > a:
            buf[a:b] += v * sample[a - pos: b - pos]


# ---------------------------------------------------------------------------
# Mix and production
# ---------------------------------------------------------------------------


def era_production(year: int) -> dict[str, float]:
    """Production of a recording year: band limits, hiss, stereo width (0: mono before 1958),
    compression drive, crackle."""
    return {
        "lowpass": float(np.interp(year, [1950, 1965, 1980, 1995, 2011], [4200, 6200, 8500, 10000, 11000])),
        "highpass": float(np.interp(year, [1950, 1970, 1990], [140, 70, 30])),
        "hiss_db": float(np.interp(year, [1950, 1970, 1990, 2011], [-44, -54, -66, -80])),
        "width": float(np.interp(year, [1950, 1958, 1962, 1968, 1976, 2011], [0.0, 0.0, 0.15, 1.3, 0.85, 0.8])),
        "drive": float(np.interp(year, [1950, 1985, 2000, 2011], [1.0, 1.3, 2.5, 3.5])),
        "crackle": float(np.interp(year, [1950, 1966], [10.0, 0.0])),
    }


def _pan_gains(pan: float) -> tuple[float, float]:
    theta = (min(max(pan, -1.0), 1.0) + 1) * math.pi / 4
    return math.cos(theta), math.sin(theta)


@functools.lru_cache(maxsize=2)
def noise_bank(sr: int) -> np.ndarray:
    """A fixed block of slightly high-passed white noise (float32, 30 s) shared by all tracks."""
    rng = np.random.default_rng(20200101)
    x = rng.standard_normal(30 * sr).astype(np.float32)
    x[1:] -= 0.7 * x[:-1].copy()
    x /= np.float32(np.std(x))
    x.flags.writeable = False
    return x


def _noise(sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of the noise bank from a random offset (the bank wraps around)."""
    bank = noise_bank(sr)
    off = int(rng.integers(0, len(bank)))
    if off + n <= len(bank):
        return bank[off: off + n]
    return np.concatenate([bank[off:], bank[: n - (len(bank) - off)]]) if n <= len(bank) else np.resize(bank, n)


def _reverb(send: np.ndarray, decay: float, wet: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Stereo room: early reflections plus a sparse exponentially decaying tail (multi-tap delays of
    the low-passed send, decorrelated between left and right)."""
    b, a = _cab_filter(sr)
    src = signal.lfilter(b, a, send).astype(np.float32)
    n = len(send)
    out = np.zeros((2, n), dtype=np.float32)
    n_taps = 10
    for ch in range(2):
        delays = np.sort(rng.uniform(0.008, min(3 * decay, 1.2), n_taps))
        gains = np.exp(-delays / (decay / 3)) * rng.choice([-1.0, 1.0], n_taps)
        gains *= wet / np.sqrt(np.sum(gains**2))
        for d, g in zip((delays * sr).astype(np.int64).tolist(), gains.tolist()):
            if d < n:
                out[ch, d:] += np.float32(g) * src[: n - d]
    return out


def render(spec: RenderSpec, start: float, duration: float, sr: int = 22050) -> np.ndarray:
    """Stereo audio ``(2, round(duration * sr))`` of the track window [start, start + duration)."""
    n = int(round(duration * sr))
    pre = int(round(PREROLL * sr))
    total = n + pre
    t0 = start - pre / sr
    score: Score = arrange(spec, t0 - 1.0, start + duration + 0.5)
    rng = np.random.default_rng([spec.seed, 7])
    prod = era_production(spec.year)
    width = prod["width"]
    mix = np.zeros((2, total), dtype=np.float32)
    send = np.zeros(total, dtype=np.float32)
    lines = []
    for line in score.lines:  # FM voices play chords as separate lines
        if line.chords is not None and TIMBRES[line.inst].method == "fm":
            lines.extend(split_chord_line(line))
        else:
            lines.append(line)
    for line in lines:
        x = render_line(line, t0, total, sr, _noise(sr, total, rng), spec.female)
        x *= np.float32(line.gain)
        gl, gr = _pan_gains(line.pan * width)
        mix[0] += np.float32(gl) * x
        mix[1] += np.float32(gr) * x
        send += x
    for hits in score.hits:
        sample = drum_sample(hits.voice, spec.genre, sr)
        buf = np.zeros(total, dtype=np.float32)
        pos = np.round((hits.onsets - t0) * sr).astype(np.int64)
        keep = (pos + len(sample) > 0) & (pos < total)
        _place(buf, sample, pos[keep], hits.vels[keep] * (DRUM_GAIN[hits.voice] * (0.55 if spec.focus else 0.9)))
        gl, gr = _pan_gains(DRUM_PAN[hits.voice] * width)
        mix[0] += np.float32(gl) * buf
        mix[1] += np.float32(gr) * buf
        if hits.voice in ("S", "P", "M", "T"):
            send += np.float32(0.5) * buf
    decay, wet = spec.reverb
    if wet > 0:
        mix += _reverb(send, decay, wet, sr, rng)
    # era: level reference, hiss and crackle, band limits, compression; then the track's loudness
    rms = float(np.sqrt(np.mean(mix**2))) or 1.0
    mix *= np.float32(0.1 / rms)
    hiss = np.float32(10 ** (prod["hiss_db"] / 20))
    mix[0] += hiss * _noise(sr, total, rng)
    mix[1] += hiss * _noise(sr, total, rng)
    if prod["crackle"] > 0:
        count = int(rng.poisson(prod["crackle"] * total / sr))
        at = rng.integers(0, total, count)
        amp = (rng.uniform(0.02, 0.15, count) * rng.choice([-1, 1], count)).astype(np.float32)
        np.add.at(mix[0], at, amp)
        np.add.at(mix[1], at, amp)
    sos = _era_filter(round(prod["lowpass"]), round(prod["highpass"]), sr)
    if sos is not None:
        mix = signal.sosfilt(sos, mix, axis=1).astype(np.float32)
    if width == 0.0:  # a mono recording: both channels identical
        mix[:] = mix.mean(axis=0, keepdims=True)
    k = np.float32(3.0 * prod["drive"])
    out = np.tanh(k * mix[:, pre:]) / k
    rms = float(np.sqrt(np.mean(out**2))) or 1.0
    out *= np.float32(10 ** (spec.loudness_db / 20) / rms)
    return (np.float32(0.99) * np.tanh(out * np.float32(1 / 0.99))).astype(np.float32, copy=False)


@functools.lru_cache(maxsize=256)
def _era_filter(lowpass: int, highpass: int, sr: int) -> np.ndarray | None:
    """Second-order sections of the era's band limits (None when there is nothing to limit)."""
    nyq = sr / 2
    sos = []
    if highpass > 35:
        sos.append(signal.butter(2, highpass / nyq, btype="high", output="sos"))
    if lowpass < 0.95 * nyq:
        sos.append(signal.butter(4 if lowpass < 7000 else 2, lowpass / nyq, btype="low", output="sos"))
    return np.concatenate(sos) if sos else None
