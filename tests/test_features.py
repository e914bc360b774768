"""Feature extraction: window and pooling arithmetic, baselines, the commands, user folders."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import rules_snakefile
from onerep.cli import main
from onerep.features import load_features, pooled_features, window_starts, write_features
from onerep.features.baselines import mfcc_vector, rand_network, rand_seed, user_features
from onerep.features.extract import WINDOWING, mel_function
from onerep.features.pool import clip_windows, pool
from onerep.models import build_network, save_model

torch.set_num_threads(1)
N_MELS = 16


class MeanNet(torch.nn.Module):
    """Stand-in whose features are known: per window, its mean and its first value."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x.mean(dim=(1, 2, 3)), x[:, 0, 0, 0]], dim=1) + self.dummy


class ConvNet(torch.nn.Module):
    """Small network with BatchNorm and Dropout: only eval mode makes it deterministic."""

    def __init__(self, seed: int = 0, width: int = 4) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.conv = torch.nn.Conv2d(2, width, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(width)
        self.fc = torch.nn.Linear(width, 3)
        self.drop = torch.nn.Dropout(0.5)
        self.bn.running_mean.uniform_(-0.5, 0.5)
        self.representation = [("tag", 0, 3)]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3))
        return self.drop(torch.relu(self.fc(h)))


def _store(path: Path, mels: dict[str, np.ndarray], dtype=np.float16, **attrs) -> Path:
    """A mel store in the documented layout."""
    ids = list(mels)
    offsets = np.concatenate([[0], np.cumsum([len(m) for m in mels.values()])]).astype(np.int64)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("mel", data=np.concatenate(list(mels.values())).astype(dtype))
        h5.create_dataset("offsets", data=offsets)
        h5.create_dataset("track_id", data=np.array(ids, dtype=object), dtype=h5py.string_dtype())
        h5.attrs.update({"crop_frames": 216, "n_mels": mels[ids[0]].shape[2], **attrs})
    return path


def _ramp(n_frames: int, n_mels: int = N_MELS) -> np.ndarray:
    """Mel frames whose every value is the frame index."""
    return np.broadcast_to(np.arange(n_frames, dtype=np.float32)[:, None, None],
                           (n_frames, 2, n_mels)).copy()


ZERO, ONE = np.zeros(N_MELS, np.float32), np.ones(N_MELS, np.float32)


def _embed_mean(x: np.ndarray) -> np.ndarray:
    return MeanNet().embed(torch.from_numpy(x)).detach().numpy()


# ---------------------------------------------------------------- windows and pooling

def _covered(n_frames: int, crop: int = 216) -> np.ndarray:
    """How many windows cover each frame of a clip of ``n_frames`` frames."""
    counts = np.zeros(n_frames, dtype=np.int64)
    for s in window_starts(n_frames, crop):
        counts[s:s + crop] += 1
    return counts


def test_window_starts() -> None:
    assert window_starts(216).tolist() == [0]
    assert window_starts(217).tolist() == [0, 1]        # one frame more: a second window
    assert window_starts(431).tolist() == [0, 215]      # the last window ends at the last frame
    assert window_starts(432).tolist() == [0, 216]      # a multiple of crop: non-overlapping
    assert window_starts(1296).tolist() == [0, 216, 432, 648, 864, 1080]
    assert window_starts(1292).tolist() == [0, 215, 430, 646, 861, 1076]
    assert window_starts(100).tolist() == [0]           # short: tiled to one window
    assert window_starts(10, crop=4).tolist() == [0, 3, 6]
    with pytest.raises(ValueError):
        window_starts(0)


def test_window_starts_of_an_irmas_clip_cover_every_frame() -> None:
    # a 3 s IRMAS clip at 22,050 Hz, hop 256: 259 frames
    starts = window_starts(259)
    assert starts.tolist() == [0, 43]
    assert (_covered(259) >= 1).all()
    w = clip_windows(_ramp(259))
    assert w.shape == (2, 2, 216, N_MELS)
    assert w[0, 0, :, 0].tolist() == list(range(216))
    assert w[1, 1, :, 5].tolist() == list(range(43, 259))  # overlapping windows, gathered


