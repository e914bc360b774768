"""Acquisition against a real HTTP server on 127.0.0.1 (started and stopped by the tests)."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from onerep.audio.acquire import (
    DownloadSettings,
    acquire_shard,
    acquire_tracks,
    download,
    read_acquired,
)
from onerep.audio.manifest import Track, read_manifest, shard_of, write_manifest


def _wav_bytes(seconds: float = 1.0, sr: int = 8000) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


GOOD = _wav_bytes()
GOOD_MD5 = hashlib.md5(GOOD).hexdigest()
PAGE = b"<!DOCTYPE html><html><body>404 - this preview is gone</body></html>\n"
SLOW_SECONDS = 1.5


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.ranges: dict[str, list[str]] = {}

    def hit(self, path: str, rng: str | None) -> int:
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            if rng:
                self.ranges.setdefault(path, []).append(rng)
            return self.hits[path]


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: bytes, ctype: str = "audio/wav", length: int | None = None,
                  extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.send_header("Connection", "close")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            path = self.path.split("?")[0]  # route on the path; count hits per full target
            rng = self.headers.get("Range")
            n = state.hit(self.path, rng)
            half = len(GOOD) // 2
            if path == "/good.wav":
                if rng:
                    start = int(rng.split("=")[1].rstrip("-"))
                    self._send(206, GOOD[start:], extra={"Content-Range": f"bytes {start}-{len(GOOD) - 1}/{len(GOOD)}"})
                else:
                    self._send(200, GOOD)
            elif path == "/missing.wav":
                self._send(404, b"not found", ctype="text/plain")
            elif path == "/flaky.wav":
                if n == 1:
                    self._send(500, b"oops", ctype="text/plain")
                else:
                    self._send(200, GOOD)
            elif path == "/trunc-once.wav":
                if rng:  # resume: serve the rest
                    start = int(rng.split("=")[1].rstrip("-"))
                    self._send(206, GOOD[start:], extra={"Content-Range": f"bytes {start}-{len(GOOD) - 1}/{len(GOOD)}"})
                else:
                    self._send(200, GOOD[:half], length=len(GOOD))  # promise all, send half, hang up
            elif path == "/trunc-always.wav":
                self._send(200, GOOD[:half], length=len(GOOD))  # ignores Range, always cut
            elif path == "/slow.wav":
                time.sleep(SLOW_SECONDS)
                self._send(200, GOOD)
            elif path == "/page.wav":
                self._send(200, PAGE, ctype="text/html; charset=utf-8")
            elif path == "/redirect.wav":
                self._send(302, b"", extra={"Location": "/good.wav"})
            else:
                self._send(404, b"no route", ctype="text/plain")

    return Handler


@pytest.fixture()
def server():
    """(base URL, state) of a threaded HTTP server on 127.0.0.1; stopped after the test (or after 120 s)."""
    state = _State()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    guard = threading.Timer(120.0, httpd.shutdown)
    guard.daemon = True
    guard.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        guard.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


FAST = DownloadSettings(concurrency=4, connect_timeout=1.0, read_timeout=0.3, retries=2, backoff=0.01)


def test_http_cases_end_in_the_right_record_and_no_partial_file(server, tmp_path: Path) -> None:
    base, state = server
    tracks = [
        Track("good", f"{base}/good.wav", GOOD_MD5),
        Track("missing", f"{base}/missing.wav"),
        Track("flaky", f"{base}/flaky.wav", GOOD_MD5),
        Track("trunc_once", f"{base}/trunc-once.wav", GOOD_MD5),
        Track("trunc_always", f"{base}/trunc-always.wav"),
        Track("slow", f"{base}/slow.wav"),
        Track("page", f"{base}/page.wav"),
        Track("wrong_md5", f"{base}/good.wav?copy=2", "0" * 32),
        Track("redirect", f"{base}/redirect.wav", GOOD_MD5),
        Track("refused", f"http://127.0.0.1:{_closed_port()}/x.wav"),
    ]
    files = tmp_path / "files"
    recs = {r.track_id: r for r in acquire_tracks(tracks, files, FAST)}
    assert list(recs) == [t.track_id for t in tracks]

    expect = {
        "good": "ok", "flaky": "ok", "trunc_once": "ok", "redirect": "ok",
        "missing": "http_404", "trunc_always": "truncated", "slow": "timeout", "page": "not_audio",
        "wrong_md5": "checksum_mismatch", "refused": "connection_error",
    }
    for tid, want in expect.items():
        r = recs[tid]
        if want == "ok":
            assert r.status == "ok", (tid, r.reason)
            assert Path(r.path).read_bytes() == GOOD
            assert r.md5 == GOOD_MD5 and r.bytes == len(GOOD)
        else:
            assert r.status == "failed" and r.code == want, (tid, r.reason)
            assert r.path == "" and r.bytes == 0
    # no retry on 404; one retry after the 500; every try used on a body that is always cut
    assert state.hits["/missing.wav"] == 1
    assert state.hits["/flaky.wav"] == 2
    assert state.hits["/trunc-always.wav"] == FAST.retries + 1
    # a server that ignores Range answers 200: the body restarts from byte 0 (not appended)
    assert recs["trunc_always"].reason == f"truncated: received {len(GOOD) // 2} of {len(GOOD)} bytes"
    # the truncated body was resumed where it stopped, not fetched again from byte 0
    assert state.ranges["/trunc-once.wav"] == [f"bytes={len(GOOD) // 2}-"]
    # only complete, verified files are left; no partial or temporary file anywhere
    left = sorted(p.name for p in files.iterdir())
    assert left == ["flaky.wav", "good.wav", "redirect.wav", "trunc_once.wav"]

    # an existing verified file is not fetched again
    before = dict(state.hits)
    again = {r.track_id: r for r in acquire_tracks([t for t in tracks if expect[t.track_id] == "ok"], files, FAST)}
    assert all(r.status == "ok" for r in again.values())
    assert state.hits == before


def test_backoff_doubles_between_tries(server, tmp_path: Path) -> None:
    base, _ = server
    sleeps: list[float] = []
    s = DownloadSettings(connect_timeout=1.0, read_timeout=1.0, retries=3, backoff=0.5)
    rec = download(Track("t", f"{base}/trunc-always.wav"), tmp_path / "t.wav", s, sleep=sleeps.append)
    assert rec.code == "truncated"
    assert sleeps == [0.5, 1.0, 2.0]
    assert list(tmp_path.iterdir()) == []


def test_corrupt_existing_download_is_fetched_again(server, tmp_path: Path) -> None:
    base, state = server
    dest = tmp_path / "good.wav"
    dest.write_bytes(GOOD[:100])  # e.g. a file damaged after download
    rec = download(Track("good", f"{base}/good.wav", GOOD_MD5), dest, FAST)
    assert rec.status == "ok" and dest.read_bytes() == GOOD
    assert state.hits["/good.wav"] == 1


def test_local_files_are_verified_in_place(tmp_path: Path) -> None:
    good = tmp_path / "audio" / "a.wav"
    good.parent.mkdir()
    good.write_bytes(GOOD)
    (tmp_path / "audio" / "empty.wav").write_bytes(b"")
    (tmp_path / "audio" / "notes.wav").write_text("this is a text file\n" * 5)
    manifest = tmp_path / "m.tsv"
    manifest.write_text(
        "track_id\tlocation\tmd5\n"
        f"a\taudio/a.wav\t{GOOD_MD5}\n"
        "b\taudio/a.wav\t" + "f" * 32 + "\n"
        "c\taudio/nope.wav\t\n"
        "d\taudio/empty.wav\t\n"
        "e\taudio/notes.wav\t\n"
    )
    # a's shard of 2, from its id alone (the other tracks fall where they hash)
    shard_a = shard_of("a", 2)
    out = tmp_path / "results" / "acquired" / "shard-a.tsv"
    got = acquire_shard(manifest, out, tmp_path / "files", FAST, shard=shard_a, n_shards=2)
    expected = [t.track_id for t in read_manifest(manifest) if shard_of(t.track_id, 2) == shard_a]
    assert [r.track_id for r in got] == [r.track_id for r in read_acquired(out)] == expected
    recs = {r.track_id: r for r in read_acquired(out)}
    assert recs["a"].status == "ok" and Path(recs["a"].path) == good.resolve()
    assert recs["a"].md5 == GOOD_MD5
    assert not (tmp_path / "files").exists()  # local files are not copied
    # paths in the records are relative to the records' folder
    assert "\t../../audio/a.wav\t" in out.read_text()
    # every track, by reason
    recs = {r.track_id: r for r in acquire_tracks(read_manifest(manifest), tmp_path / "files", FAST)}
    assert recs["a"].status == "ok"
    assert recs["b"].code == "checksum_mismatch"
    assert recs["c"].code == "missing_file"
    assert recs["d"].code == "empty_file" and recs["e"].code == "not_audio"


def test_manifest_errors_name_file_and_line(tmp_path: Path) -> None:
    m = tmp_path / "m.tsv"
    m.write_text("track_id\tlocation\na\tx.wav\nb\ty.wav\na\tz.wav\n")
    with pytest.raises(ValueError, match=r"m\.tsv, line 4: track 'a' already listed on line 2"):
        read_manifest(m)
    m.write_text("id\tlocation\na\tx.wav\n")
    with pytest.raises(ValueError, match="missing column.*track_id"):
        read_manifest(m)
    m.write_text("track_id\tlocation\tmd5\na\tx.wav\tnot-a-hash\n")
    with pytest.raises(ValueError, match="line 2: track 'a' has a malformed md5"):
        read_manifest(m)
    m.write_text("track_id\tlocation\na\t\n")
    with pytest.raises(ValueError, match="line 2: track 'a' has an empty location"):
        read_manifest(m)


def test_manifest_roundtrip_keeps_urls_and_relocates_paths(tmp_path: Path) -> None:
    tracks = [Track("u", "https://example.org/a.mp3"), Track("p", str(tmp_path / "data" / "b.wav"), GOOD_MD5)]
    out = tmp_path / "deep" / "er" / "m.tsv"
    write_manifest(out, tracks)
    assert "../../data/b.wav" in out.read_text()
    assert read_manifest(out) == tracks
