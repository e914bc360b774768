"""Label-free audio sources: descriptors from a mel store, reduced by the Gaussian mixture.

The clips are synthesised here with a known pitch class and tempo, turned into a mel
store in the documented layout, and the descriptors must find both again."""

from __future__ import annotations

import json

import h5py
import librosa
import numpy as np
import pandas as pd
import pytest

from onerep.cli import main
from onerep.sources.audio_sources import (
    TEMPO_BANDS,
    MelGeometry,
    chroma_weights,
    feature_names,
    load_descriptors,
)
from onerep.sources.labels import load_labels, make_labels

SR, N_FFT, HOP, N_MELS = 22050, 1024, 256, 128
GROUPS = {  # pitch class, fundamental (Hz), tempo (bpm)
    "A": (9, 220.0, 100.0),
    "D#": (3, 155.56, 150.0),
}


def clip(f0: float, bpm: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A tone of octave partials (pure pitch class) plus a click track at ``bpm``, stereo."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum(0.3 / (i + 1) * np.sin(2 * np.pi * f0 * 2 ** i * t + rng.uniform(0, 6)) for i in range(5))
    clicks = np.zeros_like(t)
    period = int(round(60.0 / bpm * SR))
    burst = rng.normal(0, 1, 300) * np.exp(-np.arange(300) / 40)
    for start in range(int(rng.integers(0, period)), len(t) - 300, period):
        clicks[start:start + 300] += burst
    y = y + 0.8 * clicks + 0.01 * rng.normal(size=len(t))
    return np.stack([y, 0.9 * y]).astype(np.float32)


def mel_db(y: np.ndarray) -> np.ndarray:
    """(T, 2, n_mels) dB mel spectrogram with the study's parameters."""
    m = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, power=2.0)
    return np.transpose(librosa.power_to_db(m, ref=1.0, amin=1e-10, top_db=80.0), (2, 0, 1))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    ids, mels, group = [], [], []
    for i in range(24):
        name = list(GROUPS)[i % 2]
        _, f0, bpm = GROUPS[name]
        ids.append(f"TRAUDIO{i:04d}")
        mels.append(mel_db(clip(f0 * rng.uniform(0.99, 1.01), bpm * rng.uniform(0.98, 1.02), 6.0, rng)))
        group.append(i % 2)
    offsets = np.concatenate([[0], np.cumsum([len(m) for m in mels])]).astype(np.int64)
    path = root / "corpus.h5"
    with h5py.File(path, "w") as f:  # the mel-store layout of docs/architecture.md
        f.create_dataset("mel", data=np.concatenate(mels).astype(np.float16), chunks=(216, 2, N_MELS))
        f.create_dataset("offsets", data=offsets)
        f.create_dataset("track_id", data=np.array(ids, dtype=object), dtype=h5py.string_dtype())
        f.attrs.update({"sample_rate": SR, "n_fft": N_FFT, "hop_length": HOP, "n_mels": N_MELS,
                        "fmin": 0.0, "fmax": 0.0, "top_db": 80.0, "crop_frames": 216, "dtype": "float16"})
    (root / "manifest.tsv").write_text("track_id\tlocation\tmd5\n" + "".join(f"{t}\t{t}.wav\t\n" for t in ids[:-2]))
    out = root / "audio_descriptors.h5"
    assert main(["audio-descriptors", "--mel-store", str(path), "--out", str(out)]) == 0
    return root, np.array(ids), np.array(group)


def test_chroma_weights_fold_bands_to_pitch_classes():
    geom = MelGeometry(SR, HOP, N_MELS, 0.0, SR / 2)
    w = chroma_weights(geom)
    assert w.shape == (12, N_MELS)
    freqs = librosa.mel_frequencies(n_mels=N_MELS + 2, fmin=0.0, fmax=SR / 2)[1:-1]
    used = w.sum(0) > 0
    assert freqs[used].min() > 400 and freqs[used].max() <= 5000  # only semitone-resolving bands
    np.testing.assert_allclose(w.sum(0)[used], 1.0)
    a_band = np.argmin(np.abs(freqs - 880.0))  # the band at A5 goes (mostly) to A
    assert w[:, a_band].argmax() == 9


def test_descriptors_find_pitch_class_and_tempo(store):
    root, ids, group = store
    got_ids, chroma, names = load_descriptors(root / "audio_descriptors.h5", "chroma")
    assert list(got_ids) == list(ids) and names == feature_names("chroma")
    _, tempo, _ = load_descriptors(root / "audio_descriptors.h5", "tempogram")
    _, mfcc, _ = load_descriptors(root / "audio_descriptors.h5", "mfcc")
    assert mfcc.shape == (24, 40) and tempo.shape == (24, len(TEMPO_BANDS))
    for g, (pc, _, bpm) in enumerate(GROUPS.values()):
        rows = group == g
        assert np.all(chroma[rows, :12].argmax(1) == pc)
        # the strongest tempo band between 80 and 200 bpm is the click tempo
        window = (TEMPO_BANDS > 80) & (TEMPO_BANDS < 200)
        best = TEMPO_BANDS[window][tempo[rows][:, window].argmax(1)]
        np.testing.assert_allclose(best, bpm, rtol=0.1)


@pytest.mark.parametrize("source", ["mfcc", "chroma", "tempogram"])
def test_audio_sources_separate_the_groups(store, source):
    root, ids, group = store
    settings = {"sources.k": 2, "sources.gmm_max_iter": 200, "sources.topic_terms": 3, "seed": 3}
    res = make_labels(source, root / "manifest.tsv", {"audio_descriptors": root / "audio_descriptors.h5"}, settings)
    assert list(res.track_ids) == list(ids[:-2])  # only manifest tracks
    assert res.z.shape == (22, 2) and res.z.dtype == np.float32
    np.testing.assert_allclose(res.z.sum(1), 1.0, atol=1e-6)
    top = res.z.argmax(1)
    g = group[:-2]
    assert len(set(zip(top, g))) == 2  # one component per group
    assert json.loads(res.attrs["stats"])["outside_corpus"] == 2
    assert set(res.topics.columns) == {"topic", "rank", "term", "weight"}
    assert set(res.topics.term) <= set(feature_names(source))
    if source == "chroma":  # a component's most distinctive feature is a pitch class of its group
        lead = res.topics[res.topics["rank"] == 1].term
        assert {t.split("_")[1] for t in lead} <= {"A", "D#"}


def test_labels_cli_for_an_audio_source(store, tmp_path):
    root, ids, _ = store
    out = tmp_path / "mfcc.h5"
    settings = json.dumps({"sources.k": 2, "sources.gmm_max_iter": 100, "sources.topic_terms": 2, "seed": 1})
    assert main(["labels", "--source", "mfcc", "--manifest", str(root / "manifest.tsv"),
                 "--audio-descriptors", str(root / "audio_descriptors.h5"), "--settings", settings,
                 "--out", str(out), "--topics", str(tmp_path / "mfcc.topics.tsv")]) == 0
    got, z = load_labels(out)
    assert len(got) == 22 and z.shape == (22, 2)
    table = pd.read_csv(tmp_path / "mfcc.topics.tsv", sep="\t")
    assert len(table) == 4
