"""Arrangement: turn a track's latent factors into a score (note lines and drum hits).

The score is deterministic given the ``RenderSpec`` (its ``seed`` drives every choice).
Events cover the musical timeline from 0 to ``t_end`` seconds; the renderer cuts the
window it needs. Only events are generated here (tens to hundreds per clip); the
audio itself is computed in ``synth.py`` with vectorised numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .styles import (
    CHORD_INTERVALS,
    COMP_REGISTER,
    COMP_RHYTHMS,
    DRUM_PATTERNS,
    DRUM_VOICES,
    SCALES,
    TIMBRES,
    Chord,
)


@dataclass(frozen=True)
class RenderSpec:
    """Everything the renderer needs to know about one track (all derived from latent factors)."""

    genre: str
    bpm: float
    meter: int
    tonic: int
    mode: str  # "major" / "minor"
    scale: str
    progression: tuple[Chord, ...]
    drums: str | None  # drum pattern key, None: no drums
    comp: str  # accompaniment rhythm key
    bass: str  # bass-line style
    bass_inst: str
    melody: str  # predominant instrument (plays the melody)
    comp_inst: str | None
    pad_inst: str | None
    density: float  # melody notes per beat
    valence: float
    arousal: float
    loudness_db: float  # RMS level of the finished clip, dBFS
    year: int
    distortion: float  # electric-guitar drive
    reverb: tuple[float, float]  # (decay s, wet)
    female: bool  # voice formants of a female singer
    focus: bool = False  # predominant instrument in front (IRMAS-style mix)
    seed: int = 0


@dataclass
class Line:
    """A monophonic note line of one instrument."""

    inst: str
    onsets: np.ndarray  # seconds, increasing
    durs: np.ndarray  # seconds
    pitches: np.ndarray  # MIDI (float)
    vels: np.ndarray  # 0..1
    pan: float
    gain: float
    role: str
    drive: float = 0.0
    vowels: np.ndarray | None = None  # vowel index per note (voice)
    chords: list[tuple[int, ...]] | None = None  # chord lines: semitones above ``pitches`` per note


@dataclass
class Hits:
    """Hits of one drum voice."""

    voice: str
    onsets: np.ndarray
    vels: np.ndarray


@dataclass
class Score:
    """All events of a track."""

    lines: list[Line] = field(default_factory=list)
    hits: list[Hits] = field(default_factory=list)
    subdiv: int = 4
    swing: float = 0.0


def _vel(ch: str) -> float:
    return {"X": 1.0, "x": 0.7, "o": 0.35}.get(ch, 0.0)


def _chord_pcs(spec: RenderSpec, chord: Chord) -> list[int]:
    root, quality = chord
    return [(spec.tonic + root + iv) % 12 for iv in CHORD_INTERVALS[quality]]


def _voicing(spec: RenderSpec, chord: Chord, base: int, max_notes: int = 4) -> list[int]:
    """Chord tones placed in the octave above ``base`` (power chords stacked)."""
    root, quality = chord
    r = (spec.tonic + root - base) % 12 + base
    if quality == "5":
        return [r, r + 7, r + 12]
    notes = sorted({base + (pc - base) % 12 for pc in _chord_pcs(spec, chord)})
    return notes[:max_notes]


def _bass_root(spec: RenderSpec, chord: Chord) -> int:
    """Root of the chord in the bass register (MIDI 33..44)."""
    return 33 + (spec.tonic + chord[0] - 33) % 12


def _step_time(step: float, subdiv: int, beat: float, swing: float) -> float:
    """Time of a grid step within a bar; the off-beat 8th is delayed by ``swing`` beats."""
    t = step / subdiv * beat
    if swing and subdiv % 2 == 0:
        frac = (step % subdiv) / subdiv
        if abs(frac - 0.5) < 1e-9:
            t += swing * beat
    return t


PHRASE_BARS = 4
# ids of the random streams: one stream per part and bar (melody: per phrase)
_DRUMS, _BASS, _COMP, _MOTIF, _MELODY, _TRACK = range(6)
_VOICE_IDS = {v: i for i, v in enumerate(DRUM_VOICES)}


def _rng(spec: RenderSpec, part: int, index: int, sub: int = 0) -> np.random.Generator:
    return np.random.default_rng([spec.seed, part, index, sub])


def arrange(spec: RenderSpec, t_start: float, t_end: float) -> Score:
    """The score of the bars overlapping [t_start, t_end] seconds of the track.

    Each part draws from its own random stream per bar (the melody per 4-bar phrase),
    so a bar has the same notes whichever window it is generated for."""
    beat = 60.0 / spec.bpm
    bar = spec.meter * beat
    b0 = max(0, int(math.floor(t_start / bar)))
    b1 = max(b0 + 1, int(math.ceil(t_end / bar)))
    prog = spec.progression
    chords = {b: prog[b % len(prog)] for b in range(b0, b1 + 1)}
    a01 = (spec.arousal + 1) / 2
    pattern = DRUM_PATTERNS.get(spec.drums) if spec.drums else None
    subdiv = pattern.subdiv if pattern else 4
    swing = pattern.swing if pattern else 0.0
    score = Score(subdiv=subdiv, swing=swing)
    bars = range(b0, b1)
    track_rng = _rng(spec, _TRACK, 0)
    if pattern is not None:
        score.hits = _drums(spec, pattern, bars, beat, bar, a01)
    score.lines.append(_bass(spec, chords, bars, beat, bar, pattern))
    if spec.comp_inst:
        score.lines.extend(_comp(spec, chords, bars, beat, bar, swing, a01, track_rng))
    if spec.pad_inst:
        score.lines.extend(_pad(spec, chords, bars, bar, track_rng))
    score.lines.append(_melody(spec, chords, bars, beat, bar, subdiv, swing, a01, track_rng))
    return score


def _drums(spec: RenderSpec, pattern, bars: range, beat: float, bar: float, a01: float) -> list[Hits]:
    steps = pattern.steps()
    bar_steps = pattern.meter * pattern.subdiv
    intensity = 0.7 + 0.3 * a01
    voices = dict(pattern.voices)
    if "C" not in voices and spec.drums in ("rock", "metal", "pop", "disco", "country"):
        voices["C"] = ""  # crash on phrase starts only
    times = [_step_time(s, pattern.subdiv, beat, pattern.swing) for s in range(bar_steps)]
    out: list[Hits] = []
    for voice, pat in voices.items():
        on: list[float] = []
        vel: list[float] = []
        for b in bars:
            t0 = b * bar
            if not pat:
                if b % PHRASE_BARS == 0:
                    on.append(t0)
                    vel.append(0.8)
                continue
            chars = [pat[(b * bar_steps + s) % steps] for s in range(bar_steps)]
            hit = [s for s, ch in enumerate(chars) if ch != "."]
            if not hit:
                continue
            rng = _rng(spec, _DRUMS, b, _VOICE_IDS[voice])
            u = rng.random(len(hit))
            jitter = rng.standard_normal(len(hit))
            for s, ui, ji in zip(hit, u.tolist(), jitter.tolist()):
                if chars[s] == "o" and ui < 0.3 * (1 - a01):
                    continue
                on.append(t0 + times[s])
                vel.append(_vel(chars[s]) * intensity * (1 + 0.06 * ji))
        if on:
            out.append(Hits(voice, np.asarray(on), np.clip(np.asarray(vel), 0.05, 1.2)))
    return out


def _bass(spec: RenderSpec, chords: dict, bars: range, beat: float, bar: float, pattern) -> Line:
    on: list[float] = []
    du: list[float] = []
    pi: list[float] = []
    ve: list[float] = []
    m = spec.meter

    def add(t: float, d: float, p: float, v: float = 0.85) -> None:
        on.append(t)
        du.append(d)
        pi.append(p)
        ve.append(v)

    style = spec.bass
    for b in bars:
        rng = _rng(spec, _BASS, b)
        t0 = b * bar
        root = _bass_root(spec, chords[b])
        pcs = _chord_pcs(spec, chords[b])
        third = root + (pcs[1] - pcs[0]) % 12 if len(pcs) > 1 else root + 7
        fifth = root + 7 if chords[b][1] not in ("dim", "m7b5") else root + 6
        low_fifth = fifth - 12 if fifth - 12 >= 28 else fifth
        nxt = _bass_root(spec, chords[b + 1])
        if style == "root4":
            for k in range(m):
                add(t0 + k * beat, 0.9 * beat, root, 0.9 if k == 0 else 0.75)
        elif style == "root8":
            jump = rng.random() < 0.3
            for k in range(2 * m):
                p = root + (12 if (k == 2 * m - 1 and jump) else 0)
                add(t0 + k * beat / 2, 0.45 * beat, p, 0.9 if k % 2 == 0 else 0.7)
        elif style == "octave":
            for k in range(2 * m):
                add(t0 + k * beat / 2, 0.4 * beat, root + 12 * (k % 2), 0.85)
        elif style == "walking":
            tones = [root, int(rng.choice([third, fifth])), int(rng.choice([fifth, root + 12, third])),
                     nxt + int(rng.choice([-1, 1, -2]))]
            for k in range(m):
                add(t0 + k * beat, 0.92 * beat, tones[k] if k < m - 1 else tones[-1], 0.85 if k == 0 else 0.75)
        elif style == "rootfifth":
            if m == 3:
                add(t0, 0.9 * beat, root, 0.9)
            elif m == 2:
                add(t0, 0.9 * beat, root, 0.9)
                add(t0 + beat, 0.9 * beat, low_fifth, 0.8)
            else:
                add(t0, 1.8 * beat, root, 0.9)
                add(t0 + 2 * beat, 1.8 * beat, low_fifth, 0.8)
        elif style == "reggae":
            drop = rng.random() < 0.2
            for s, p, d in ((0, root, 2.5), (6, root, 1.0), (8, fifth, 1.5), (12, root + 12, 1.0), (14, fifth, 0.5)):
                if s < 4 * m and not (s == 0 and drop):
                    add(t0 + s / 4 * beat, d / 4 * beat * 1.6, p, 0.9)
        elif style == "808":
            sub = pattern.subdiv if pattern else 4
            kick = pattern.voices.get("K", "X") if pattern else "X"
            kicks = [i for i, c in enumerate(kick) if c != "." and i < m * sub] or [0]
            times = [t0 + k / sub * beat for k in kicks] + [t0 + bar]
            for i in range(len(kicks)):
                add(times[i], max(0.1, times[i + 1] - times[i]) * 0.95, root, 0.95)
        elif style == "sustain":
            if m == 4:
                add(t0, 1.95 * beat, root, 0.8)
                add(t0 + 2 * beat, 1.95 * beat, low_fifth, 0.75)
            else:
                add(t0, 0.98 * bar, root, 0.8)
        elif style == "tumbao":
            add(t0 + 1.5 * beat, 1.4 * beat, low_fifth, 0.85)
            if m >= 4:
                add(t0 + 3 * beat, 1.0 * beat, nxt, 0.9)
        elif style == "march":
            for k in range(m):
                add(t0 + k * beat, 0.5 * beat, root if k % 2 == 0 else low_fifth, 0.9)
        else:
            raise ValueError(f"unknown bass style {style!r}")
    return Line(spec.bass_inst, np.asarray(on, dtype=float), np.asarray(du, dtype=float),
                np.asarray(pi, dtype=float), np.asarray(ve, dtype=float), 0.0, 0.35 if spec.focus else 0.55, "bass")


COMP_DURATION = {"block": 0.98, "half": 1.9, "strum": 0.45, "skank": 0.18, "stab": 0.3, "comp": 0.7,
                 "power": 0.32, "waltz": 0.6, "montuno": 0.35, "arp": 0.5}  # beats (block: bars)


def _comp(spec: RenderSpec, chords: dict, bars: range, beat: float, bar: float, swing: float, a01: float,
          track_rng: np.random.Generator) -> list[Line]:
    inst = spec.comp_inst
    m = spec.meter
    style = spec.comp
    if inst not in ("pia", "gac", "gel", "org"):
        style = "block" if style not in ("waltz", "skank", "stab") else style  # bowed / wind sections sustain
    if inst == "gel" and spec.distortion >= 3.0 and style in ("strum", "half", "block"):
        style = "power"
    rhythm = COMP_RHYTHMS[style][m if m in (2, 3, 4) else 4]
    dur = COMP_DURATION[style] * (bar if style == "block" else beat)
    base = COMP_REGISTER.get(inst, 55)
    gain = 0.26 if spec.focus else 0.42
    pan = float(track_rng.choice([-1.0, 1.0]) * track_rng.uniform(0.25, 0.6))
    drive = spec.distortion if inst == "gel" else 0.0
    hits: list[tuple[float, float, int]] = []  # (time, velocity, bar)
    steps = [(s, ch) for s, ch in enumerate(rhythm) if ch != "."]
    for b in bars:
        u = _rng(spec, _COMP, b).random(len(steps))
        for (s, ch), ui in zip(steps, u.tolist()):
            if ch == "x" and s % 4 != 0 and ui < 0.25 * (1 - a01):
                continue
            hits.append((b * bar + _step_time(s, 4, beat, swing), _vel(ch), b))
    if style == "arp":
        order = (0, 2, 1, 2)
        on, pi, ve = [], [], []
        for t, v, b in hits:
            voic = _voicing(spec, chords[b], base)
            k = int(round((t - b * bar) / (beat / 2)))
            on.append(t)
            pi.append(voic[order[k % 4] % len(voic)])
            ve.append(0.7 * v + 0.1)
        return [Line(inst, np.asarray(on), np.full(len(on), dur), np.asarray(pi, dtype=float),
                     np.asarray(ve), pan, gain * 1.2, "comp", drive)]
    on, pi, ve, ch = [], [], [], []
    for t, v, b in hits:
        voic = _voicing(spec, chords[b], base)
        on.append(t)
        pi.append(voic[0])
        ve.append(0.9 * v)
        ch.append(tuple(p - voic[0] for p in voic))
    return [Line(inst, np.asarray(on, dtype=float), np.full(len(on), dur), np.asarray(pi, dtype=float),
                 np.asarray(ve, dtype=float), pan, gain, "comp", drive, chords=ch)]


def _pad(spec: RenderSpec, chords: dict, bars: range, bar: float, track_rng: np.random.Generator) -> list[Line]:
    """Sustained two-note chords (root and fifth region) on the pad instrument, one per bar."""
    inst = spec.pad_inst
    base = COMP_REGISTER.get(inst, 55)
    pan = float(track_rng.uniform(-0.5, 0.5))
    gain = 0.12 if spec.focus else 0.22
    on, pi, ch = [], [], []
    for b in bars:
        voic = _voicing(spec, chords[b], base)
        pair = (voic[0], voic[2 % len(voic)])
        on.append(b * bar)
        pi.append(pair[0])
        ch.append(tuple(sorted({0, pair[1] - pair[0]})))
    return [Line(inst, np.asarray(on, dtype=float), np.full(len(on), bar * 0.97), np.asarray(pi, dtype=float),
                 np.full(len(on), 0.6), pan, gain * 1.4, "pad", chords=ch)]


def _melody(spec: RenderSpec, chords: dict, bars: range, beat: float, bar: float, subdiv: int, swing: float,
            a01: float, track_rng: np.random.Generator) -> Line:
    """The predominant instrument's melody: a 2-bar rhythm motif per 8 bars, a scale walk that
    lands on chord tones on each bar's first note, a breath at each phrase end."""
    timbre = TIMBRES[spec.melody]
    lo, hi = timbre.register
    center = (lo + hi) / 2 + 2.0 * spec.valence
    lo2, hi2 = max(lo, center - 9), min(hi, center + 9)
    pcs = {(spec.tonic + s) % 12 for s in SCALES[spec.scale]}
    pool = np.asarray([p for p in range(int(lo2), int(hi2) + 1) if p % 12 in pcs])
    m = spec.meter
    options = [0, 1, 2, subdiv]
    dens = float(np.clip(spec.density, 0.3, subdiv))
    probs = np.exp(-1.6 * np.abs(np.asarray(options) - dens))
    probs[0] += 0.06 * (1 - a01)
    probs /= probs.sum()
    leap = 0.06 + 0.12 * a01

    def motif(rng: np.random.Generator) -> list[list[float]]:
        out = []
        for _ in range(2):
            steps: list[float] = []
            for k in range(m):
                n = options[int(rng.choice(len(options), p=probs))]
                if n:
                    sub = {1: [0.0], 2: [0.0, subdiv / 2], subdiv: [float(x) for x in range(subdiv)]}[n]
                    steps.extend(k * subdiv + x for x in sub)
            out.append(steps or [0.0])
        return out

    on, pi, ve, vo = [], [], [], []
    phrases: dict[int, list[int]] = {}
    for b in bars:
        phrases.setdefault(b // PHRASE_BARS, []).append(b)
    for phrase, phrase_bars in phrases.items():
        current = motif(_rng(spec, _MOTIF, phrase // 2))
        rng = _rng(spec, _MELODY, phrase)
        idx = int(np.argmin(np.abs(pool - center))) + int(rng.integers(-2, 3))
        draws = rng.random((PHRASE_BARS, 4 * subdiv, 4))
        for b in range(phrase * PHRASE_BARS, (phrase + 1) * PHRASE_BARS):
            j = b - phrase * PHRASE_BARS
            steps = current[j % 2]
            if j == PHRASE_BARS - 1:
                steps = [x for x in steps if x < (m - 1) * subdiv][:2] or [0.0]
            chord_pcs = set(_chord_pcs(spec, chords.get(b, spec.progression[b % len(spec.progression)])))
            for n_i, x in enumerate(steps):
                d = draws[j, n_i % (4 * subdiv)]
                if d[0] < leap:
                    move = (-4, -3, 3, 4)[int(d[1] * 4)]
                else:
                    move = (-2, -1, -1, 0, 1, 1, 2)[int(d[1] * 7)]
                idx += move
                if idx < 0 or idx >= len(pool):
                    idx = int(np.clip(idx - 2 * move, 0, len(pool) - 1))
                if n_i == 0:
                    tones = [i for i in range(len(pool)) if pool[i] % 12 in chord_pcs]
                    if tones:
                        idx = min(tones, key=lambda i: abs(i - idx))
                if b not in phrase_bars:
                    continue  # keep the walk identical, emit only the bars of the window
                on.append(b * bar + _step_time(x, subdiv, beat, swing))
                pi.append(float(pool[idx]))
                accent = 1.0 if x % subdiv == 0 else 0.85
                ve.append(float(np.clip(accent * (0.8 + 0.2 * a01) + 0.1 * (d[2] - 0.5), 0.2, 1.0)))
                vo.append(int(d[3] * 5))
    on_a = np.asarray(on, dtype=float)
    order = np.argsort(on_a, kind="stable")
    on_a = on_a[order]
    nxt = np.append(on_a[1:], on_a[-1] + 2 * beat) if len(on_a) else on_a
    legato = 0.92 if timbre.env == "sustain" else 1.0
    durs = np.minimum((nxt - on_a) * legato, 2.5 * beat)
    vowels = np.asarray(vo, dtype=np.int64)[order] if timbre.vowels else None
    drive = spec.distortion * 0.6 if spec.melody == "gel" else 0.0
    return Line(spec.melody, on_a, durs, np.asarray(pi, dtype=float)[order], np.asarray(ve, dtype=float)[order],
                float(track_rng.uniform(-0.15, 0.15)), 1.0, "melody", drive, vowels)
