"""Decoding and log-mel spectrograms (SPEC section 2).

The definition is librosa's, applied to a 2-channel signal::

    y, _ = librosa.load(path, sr=22050, mono=False)          # soundfile + soxr_hq
    S = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024, hop_length=256, n_mels=128)
    D = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80)   # top_db over both channels

``load_audio`` reproduces the first line (soundfile decode, soxr 'HQ' resampling,
length fixed to ``ceil(n * sr / native_sr)``; a mono file is duplicated into two
channels) and ``mel_from_audio`` the other two, returned as ``(T, 2, n_mels)``
float32 (time first, the layout of the mel store).

Excerpt (``audio.excerpt_seconds``, default null = the whole file): full tracks (e.g.
MTG-Jamendo's, up to 69 minutes) are cut to their centred excerpt of ``L`` seconds,
like the MSD's 30 s previews and FMA's clips (FMA: ``start = duration // 2 - 15`` s).
The cut is made on the decoded samples at the file's NATIVE rate, before the channel
handling and the resampling (so a long file is never resampled whole)::

    n = decoded samples per channel, Ln = floor(L * native_sr + 0.5)
    n <= Ln: the whole file; else samples [start, start + Ln), start = (n - Ln) // 2

i.e. ``librosa.load(path, sr=None, mono=False)[..., start:start + Ln]`` resampled with
``librosa.resample(..., res_type='soxr_hq')`` (:func:`excerpt_span`). The whole
file is still decoded (the centre needs the decoded length; an MP3 header's frame
count is not exact), so decoding memory is that of the whole file.

Three back ends (``audio.backend``) compute the same numbers:

* ``librosa``: the reference calls above.
* ``numpy``: our implementation on CPU. Periodic Hann window, centred zero-padded
  frames, real FFT (scipy's pocketfft), power, then the Slaney filter bank applied
  group by group of 8 bands to only the FFT bins the group touches (the filter bank
  is ~98 % zeros), then dB. Frames go through the FFT 64 at a time so that the
  buffers stay in cache. On one core it computes the mel + dB of a 30 s stereo clip
  in ~24-26 ms against librosa's ~41-46 ms; end to end, with the decoding and
  resampling both sides share (~30 ms), ~1.3-1.4x (``bench/mel.py``).
* ``torch``: the same algorithm in torch (:func:`mel_batch`): on CPU ~25 % slower
  than ``numpy`` (per-call overhead on small blocks), on a GPU it runs a whole batch
  of clips in one pass.

The spectra are computed in float64, as librosa effectively does (its float64
window promotes the frames before the FFT; the result is rounded to complex64). A
float32 FFT misses librosa by 0.5e-3 to 3e-3 dB (signal dependent) in bands ~80 dB
below a loud frame's peak; in float64 the back ends agree within ~1e-5 dB (the tests
check 1e-3 dB).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

AMIN = 1e-10  # power_to_db amin
REF = 1.0  # power_to_db ref
POWER = 2.0  # power spectrogram
SILENCE_PEAK = 1e-4  # a clip whose peak |sample| is below -80 dBFS is "silent"
TRUNCATION_TOLERANCE = 0.05  # decoded < 95 % of the header's frame count = truncated
BACKENDS = ("numpy", "torch", "librosa")
_CPU_BLOCK = 64  # frames per FFT call on CPU (2 channels x 64 x 1024 float64 = 1 MB, stays in cache)


class AudioError(ValueError):
    """Audio that cannot be used; ``code`` is a short reason (``undecodable``, ``empty``,
    ``silent``, ``too_short``, ``truncated``, ``non_finite``, ``missing_file``) and the
    message names the file and what is wrong."""

    def __init__(self, code: str, path: str | Path, detail: str) -> None:
        self.code = code
        self.path = str(path)
        self.detail = detail
        super().__init__(f"{path}: {code}: {detail}")

    @property
    def reason(self) -> str:
        """``code: detail``, the form used in the records files."""
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class MelParams:
    """Mel-spectrogram extraction parameters (names as in SPEC section 2)."""

    sr: int = 22050
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None  # None = sr / 2
    top_db: float | None = 80.0
    crop_frames: int = 216
    dtype: str = "float16"
    backend: str = "numpy"
    excerpt_seconds: float | None = None  # None = whole file; else the centred excerpt (see excerpt_span)

    @classmethod
    def from_settings(cls, audio: dict[str, Any], dataset: str | None = None) -> MelParams:
        """Build from the config's ``audio`` section (schema key names, also a store's attributes);
        missing keys take defaults.

        ``audio.excerpt_datasets`` is applied only when ``dataset`` is given (the
        excerpt is kept when the list is null or names ``dataset``); without it the
        excerpt applies as given (the workflow passes it only to the data sets it
        applies to).
        """
        d = cls()
        fmax = audio.get("fmax", d.fmax)
        top_db = audio.get("top_db", d.top_db)
        if isinstance(top_db, float) and math.isnan(top_db):  # how a store's attributes say "no clipping"
            top_db = None
        excerpt = _excerpt_or_none(audio.get("excerpt_seconds", d.excerpt_seconds))
        names = audio.get("excerpt_datasets")
        if dataset is not None and names is not None and dataset not in names:
            excerpt = None
        params = cls(
            sr=int(audio.get("sample_rate", d.sr)),
            n_fft=int(audio.get("n_fft", d.n_fft)),
            hop=int(audio.get("hop_length", d.hop)),
            n_mels=int(audio.get("n_mels", d.n_mels)),
            fmin=float(audio.get("fmin", d.fmin)),
            fmax=None if fmax is None else float(fmax),
            top_db=None if top_db is None else float(top_db),
            crop_frames=int(audio.get("crop_frames", d.crop_frames)),
            dtype=str(audio.get("dtype", d.dtype)),
            backend=str(audio.get("backend", d.backend)),
            excerpt_seconds=excerpt,
        )
        params.check()
        return params

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> MelParams:
        """Rebuild from a mel store's attributes (see :meth:`attrs`)."""
        top_db = float(attrs["top_db"])
        return cls(
            sr=int(attrs["sample_rate"]),
            n_fft=int(attrs["n_fft"]),
            hop=int(attrs["hop_length"]),
            n_mels=int(attrs["n_mels"]),
            fmin=float(attrs["fmin"]),
            fmax=float(attrs["fmax"]),
            top_db=None if math.isnan(top_db) else top_db,
            crop_frames=int(attrs["crop_frames"]),
            dtype=str(attrs["dtype"]),
            backend=str(attrs.get("backend", "numpy")),
            excerpt_seconds=_excerpt_or_none(attrs.get("excerpt_seconds")),  # absent: a store made before excerpts
        )

    def check(self) -> None:
        """Raise ValueError naming the first inconsistent parameter."""
        if self.hop <= 0 or self.n_fft <= 0 or self.n_mels <= 0 or self.sr <= 0:
            raise ValueError(f"audio settings: sample_rate, n_fft, hop_length, n_mels must be positive ({self})")
        if self.fmax_hz > self.sr / 2 or self.fmin >= self.fmax_hz:
            raise ValueError(
                f"audio settings: need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, fmax={self.fmax_hz}"
            )
        if self.dtype not in ("float16", "float32"):
            raise ValueError(f"audio.dtype: expected float16 or float32, got {self.dtype!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"audio.backend: expected one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.excerpt_seconds is not None:
            if not (math.isfinite(self.excerpt_seconds) and self.excerpt_seconds > 0):
                raise ValueError(f"audio.excerpt_seconds: expected a positive number or null, "
                                 f"got {self.excerpt_seconds}")
            if self.n_frames(int(self.excerpt_seconds * self.sr)) < self.crop_frames:
                raise ValueError(f"audio.excerpt_seconds: {self.excerpt_seconds} s is shorter than one "
                                 f"{self.crop_frames}-frame crop")

    @property
    def fmax_hz(self) -> float:
        """The upper edge of the filter bank in Hz."""
        return self.sr / 2.0 if self.fmax is None else float(self.fmax)

    def n_frames(self, n_samples: int) -> int:
        """Frames of a centred STFT of ``n_samples`` samples."""
        return 1 + n_samples // self.hop

    def attrs(self) -> dict[str, Any]:
        """Every extraction parameter, as stored in the mel store's attributes."""
        return {
            "sample_rate": self.sr,
            "n_fft": self.n_fft,
            "hop_length": self.hop,
            "win_length": self.n_fft,
            "window": "hann",
            "center": True,
            "pad_mode": "constant",
            "n_mels": self.n_mels,
            "fmin": self.fmin,
            "fmax": self.fmax_hz,
            "mel_scale": "slaney",
            "mel_norm": "slaney",
            "power": POWER,
            "ref": REF,
            "amin": AMIN,
            "top_db": float("nan") if self.top_db is None else self.top_db,
            "channels": 2,
            "mono_policy": "mono duplicated; more than 2 channels: first two kept",
            "resample": "soxr_hq",
            "dtype": self.dtype,
            "crop_frames": self.crop_frames,
            "backend": self.backend,
            "excerpt_seconds": float("nan") if self.excerpt_seconds is None else self.excerpt_seconds,
            "excerpt_rule": EXCERPT_RULE if self.excerpt_seconds is not None else "whole file",
        }

    def key(self) -> dict[str, Any]:
        """The fields as a plain dict (for logs and JSON)."""
        return asdict(self)


EXCERPT_RULE = ("centred, cut at the native rate before resampling: Ln = floor(excerpt_seconds * native_sr + 0.5), "
                "start = (n - Ln) // 2 of the n decoded samples; files of at most Ln samples kept whole")


def _excerpt_or_none(value: Any) -> float | None:
    """A configured or stored excerpt length; None, NaN (a store's "whole file") -> None."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def excerpt_span(n: int, native_sr: int, seconds: float | None) -> tuple[int, int]:
    """``[start, stop)`` of the centred excerpt of ``seconds`` in ``n`` samples at ``native_sr``.

    ``Ln = floor(seconds * native_sr + 0.5)``; ``n <= Ln`` (or ``seconds`` None) gives
    the whole ``[0, n)``, else ``start = (n - Ln) // 2`` (floor), ``stop = start + Ln``.
    """
    if seconds is None:
        return 0, n
    length = int(math.floor(seconds * native_sr + 0.5))
    if n <= length:
        return 0, n
    start = (n - length) // 2
    return start, start + length


# ---------------------------------------------------------------------------
# decoding


def _read_soundfile(path: Path) -> tuple[np.ndarray, int, int]:
    """(samples (n, C) float32, sample rate, frames declared by the header)."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        declared = int(f.frames)
        data = f.read(dtype="float32", always_2d=True)
        return data, int(f.samplerate), declared


def _read_audioread(path: Path) -> tuple[np.ndarray, int]:
    """Fallback decoder for formats soundfile cannot read (needs ffmpeg or GStreamer)."""
    import audioread

    backends = [b for b in audioread.available_backends() if b.__name__ != "RawAudioFile"]
    if not backends:
        raise RuntimeError("no fallback decoder (audioread found neither ffmpeg nor GStreamer)")
    with audioread.audio_open(str(path), backends=backends) as f:
        sr, ch = int(f.samplerate), int(f.channels)
        raw = b"".join(f)
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, ch), sr


