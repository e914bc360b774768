"""Music-like test signals (for tests and benchmarks, not for the study; the demo world
synthesises its audio with :mod:`onerep.demo.synth`).

A deterministic clip with what makes real recordings hard for numerical parity: a
wide dynamic range within and across frames, harmonic notes with vibrato and decay,
a bass line, broadband drum hits, stereo panning, a fade-in, and a quiet noise floor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def music_clip(seconds: float, sr: int = 44100, seed: int = 0, channels: int = 2, tempo: float = 112.0) -> np.ndarray:
    """``(n, channels)`` float32 in [-1, 1]: chords, melody, bass and drums at ``tempo`` bpm."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    out = np.zeros((n, 2), dtype=np.float64)
    beat = 60.0 / tempo
    root = 45 + int(rng.integers(0, 12))  # MIDI note of the key

    def hz(midi: float) -> float:
        return 440.0 * 2.0 ** ((midi - 69) / 12)

    def note(start: float, dur: float, midi: float, amp: float, pan: float, harmonics: int, decay: float) -> None:
        a = int(start * sr)
        b = min(n, a + int(dur * sr))
        if b <= a:
            return
        t = np.arange(b - a) / sr
        vib = 1.0 + 0.004 * np.sin(2 * np.pi * 5.5 * t)
        phase = 2 * np.pi * hz(midi) * np.cumsum(vib) / sr
        tone = sum((0.6 ** k) * np.sin((k + 1) * phase + k) for k in range(harmonics))
        env = np.minimum(1.0, t / 0.01) * np.exp(-t / decay) * np.minimum(1.0, (dur - t) / 0.02).clip(0, 1)
        sig = amp * tone * env
        out[a:b, 0] += sig * np.cos(pan * np.pi / 2)
        out[a:b, 1] += sig * np.sin(pan * np.pi / 2)

    progression = [0, 5, 7, 3]
    t0 = 0.0
    bar = 0
    while t0 < seconds:
        chord = root + progression[bar % 4]
        for iv, pan in zip((0, 4, 7), (0.3, 0.5, 0.7)):
            note(t0, 4 * beat, chord + 12 + iv, 0.05, pan, 6, 1.5)
        note(t0, 2 * beat, chord - 12, 0.12, 0.5, 3, 0.8)
        note(t0 + 2 * beat, 2 * beat, chord - 5, 0.10, 0.5, 3, 0.8)
        for k in range(8):
            if rng.random() < 0.75:
                note(t0 + k * beat / 2, beat / 2, chord + 24 + int(rng.choice([0, 2, 4, 7, 9, 12])),
                     0.07 * rng.uniform(0.5, 1.0), rng.uniform(0.2, 0.8), 4, 0.3)
        for k in range(8):  # drums on eighth notes
            a = int((t0 + k * beat / 2) * sr)
            if a >= n:
                break
            m = min(n - a, int(0.25 * sr))
            t = np.arange(m) / sr
            if k % 4 == 0:  # kick: falling sine
                hit = 0.5 * np.sin(2 * np.pi * (50 + 80 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.12)
            elif k % 4 == 2:  # snare: noise + tone
                hit = (0.25 * rng.standard_normal(m) + 0.2 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.06)
            else:  # hi-hat: differentiated noise, short
                hit = 0.15 * np.diff(rng.standard_normal(m + 1)) * np.exp(-t / 0.02)
            out[a : a + m, 0] += hit * 0.9
            out[a : a + m, 1] += hit * 1.1
        t0 += 4 * beat
        bar += 1
    fade = np.minimum(1.0, np.arange(n) / (1.5 * sr)) ** 2
    out *= fade[:, None]
    out += 1e-5 * rng.standard_normal(out.shape)  # quiet noise floor (~ -100 dBFS)
    out /= max(1e-9, np.abs(out).max()) / 0.8
    if channels == 1:
        out = out.mean(axis=1, keepdims=True)
    return out.astype(np.float32)


def write_clip(path: str | Path, seconds: float, sr: int = 44100, seed: int = 0, channels: int = 2,
               subtype: str | None = None) -> Path:
    """Write :func:`music_clip` to ``path`` (format from the extension: .wav, .flac, .mp3, .ogg)."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), music_clip(seconds, sr, seed, channels), sr, subtype=subtype)
    return path
