"""audio.excerpt_seconds / audio.excerpt_datasets: the centred excerpt cut at the native rate.

The rule (onerep.audio.mel.excerpt_span): of the n decoded samples at the file's native
rate, Ln = floor(L * native_sr + 0.5); n <= Ln keeps the whole file, else the samples
[(n - Ln) // 2, (n - Ln) // 2 + Ln) are kept, before resampling.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from conftest import rules_snakefile
from onerep.audio.acquire import Acquired, write_acquired
from onerep.audio.commands import audio_settings
from onerep.audio.mel import EXCERPT_RULE, MelParams, excerpt_span, extract_track, load_audio
from onerep.audio.pipeline import mel_shard
from onerep.audio.store import MelStore, merge_stores, write_store
from onerep.config import ConfigError, validate
from support.clips import music_clip, write_clip

TOL_DB = 1e-3

# the params of rule mel_shard before audio.excerpt_seconds existed: settings(*MEL_KEYS) of the defaults
TODAY = ('{"audio.backend": "numpy", "audio.crop_frames": 216, "audio.dtype": "float16", "audio.fmax": null, '
         '"audio.fmin": 0.0, "audio.hop_length": 256, "audio.n_fft": 1024, "audio.n_mels": 128, '
         '"audio.sample_rate": 22050, "audio.top_db": 80.0}')


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("excerpt")
    odd = d / "odd.wav"  # 40 s + 1 sample: n - Ln is odd, so the start is a floor
    sf.write(odd, music_clip(40.0 + 1 / 44100, sr=44100, seed=4), 44100, subtype="FLOAT")
    return {
        "long": write_clip(d / "long.flac", 40.0, sr=44100, seed=1),
        "odd": odd,
        "short": write_clip(d / "short.flac", 20.0, sr=44100, seed=2),
        "mono": write_clip(d / "mono.wav", 40.0, sr=16000, seed=3, channels=1),
    }


def _native(path: Path) -> tuple[np.ndarray, int]:
    y, sr = librosa.load(str(path), sr=None, mono=False)
    return (np.stack([y, y]) if y.ndim == 1 else y), int(sr)


def _mel_reference(y: np.ndarray) -> np.ndarray:
    """librosa's mel + dB of a 22,050 Hz (2, n) signal, (T, 2, 128)."""
    s = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024, hop_length=256, n_mels=128)
    return librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80.0).transpose(2, 0, 1)


def test_excerpt_span_rule() -> None:
    assert excerpt_span(100, 10, None) == (0, 100)
    assert excerpt_span(100, 10, 3.0) == (35, 65)  # Ln = 30, start = 70 // 2
    assert excerpt_span(101, 10, 3.0) == (35, 65)  # start = floor(71 / 2)
    assert excerpt_span(30, 10, 3.0) == (0, 30) and excerpt_span(12, 10, 3.0) == (0, 12)  # at most Ln: whole
    assert excerpt_span(100, 10, 2.96) == (35, 65)  # Ln = floor(29.6 + 0.5) = 30
    assert excerpt_span(100, 10, 2.94) == (35, 64)  # Ln = 29, start = 71 // 2
    n = 44100 * 600  # a 10 minute file at 44.1 kHz, 30 s: the FMA rule start = 600 // 2 - 15 = 285 s
    assert excerpt_span(n, 44100, 30.0) == (285 * 44100, 315 * 44100)


@pytest.mark.parametrize("name", ["long", "odd", "mono"])
def test_load_audio_excerpt_is_the_centred_native_segment_resampled(files: dict[str, Path], name: str) -> None:
    path = files[name]
    native, sr = _native(path)
    n = native.shape[-1]
    start = (n - 30 * sr) // 2
    ours = load_audio(path, 22050, excerpt_seconds=30.0)
    # slicing the native decode, then librosa's resampling (what librosa.load(sr=22050) does)
    ref = librosa.resample(native[:, start : start + 30 * sr], orig_sr=sr, target_sr=22050, res_type="soxr_hq")
    assert ours.shape == ref.shape == (2, 30 * 22050)
    assert np.array_equal(ours, ref)
    # the same with librosa.load's own offset/duration (exact here: whole native samples)
    via_load, _ = librosa.load(str(path), sr=22050, mono=False, offset=start / sr, duration=30.0)
    if via_load.ndim == 1:
        via_load = np.stack([via_load, via_load])
    assert np.array_equal(ours, via_load)


