"""``onerep audio-*`` commands: acquisition, mel spectrograms, merge, scaler.

The workflow runs them per shard (workflow/rules/audio.smk); ``audio-extract`` does
the whole stage for any manifest in one process, without Snakemake::

    onerep audio-extract --manifest my_tracks.tsv --out mel/my_tracks.h5 --threads 4
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ..util import parse_settings, setup_logging

log = logging.getLogger("onerep.audio")

_SETTINGS_HELP = (
    "JSON with the config's audio settings, either {\"audio\": {...}} or dotted keys as the workflow "
    "passes them ({\"audio.n_mels\": 128, \"audio.download\": {...}}); missing keys take the schema defaults"
)
_MANIFEST_HELP = (
    "TSV with a header: track_id, location (a path relative to the manifest's folder or absolute, or an "
    "http(s):// URL), optional md5"
)


def audio_settings(text: str | None) -> dict[str, Any]:
    """The ``audio`` section from ``--settings`` JSON, validated, defaults filled."""
    from ..config import validate

    raw = parse_settings(text)
    audio: dict[str, Any] = dict(raw.get("audio") or {})
    for key, value in raw.items():
        if not key.startswith("audio."):
            continue
        node = audio
        parts = key.split(".")[1:]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    backend = audio.get("backend")
    if backend == "numpy":  # accepted by the stage even where the schema lists only torch/librosa
        audio.pop("backend")
    full = validate({"audio": audio})["audio"]
    if backend == "numpy":
        full["backend"] = "numpy"
    return full


def _mel_params(args: argparse.Namespace, audio: dict[str, Any], dataset: str | None = None):
    """Mel parameters of the settings; with ``dataset`` audio.excerpt_datasets is honoured."""
    from .mel import MelParams

    if getattr(args, "backend", None):
        audio = {**audio, "backend": args.backend}
    return MelParams.from_settings(audio, dataset=dataset)


def _download(args: argparse.Namespace, audio: dict[str, Any]):
    from .acquire import DownloadSettings

    d = dict(audio.get("download") or {})
    if getattr(args, "concurrency", None):
        d["concurrency"] = args.concurrency
    return DownloadSettings.from_settings(d)


# -- handlers ------------------------------------------------------------------


def _cmd_acquire(args: argparse.Namespace) -> int:
    from .acquire import acquire_shard

    setup_logging(args.log)
    audio = audio_settings(args.settings)
    acquire_shard(args.manifest, args.out, args.files, _download(args, audio), args.shard, args.shards)
    return 0


def _cmd_mel(args: argparse.Namespace) -> int:
    from .pipeline import mel_shard

    setup_logging(args.log)
    params = _mel_params(args, audio_settings(args.settings))
    mel_shard(args.acquired, args.out, args.records, params, threads=args.threads)
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from .pipeline import merge_dataset

    setup_logging(args.log)
    audio = audio_settings(args.settings)
    max_loss = args.max_loss if args.max_loss is not None else float(audio["max_loss_fraction"])
    merge_dataset(args.dataset, args.manifest, args.shards, args.shard_records, args.out, args.out_records, max_loss)
    return 0


def _cmd_scaler(args: argparse.Namespace) -> int:
    from .scaler import compute_scaler

    setup_logging(args.log)
    compute_scaler(args.mel, args.split, args.out)
    return 0


def _cmd_extract(args: argparse.Namespace) -> int:
    from .pipeline import extract_manifest
    from .records import describe_loss

    setup_logging(args.log)
    audio = audio_settings(args.settings)
    out = Path(args.out)
    records_path = Path(args.records) if args.records else out.with_name(out.stem + ".records.tsv")
    files = Path(args.files) if args.files else out.with_name(out.stem + "_files")
    max_loss = args.max_loss if args.max_loss is not None else float(audio["max_loss_fraction"])
    # the data set is named after the output store (mel/<dataset>.h5), as in the workflow
    records = extract_manifest(args.manifest, out, records_path, files, _mel_params(args, audio, out.stem),
                               _download(args, audio), threads=args.threads, max_loss_fraction=max_loss)
    print(f"{out}: {sum(r.status == 'ok' for r in records)} tracks; lost {describe_loss(records)}; "
          f"records in {records_path}")
    return 0


def _cmd_jamendo_manifest(args: argparse.Namespace) -> int:
    from ..sources.open_corpora import jamendo_audio_manifest
    from .manifest import write_manifest

    setup_logging(args.log)
    audio = jamendo_audio_manifest(args.tsv, args.audio_root, args.checksums, low=args.low,
                                   require_audio=args.require_audio, on_bad_line=args.on_bad_line)
    write_manifest(args.out, audio.tracks)
    print(f"{args.out}: {audio.summary()}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .store import MelStore

    with MelStore(args.mel) as st:
        lengths = st.lengths
        hop, sr = int(st.attrs.get("hop_length", 256)), int(st.attrs.get("sample_rate", 22050))
        print(f"{st.path}: {len(st)} tracks, {st.shape[0]} frames "
              f"({st.shape[0] * hop / sr / 3600:.2f} h), mel {st.shape} {st.dtype}")
        if len(st):
            print(f"frames per track: min {lengths.min()}, median {int(sorted(lengths)[len(lengths) // 2])}, "
                  f"max {lengths.max()}")
        for key in sorted(st.attrs):
            print(f"  {key}: {st.attrs[key]}")
    return 0


# -- parser --------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add the audio commands to ``onerep``."""
    fmt = argparse.RawDescriptionHelpFormatter

    p = subparsers.add_parser(
        "audio-acquire", formatter_class=fmt, help="download / verify the audio of one shard of a manifest",
        description="Make every track of one shard of a manifest available locally and record the outcome.\n"
                    "Shard I of N holds the tracks whose id hashes to I (onerep.audio.manifest.shard_of), in manifest\n"
                    "order; the default 0 of 1 is the whole manifest. Local files are verified in place (exists, not\n"
                    "empty, md5 if given); URLs are downloaded to --files with audio.download's concurrency,\n"
                    "timeouts, retries (exponential backoff on connection errors, timeouts and HTTP 5xx; never on\n"
                    "404), resume and md5 check.\n"
                    "Output TSV: track_id, status (ok/failed), reason, path, bytes, md5, location.\n\n"
                    "  onerep audio-acquire --manifest tracks.tsv --shard 0 --shards 4 \\\n"
                    "      --out acquired/shard-0000.tsv --files files")
    p.add_argument("--manifest", required=True, help=_MANIFEST_HELP)
    p.add_argument("--shard", type=int, default=0, help="the shard to acquire, 0 .. N-1 (default 0)")
    p.add_argument("--shards", type=int, default=1, help="N, the manifest's number of shards (default 1)")
    p.add_argument("--out", required=True, help="acquisition record TSV to write")
    p.add_argument("--files", required=True, help="folder for downloaded files")
    p.add_argument("--settings", help=_SETTINGS_HELP)
    p.add_argument("--concurrency", type=int, help="parallel downloads (default: audio.download.concurrency)")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=_cmd_acquire)

    p = subparsers.add_parser(
        "audio-mel", formatter_class=fmt, help="mel spectrograms of one acquired shard",
        description="Decode, resample, 2-channel log-mel (SPEC section 2) of every acquired track of a shard into a\n"
                    "shard mel store; undecodable, empty, silent, truncated or too-short audio is skipped and\n"
                    "recorded (records TSV: track_id, stage, status, reason).\n\n"
                    "  onerep audio-mel --acquired acquired/shard-0000.tsv --out mel/shard-0000.h5 \\\n"
                    "      --records mel/shard-0000.records.tsv --threads 4")
    p.add_argument("--acquired", required=True, help="acquisition record TSV (from audio-acquire)")
    p.add_argument("--out", required=True, help="shard mel store (HDF5) to write")
    p.add_argument("--records", required=True, help="records TSV to write")
    p.add_argument("--settings", help=_SETTINGS_HELP)
    p.add_argument("--threads", type=int, default=1, help="worker processes (one core each)")
    p.add_argument("--backend", choices=["numpy", "torch", "librosa"], help="override audio.backend")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=_cmd_mel)

    p = subparsers.add_parser(
        "audio-merge", formatter_class=fmt, help="merge a data set's shard mel stores",
        description="Merge shard stores into the data set's mel store with its tracks in manifest order (streamed,\n"
                    "track by track), write the records of every manifest track (manifest order), and stop with an\n"
                    "error when more than audio.max_loss_fraction of the tracks were lost.\n\n"
                    "  onerep audio-merge --dataset gtzan --manifest targets/gtzan/manifest.tsv \\\n"
                    "      --shards mel/gtzan/shard-*.h5 \\\n"
                    "      --shard-records mel/gtzan/shard-*.records.tsv --out mel/gtzan.h5 "
                    "--out-records mel/gtzan.records.tsv")
    p.add_argument("--dataset", required=True, help="data set name (for messages and the store's attributes)")
    p.add_argument("--manifest", required=True, help="the data set's manifest (gives the order of the tracks)")
    p.add_argument("--shards", nargs="+", required=True, help="shard mel stores (any order)")
    p.add_argument("--shard-records", nargs="+", required=True, help="shard records TSVs (any order)")
    p.add_argument("--out", required=True, help="data set mel store to write")
    p.add_argument("--out-records", required=True, help="data set records TSV to write")
    p.add_argument("--settings", help=_SETTINGS_HELP)
    p.add_argument("--max-loss", type=float, help="override audio.max_loss_fraction")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=_cmd_merge)

    p = subparsers.add_parser(
        "audio-scaler", formatter_class=fmt, help="per-band mean/std over the corpus's training split",
        description="One streaming pass over the training tracks' frames of a mel store (both channels pooled,\n"
                    "float64): mean and std of each mel band, saved as npz (mean, std, n_frames, ...).\n\n"
                    "  onerep audio-scaler --mel results/mel/corpus.h5 --split results/corpus/split.tsv \\\n"
                    "      --out results/corpus/scaler.npz")
    p.add_argument("--mel", required=True, help="the corpus mel store")
    p.add_argument("--split", required=True, help="split TSV: track_id, split (train/valid), seed")
    p.add_argument("--out", required=True, help="scaler npz to write")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=_cmd_scaler)

    p = subparsers.add_parser(
        "audio-extract", formatter_class=fmt, help="acquire + mel a whole manifest in one go (no Snakemake)",
        description="Acquisition, mel spectrograms and records for any manifest in one process: writes the mel\n"
                    "store OUT, its records (OUT stem + .records.tsv) and downloads into OUT stem + _files/.\n\n"
                    "  onerep audio-extract --manifest tracks.tsv --out mel/tracks.h5 --threads 4\n"
                    "  onerep audio-extract --manifest urls.tsv --out mel/urls.h5 "
                    "--settings '{\"audio\": {\"n_mels\": 96}}'")
    p.add_argument("--manifest", required=True, help=_MANIFEST_HELP)
    p.add_argument("--out", required=True, help="mel store (HDF5) to write")
    p.add_argument("--records", help="records TSV (default: beside --out)")
    p.add_argument("--files", help="download folder (default: beside --out)")
    p.add_argument("--settings", help=_SETTINGS_HELP)
    p.add_argument("--threads", type=int, default=1, help="mel worker processes (one core each)")
    p.add_argument("--concurrency", type=int, help="parallel downloads (default: audio.download.concurrency)")
    p.add_argument("--backend", choices=["numpy", "torch", "librosa"], help="override audio.backend")
    p.add_argument("--max-loss", type=float, help="override audio.max_loss_fraction")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=_cmd_extract)

    p = subparsers.add_parser(
        "jamendo-manifest", formatter_class=fmt, help="audio manifest of an MTG-Jamendo autotagging TSV",
        description="The audio manifest (track_id, location, md5, sha256) of the tracks of an MTG-Jamendo TSV\n"
                    "(data/*.tsv or a split file) whose audio is under --audio-root as NN/<id>.mp3 (NN/<id>.low.mp3\n"
                    "with --low). Track ids are canonical, track_<integer without padding>. Tracks without a file\n"
                    "are counted and left out (--require-audio: an error); --checksums adds each file's sha256\n"
                    "from a <dataset>_<type>_sha256_tracks.txt list, verified at acquisition.\n\n"
                    "  onerep jamendo-manifest --tsv mtg/data/autotagging_moodtheme.tsv \\\n"
                    "      --audio-root jamendo/audio-low --low \\\n"
                    "      --checksums mtg/data/download/autotagging_moodtheme_audio-low_sha256_tracks.txt \\\n"
                    "      --out results/corpus/manifest.tsv")
    p.add_argument("--tsv", required=True, help="MTG-Jamendo autotagging TSV (its PATH column locates the audio)")
    p.add_argument("--audio-root", required=True, help="folder holding the unpacked NN/ audio folders")
    p.add_argument("--checksums", help="sha256 list of the audio files (<dataset>_<type>_sha256_tracks.txt)")
    p.add_argument("--low", action="store_true", help="the audio-low files NN/<id>.low.mp3")
    p.add_argument("--require-audio", action="store_true", help="stop when a listed track has no audio file")
    p.add_argument("--on-bad-line", choices=["error", "skip"], default="error",
                   help="a bad TSV or checksum line stops (error, default) or is skipped and counted")
    p.add_argument("--out", required=True, help="manifest TSV to write")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=_cmd_jamendo_manifest)

    p = subparsers.add_parser("audio-info", help="summarise a mel store (tracks, frames, attributes)")
    p.add_argument("--mel", required=True, help="mel store (HDF5)")
    p.set_defaults(func=_cmd_info)
