"""Mel extraction (parity with librosa), bad-audio skips, the ragged store, merge, loss check, scaler."""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import librosa
import numpy as np
import pytest
import soundfile as sf

from onerep.audio.acquire import Acquired, write_acquired
from onerep.audio.commands import audio_settings
from onerep.audio.mel import AudioError, MelParams, extract_track, load_audio, mel_batch, mel_from_audio
from onerep.audio.pipeline import mel_shard, merge_dataset
from onerep.audio.records import LossError, Record, loss_table, read_records, write_records
from onerep.audio.scaler import compute_scaler, load_scaler
from onerep.audio.store import MelStore, merge_stores, write_store
from support.clips import write_clip

TOL_DB = 1e-3


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {
        "mp3_stereo_44k": write_clip(d / "a.mp3", 6.0, sr=44100, seed=1),
        "wav_mono_16k": write_clip(d / "b.wav", 3.0, sr=16000, seed=2, channels=1),
        "flac_stereo_22k": write_clip(d / "c.flac", 3.0, sr=22050, seed=3),
    }


def _librosa_reference(path: Path, sr: int = 22050, **kw: object) -> np.ndarray:
    """The contract, literally: librosa.load + melspectrogram on 2 channels + power_to_db; (T, 2, n_mels)."""
    y, _ = librosa.load(str(path), sr=sr, mono=False)
    if y.ndim == 1:
        y = np.stack([y, y])
    top_db = kw.pop("top_db", 80.0)
    s = librosa.feature.melspectrogram(y=y, sr=sr, **kw)
    return librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=top_db).transpose(2, 0, 1)


@pytest.mark.parametrize("name", ["mp3_stereo_44k", "wav_mono_16k", "flac_stereo_22k"])
def test_load_audio_equals_librosa_load(clips: dict[str, Path], name: str) -> None:
    ours = load_audio(clips[name], 22050)
    ref, _ = librosa.load(str(clips[name]), sr=22050, mono=False)
    if ref.ndim == 1:  # mono: duplicated into both channels
        ref = np.stack([ref, ref])
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    assert np.abs(ours - ref).max() <= 1e-6


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_mel_matches_librosa_within_1e3_db(clips: dict[str, Path], backend: str) -> None:
    params = MelParams(backend=backend)
    for name, path in clips.items():
        ours = extract_track(path, params)
        ref = _librosa_reference(path, n_fft=1024, hop_length=256, n_mels=128)
        assert ours.shape == ref.shape and ours.dtype == np.float32
        assert ref.max() - ref.min() > 60  # a wide dynamic range, where float32 FFTs drift
        err = np.abs(ours - ref).max()
        assert err <= TOL_DB, f"{name}: {err:.2e} dB"


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_mel_parity_other_parameters(clips: dict[str, Path], backend: str) -> None:
    params = MelParams(n_fft=512, hop=160, n_mels=64, fmin=30.0, fmax=8000.0, top_db=None, backend=backend)
    path = clips["mp3_stereo_44k"]
    ref = _librosa_reference(path, n_fft=512, hop_length=160, n_mels=64, fmin=30.0, fmax=8000.0, top_db=None)
    assert np.abs(extract_track(path, params) - ref).max() <= TOL_DB


def test_batched_torch_path_matches_single_clips(clips: dict[str, Path]) -> None:
    import torch

    params = MelParams()
    y1 = load_audio(clips["mp3_stereo_44k"], 22050)[:, : 22050 * 3]
    y2 = 0.01 * load_audio(clips["flac_stereo_22k"], 22050)[:, : 22050 * 3]  # 40 dB quieter: own top_db floor
    batch = mel_batch(torch.from_numpy(np.stack([y1, y2])), params).numpy()
    for k, y in enumerate((y1, y2)):
        assert np.abs(batch[k] - mel_from_audio(y, MelParams(backend="librosa"))).max() <= TOL_DB