def decode(path: str | Path) -> tuple[np.ndarray, int]:
    """Decode a file to ``((n, C) float32, native sample rate)``.

    soundfile (libsndfile: WAV, FLAC, OGG, MP3, ...) first; audioread only where
    soundfile cannot open the file. Raises :class:`AudioError`.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError("missing_file", path, "no such file")
    if path.stat().st_size == 0:
        raise AudioError("empty", path, "zero-byte file")
    try:
        data, sr, declared = _read_soundfile(path)
    except Exception as exc:  # libsndfile raises RuntimeError subclasses with its message
        sf_error = str(exc).replace(str(path), "").strip(" :'\"") or type(exc).__name__
        try:
            data, sr = _read_audioread(path)
            declared = len(data)
        except Exception as exc2:
            raise AudioError("undecodable", path, f"soundfile: {sf_error}; fallback: {exc2}") from None
    if declared > 0 and len(data) < (1.0 - TRUNCATION_TOLERANCE) * declared:
        raise AudioError(
            "truncated", path, f"decoded {len(data)} of the {declared} samples per channel its header declares"
        )
    return data, sr


def _fix_length(y: np.ndarray, n: int) -> np.ndarray:
    if y.shape[-1] > n:
        return y[..., :n]
    if y.shape[-1] < n:
        return np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n - y.shape[-1])])
    return y


def load_audio(path: str | Path, sr: int = 22050, excerpt_seconds: float | None = None) -> np.ndarray:
    """Decode, resample to ``sr`` and return ``(2, n)`` float32 (mono duplicated).

    Equal to ``librosa.load(path, sr=sr, mono=False)`` (soxr 'HQ', length
    ``ceil(n * sr / native)``) for mono and stereo files; more than two channels keep
    the first two. ``excerpt_seconds``: first cut the decoded native-rate samples to
    :func:`excerpt_span` (then ``n`` above is the excerpt's length). Raises
    :class:`AudioError` (``missing_file``, ``empty``, ``undecodable``, ``truncated``,
    ``non_finite``).
    """
    import soxr

    data, native = decode(path)
    if data.shape[0] == 0:
        raise AudioError("empty", path, "no samples")
    start, stop = excerpt_span(data.shape[0], native, excerpt_seconds)
    if stop - start < data.shape[0]:
        data = data[start:stop].copy()  # a copy frees the whole decode
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    elif data.shape[1] > 2:
        data = np.ascontiguousarray(data[:, :2])
    if not np.isfinite(data).all():
        raise AudioError("non_finite", path, "NaN or infinite samples")
    if native != sr:
        n_out = int(math.ceil(data.shape[0] * float(sr) / native))
        data = soxr.resample(data, native, sr, quality="HQ")
        y = _fix_length(np.ascontiguousarray(data.T), n_out)
    else:
        y = np.ascontiguousarray(data.T)
    return np.ascontiguousarray(y, dtype=np.float32)


def check_usable(y: np.ndarray, params: MelParams, path: str | Path) -> None:
    """Raise :class:`AudioError` for silent audio or audio shorter than one crop."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak < SILENCE_PEAK:
        raise AudioError("silent", path, f"peak amplitude {peak:.2e} is below -80 dBFS")
    frames = params.n_frames(y.shape[-1])
    if frames < params.crop_frames:
        raise AudioError(
            "too_short",
            path,
            f"{y.shape[-1] / params.sr:.2f} s gives {frames} frames, fewer than one "
            f"{params.crop_frames}-frame crop",
        )


# ---------------------------------------------------------------------------
# mel spectrograms


@functools.lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa's Slaney mel filter bank ``(n_mels, 1 + n_fft // 2)`` float32 (as melspectrogram uses)."""
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "empty filters" warning for extreme settings
        return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=False, norm="slaney")


