"""Label-free learning sources computed from the audio itself (after Wu et al. 2021).

For every track of the corpus mel store three clip-level descriptors are computed,
all from the stored dB mel spectrogram (the channels are averaged in the power
domain first), so the audio is not decoded a second time:

- ``mfcc``: 20 MFCCs of the mel spectrogram (librosa computes MFCCs from exactly such
  a dB mel spectrogram), their mean and standard deviation over time (40 values).
- ``chroma``: a chroma folded from the mel bands: each band between 55 Hz and 5 kHz
  that is narrow enough to resolve semitones (about 450 Hz and up for 128 bands at
  22.05 kHz) adds its power to the two nearest pitch classes; per frame the chroma is
  scaled to a maximum of 1; mean and standard deviation over time (24 values). This
  is an approximation of an STFT chroma, adequate for a clip-level summary.
- ``tempogram``: librosa's autocorrelation tempogram of the onset strength (itself
  computed by librosa from a dB mel spectrogram), averaged over time and pooled (max)
  into 24 log-spaced tempo bands from 40 to 320 bpm (24 values).

The statistics of all tracks are written once to an HDF5 file; the ``labels`` jobs
of the three sources reduce them with the same Gaussian mixture as bpm and year.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import librosa
import numpy as np

from ..util import atomic_path, progress
from .catalog import AUDIO_SOURCES

log = logging.getLogger(__name__)

#: How the Gaussian mixture scales each descriptor: MFCCs have very different ranges per
#: coefficient; chroma and tempogram values share one unit.
SCALING = {"mfcc": "feature", "chroma": "global", "tempogram": "global"}
N_MFCC = 20
CHROMA_FMIN, CHROMA_FMAX = 55.0, 5000.0
TEMPO_BANDS = np.geomspace(40.0, 320.0, 24)
TEMPOGRAM_WIN = 384
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass
class MelGeometry:
    """The extraction parameters of a mel store that the descriptors need."""

    sample_rate: int
    hop_length: int
    n_mels: int
    fmin: float
    fmax: float

    @classmethod
    def from_attrs(cls, attrs: Any, path: Path) -> MelGeometry:
        try:
            sr = int(attrs["sample_rate"])
            hop = int(attrs["hop_length"])
            n_mels = int(attrs["n_mels"])
        except KeyError as exc:
            raise ValueError(f"{path}: mel store lacks the attribute {exc}") from None
        fmin = float(attrs.get("fmin", 0.0))
        fmax_raw = attrs.get("fmax", None)
        try:
            fmax = float(fmax_raw)
        except (TypeError, ValueError):
            fmax = float("nan")
        if not np.isfinite(fmax) or fmax <= 0:
            fmax = sr / 2.0
        return cls(sr, hop, n_mels, fmin, fmax)


def feature_names(kind: str) -> list[str]:
    """Names of the values of one descriptor, in order."""
    if kind == "mfcc":
        return [f"mfcc{i:02d}_mean" for i in range(N_MFCC)] + [f"mfcc{i:02d}_std" for i in range(N_MFCC)]
    if kind == "chroma":
        return [f"chroma_{p}_mean" for p in PITCH_CLASSES] + [f"chroma_{p}_std" for p in PITCH_CLASSES]
    if kind == "tempogram":
        return [f"tempo_{b:.0f}bpm" for b in TEMPO_BANDS]
    raise ValueError(f"unknown audio source {kind!r}; expected one of {AUDIO_SOURCES}")


def chroma_weights(geom: MelGeometry) -> np.ndarray:
    """(12, n_mels) weights folding mel-band power into pitch classes (C = 0)."""
    edges = librosa.mel_frequencies(n_mels=geom.n_mels + 2, fmin=geom.fmin, fmax=geom.fmax)
    centre, lower, upper = edges[1:-1], edges[:-2], edges[2:]
    with np.errstate(divide="ignore", invalid="ignore"):
        half_width = 6.0 * np.log2(upper / np.maximum(lower, 1e-9))
    use = (centre >= CHROMA_FMIN) & (centre <= CHROMA_FMAX)
    narrow = use & (half_width <= 1.0)
    if narrow.sum() >= 12:
        use = narrow
    w = np.zeros((12, geom.n_mels))
    if not use.any():
        raise ValueError(f"no mel band between {CHROMA_FMIN:.0f} and {CHROMA_FMAX:.0f} Hz for a chroma")
    pc = np.mod(12.0 * np.log2(centre[use] / 440.0) + 9.0, 12.0)
    lo = np.floor(pc).astype(int) % 12
    frac = pc - np.floor(pc)
    cols = np.flatnonzero(use)
    w[lo, cols] += 1.0 - frac
    w[(lo + 1) % 12, cols] += frac
    return w


def _tempo_bands(tg_mean: np.ndarray, geom: MelGeometry) -> np.ndarray:
    """The mean tempogram read at ``TEMPO_BANDS``: per band the largest value over the
    lags whose tempo lies in the band (edges halfway between the bands, in log tempo),
    interpolated where a band holds no lag. The maximum keeps a sharp beat peak that
    falls between two band centres."""
    lags = np.arange(1, tg_mean.shape[0])
    bpm = 60.0 * geom.sample_rate / geom.hop_length / lags  # decreasing with the lag
    vals = tg_mean[1:]
    logb = np.log(TEMPO_BANDS)
    edges = np.exp(np.concatenate([[logb[0] - (logb[1] - logb[0]) / 2], (logb[1:] + logb[:-1]) / 2,
                                   [logb[-1] + (logb[-1] - logb[-2]) / 2]]))
    out = np.interp(logb, np.log(bpm[::-1]), vals[::-1])
    for i in range(len(TEMPO_BANDS)):
        inside = (bpm >= edges[i]) & (bpm < edges[i + 1])
        if inside.any():
            out[i] = vals[inside].max()
    return out


def track_descriptors(mel_db: np.ndarray, geom: MelGeometry, cw: np.ndarray) -> dict[str, np.ndarray]:
    """The three descriptors of one track from its (T, channels, n_mels) dB mel spectrogram."""
    power = librosa.db_to_power(np.asarray(mel_db, dtype=np.float32)).mean(axis=1).T  # (n_mels, T)
    db = librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=N_MFCC)
    chroma = cw @ power
    chroma /= np.maximum(chroma.max(axis=0, keepdims=True), 1e-12)
    onset = librosa.onset.onset_strength(S=db, sr=geom.sample_rate, hop_length=geom.hop_length)
    win = int(min(TEMPOGRAM_WIN, max(8, onset.shape[0])))
    tg = librosa.feature.tempogram(onset_envelope=onset, sr=geom.sample_rate,
                                   hop_length=geom.hop_length, win_length=win)
    tempo = _tempo_bands(tg.mean(axis=1), geom)
    return {
        "mfcc": np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)]),
        "chroma": np.concatenate([chroma.mean(axis=1), chroma.std(axis=1)]),
        "tempogram": tempo,
    }


def compute_descriptors(mel_store: str | Path, out: str | Path) -> dict[str, int]:
    """Descriptors of every track of a mel store, written to ``out`` (HDF5).

    Layout: ``track_id`` (N,) strings and, per descriptor, ``<kind>`` (N, D) float32
    with the attribute ``names``. A track too short to describe is left out and logged."""
    from ..audio.store import MelStore

    mel_store = Path(mel_store)
    with MelStore(mel_store) as store:
        geom = MelGeometry.from_attrs(dict(store.attrs), mel_store)
        ids = list(store.track_ids)
        offsets = store.offsets
        cw = chroma_weights(geom)
        kept: list[str] = []
        values: dict[str, list[np.ndarray]] = {k: [] for k in AUDIO_SOURCES}
        skipped = 0
        for i in progress(range(len(ids)), desc="audio descriptors", total=len(ids)):
            a, b = int(offsets[i]), int(offsets[i + 1])
            if b - a < 2:
                log.warning("track %s: %d mel frames, too short for descriptors; skipped", ids[i], b - a)
                skipped += 1
                continue
            d = track_descriptors(store.mel[a:b], geom, cw)
            if not all(np.all(np.isfinite(v)) for v in d.values()):
                log.warning("track %s: non-finite descriptor; skipped", ids[i])
                skipped += 1
                continue
            kept.append(ids[i])
            for k in AUDIO_SOURCES:
                values[k].append(d[k])
        attrs = dict(store.attrs)
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as g:
            g.create_dataset("track_id", data=np.array(kept, dtype=object), dtype=h5py.string_dtype())
            for k in AUDIO_SOURCES:
                arr = (np.stack(values[k]).astype(np.float32) if kept
                       else np.zeros((0, len(feature_names(k))), np.float32))
                ds = g.create_dataset(k, data=arr)
                ds.attrs["names"] = np.array(feature_names(k), dtype=object)
            for key, val in attrs.items():
                try:
                    g.attrs[f"mel_{key}"] = val
                except TypeError:
                    pass
            g.attrs["mel_store"] = str(mel_store)
    log.info("audio descriptors of %d tracks written to %s (%d skipped)", len(kept), out, skipped)
    return {"tracks": len(kept), "skipped": skipped}


def load_descriptors(path: str | Path, kind: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(track ids, values (N, D), names) of one descriptor from ``compute_descriptors``' file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"audio descriptor file not found: {path}")
    feature_names(kind)
    with h5py.File(path, "r") as f:
        if kind not in f:
            raise ValueError(f"{path}: no descriptor '{kind}'")
        ids = np.array([t.decode() if isinstance(t, bytes) else str(t) for t in f["track_id"][:]], dtype=object)
        values = f[kind][:].astype(np.float64)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f[kind].attrs["names"]]
    return ids.astype(str), values, names