def test_mel_params_from_settings_and_attrs() -> None:
    audio = audio_settings('{"audio.n_mels": 96, "audio.fmax": null, "audio.download": {"retries": 1}}')
    assert audio["n_mels"] == 96 and audio["sample_rate"] == 22050 and audio["download"]["retries"] == 1
    p = MelParams.from_settings(audio)
    assert (p.sr, p.n_fft, p.hop, p.n_mels, p.fmax_hz, p.crop_frames) == (22050, 1024, 256, 96, 11025.0, 216)
    assert MelParams.from_attrs(p.attrs()) == MelParams(n_mels=96, fmax=11025.0)
    with pytest.raises(ValueError, match="fmax"):
        MelParams.from_settings({"fmax": 20000})
    with pytest.raises(ValueError, match="audio.n_mel"):
        audio_settings('{"audio": {"n_mel": 3}}')


def test_bad_audio_is_recorded_and_skipped(clips: dict[str, Path], tmp_path: Path) -> None:
    d = tmp_path / "audio"
    d.mkdir()
    good = write_clip(d / "good.wav", 3.0, sr=22050, seed=5)
    data = clips["mp3_stereo_44k"].read_bytes()
    (d / "truncated.mp3").write_bytes(data[: len(data) // 2])
    (d / "zero.wav").write_bytes(b"")
    (d / "text.wav").write_text("definitely not a RIFF header\n" * 10)
    write_clip(d / "short.wav", 1.0, sr=22050, seed=6)
    sf.write(d / "silent.wav", np.zeros((22050 * 3, 2), np.float32), 22050)
    names = ["good.wav", "truncated.mp3", "zero.wav", "text.wav", "short.wav", "silent.wav"]
    acquired = [Acquired(Path(n).stem, "ok", "", str(d / n), 1, "", str(d / n)) for n in names]
    acquired.append(Acquired("gone", "failed", "http_404: Not Found", "", 0, "", "http://x/gone.mp3"))
    acq_tsv = tmp_path / "acquired.tsv"
    write_acquired(acq_tsv, acquired)

    records = mel_shard(acq_tsv, tmp_path / "shard.h5", tmp_path / "shard.records.tsv", MelParams(), threads=1)
    got = {r.track_id: (r.stage, r.status, r.code) for r in records}
    assert got == {
        "good": ("decode", "ok", ""),
        "truncated": ("decode", "failed", "truncated"),
        "zero": ("decode", "failed", "empty"),
        "text": ("decode", "failed", "undecodable"),
        "short": ("decode", "failed", "too_short"),
        "silent": ("decode", "failed", "silent"),
        "gone": ("acquire", "failed", "http_404"),
    }
    assert read_records(tmp_path / "shard.records.tsv") == records
    with MelStore(tmp_path / "shard.h5") as st:
        assert st.track_ids == ["good"]
        assert np.abs(st.get(0) - extract_track(good, MelParams())).max() <= 0.05  # float16 storage
    with pytest.raises(AudioError, match="short.wav: too_short"):
        extract_track(d / "short.wav", MelParams())


def _ragged(n_tracks: int, rng: np.random.Generator, n_mels: int = 16) -> list[np.ndarray]:
    """Tracks whose frames encode (track, frame) so any crossing of a boundary is visible."""
    mels = []
    for i in range(n_tracks):
        t = int(rng.integers(20, 90))
        m = np.empty((t, 2, n_mels), np.float32)
        m[:] = (i * 100 + np.arange(t))[:, None, None]
        m[:, 1] += 0.5
        mels.append(m)
    return mels


def test_store_roundtrip_and_crops_stay_inside_tracks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    mels = _ragged(12, rng)
    ids = [f"tr{i:02d}" for i in range(12)]
    attrs = {**MelParams(n_mels=16, crop_frames=20, dtype="float32").attrs(), "note": "test"}
    p1 = write_store(tmp_path / "list.h5", ids, mels, attrs)  # a list: contiguous layout
    p2 = write_store(tmp_path / "gen.h5", iter(ids), (m for m in mels), attrs)  # a generator: chunked
    with h5py.File(p1) as f1, h5py.File(p2) as f2:
        assert f1["mel"].chunks is None and f2["mel"].chunks == (20, 2, 16)
        assert np.array_equal(f1["mel"][:], f2["mel"][:])
    st = MelStore(p1)
    assert len(st) == 12 and st.track_ids == ids
    assert st.offsets.tolist() == [0, *np.cumsum([len(m) for m in mels]).tolist()]
    assert st.attrs["n_mels"] == 16 and st.attrs["note"] == "test" and "librosa_version" in st.attrs
    assert st.index("tr07") == 7 and "tr07" in st and "nope" not in st
    with pytest.raises(KeyError, match="nope"):
        st.index("nope")
    for i in range(12):
        assert np.array_equal(st.get(i), mels[i])
    # random crops: every one equals the slice of its own track (values encode track and frame)
    idx = rng.integers(0, 12, 300)
    items = [(int(i), int(s)) for i, s in zip(idx, st.random_starts(idx, rng))]
    batch = st.crops(items)
    for k, (i, s) in enumerate(items):
        assert np.array_equal(batch[k], mels[i][s : s + 20])
        assert batch[k][:, 0, 0].min() >= i * 100 and batch[k][:, 0, 0].max() < i * 100 + len(mels[i])
    last = len(mels[3]) - 20
    assert np.array_equal(st.crop(3, last), mels[3][last:])
    with pytest.raises(ValueError, match="outside track 'tr03'"):
        st.crop(3, last + 1)
    mel, offs = st.load_all()
    assert np.array_equal(mel, np.concatenate(mels)) and np.array_equal(offs, st.offsets)
    clone = pickle.loads(pickle.dumps(st))  # e.g. to a DataLoader worker: reopens its own handle
    assert np.array_equal(clone.get(5), mels[5])
    st.close()
    with pytest.raises(ValueError, match="appended twice"):
        write_store(tmp_path / "dup.h5", ["a", "a"], mels[:2], attrs)
    assert not (tmp_path / "dup.h5").exists() and not list(tmp_path.glob(".dup.h5*"))


def test_float16_store_and_merge(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    mels = [rng.normal(-30, 15, (int(rng.integers(216, 400)), 2, 8)).astype(np.float32) for _ in range(5)]
    attrs = MelParams(n_mels=8).attrs()
    a = write_store(tmp_path / "a.h5", ["a0", "a1", "a2"], mels[:3], attrs)
    b = write_store(tmp_path / "b.h5", ["b0", "b1"], (m for m in mels[3:]), attrs)
    merged = merge_stores(tmp_path / "m.h5", [a, b], {"dataset": "x"})
    with MelStore(merged) as st:
        assert st.dtype == np.float16 and st.attrs["dataset"] == "x" and st.attrs["storage"] == "contiguous"
        assert st.track_ids == ["a0", "a1", "a2", "b0", "b1"]
        for i, m in enumerate(mels):
            assert np.array_equal(st.get(i), m.astype(np.float16).astype(np.float32))
    other = write_store(tmp_path / "c.h5", ["c0"], mels[:1], MelParams(n_mels=8, top_db=60.0).attrs())
    with pytest.raises(ValueError, match="top_db"):
        merge_stores(tmp_path / "bad.h5", [a, other])
    with pytest.raises(ValueError, match="'a0' appears twice"):
        merge_stores(tmp_path / "bad.h5", [a, a])
    assert not (tmp_path / "bad.h5").exists()


def test_merge_dataset_stops_past_max_loss(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    mels = [rng.normal(size=(230, 2, 8)).astype(np.float32) for _ in range(3)]
    attrs = MelParams(n_mels=8).attrs()
    h5 = write_store(tmp_path / "s0.h5", ["a", "b", "c"], mels, attrs)
    recs = [Record("a", "decode", "ok"), Record("b", "decode", "ok"), Record("c", "decode", "ok"),
            Record("d", "acquire", "failed", "http_404: Not Found"),
            Record("e", "acquire", "failed", "http_404: Not Found"),
            Record("f", "decode", "failed", "too_short: 1.00 s")]
    write_records(tmp_path / "s0.records.tsv", recs)
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("track_id\tlocation\n" + "".join(f"{t}\t{t}.wav\n" for t in "abcdef"))
    out, out_rec = tmp_path / "ds.h5", tmp_path / "ds.records.tsv"
    with pytest.raises(LossError) as exc:
        merge_dataset("gtzan", manifest, [h5], [tmp_path / "s0.records.tsv"], out, out_rec, max_loss_fraction=0.25)
    msg = str(exc.value)
    assert "'gtzan' lost 3 of 6 tracks (50.0 %): http_404 2, too_short 1" in msg
    assert "max_loss_fraction = 0.25" in msg
    assert not out.exists() and not out_rec.exists()
    merge_dataset("gtzan", manifest, [h5], [tmp_path / "s0.records.tsv"], out, out_rec, max_loss_fraction=0.5)
    with MelStore(out) as st:
        assert st.track_ids == ["a", "b", "c"] and st.attrs["n_lost"] == 3
    table = loss_table({"gtzan": out_rec})
    row = table.iloc[0]
    assert (row.tracks, row.kept, row.lost, row.lost_acquire, row.lost_decode) == (6, 3, 3, 2, 1)
    assert row.reasons == "http_404 2; too_short 1"


def test_scaler_equals_numpy_over_training_frames(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    mels = [rng.normal(rng.normal(-40, 10, 8), rng.uniform(1, 20, 8), (int(rng.integers(5, 60)), 2, 8))
            .astype(np.float32) for _ in range(20)]
    for m in mels:
        m[:, :, 3] = -80.0  # a band that is constant over the corpus
    ids = [f"t{i}" for i in range(20)]
    store = write_store(tmp_path / "corpus.h5", ids, mels, MelParams(n_mels=8).attrs())
    split = {tid: ("valid" if i % 4 == 0 else "train") for i, tid in enumerate(ids)}
    split["t5"] = "train"
    lines = ["track_id\tsplit\tseed"] + [f"{t}\t{s}\t42" for t, s in split.items()] + ["gone\ttrain\t42"]
    (tmp_path / "split.tsv").write_text("\n".join(lines) + "\n")
    out = compute_scaler(store, tmp_path / "split.tsv", tmp_path / "scaler.npz", block_frames=7)
    train = np.concatenate([mels[i].astype(np.float16).astype(np.float64) for i, t in enumerate(ids)
                            if split[t] == "train"])
    flat = train.reshape(-1, 8)
    assert np.allclose(out["mean"], flat.mean(axis=0), rtol=0, atol=1e-9)
    assert np.allclose(out["std_raw"], flat.std(axis=0), rtol=0, atol=1e-9)
    assert out["std"][3] == 1.0 and out["std_raw"][3] == 0.0
    assert int(out["n_frames"]) == train.shape[0] and int(out["n_tracks"]) == 15 and int(out["seed"]) == 42
    mean, std = load_scaler(tmp_path / "scaler.npz")
    assert mean.dtype == np.float32 and std.shape == (8,)
    assert np.allclose(mean, flat.mean(axis=0), atol=1e-4)
    (tmp_path / "bad_split.tsv").write_text("track_id\tsplit\nt1\ttest\n")
    with pytest.raises(ValueError, match="line 2: split .test. is not one of train, valid"):
        compute_scaler(store, tmp_path / "bad_split.tsv", tmp_path / "x.npz")