@functools.lru_cache(maxsize=8)
def _hann(n_fft: int) -> np.ndarray:
    import scipy.signal

    return scipy.signal.get_window("hann", n_fft, fftbins=True)  # periodic, float64, as librosa


def _band_groups(fb: np.ndarray, size: int = 8) -> list[tuple[int, int, int, int, np.ndarray]]:
    """Split the filter bank into groups of ``size`` bands with the bin range they touch.

    Returns (band_start, band_stop, bin_lo, bin_hi, weights (bin_hi-bin_lo, bands) float64).
    """
    groups = []
    for s in range(0, fb.shape[0], size):
        rows = fb[s : s + size]
        nz = np.flatnonzero(rows.any(axis=0))
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0)
        groups.append((s, s + rows.shape[0], lo, hi, np.ascontiguousarray(rows[:, lo:hi].T, dtype=np.float64)))
    return groups


_GROUP_CACHE: dict[tuple, list] = {}


def _torch_groups(params: MelParams, device: Any) -> list:
    import torch

    key = (params.sr, params.n_fft, params.n_mels, params.fmin, params.fmax_hz, str(device))
    if key not in _GROUP_CACHE:
        fb = mel_filterbank(params.sr, params.n_fft, params.n_mels, params.fmin, params.fmax_hz)
        _GROUP_CACHE[key] = [
            (s, e, lo, hi, torch.from_numpy(w).to(device)) for s, e, lo, hi, w in _band_groups(fb)
        ]
    return _GROUP_CACHE[key]


