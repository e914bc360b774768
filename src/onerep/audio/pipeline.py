"""The stage's jobs: mel extraction of one shard, the merge of a data set, and a one-shot run.

* :func:`mel_shard` reads a shard's acquisition records, extracts the mel of every
  acquired track (in ``threads`` worker processes, one core each) and streams them
  into a shard store; audio that cannot be used (undecodable, empty, silent,
  truncated, shorter than one crop) is recorded with the reason and skipped. With
  ``params.excerpt_seconds`` each file is first cut to its centred excerpt
  (:func:`onerep.audio.mel.excerpt_span`); the checks apply to the excerpt.
* :func:`merge_dataset` merges the shard stores into the data set's store in manifest
  order (track by track, streamed), writes the records of every manifest track, and
  stops with a clear error when more than ``audio.max_loss_fraction`` of the tracks
  were lost.
* :func:`extract_manifest` does acquisition + mel + records for any manifest in one
  process (the ``onerep audio-extract`` command), without Snakemake.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..util import progress, remove_stale_temporaries, temp_sibling
from .acquire import Acquired, DownloadSettings, acquire_tracks, read_acquired
from .manifest import read_manifest
from .mel import AudioError, MelParams, extract_track
from .records import Record, check_loss, describe_loss, write_records
from .store import StoreWriter, library_versions, merge_stores

log = logging.getLogger(__name__)

Result = tuple[bool, np.ndarray | None, str]


def _init_worker() -> None:
    """Worker processes use one core each."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def _extract_one(args: tuple[str, MelParams]) -> Result:
    """(ok, mel float32 or None, reason) for one file; never raises."""
    path, params = args
    try:
        return True, extract_track(path, params), ""
    except AudioError as exc:
        return False, None, exc.reason
    except MemoryError:
        return False, None, "error: out of memory while decoding"
    except Exception as exc:  # a bug or an unexpected library error: record, don't lose the shard
        log.debug("%s", traceback.format_exc())
        return False, None, f"error: {type(exc).__name__}: {exc}"


def _results(paths: Sequence[str], params: MelParams, threads: int) -> Iterator[Result]:
    """Results in input order (worker processes when ``threads`` > 1)."""
    jobs = [(p, params) for p in paths]
    if threads <= 1 or len(jobs) <= 1:
        yield from map(_extract_one, jobs)
        return
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=threads, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker) as pool:
        yield from pool.map(_extract_one, jobs, chunksize=1)


def mel_tracks(acquired: Sequence[Acquired], out_h5: str | Path, params: MelParams,
               threads: int = 1, extra_attrs: dict | None = None) -> list[Record]:
    """Extract and store the mel of the acquired tracks; a record for every input track."""
    ok = [a for a in acquired if a.ok]
    attrs = {**params.attrs(), **library_versions(), **(extra_attrs or {})}
    if params.excerpt_seconds is not None:
        log.info("%s: centred excerpts of %g s (%s)", out_h5, params.excerpt_seconds, attrs["excerpt_rule"])
    decode: dict[str, Record] = {}
    with StoreWriter(out_h5, params.n_mels, params.dtype, params.crop_frames, attrs) as writer:
        results = _results([a.path for a in ok], params, threads)
        for a, (good, mel, reason) in progress(zip(ok, results), desc=f"mel {Path(out_h5).name}", total=len(ok)):
            if good and mel is not None:
                writer.append(a.track_id, mel)
                decode[a.track_id] = Record(a.track_id, "decode", "ok", "")
            else:
                log.warning("%s (%s): skipped: %s", a.track_id, a.path, reason)
                decode[a.track_id] = Record(a.track_id, "decode", "failed", reason)
    records = [decode[a.track_id] if a.ok else Record(a.track_id, "acquire", "failed", a.reason) for a in acquired]
    log.info("%s: %s", out_h5, describe_loss(records))
    return records


def mel_shard(acquired_tsv: str | Path, out_h5: str | Path, records_tsv: str | Path, params: MelParams,
              threads: int = 1) -> list[Record]:
    """The ``mel_shard`` job: acquisition records -> shard store + shard records."""
    acquired = read_acquired(acquired_tsv)
    records = mel_tracks(acquired, out_h5, params, threads)
    write_records(records_tsv, records)
    return records


def merge_dataset(dataset: str, manifest: str | Path, shard_h5: Sequence[str | Path],
                  shard_records: Sequence[str | Path], out_h5: str | Path, out_records: str | Path,
                  max_loss_fraction: float) -> list[Record]:
    """The ``mel_merge`` job: shard stores + records -> the data set's store and records.

    Both are written in the manifest's order (shards hold hashed subsets of the
    manifest, :func:`onerep.audio.manifest.shard_of`), whatever the order of the shards.
    The shard records must hold every manifest track exactly once. Raises
    :class:`onerep.audio.records.LossError` (nothing written) when too many tracks were
    lost; the shard records stay for inspection.
    """
    from .records import read_records

    if len(shard_h5) != len(shard_records):
        raise ValueError(f"data set {dataset!r}: {len(shard_h5)} shard stores but {len(shard_records)} records files")
    by_id: dict[str, Record] = {}
    for p in shard_records:
        for r in read_records(p):
            if r.track_id in by_id:
                raise ValueError(f"data set {dataset!r}: track {r.track_id!r} has records in two shards ({p})")
            by_id[r.track_id] = r
    order = [t.track_id for t in read_manifest(manifest)]
    missing = [tid for tid in order if tid not in by_id]
    extra = sorted(set(by_id) - set(order))
    if missing or extra:
        raise ValueError(f"data set {dataset!r}: the shard records do not match the manifest {manifest}: "
                         f"{len(missing)} manifest track(s) without a record (e.g. {missing[:3]}), {len(extra)} "
                         f"record(s) of tracks not in it (e.g. {extra[:3]}); rerun the data set's shards")
    records = [by_id[tid] for tid in order]
    where = ", ".join(str(p) for p in shard_records[:2]) + (" ..." if len(shard_records) > 2 else "")
    check_loss(dataset, records, max_loss_fraction, where)
    kept = [r.track_id for r in records if r.status == "ok"]
    merge_stores(out_h5, list(shard_h5), {
        "dataset": dataset, "n_manifest_tracks": len(records), "n_lost": len(records) - len(kept)}, order=kept)
    write_records(out_records, records)
    log.info("data set %r: %d tracks in %s; lost %s", dataset, len(kept), out_h5, describe_loss(records))
    return records


def extract_manifest(manifest: str | Path, out_h5: str | Path, records_tsv: str | Path, files_dir: str | Path,
                     params: MelParams, download: DownloadSettings, threads: int = 1,
                     max_loss_fraction: float = 1.0, dataset: str | None = None) -> list[Record]:
    """Acquisition + mel + records of a whole manifest in one process (no sharding)."""
    tracks = read_manifest(manifest)
    name = dataset or Path(out_h5).stem
    acquired = acquire_tracks(tracks, files_dir, download)
    remove_stale_temporaries(out_h5)
    tmp_h5 = temp_sibling(out_h5, "unmerged")
    records = mel_tracks(acquired, tmp_h5, params, threads,
                         {"dataset": name, "n_manifest_tracks": len(tracks)})
    try:
        write_records(records_tsv, records)
        check_loss(name, records, max_loss_fraction, str(records_tsv))
        lost = sum(r.status != "ok" for r in records)
        merge_stores(out_h5, [tmp_h5], {"dataset": name, "n_manifest_tracks": len(tracks), "n_lost": lost})
    finally:
        tmp_h5.unlink(missing_ok=True)
    return records
