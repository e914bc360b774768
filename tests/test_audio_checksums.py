"""Manifests with sha256 as well as md5 checksums, verified with the right algorithm."""

from __future__ import annotations

import functools
import hashlib
import io
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from onerep.audio.acquire import DownloadSettings, acquire_local, download, file_digests
from onerep.audio.manifest import Track, read_manifest, write_manifest


def _wav_bytes() -> bytes:
    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / 8000)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, 8000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


WAV = _wav_bytes()
MD5 = hashlib.md5(WAV).hexdigest()
SHA256 = hashlib.sha256(WAV).hexdigest()
WRONG_SHA256 = "ab" * 32
FAST = DownloadSettings(concurrency=1, connect_timeout=2.0, read_timeout=2.0, retries=0, backoff=0.0)


@pytest.fixture()
def audio(tmp_path: Path) -> Path:
    p = tmp_path / "audio" / "a.wav"
    p.parent.mkdir()
    p.write_bytes(WAV)
    return p


def _manifest(tmp_path: Path, text: str) -> Path:
    m = tmp_path / "m.tsv"
    m.write_text(text)
    return m


def test_checksum_columns_by_name_and_by_length(tmp_path: Path, audio: Path) -> None:
    m = _manifest(tmp_path, "track_id\tlocation\tsha256\n"
                            f"a\taudio/a.wav\t{SHA256.upper()}\n"
                            "b\taudio/a.wav\t\n")
    assert read_manifest(m) == [Track("a", str(audio), sha256=SHA256), Track("b", str(audio))]
    m = _manifest(tmp_path, "track_id\tlocation\tchecksum\n"
                            f"a\taudio/a.wav\t{MD5}\n"
                            f"b\taudio/a.wav\t{SHA256}\n")
    assert read_manifest(m) == [Track("a", str(audio), md5=MD5), Track("b", str(audio), sha256=SHA256)]
    m = _manifest(tmp_path, f"track_id\tlocation\tmd5\tsha256\na\taudio/a.wav\t{MD5}\t{SHA256}\n")
    assert read_manifest(m)[0].checksums == {"md5": MD5, "sha256": SHA256}


@pytest.mark.parametrize("header, cell, message", [
    ("sha256", MD5, r"line 2: track 'a' has a malformed sha256 '[0-9a-f]{32}' \(64 hex digits\)"),
    ("md5", SHA256, r"line 2: track 'a' has a malformed md5 '[0-9a-f]{64}' \(32 hex digits\)"),
    ("sha256", "g" * 64, r"line 2: track 'a' has a malformed sha256"),
    ("checksum", "0" * 40, r"line 2: track 'a' has a malformed checksum '0{40}' \(32 hex digits for md5 or 64"),
])
def test_malformed_checksums_name_file_line_and_track(tmp_path: Path, header: str, cell: str, message: str) -> None:
    m = _manifest(tmp_path, f"track_id\tlocation\t{header}\na\tx.wav\t{cell}\n")
    with pytest.raises(ValueError, match=r"m\.tsv, " + message):
        read_manifest(m)


def test_a_checksum_column_may_not_contradict_a_named_one(tmp_path: Path) -> None:
    m = _manifest(tmp_path, f"track_id\tlocation\tsha256\tchecksum\na\tx.wav\t{SHA256}\t{WRONG_SHA256}\n")
    with pytest.raises(ValueError, match=rf"line 2: track 'a': checksum {WRONG_SHA256} contradicts the sha256"):
        read_manifest(m)


def test_old_manifests_are_written_as_before(tmp_path: Path, audio: Path) -> None:
    out = tmp_path / "old.tsv"
    write_manifest(out, [Track("a", str(audio), MD5), Track("b", "https://example.org/b.mp3")])
    assert out.read_text() == f"track_id\tlocation\tmd5\na\taudio/a.wav\t{MD5}\nb\thttps://example.org/b.mp3\t\n"
    tracks = [Track("a", str(audio), MD5), Track("b", str(audio), sha256=SHA256)]
    new = tmp_path / "new.tsv"
    write_manifest(new, tracks)
    assert new.read_text().splitlines()[0] == "track_id\tlocation\tmd5\tsha256"
    assert read_manifest(new) == tracks


def test_file_digests_in_one_read(audio: Path) -> None:
    assert file_digests(audio, ("md5", "sha256", "md5")) == {"md5": MD5, "sha256": SHA256}


def test_local_sha256_verified_and_mismatch_names_track_and_digests(audio: Path) -> None:
    ok = acquire_local(Track("good", str(audio), sha256=SHA256))
    assert (ok.status, ok.md5, ok.bytes) == ("ok", MD5, len(WAV))
    bad = acquire_local(Track("bad", str(audio), sha256=WRONG_SHA256))
    assert (bad.track_id, bad.status) == ("bad", "failed")
    assert bad.reason == f"checksum_mismatch: expected sha256 {WRONG_SHA256}, file has {SHA256}"
    both = acquire_local(Track("both", str(audio), md5=MD5, sha256=WRONG_SHA256))
    assert both.code == "checksum_mismatch" and "sha256" in both.reason
    md5_bad = acquire_local(Track("m", str(audio), md5="0" * 32, sha256=SHA256))
    assert md5_bad.reason == f"checksum_mismatch: expected md5 {'0' * 32}, file has {MD5}"


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[str]:
    """Base URL of an HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "a.wav").write_bytes(WAV)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_download_verifies_sha256(served: str, tmp_path: Path) -> None:
    dest = tmp_path / "files" / "a.wav"
    dest.parent.mkdir()
    rec = download(Track("a", f"{served}/a.wav", sha256=SHA256), dest, FAST)
    assert rec.ok and dest.read_bytes() == WAV and rec.md5 == MD5
    again = download(Track("a", f"{served}/a.wav", sha256=SHA256), dest, FAST)  # present and verified
    assert again.ok
    dest.unlink()
    bad = download(Track("b", f"{served}/a.wav", sha256=WRONG_SHA256), dest, FAST)
    assert bad.reason == f"checksum_mismatch: expected sha256 {WRONG_SHA256}, downloaded {SHA256}"
    assert sorted(p.name for p in dest.parent.iterdir()) == []  # no partial or unverified file left