def _power_to_db_(mel: Any, top_db: float | None, dims: tuple[int, ...]) -> Any:
    """In-place dB of a torch power tensor; ``top_db`` relative to the max over ``dims``."""
    import torch

    mel.clamp_(min=AMIN).log10_().mul_(10.0)
    mel.sub_(10.0 * math.log10(max(AMIN, REF)))
    if top_db is not None:
        floor = torch.amax(mel, dim=dims, keepdim=True) - top_db
        torch.maximum(mel, floor, out=mel)
    return mel


def mel_batch(y: Any, params: MelParams, block: int | None = None, superblock: int = 1024) -> Any:
    """Torch log-mel of a batch ``(B, C, n)`` (any device, any float dtype) -> ``(B, T, C, n_mels)`` float32.

    Each clip's ``top_db`` floor is relative to its own maximum. Spectra are float64.
    ``block`` bounds the frames per FFT call (None: all frames at once, the GPU
    choice); the filter bank is applied per ``superblock`` frames.
    """
    import torch

    if y.ndim != 3:
        raise ValueError(f"mel_batch expects (batch, channels, samples), got shape {tuple(y.shape)}")
    device = y.device
    pad = params.n_fft // 2
    x = torch.nn.functional.pad(y.to(torch.float64), (pad, pad))
    frames = x.unfold(-1, params.n_fft, params.hop)  # (B, C, T, n_fft), a view
    nb, nc, nt, _ = frames.shape
    window = torch.from_numpy(_hann(params.n_fft)).to(device)
    groups = _torch_groups(params, device)
    n_bins = params.n_fft // 2 + 1
    big = nt if block is None else max(superblock, block)
    small = big if block is None else block
    out = torch.empty((nb, nc, nt, params.n_mels), dtype=torch.float64, device=device)
    power = torch.empty((nb, nc, min(big, nt), n_bins), dtype=torch.float64, device=device)
    buf = torch.empty((nb, nc, min(small, nt), params.n_fft), dtype=torch.float64, device=device)
    for s in range(0, nt, big):
        e = min(nt, s + big)
        for s2 in range(s, e, small):
            e2 = min(e, s2 + small)
            b = buf[:, :, : e2 - s2]
            torch.mul(frames[:, :, s2:e2], window, out=b)
            spec = torch.fft.rfft(b, dim=-1)
            dst = power[:, :, s2 - s : e2 - s]
            torch.mul(spec.real, spec.real, out=dst)
            dst.addcmul_(spec.imag, spec.imag)
        p = power[:, :, : e - s]
        for b0, b1, lo, hi, w in groups:
            out[:, :, s:e, b0:b1] = p[..., lo:hi] @ w if hi > lo else 0.0
    _power_to_db_(out, params.top_db, dims=(1, 2, 3))
    return out.to(torch.float32).permute(0, 2, 1, 3).contiguous()