def test_window_starts_of_a_30s_clip() -> None:
    starts = window_starts(2584)  # 30 s at 22,050 Hz, hop 256
    assert len(starts) == 12 and starts[0] == 0 and starts[-1] == 2584 - 216
    assert (np.diff(starts) <= 216).all() and (_covered(2584) >= 1).all()
    assert len(clip_windows(_ramp(2584))) == 12


@pytest.mark.parametrize("n_frames", [217, 259, 300, 431, 433, 500, 1000, 2584, 2585, 3000])
def test_every_longer_clip_gets_at_least_two_windows_covering_it(n_frames: int) -> None:
    starts = window_starts(n_frames)
    assert len(starts) == -(-n_frames // 216) >= 2
    assert starts[0] == 0 and starts[-1] + 216 == n_frames
    assert (_covered(n_frames) >= 1).all() and (np.diff(starts) > 0).all()


def test_irmas_clip_std_half_is_not_zero() -> None:
    feats, n = pooled_features([_ramp(259)], _embed_mean, mean=ZERO, std=ONE)
    assert n.tolist() == [2]
    np.testing.assert_allclose(feats[0, :2], [(107.5 + 150.5) / 2, 43 / 2])
    np.testing.assert_allclose(feats[0, 2:], [21.5, 21.5])
    assert (feats[0, 2:] > 0).all()


def test_short_clip_is_tiled_by_repetition_not_zeros() -> None:
    mel = _ramp(100)
    w = clip_windows(mel)
    assert w.shape == (1, 2, 216, N_MELS)
    assert w[0, 0, :, 0].tolist() == [i % 100 for i in range(216)]
    assert w.min() == 0 and (w[0, :, 100:] > 0).any()  # no zero padding after frame 100


def test_pooled_mean_and_population_std_over_real_windows_only() -> None:
    # 500 frames: windows [0, 216), [142, 358) and [284, 500); every frame is used.
    feats, n = pooled_features([_ramp(500)], _embed_mean, mean=ZERO, std=ONE)
    assert n.tolist() == [3]
    window_means = np.array([107.5, 249.5, 391.5])
    assert feats.shape == (1, 4)
    np.testing.assert_allclose(feats[0, :2], [window_means.mean(), np.mean([0, 142, 284])])
    np.testing.assert_allclose(feats[0, 2:], [window_means.std(ddof=0),
                                              np.std([0, 142, 284], ddof=0)], rtol=1e-6)
    # The zero-padded version of the original code would give a third window:
    padded_mean = (107.5 + 323.5 + np.arange(432, 500).sum() / 216) / 3
    assert abs(feats[0, 0] - padded_mean) > 20


def test_short_clip_pools_to_its_tiled_window_with_zero_std() -> None:
    feats, n = pooled_features([_ramp(100)], _embed_mean, mean=ZERO, std=ONE)
    expected = (2 * np.arange(100).sum() + np.arange(16).sum()) / 216
    np.testing.assert_allclose(feats[0], [expected, 0.0, 0.0, 0.0], rtol=1e-6)
    assert n.tolist() == [1]


def test_standardisation_uses_the_scaler_per_band() -> None:
    mel = np.zeros((216, 2, N_MELS), np.float32)
    mel[:, :, 3] = 10.0
    mean = np.zeros(N_MELS, np.float32)
    mean[3] = 4.0
    std = np.full(N_MELS, 2.0, np.float32)
    std[3] = 3.0
    seen = []

    def spy(x: np.ndarray) -> np.ndarray:
        seen.append(x.copy())
        return x.reshape(len(x), -1)[:, :1]

    pooled_features([mel], spy, mean=mean, std=std)
    np.testing.assert_allclose(seen[0][0, :, :, 3], 2.0)
    np.testing.assert_allclose(seen[0][0, :, :, 0], 0.0)


def test_batches_never_exceed_batch_size_and_do_not_change_results() -> None:
    clips = [_ramp(n) * 0.01 for n in (216, 1000, 50, 3000, 433)]
    sizes: list[int] = []
    net = ConvNet()
    net.eval()

    def embed(x: np.ndarray) -> np.ndarray:
        sizes.append(len(x))
        with torch.no_grad():
            return net.embed(torch.from_numpy(x)).numpy()

    a, na = pooled_features(clips, embed, mean=ZERO, std=ONE, batch_size=3)
    assert max(sizes) <= 3 and sum(sizes) == sum(na) == 1 + 5 + 1 + 14 + 3
    b, _ = pooled_features(clips, embed, mean=ZERO, std=ONE, batch_size=64)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert a.shape == (5, 6)


def test_pool_layout_is_means_then_stds() -> None:
    f = np.array([[1.0, 10.0], [3.0, 30.0]])
    assert pool(f).tolist() == [2.0, 20.0, 1.0, 10.0]


# ---------------------------------------------------------------- baselines

def _db_mel(y: np.ndarray, sr: int) -> np.ndarray:
    """(T, 2, 128) dB mel of a mono signal duplicated to two channels (SPEC section 2)."""
    s = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=256, n_mels=128)
    db = librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80.0)
    return np.stack([db, db]).transpose(2, 0, 1)


