"""Acquisition: make every manifest track available as a local audio file, or say why not.

* Local locations are verified in place (exists, not empty, checksums when the
  manifest gives them, not a text file); nothing is copied.
* URLs are downloaded into the data set's ``files/`` folder with bounded concurrency
  per job, a connect and a read timeout, retries with exponential backoff on
  connection errors, timeouts, truncated bodies and HTTP 5xx/408/429 (never on other
  4xx such as 404), resumption of a partial body with an HTTP Range request where the
  server allows it (206), checksum verification, and a content check (an HTML error page
  served with status 200 is not audio). The body goes to ``.NAME.part`` and is
  renamed only when complete and verified; a failed track leaves no file behind.
* A file already present under its final name is complete by construction (it was
  renamed into place); with a checksum it is verified again, and it is never fetched
  again unless that check fails.
* Checksums: the manifest's md5 and/or sha256 (see :mod:`.manifest`), each verified with
  its own algorithm in one read of the file; a mismatch names the algorithm, the
  expected and the actual digest. The record's ``md5`` is always the file's md5.

Every track ends in one record ``(track_id, status, reason, path, bytes, md5)``:
``status`` is ``ok`` or ``failed``; ``reason`` is ``code: detail`` with code one of
``missing_file``, ``empty_file``, ``not_audio``, ``checksum_mismatch``, ``http_<status>``,
``timeout``, ``connection_error``, ``truncated``, ``too_many_redirects``, ``bad_url``.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import os
import re
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..util import progress, write_text_atomic
from .manifest import Track, read_manifest, read_tsv, relative_to, resolve, shard_tracks

log = logging.getLogger(__name__)

ACQUIRED_COLUMNS = ("track_id", "status", "reason", "path", "bytes", "md5", "location")
USER_AGENT = f"onerep/{__version__} (+audio acquisition; python http.client)"
_CHUNK = 1 << 16
_RETRY_STATUS = {408, 429}


@dataclass(frozen=True)
class DownloadSettings:
    """The ``audio.download`` settings."""

    concurrency: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 4
    backoff: float = 1.0  # seconds before the first retry, doubled after each failed try
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, download: dict[str, Any] | None) -> DownloadSettings:
        d = dict(download or {})
        known = {k: d[k] for k in ("concurrency", "connect_timeout", "read_timeout", "retries", "backoff",
                                   "max_redirects") if k in d}
        s = cls(**known)
        if s.concurrency < 1 or s.retries < 0 or s.connect_timeout <= 0 or s.read_timeout <= 0 or s.backoff < 0:
            raise ValueError(f"audio.download: invalid settings {s}")
        return s


@dataclass
class Acquired:
    """The acquisition record of one track (``path`` absolute or empty)."""

    track_id: str
    status: str
    reason: str
    path: str
    bytes: int
    md5: str
    location: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def code(self) -> str:
        """The reason's code (text before the first colon)."""
        return self.reason.split(":", 1)[0] if self.reason else ""


def _failed(track: Track, reason: str) -> Acquired:
    return Acquired(track.track_id, "failed", reason, "", 0, "", track.location)


def file_md5(path: str | Path) -> str:
    """Hex md5 of a file, streamed."""
    return file_digests(path, ("md5",))["md5"]


def file_digests(path: str | Path, algorithms: Sequence[str]) -> dict[str, str]:
    """Hex digests of a file for each hashlib algorithm name, in one streamed read."""
    hashes = {name: hashlib.new(name) for name in dict.fromkeys(algorithms)}
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            for h in hashes.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashes.items()}


def verify_checksums(track: Track, path: str | Path, verb: str = "file has") -> tuple[str, str | None]:
    """(md5 of the file, a ``checksum_mismatch`` reason or None) for the track's checksums."""
    expected = track.checksums
    digests = file_digests(path, ("md5", *expected))
    for name, want in expected.items():
        if digests[name] != want:
            return digests["md5"], f"checksum_mismatch: expected {name} {want}, {verb} {digests[name]}"
    return digests["md5"], None