def test_odd_length_start_is_floor(files: dict[str, Path]) -> None:
    n = sf.info(str(files["odd"])).frames
    assert n == 40 * 44100 + 1
    assert excerpt_span(n, 44100, 30.0) == (5 * 44100, 35 * 44100)


@pytest.mark.parametrize("backend", ["librosa", "numpy", "torch"])
def test_mel_of_a_40s_file_with_excerpt_30_is_librosa_of_its_centred_30s(files: dict[str, Path],
                                                                        backend: str) -> None:
    native, sr = _native(files["long"])
    y = librosa.resample(native[:, 5 * sr : 35 * sr], orig_sr=sr, target_sr=22050, res_type="soxr_hq")
    ref = _mel_reference(y)
    ours = extract_track(files["long"], MelParams(backend=backend, excerpt_seconds=30.0))
    assert ours.shape == ref.shape == (1 + 30 * 22050 // 256, 2, 128)
    if backend == "librosa":
        assert np.array_equal(ours, ref.astype(np.float32))
    else:
        assert np.abs(ours - ref).max() <= TOL_DB


def test_shorter_file_is_kept_whole(files: dict[str, Path]) -> None:
    whole = load_audio(files["short"], 22050)
    assert np.array_equal(load_audio(files["short"], 22050, excerpt_seconds=30.0), whole)
    assert whole.shape == (2, 20 * 22050)
    assert np.array_equal(extract_track(files["short"], MelParams(excerpt_seconds=30.0)),
                          extract_track(files["short"], MelParams()))


def test_store_attributes_record_the_excerpt(files: dict[str, Path], tmp_path: Path) -> None:
    acquired = [Acquired(k, "ok", "", str(files[k]), 1, "", str(files[k])) for k in ("long", "short")]
    write_acquired(tmp_path / "acq.tsv", acquired)
    params = MelParams(excerpt_seconds=30.0)
    mel_shard(tmp_path / "acq.tsv", tmp_path / "cut.h5", tmp_path / "cut.records.tsv", params)
    with MelStore(tmp_path / "cut.h5") as st:
        assert st.attrs["excerpt_seconds"] == 30.0 and st.attrs["excerpt_rule"] == EXCERPT_RULE
        assert st.lengths.tolist() == [1 + 30 * 22050 // 256, 1 + 20 * 22050 // 256]
        stored = MelParams(fmax=11025.0, excerpt_seconds=30.0)  # a store records fmax in Hz
        assert MelParams.from_attrs(st.attrs) == stored
        # a model's mel_params are the corpus store's attributes; folder extraction rebuilds with from_settings
        assert MelParams.from_settings(st.attrs) == stored
    whole = write_store(tmp_path / "whole.h5", ["a"], [np.zeros((216, 2, 128), np.float32)], MelParams().attrs())
    with MelStore(whole) as st:
        assert math.isnan(st.attrs["excerpt_seconds"]) and st.attrs["excerpt_rule"] == "whole file"
        assert MelParams.from_attrs(st.attrs).excerpt_seconds is None
        assert MelParams.from_settings(st.attrs).excerpt_seconds is None
        old = {k: v for k, v in st.attrs.items() if not k.startswith("excerpt")}  # a store made before the option
        assert MelParams.from_attrs(old) == MelParams.from_settings(old) == MelParams(fmax=11025.0)
    with pytest.raises(ValueError, match="excerpt_seconds"):  # shards cut differently do not merge
        merge_stores(tmp_path / "bad.h5", [tmp_path / "cut.h5", whole])


def test_excerpt_datasets_restricts_the_excerpt() -> None:
    audio = audio_settings('{"audio": {"excerpt_seconds": 30, "excerpt_datasets": ["corpus", "mtg_top50"]}}')
    assert MelParams.from_settings(audio, "corpus").excerpt_seconds == 30.0
    assert MelParams.from_settings(audio, "mtg_top50").excerpt_seconds == 30.0
    assert MelParams.from_settings(audio, "emotion").excerpt_seconds is None
    assert MelParams.from_settings(audio).excerpt_seconds == 30.0  # no data set named: as given
    every = audio_settings('{"audio.excerpt_seconds": 30}')
    assert every["excerpt_datasets"] is None and MelParams.from_settings(every, "emotion").excerpt_seconds == 30.0
    assert MelParams.from_settings(audio_settings(None), "corpus").excerpt_seconds is None


@pytest.mark.parametrize("bad", [
    {"excerpt_seconds": 0}, {"excerpt_seconds": -30}, {"excerpt_seconds": "30"}, {"excerpt_seconds": [30]},
    {"excerpt_datasets": []}, {"excerpt_datasets": "corpus"}, {"excerpt_datasets": ["Corpus"]},
    {"excerpt_datasets": ["corpus", "corpus"]}, {"excerpt_datasets": [3]},
])
def test_schema_rejects_invalid_excerpt_settings(bad: dict) -> None:
    with pytest.raises(ConfigError, match=f"audio.{next(iter(bad))}"):
        validate({"audio": bad})


def test_excerpt_shorter_than_a_crop_is_rejected() -> None:
    with pytest.raises(ValueError, match="excerpt_seconds"):
        MelParams(excerpt_seconds=2.0).check()  # 173 frames < 216
    MelParams(excerpt_seconds=2.5).check()
    with pytest.raises(ValueError, match="excerpt_seconds"):
        MelParams.from_settings({"excerpt_seconds": 1.0})


# ------------------------------------------------------------------ the rule's params

PARSE_CONFIG = """
study: excerpt_test
results: results
demo: {{enabled: false}}
corpus: {{manifest: corpus_manifest.tsv}}
audio: {{{audio}}}
targets:
  - {{name: extra, kind: gtzan, root: audio}}
  - {{name: other, kind: gtzan, root: audio}}
"""

# after the rule files: the mel_shard params of every data set, evaluated as Snakemake does
PRINT_PARAMS = """
import json as _json
from types import SimpleNamespace as _NS
sys.stderr.write("MEL_PARAMS=" + _json.dumps(
    {_d: rules.mel_shard.rule.params.settings(_NS(dataset=_d)) for _d in DATASETS}) + "\\n")
"""


def _mel_params(tmp_path: Path, env: dict[str, str], audio: str) -> subprocess.CompletedProcess:
    (tmp_path / "Snakefile").write_text(rules_snakefile("audio") + PRINT_PARAMS)
    (tmp_path / "config.yaml").write_text(PARSE_CONFIG.format(audio=audio))
    return subprocess.run(["snakemake", "-s", "Snakefile", "--configfile", "config.yaml", "--list-rules"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def _params_of(proc: subprocess.CompletedProcess) -> dict[str, str]:
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MEL_PARAMS="))
    return json.loads(line.split("=", 1)[1])


@pytest.mark.workflow
def test_mel_shard_params_carry_the_excerpt_only_where_it_applies(tmp_path: Path,
                                                                   env_with_venv: dict[str, str]) -> None:
    # default and explicit null: exactly today's string for every data set (nothing reruns after the upgrade)
    assert _params_of(_mel_params(tmp_path, env_with_venv, "")) == dict.fromkeys(["corpus", "extra", "other"], TODAY)
    got = _params_of(_mel_params(tmp_path, env_with_venv, "excerpt_seconds: null, excerpt_datasets: [corpus]"))
    assert set(got.values()) == {TODAY}
    # restricted to some data sets: only theirs change, by the one key
    got = _params_of(_mel_params(tmp_path, env_with_venv, "excerpt_seconds: 30, excerpt_datasets: [corpus, extra]"))
    assert got["other"] == TODAY
    for d in ("corpus", "extra"):
        assert json.loads(got[d]) == {**json.loads(TODAY), "audio.excerpt_seconds": 30}
    # every data set
    got = _params_of(_mel_params(tmp_path, env_with_venv, "excerpt_seconds: 30"))
    assert all(json.loads(v)["audio.excerpt_seconds"] == 30 for v in got.values())
    # a name that is no data set fails before any job
    proc = _mel_params(tmp_path, env_with_venv, "excerpt_seconds: 30, excerpt_datasets: [corpus, mtg_top50]")
    assert proc.returncode != 0 and "excerpt_datasets: unknown data set(s) mtg_top50" in proc.stderr