def test_mfcc_baseline_matches_librosa_on_the_audio() -> None:
    sr = 22050
    rng = np.random.default_rng(0)
    t = np.arange(int(sr * 1.5)) / sr
    y = (0.3 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(2 * np.pi * 2 * t))
         + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    ref = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, n_fft=1024, hop_length=256, n_mels=128)
    stack = np.concatenate([ref, librosa.feature.delta(ref), librosa.feature.delta(ref, order=2)])
    expected = np.concatenate([stack.mean(axis=1), stack.std(axis=1)])
    got = mfcc_vector(_db_mel(y, sr))
    assert got.shape == (120,)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    # float16 storage of the mel store changes the values only slightly
    got16 = mfcc_vector(_db_mel(y, sr).astype(np.float16))
    np.testing.assert_allclose(got16, expected, atol=0.05 * np.abs(expected).max())


def test_mfcc_channel_mean_power_and_short_clip() -> None:
    rng = np.random.default_rng(1)
    mel = rng.uniform(-60, 0, size=(50, 2, 128)).astype(np.float32)
    swapped = mel[:, ::-1]
    np.testing.assert_allclose(mfcc_vector(mel), mfcc_vector(swapped), rtol=1e-6)
    one = mel.copy()
    one[:, 1] = -200.0  # a silent second channel halves the power: -3.01 dB in every band
    from onerep.features.baselines import mel_db_mono
    np.testing.assert_allclose(mel_db_mono(one), mel[:, 0].T - 10 * np.log10(2), atol=1e-6)
    assert np.isfinite(mfcc_vector(mel[:4])).all()  # shorter than the delta width


def test_rand_network_is_seeded_and_in_eval_mode() -> None:
    calls = []

    def build(strategy, sources, k=50, width=1.0):
        calls.append((strategy, list(sources), k, width))
        return build_network(strategy, sources, k=k, width=width)

    a = rand_network("mscr2", ["self", "tag"], k=8, width=0.125, seed=rand_seed(7, "mscr2"),
                     build=build)
    b = rand_network("mscr2", ["self", "tag"], k=8, width=0.125, seed=rand_seed(7, "mscr2"),
                     build=build)
    c = rand_network("ssr", ["self", "tag"], k=8, width=0.125, seed=rand_seed(7, "ssr"),
                     build=build)
    assert not a.training
    first = "trunk.conv1.conv.weight"
    assert torch.equal(a.state_dict()[first], b.state_dict()[first])
    assert not torch.equal(a.state_dict()[first], c.state_dict()[first])
    assert calls[2] == ("ssr", ["self"], 8, 0.125)
    assert calls[0] == ("mscr2", ["self", "tag"], 8, 0.125)