def sniff_not_audio(path: str | Path, content_type: str = "") -> str | None:
    """A ``not_audio`` reason when the file is clearly not audio, else None.

    soundfile reads the header -> audio. Otherwise a text-like body (an HTML error
    page, JSON, plain text, or a text content type) is not audio; other binary data
    is left to the decoder (it may be a format only the fallback decoder reads).
    """
    import soundfile as sf

    try:
        sf.info(str(path))
        return None
    except Exception:
        pass
    with open(path, "rb") as f:
        head = f.read(1024)
    ctype = (content_type or "").split(";")[0].strip().lower()
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    texty = b"\x00" not in head and printable >= 0.95 * max(1, len(head))
    if texty or ctype.startswith("text/") or ctype in ("application/json", "application/xml"):
        what = f"content type {ctype}" if ctype else "text"
        snippet = head[:40].decode("utf-8", "replace").replace("\n", " ").replace("\t", " ")
        return f"not_audio: {what}, not audio (starts with {snippet!r})"
    return None


# ---------------------------------------------------------------------------
# local files


def acquire_local(track: Track) -> Acquired:
    """Verify a local file in place."""
    p = Path(track.location)
    if not p.is_file():
        return _failed(track, f"missing_file: {p} does not exist")
    size = p.stat().st_size
    if size == 0:
        return _failed(track, f"empty_file: {p} has zero bytes")
    digest, mismatch = verify_checksums(track, p)
    if mismatch:
        return _failed(track, mismatch)
    bad = sniff_not_audio(p)
    if bad:
        return _failed(track, bad)
    return Acquired(track.track_id, "ok", "", str(p), size, digest, track.location)


# ---------------------------------------------------------------------------
# HTTP


class _Retry(Exception):
    """A failure worth another try (connection error, timeout, 5xx, truncated body)."""


class _Fatal(Exception):
    """A failure that another try would repeat (404, bad URL, checksum of a fresh download)."""


def _proxy_for(scheme: str, host: str) -> urllib.parse.SplitResult | None:
    proxies = urllib.request.getproxies()
    url = proxies.get(scheme)
    if not url or urllib.request.proxy_bypass(host):
        return None
    if "://" not in url:
        url = "http://" + url
    return urllib.parse.urlsplit(url)


