"""Shards fixed at parse time: a track's shard is a hash of its id; acquisition of one shard
of a manifest, empty shards, and the merge back into manifest order."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from onerep.audio.acquire import DownloadSettings, acquire_shard, read_acquired
from onerep.audio.manifest import read_manifest, shard_count, shard_ids, shard_of, shard_tracks
from onerep.audio.mel import MelParams
from onerep.audio.pipeline import mel_shard, merge_dataset
from onerep.audio.records import Record, read_records, write_records
from onerep.audio.store import MelStore, merge_stores, write_store
from support.clips import write_clip

IDS = ["TRYPKM01WC8H2WNZ5G", "TREZPR7AUOJGXS6R3Z", "track_1", "ünïcødé", "", "000123", "a b\tc"]
LOCAL = DownloadSettings.from_settings({})


def _sha1_shard(track_id: str, n: int) -> int:
    """The specification, written out: first 8 bytes of SHA-1(UTF-8 id), big-endian, mod n."""
    digest = hashlib.sha1(track_id.encode("utf-8")).hexdigest()
    return int(digest[:16], 16) % n


def test_shard_of_known_answers() -> None:
    # SHA-1 of the empty string is da39a3ee5e6b4b0d3255...: 0xda39a3ee5e6b4b0d = 15724779818122431245
    assert [shard_of("", n) for n in (1, 2, 3, 100)] == [0, 15724779818122431245 % 2, 2, 45]
    # the first tracks of the demo corpus's shards 0 and 1 of 3
    assert shard_of("TRYPKM01WC8H2WNZ5G", 3) == 0 and shard_of("TREZPR7AUOJGXS6R3Z", 3) == 1
    for tid in IDS:
        for n in (1, 2, 3, 7, 100, 2**40 + 3, 2**70):
            assert shard_of(tid, n) == _sha1_shard(tid, n), (tid, n)
    with pytest.raises(ValueError, match="at least 1"):
        shard_of("a", 0)


def test_shard_of_is_the_same_in_every_python_run() -> None:
    code = ("import json; from onerep.audio.manifest import shard_of; "
            f"print(json.dumps([shard_of(t, 7) for t in {IDS!r}]))")
    runs = []
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == runs[2] == [_sha1_shard(t, 7) for t in IDS]


def _manifest(path: Path, ids: list[str], location: str = "audio/{}.wav") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("track_id\tlocation\tmd5\n" + "".join(f"{t}\t{location.format(t)}\t\n" for t in ids))
    return path


def test_shards_partition_the_manifest_in_manifest_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ids = [f"TR{int(x):08X}" for x in rng.choice(10**8, size=300, replace=False)]
    tracks = read_manifest(_manifest(tmp_path / "m.tsv", ids))
    position = {t.track_id: i for i, t in enumerate(tracks)}
    assert shard_tracks(tracks, 0, 1) == tracks
    for n in (2, 3, 8, 50):
        shards = [shard_tracks(tracks, i, n) for i in range(n)]
        every = [t.track_id for s in shards for t in s]
        assert len(every) == len(set(every)) == len(ids) and set(every) == set(ids)  # each track once
        for i, shard in enumerate(shards):
            assert all(shard_of(t.track_id, n) == i for t in shard)
            assert [position[t.track_id] for t in shard] == sorted(position[t.track_id] for t in shard)
        assert all(shards)  # 300 tracks leave none of 50 shards empty
    with pytest.raises(ValueError, match="shard 3 is outside the 3 shard"):
        shard_tracks(tracks, 3, 3)
    assert shard_ids(3) == ["0000", "0001", "0002"] and len(shard_ids(100)) == 100
    assert shard_count({"default": 2, "corpus": 5}, "corpus") == 5
    assert shard_count({"default": 2, "corpus": 5}, "gtzan") == 2


def test_acquire_shard_resolves_relative_locations_against_the_manifest(tmp_path: Path, monkeypatch) -> None:
    ids = ["a", "b", "c", "d"]
    for t in ids:
        write_clip(tmp_path / "data" / "audio" / f"{t}.wav", 0.5, sr=8000, seed=1)
    manifest = _manifest(tmp_path / "data" / "m.tsv", ids)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    got = []
    for i in range(2):
        out = tmp_path / "results" / "acquired" / f"shard-{i:04d}.tsv"
        records = acquire_shard(manifest, out, tmp_path / "files", LOCAL, shard=i, n_shards=2)
        assert [r.track_id for r in records] == [t for t in ids if _sha1_shard(t, 2) == i]
        assert [r.track_id for r in read_acquired(out)] == [r.track_id for r in records]
        got += read_acquired(out)
    assert sorted(r.track_id for r in got) == ids
    for r in got:
        assert r.ok and Path(r.path) == (tmp_path / "data" / "audio" / f"{r.track_id}.wav").resolve()
    with pytest.raises(ValueError, match="lists no tracks"):
        acquire_shard(_manifest(tmp_path / "empty.tsv", []), tmp_path / "x.tsv", tmp_path / "files", LOCAL)


def test_an_empty_shard_goes_through_acquire_mel_and_merge(tmp_path: Path) -> None:
    ids = ["x1", "x0"]  # manifest order, not sorted
    for seed, t in enumerate(ids):
        write_clip(tmp_path / "audio" / f"{t}.wav", 3.0, sr=22050, seed=seed)
    manifest = _manifest(tmp_path / "manifest.tsv", ids)
    n = 5
    hit = {_sha1_shard(t, n) for t in ids}
    assert len(hit) == 2 and len(set(range(n)) - hit) == 3  # three empty shards
    params = MelParams(n_mels=16)
    stores, records = [], []
    for i in range(n):
        acquired = tmp_path / "acquired" / f"shard-{i:04d}.tsv"
        acquire_shard(manifest, acquired, tmp_path / "files", LOCAL, shard=i, n_shards=n)
        stores.append(tmp_path / "mel" / f"shard-{i:04d}.h5")
        records.append(tmp_path / "mel" / f"shard-{i:04d}.records.tsv")
        mel_shard(acquired, stores[-1], records[-1], params)
        expected = [t for t in ids if _sha1_shard(t, n) == i]
        assert [r.track_id for r in read_acquired(acquired)] == expected
        assert [r.track_id for r in read_records(records[-1])] == expected
        with MelStore(stores[-1]) as st:
            assert st.track_ids == expected and st.shape[0] == sum(st.lengths)
            if not expected:
                assert acquired.read_text().count("\n") == 1 and st.shape == (0, 2, 16)
    out, out_records = tmp_path / "mel" / "ds.h5", tmp_path / "mel" / "ds.records.tsv"
    merge_dataset("ds", manifest, stores[::-1], records[::-1], out, out_records, max_loss_fraction=0.0)
    with MelStore(out) as st:
        assert st.track_ids == ids and st.attrs["n_manifest_tracks"] == 2 and st.attrs["storage"] == "contiguous"
        for i, t in enumerate(ids):
            with MelStore(stores[_sha1_shard(t, n)]) as shard:
                assert np.array_equal(st.get(i, dtype=np.float16), shard.get(shard.index(t), dtype=np.float16))
    assert [r.track_id for r in read_records(out_records)] == ids


def _hashed_shard_stores(tmp_path: Path, ids: list[str], n: int, failed: set[str]):
    """Shard stores and records of ``ids`` split by shard_of (the ``failed`` tracks recorded, not stored)."""
    rng = np.random.default_rng(3)
    mels = {t: rng.normal(-30, 15, (int(rng.integers(216, 300)), 2, 8)).astype(np.float32) for t in ids}
    attrs = MelParams(n_mels=8).attrs()
    stores, records = [], []
    for i in range(n):
        mine = [t for t in ids if _sha1_shard(t, n) == i]
        kept = [t for t in mine if t not in failed]
        stores.append(write_store(tmp_path / f"s{i}.h5", kept, [mels[t] for t in kept], attrs))
        records.append(tmp_path / f"s{i}.records.tsv")
        write_records(records[-1], [Record(t, "decode", "failed", "too_short: 1 s") if t in failed
                                    else Record(t, "decode", "ok") for t in mine])
    return mels, stores, records


def test_merge_restores_the_manifest_order(tmp_path: Path) -> None:
    ids = [f"t{k:02d}" for k in (7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 6, 4)]
    n = 3
    assert len({_sha1_shard(t, n) for t in ids}) == n
    # the shards interleave: concatenating them would not give the manifest order
    assert [t for i in range(n) for t in ids if _sha1_shard(t, n) == i] != ids
    mels, stores, records = _hashed_shard_stores(tmp_path, ids, n, failed={"t05"})
    manifest = _manifest(tmp_path / "manifest.tsv", ids)
    out, out_records = tmp_path / "ds.h5", tmp_path / "ds.records.tsv"
    merge_dataset("ds", manifest, stores, records, out, out_records, max_loss_fraction=0.1)
    kept = [t for t in ids if t != "t05"]
    with MelStore(out) as st:
        assert st.track_ids == kept and st.attrs["n_lost"] == 1
        for i, t in enumerate(kept):
            assert np.array_equal(st.get(i), mels[t].astype(np.float16).astype(np.float32))
    assert [(r.track_id, r.status) for r in read_records(out_records)] == [
        (t, "failed" if t == "t05" else "ok") for t in ids]
    # copied in blocks smaller than a track: the same store
    merge_stores(tmp_path / "small_blocks.h5", stores, block_frames=50, order=kept)
    with MelStore(tmp_path / "small_blocks.h5") as a, MelStore(out) as b:
        assert a.track_ids == b.track_ids and np.array_equal(a.load_all()[0], b.load_all()[0])


def test_merge_refuses_shards_that_do_not_match(tmp_path: Path) -> None:
    ids = [f"t{k}" for k in range(8)]
    _, stores, records = _hashed_shard_stores(tmp_path, ids, 2, failed=set())
    out, out_records = tmp_path / "ds.h5", tmp_path / "ds.records.tsv"
    with pytest.raises(ValueError, match=r"1 manifest track\(s\) without a record \(e\.g\. \['t9'\]\)"):
        merge_dataset("ds", _manifest(tmp_path / "more.tsv", ids + ["t9"]), stores, records, out, out_records, 1.0)
    with pytest.raises(ValueError, match=r"1 record\(s\) of tracks not in it \(e\.g\. \['t7'\]\)"):
        merge_dataset("ds", _manifest(tmp_path / "less.tsv", ids[:-1]), stores, records, out, out_records, 1.0)
    with pytest.raises(ValueError, match="1 missing"):
        merge_stores(out, stores, order=ids + ["t9"])
    with pytest.raises(ValueError, match="1 not listed"):
        merge_stores(out, stores, order=ids[:-1])
    with pytest.raises(ValueError, match="1 listed twice"):
        merge_stores(out, stores, order=ids + ids[:1])
    assert not out.exists() and not out_records.exists()