def test_user_features_reordered_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "u.h5"
    with h5py.File(path, "w") as h5:
        h5["track_id"] = np.array(["c", "a", "b", "extra"], dtype=object).astype(
            h5py.string_dtype())
        h5["features"] = np.array([[3, 3], [1, 1], [2, 2], [9, 9]], dtype=np.float64)
    feats, info = user_features(path, ["a", "b", "c"])
    assert feats.tolist() == [[1, 1], [2, 2], [3, 3]] and feats.dtype == np.float32
    assert info["extra_ids_dropped"] == 1
    with pytest.raises(ValueError, match=r"1 of the target's 4 tracks have no features.*'d'"):
        user_features(path, ["a", "b", "c", "d"])


# ---------------------------------------------------------------- commands

# The real network pools the frequency axis five times: it needs at least 32 mel bands.
MODEL_MELS = 32


@pytest.fixture
def model_file(tmp_path: Path) -> tuple[Path, torch.nn.Module, dict]:
    """A small SS-R network saved by the package as a model file: (path, net, meta)."""
    net = build_network("ssr", ["tag"], k=8, width=0.125, seed=3)
    meta = {"scaler_mean": np.full(MODEL_MELS, -30.0, np.float32),
            "scaler_std": np.full(MODEL_MELS, 15.0, np.float32), "run_id": "run-1", "seed": 11,
            "mel_params": {"sample_rate": 8000, "n_fft": 512, "hop_length": 128,
                           "n_mels": MODEL_MELS, "fmin": 0.0, "fmax": None, "top_db": 80.0,
                           "crop_frames": 216}}
    path = tmp_path / "model.pt"
    save_model(path, net, meta)
    return path, net.eval(), meta