def _open(url: str, headers: dict[str, str], settings: DownloadSettings) -> tuple[http.client.HTTPConnection, str]:
    """A connected HTTP(S) connection (connect timeout applied, then the read timeout) and the request target."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Fatal(f"bad_url: {url!r} is not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _Fatal(f"bad_url: {url!r} has an invalid port") from None
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    proxy = _proxy_for(parts.scheme, parts.hostname)
    conn: http.client.HTTPConnection
    if proxy is not None:
        p_port = proxy.port or 8080
        auth = {}
        if proxy.username:
            cred = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
            auth["Proxy-Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(proxy.hostname, p_port, timeout=settings.connect_timeout,
                                               context=ssl.create_default_context())
            conn.set_tunnel(parts.hostname, port, headers=auth)
        else:
            conn = http.client.HTTPConnection(proxy.hostname, p_port, timeout=settings.connect_timeout)
            target = url
            headers.update(auth)
    elif parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, port, timeout=settings.connect_timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=settings.connect_timeout)
    conn.connect()
    if conn.sock is not None:
        conn.sock.settimeout(settings.read_timeout)
    return conn, target


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _fetch_once(url: str, part: Path, settings: DownloadSettings) -> tuple[str, bool]:
    """One try: request (resuming ``part`` if it has bytes), stream the body into ``part``.

    Returns (content type, resumed). Raises _Retry or _Fatal.
    """
    for _ in range(settings.max_redirects + 1):
        have = part.stat().st_size if part.exists() else 0
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Connection": "close"}
        if have:
            headers["Range"] = f"bytes={have}-"
        conn, target = _open(url, headers, settings)
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            status = resp.status
            if status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise _Fatal(f"http_{status}: redirect without a Location header")
                url = urllib.parse.urljoin(url, location)
                continue
            if status == 416 and have:
                m = re.search(r"/(\d+)", resp.getheader("Content-Range") or "")
                if m and int(m.group(1)) == have:  # the part file is already complete
                    return resp.getheader("Content-Type") or "", True
                part.unlink(missing_ok=True)
                raise _Retry(f"http_416: range {have}- not satisfiable; restarting the download")
            if status >= 500 or status in _RETRY_STATUS:
                raise _Retry(f"http_{status}: {resp.reason}")
            if status not in (200, 206):
                raise _Fatal(f"http_{status}: {resp.reason}")
            length = resp.getheader("Content-Length")
            expected: int | None = int(length) if length and length.isdigit() else None
            resumed = False
            if status == 206:
                m = _CONTENT_RANGE.search(resp.getheader("Content-Range") or "")
                if not m or int(m.group(1)) != have:
                    part.unlink(missing_ok=True)
                    raise _Retry("truncated: the server answered the resume request with another range")
                total = None if m.group(3) == "*" else int(m.group(3))
                expected = total if total is not None else (have + expected if expected is not None else None)
                mode, resumed = "ab", True
            else:
                mode = "wb"  # a 200 to a Range request: the server restarts from byte 0
            with open(part, mode) as f:
                while True:
                    block = resp.read(_CHUNK)
                    if not block:
                        break
                    f.write(block)
            size = part.stat().st_size
            if expected is not None and size < expected:
                raise _Retry(f"truncated: received {size} of {expected} bytes")
            return resp.getheader("Content-Type") or "", resumed
        except TimeoutError:
            raise _Retry(f"timeout: no data within {settings.read_timeout:g} s") from None
        except ssl.SSLCertVerificationError as exc:
            raise _Fatal(f"connection_error: TLS certificate not valid ({exc.verify_message})") from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise _Retry(f"connection_error: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
    raise _Fatal(f"too_many_redirects: more than {settings.max_redirects}")


def _connect_errors(fn: Callable[[], Any], settings: DownloadSettings) -> Any:
    """Run ``fn`` mapping errors raised while connecting to _Retry/_Fatal."""
    try:
        return fn()
    except (_Retry, _Fatal):
        raise
    except TimeoutError:
        raise _Retry(f"timeout: no connection within {settings.connect_timeout:g} s") from None
    except ssl.SSLCertVerificationError as exc:
        raise _Fatal(f"connection_error: TLS certificate not valid ({exc.verify_message})") from None
    except (http.client.HTTPException, ConnectionError, OSError) as exc:
        raise _Retry(f"connection_error: {type(exc).__name__}: {exc}") from None


def download(track: Track, dest: Path, settings: DownloadSettings,
             sleep: Callable[[float], None] = time.sleep) -> Acquired:
    """Download ``track.location`` to ``dest`` (see the module docstring for the policy)."""
    if dest.is_file():
        digest, mismatch = verify_checksums(track, dest)
        if not mismatch:
            return Acquired(track.track_id, "ok", "", str(dest), dest.stat().st_size, digest, track.location)
        log.warning("%s: %s: %s; downloading again", track.track_id, dest, mismatch)
        dest.unlink()
    part = dest.with_name(f".{dest.name}.part")
    last = ""
    fresh_retry = False
    try:
        for attempt in range(settings.retries + 1):
            if attempt:
                sleep(settings.backoff * 2 ** (attempt - 1))
            try:
                ctype, resumed = _connect_errors(lambda: _fetch_once(track.location, part, settings), settings)
            except _Retry as exc:
                last = str(exc)
                log.info("%s: try %d of %d failed: %s", track.track_id, attempt + 1, settings.retries + 1, last)
                continue
            except _Fatal as exc:
                return _failed(track, str(exc))
            digest, mismatch = verify_checksums(track, part, "downloaded")
            if mismatch:
                last = mismatch
                part.unlink()
                if resumed and not fresh_retry:  # a resumed body may be spliced wrongly: one fresh try
                    fresh_retry = True
                    continue
                return _failed(track, last)
            size = part.stat().st_size
            if size == 0:
                return _failed(track, "empty_file: the server sent zero bytes")
            bad = sniff_not_audio(part, ctype)
            if bad:
                return _failed(track, bad)
            os.replace(part, dest)
            return Acquired(track.track_id, "ok", "", str(dest), size, digest, track.location)
        return _failed(track, last or "connection_error: no try succeeded")
    finally:
        part.unlink(missing_ok=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def local_name(track: Track) -> str:
    """File name of a downloaded track: its id (made file-system safe) plus the URL's extension."""
    safe = _UNSAFE.sub("_", track.track_id)
    if safe != track.track_id or safe.startswith("."):
        safe = f"{safe.lstrip('.')}-{hashlib.md5(track.track_id.encode()).hexdigest()[:8]}"
    suffix = Path(urllib.parse.urlsplit(track.location).path).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        suffix = ""
    return safe + suffix