def _mel_torch_cpu(y: np.ndarray, params: MelParams) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = mel_batch(torch.from_numpy(y)[None], params, block=_CPU_BLOCK)
    return out[0].numpy()


def _mel_numpy(y: np.ndarray, params: MelParams, block: int = _CPU_BLOCK, superblock: int = 1024) -> np.ndarray:
    """The same algorithm as :func:`mel_batch` in numpy/scipy (pocketfft), for one clip on CPU."""
    import scipy.fft

    nc, n = y.shape
    pad = params.n_fft // 2
    x = np.zeros((nc, n + 2 * pad), dtype=np.float64)
    x[:, pad : pad + n] = y
    nt = params.n_frames(n)
    frames = np.lib.stride_tricks.sliding_window_view(x, params.n_fft, axis=-1)[:, :: params.hop][:, :nt]
    window = _hann(params.n_fft)
    fb = mel_filterbank(params.sr, params.n_fft, params.n_mels, params.fmin, params.fmax_hz)
    groups = _band_groups(fb)
    out = np.empty((nc, nt, params.n_mels), dtype=np.float64)
    power = np.empty((nc, min(superblock, nt), params.n_fft // 2 + 1), dtype=np.float64)
    buf = np.empty((nc, min(block, nt), params.n_fft), dtype=np.float64)
    for s in range(0, nt, superblock):
        e = min(nt, s + superblock)
        for s2 in range(s, e, block):
            e2 = min(e, s2 + block)
            b = buf[:, : e2 - s2]
            np.multiply(frames[:, s2:e2], window, out=b)
            spec = scipy.fft.rfft(b, axis=-1, overwrite_x=True)
            dst = power[:, s2 - s : e2 - s]
            np.multiply(spec.real, spec.real, out=dst)
            dst += np.square(spec.imag)
        p = power[:, : e - s]
        for b0, b1, lo, hi, w in groups:
            if hi > lo:
                np.matmul(p[..., lo:hi], w, out=out[:, s:e, b0:b1])
            else:
                out[:, s:e, b0:b1] = 0.0
    np.maximum(out, AMIN, out=out)
    np.log10(out, out=out)
    out *= 10.0
    out -= 10.0 * math.log10(max(AMIN, REF))
    if params.top_db is not None:
        np.maximum(out, out.max() - params.top_db, out=out)
    return np.ascontiguousarray(out.transpose(1, 0, 2), dtype=np.float32)


def _mel_librosa(y: np.ndarray, params: MelParams) -> np.ndarray:
    import librosa

    s = librosa.feature.melspectrogram(
        y=y,
        sr=params.sr,
        n_fft=params.n_fft,
        hop_length=params.hop,
        n_mels=params.n_mels,
        fmin=params.fmin,
        fmax=params.fmax_hz,
        power=POWER,
    )
    db = librosa.power_to_db(s, ref=REF, amin=AMIN, top_db=params.top_db)  # (C, n_mels, T)
    return np.ascontiguousarray(db.transpose(2, 0, 1), dtype=np.float32)


def mel_from_audio(y: np.ndarray, params: MelParams) -> np.ndarray:
    """Log-mel ``(T, C, n_mels)`` float32 of ``y`` ``(C, n)`` with the configured back end."""
    if y.ndim != 2:
        raise ValueError(f"mel_from_audio expects (channels, samples), got shape {y.shape}")
    if params.backend == "librosa":
        return _mel_librosa(y, params)
    if params.backend == "numpy":
        return _mel_numpy(y, params)
    return _mel_torch_cpu(y, params)


def compute_mel(path: str | Path, params: MelParams) -> np.ndarray:
    """dB mel ``(T, 2, n_mels)`` float32 of one file (raises :class:`AudioError`)."""
    return mel_from_audio(load_audio(path, params.sr, params.excerpt_seconds), params)


def extract_track(path: str | Path, params: MelParams) -> np.ndarray:
    """:func:`compute_mel` plus the store's admission checks (not silent, at least one crop)."""
    y = load_audio(path, params.sr, params.excerpt_seconds)
    check_usable(y, params, path)
    return mel_from_audio(y, params)