def _embed_with(net: torch.nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """numpy windows -> features of ``net`` (eval mode, as extraction runs it)."""
    def embed(x: np.ndarray) -> np.ndarray:
        return net.embed(torch.from_numpy(x)).numpy()
    return embed


def _sine(path: Path, seconds: float, sr: int = 8000, channels: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.2 * np.sin(2 * np.pi * (200 + 100 * len(path.name)) * t)
    sf.write(path, np.stack([y] * channels, axis=1) if channels > 1 else y, sr)


def test_user_extracts_a_folder_of_audio(tmp_path: Path, model_file: tuple,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    model, net, meta = model_file
    audio = tmp_path / "music"
    _sine(audio / "a.wav", 10.5)                    # 657 frames: 4 windows covering them
    _sine(audio / "sub" / "b.flac", 2.0, channels=2)  # 126 frames: tiled to one window
    _sine(audio / "c.wav", 3.6)                     # 226 frames: 2 windows (0 and 10)
    (audio / "broken.wav").write_bytes(b"RIFF not really a wav file")
    (audio / "notes.txt").write_text("not audio")
    out = tmp_path / "feats.h5"
    assert main(["extract", str(model), str(audio), "-o", str(out), "--batch-size", "2"]) == 0
    err = capsys.readouterr().err
    assert "unreadable: broken.wav" in err
    ids, feats, attrs = load_features(out)
    d = net.embedding_size
    assert ids == ["a.wav", "c.wav", "sub/b.flac"]
    assert feats.shape == (3, 2 * d) and feats.dtype == np.float32
    with h5py.File(out) as h5:
        assert h5["n_windows"][:].tolist() == [4, 2, 1]
    assert len(attrs["unreadable"]) == 1 and attrs["unreadable"][0].startswith("broken.wav: ")
    assert attrs["files"] == 4 and attrs["rep"] == "run-1" and attrs["seed"] == 11
    assert attrs["windowing"] == WINDOWING == "even-cover"
    np.testing.assert_array_equal(feats[2, d:], 0.0)  # one window: std 0
    # the same numbers as the pooling of the model's mel frames of each file
    compute = mel_function(meta["mel_params"])
    ref, _ = pooled_features([compute(audio / i) for i in ids], _embed_with(net),
                             mean=meta["scaler_mean"], std=meta["scaler_std"])
    np.testing.assert_allclose(feats, ref, rtol=1e-5, atol=1e-6)
    assert not np.allclose(feats[0], feats[1])


def test_extract_empty_folder_is_an_error(tmp_path: Path, model_file: tuple,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["extract", str(model_file[0]), str(tmp_path / "empty"), "-o",
                 str(tmp_path / "o.h5")]) == 2
    assert "no audio files" in capsys.readouterr().err


def _target_store(tmp_path: Path, n_mels: int = MODEL_MELS, name: str = "mel.h5") -> Path:
    rng = np.random.default_rng(5)
    mels = {f"t{i}": rng.normal(-30, 15, size=(n, 2, n_mels)).astype(np.float32)
            for i, n in enumerate([216, 650, 90, 1300])}
    return _store(tmp_path / name, mels, sample_rate=8000, n_fft=512, hop_length=128)


def test_workflow_commands_write_feature_files(tmp_path: Path, model_file: tuple) -> None:
    model, net, _ = model_file
    mel = _target_store(tmp_path)
    np.savez(tmp_path / "scaler.npz", mean=np.full(MODEL_MELS, -30.0),
             std=np.full(MODEL_MELS, 15.0))
    out = tmp_path / "features"
    s = json.dumps({"extract.batch_size": 4, "train.device": "cpu"})
    assert main(["extract-features", "--model", str(model), "--mel", str(mel),
                 "--rep", "run-1", "--target", "gtzan", "--out", str(out / "run-1/gtzan.h5"),
                 "--settings", s]) == 0
    ids, feats, attrs = load_features(out / "run-1/gtzan.h5")
    assert ids == ["t0", "t1", "t2", "t3"] and feats.shape == (4, 2 * net.embedding_size)
    assert attrs["rep"] == "run-1" and attrs["target"] == "gtzan" and attrs["seed"] == 11
    assert attrs["windows"] == 1 + 4 + 1 + 7
    assert attrs["windowing"] == "even-cover" and attrs["crop_frames"] == 216
    assert "even-cover" in attrs["pooling"]

    assert main(["baseline-mfcc", "--mel", str(mel), "--target", "gtzan",
                 "--out", str(out / "mfcc/gtzan.h5")]) == 0
    ids_m, feats_m, attrs_m = load_features(out / "mfcc/gtzan.h5")
    assert ids_m == ids and feats_m.shape == (4, 120) and np.isfinite(feats_m).all()
    assert attrs_m["n_mfcc"] == 20 and attrs_m["windowing"] == "all-frames"
    # 16 mel bands give 16 cepstral coefficients (120 values need n_mels >= 20)
    mel16 = _target_store(tmp_path, n_mels=16, name="mel16.h5")
    assert main(["baseline-mfcc", "--mel", str(mel16), "--target", "gtzan",
                 "--out", str(out / "mfcc/gtzan16.h5")]) == 0
    _, feats_16, attrs_16 = load_features(out / "mfcc/gtzan16.h5")
    assert feats_16.shape == (4, 6 * 16) and attrs_16["n_mfcc"] == 16

    rs = json.dumps({"seed": 7, "design.sources": ["self", "tag"], "sources.k": 8,
                     "train.width": 0.125, "extract.batch_size": 8, "train.device": "cpu"})
    paths = []
    for i in range(2):
        paths.append(out / f"rand-mscr2/gtzan{i}.h5")
        assert main(["baseline-rand", "--strategy", "mscr2", "--scaler", str(tmp_path / "scaler.npz"),
                     "--mel", str(mel), "--target", "gtzan", "--out", str(paths[-1]),
                     "--settings", rs]) == 0
    _, r0, a0 = load_features(paths[0])
    _, r1, _ = load_features(paths[1])
    np.testing.assert_array_equal(r0, r1)  # same seed, same features
    assert a0["seed"] == rand_seed(7, "mscr2") and a0["rep"] == "rand-mscr2"

    user = tmp_path / "user.h5"
    with h5py.File(user, "w") as h5:
        h5["track_id"] = np.array(["t3", "t2", "t1", "t0"], dtype=object).astype(
            h5py.string_dtype())
        h5["features"] = np.arange(8, dtype=np.float32).reshape(4, 2)
    assert main(["user-features", "--name", "vggish", "--input", str(user), "--mel", str(mel),
                 "--target", "gtzan", "--out", str(out / "user-vggish/gtzan.h5")]) == 0
    ids_u, feats_u, attrs_u = load_features(out / "user-vggish/gtzan.h5")
    assert ids_u == ids and feats_u[:, 0].tolist() == [6, 4, 2, 0]
    assert attrs_u["rep"] == "user-vggish" and attrs_u["windowing"] == "unknown"


def test_mel_parameter_mismatch_is_refused(tmp_path: Path, model_file: tuple,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    mel = _store(tmp_path / "mel.h5", {"x": rng.normal(size=(300, 2, MODEL_MELS))},
                 sample_rate=22050, n_fft=512, hop_length=128)
    assert main(["extract-features", "--model", str(model_file[0]), "--mel", str(mel),
                 "--rep", "r", "--target", "g", "--out", str(tmp_path / "o.h5")]) == 2
    assert "sample_rate: model 8000 vs store 22050" in capsys.readouterr().err
    assert not (tmp_path / "o.h5").exists()


def test_feature_file_records_the_windowing_rule(tmp_path: Path) -> None:
    from onerep.features.extract import POOLING

    write_features(tmp_path / "f.h5", ["a", "b"], np.zeros((2, 4)), np.array([2, 1]),
                   {"rep": "r", "target": "t"})
    _, _, attrs = load_features(tmp_path / "f.h5")
    assert attrs["windowing"] == "even-cover" and attrs["crop_frames"] == 216
    assert attrs["pooling"] == POOLING and "dropped" not in POOLING
    assert attrs["windows"] == 3


# ---------------------------------------------------------------- no silent stand-ins

def _blocked(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make ``import module`` fail as it does when the module is missing."""
    monkeypatch.setitem(sys.modules, module, None)


def test_mel_function_needs_the_audio_package(monkeypatch: pytest.MonkeyPatch) -> None:
    _blocked(monkeypatch, "onerep.audio.mel")
    with pytest.raises(ImportError):
        mel_function({"sample_rate": 8000, "n_mels": MODEL_MELS})


def test_model_loading_needs_the_models_package(model_file: tuple,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from onerep.features.extract import extract_run

    _blocked(monkeypatch, "onerep.models")
    with pytest.raises(ImportError):  # the model file's one reader is onerep.models.load_model
        extract_run(model_file[0], model_file[0].parent / "mel.h5", model_file[0].parent / "f.h5",
                    rep="run-1", target="t")


def test_rand_baseline_needs_the_models_package(monkeypatch: pytest.MonkeyPatch) -> None:
    _blocked(monkeypatch, "onerep.models")
    with pytest.raises(ImportError):
        rand_network("ssr", ["tag"], k=4, width=0.125, seed=1)


def test_scaler_loading_needs_the_audio_package(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from onerep.features.commands import cmd_rand

    np.savez(tmp_path / "scaler.npz", mean=np.zeros(4), std=np.ones(4))
    _blocked(monkeypatch, "onerep.audio.scaler")
    with pytest.raises(ImportError):  # the scaler's one reader is onerep.audio.scaler.load_scaler
        cmd_rand(argparse.Namespace(scaler=str(tmp_path / "scaler.npz")))


def test_mel_store_reader_is_the_audio_stage_one(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from onerep.audio.store import MelStore
    from onerep.features import extract

    path = _store(tmp_path / "mel.h5", {"a": _ramp(20), "b": _ramp(5)})
    store = extract.MelStore(path)
    assert isinstance(store, MelStore) and len(store) == 2
    np.testing.assert_array_equal(store.get(1), _ramp(5))
    store.close()
    assert MelStore(path).track_ids == ["a", "b"]
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        extract.MelStore(tmp_path / "missing.h5")
    # without onerep.audio.store there is no mel-store reader at all
    _blocked(monkeypatch, "onerep.audio.store")
    monkeypatch.delitem(sys.modules, "onerep.features.extract")
    with pytest.raises(ImportError):
        importlib.import_module("onerep.features.extract")


def test_real_network_extract_and_rand(tmp_path: Path) -> None:
    """A saved model on a folder, and the Rand baseline."""
    net = build_network("mscr2", ["self", "tag"], k=8, width=0.125)
    meta = {"scaler_mean": np.full(128, -40.0, np.float32),
            "scaler_std": np.full(128, 20.0, np.float32),
            "mel_params": {"sample_rate": 22050, "n_fft": 1024, "hop_length": 256, "n_mels": 128,
                           "fmin": 0.0, "fmax": 11025.0, "top_db": 80.0, "crop_frames": 216},
            "crop_frames": 216, "run_id": "p2-mscr2-r0", "seed": 3}
    save_model(tmp_path / "model.pt", net, meta)
    audio = tmp_path / "music"
    audio.mkdir()
    sr = 22050
    t = np.arange(int(sr * 5.2)) / sr  # 448 frames: 3 windows (0, 116, 232)
    sf.write(audio / "x.wav", 0.3 * np.sin(2 * np.pi * 440 * t * (1 + t / 5)), sr)
    out = tmp_path / "x.h5"
    assert main(["extract", str(tmp_path / "model.pt"), str(audio), "-o", str(out)]) == 0
    ids, feats, attrs = load_features(out)
    d = net.embedding_size
    assert ids == ["x.wav"] and feats.shape == (1, 2 * d) and attrs["rep"] == "p2-mscr2-r0"
    assert json.loads(attrs["representation"]) == [["self", 0, d // 2], ["tag", d // 2, d]]
    mel = mel_function(meta["mel_params"])(audio / "x.wav")
    ref, n = pooled_features([mel], lambda x: net.embed(torch.from_numpy(x)).numpy(),
                             mean=meta["scaler_mean"], std=meta["scaler_std"])
    assert n.tolist() == [3] and window_starts(len(mel)).tolist() == [0, 116, 232]
    np.testing.assert_allclose(feats, ref, rtol=1e-4, atol=1e-5)

    a = rand_network("mscr2", ["self", "tag"], k=8, width=0.125, seed=rand_seed(1, "mscr2"))
    b = rand_network("mscr2", ["self", "tag"], k=8, width=0.125, seed=rand_seed(1, "mscr2"))
    s = rand_network("ssr", ["self", "tag"], k=8, width=0.125, seed=rand_seed(1, "ssr"))
    x = torch.from_numpy(clip_windows(mel) / 20.0)
    torch.testing.assert_close(a.embed(x), b.embed(x))
    assert s.embedding_size == a.embedding_size // 2 and list(s.sources) == ["self"]


@pytest.mark.workflow
def test_rule_files_plan_every_representation(tmp_path: Path, repo: Path,
                                              env_with_venv: dict) -> None:
    """Dry run of targets.smk + extract.smk: one job per (representation, target): two
    runs, MFCC and two Rand networks on two targets, a user's features on the one it supplies."""
    import subprocess

    (tmp_path / "Snakefile").write_text(
        rules_snakefile("targets", "extract", between={"extract": "RUN_IDS = ['run-a', 'run-b']"}))
    (tmp_path / "config.yaml").write_text(json.dumps({
        "results": "results", "design": {"sources": ["self", "tag"], "strategies": ["ssr", "mscr2"]},
        "sources": {"names": ["self", "tag"]},
        "extract": {"user_features": {"vgg": {"g": "user.h5"}}},
        "targets": [{"name": "g", "kind": "gtzan", "root": "data/g"},
                    {"name": "lfm", "kind": "lastfm1k", "root": "data/l",
                     "audio_manifest": "data/l/audio_manifest.tsv"}]}))
    for p in ("data/g", "data/l"):
        (tmp_path / p).mkdir(parents=True)
    for p in ("user.h5", "results/mel/g.h5", "results/mel/lfm.h5", "results/corpus/scaler.npz",
              "results/runs/run-a/model.pt", "results/runs/run-b/model.pt"):
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).write_bytes(b"")
    out = subprocess.run(["snakemake", "-n", "--cores", "1", "--configfile", "config.yaml",
                          "--quiet", "rules"], cwd=tmp_path, env=env_with_venv,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    counts = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    assert counts == {"all": 1, "target_manifest": 1, "target_manifest_interactions": 1,
                      "target_splits": 2, "extract": 4, "baseline_mfcc": 2, "baseline_rand": 4,
                      "user_features": 1, "total": 16}, out.stdout