def acquire_tracks(tracks: Sequence[Track], files_dir: str | Path, settings: DownloadSettings,
                   sleep: Callable[[float], None] = time.sleep) -> list[Acquired]:
    """Acquire tracks (URLs with ``settings.concurrency`` threads); records in input order."""
    files_dir = Path(files_dir)
    out: list[Acquired | None] = [None] * len(tracks)
    urls = [i for i, t in enumerate(tracks) if t.is_url]
    for i, t in enumerate(tracks):
        if not t.is_url:
            out[i] = acquire_local(t)
    if urls:
        files_dir.mkdir(parents=True, exist_ok=True)
        lock = threading.Lock()
        done = iter(progress(range(len(urls)), desc="download", total=len(urls)))

        def job(i: int) -> None:
            rec = download(tracks[i], files_dir / local_name(tracks[i]), settings, sleep)
            out[i] = rec
            with lock:
                next(done, None)

        with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
            list(pool.map(job, urls))
    return [r for r in out if r is not None]


# ---------------------------------------------------------------------------
# records files


def write_acquired(path: str | Path, records: Sequence[Acquired]) -> None:
    """Write an acquisition TSV (paths relative to its folder), atomically."""
    path = Path(path)
    lines = ["\t".join(ACQUIRED_COLUMNS)]
    for r in records:
        rel = relative_to(r.path, path.parent) if r.path else ""
        loc = r.location if r.location.startswith(("http://", "https://")) else relative_to(r.location, path.parent)
        fields = (r.track_id, r.status, _clean(r.reason), rel, str(r.bytes), r.md5, loc)
        lines.append("\t".join(fields))
    write_text_atomic(path, "\n".join(lines) + "\n")


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def read_acquired(path: str | Path) -> list[Acquired]:
    """Read an acquisition TSV; paths are resolved against its folder."""
    path = Path(path)
    df = read_tsv(path)
    missing = [c for c in ACQUIRED_COLUMNS[:6] if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not an acquisition record (missing {', '.join(missing)})")
    base = path.parent
    out = []
    for k, row in enumerate(df.itertuples(index=False)):
        status = row.status
        if status not in ("ok", "failed"):
            raise ValueError(f"{path}, line {k + 2}: status must be ok or failed, got {status!r}")
        p = resolve(row.path, base) if row.path else ""
        loc = getattr(row, "location", "")
        loc = resolve(loc, base) if loc else ""
        out.append(Acquired(row.track_id, status, row.reason, p, int(row.bytes or 0), row.md5, loc))
    return out


def acquire_shard(manifest: str | Path, out_tsv: str | Path, files_dir: str | Path, settings: DownloadSettings,
                  shard: int = 0, n_shards: int = 1, sleep: Callable[[float], None] = time.sleep) -> list[Acquired]:
    """Acquire the tracks of shard ``shard`` of ``n_shards`` of a manifest and write its record TSV.

    The shard's tracks are :func:`onerep.audio.manifest.shard_tracks`'s (manifest order;
    the default 0 of 1 is the whole manifest), their relative locations resolved against
    the manifest's folder. A shard may be empty: its record TSV then has the header only.
    A manifest without any track is an error.
    """
    every = read_manifest(manifest)
    if not every:
        raise ValueError(f"{manifest}: the manifest lists no tracks")
    tracks = shard_tracks(every, shard, n_shards)
    records = acquire_tracks(tracks, files_dir, settings, sleep)
    write_acquired(out_tsv, records)
    n_ok = sum(r.ok for r in records)
    log.info("%s, shard %d of %d: %d of %d tracks acquired", manifest, shard, n_shards, n_ok, len(records))
    for r in records:
        if not r.ok:
            log.warning("%s: %s", r.track_id, r.reason)
    return records
