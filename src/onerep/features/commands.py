"""Commands of the extraction stage.

- ``onerep extract MODEL AUDIO_DIR -o OUT.h5``: a trained network on a folder of audio
  (for users, outside the study).
- ``onerep extract-features``, ``baseline-mfcc``, ``baseline-rand``, ``user-features``:
  the workflow's feature files ``results/features/<rep>/<target>.h5``.
"""

from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

from onerep.util import parse_settings, setting, setup_logging

log = logging.getLogger("onerep.features")


_settings = parse_settings  # the shared --settings parser


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


def cmd_extract(args: argparse.Namespace) -> int:
    """``onerep extract``: one feature vector per audio file of a folder."""
    from .extract import extract_folder

    setup_logging(args.log)
    _threads(args.threads)
    n, bad = extract_folder(args.model, args.audio_dir, args.out, batch_size=args.batch_size,
                            device=args.device)
    print(f"{args.out}: {n} files" + (f", {len(bad)} unreadable (listed above and in the "
                                     "file's attribute 'unreadable')" if bad else ""),
          file=sys.stderr)
    return 0 if n else 1


def _targets(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """The (mel store, target, output) triples of a command. The workflow runs one
    (representation, target) per job; by hand, one process can serve several targets."""
    if not len(args.mel) == len(args.target) == len(args.out):
        raise ValueError(f"--mel, --target and --out need the same number of values "
                         f"(got {len(args.mel)}, {len(args.target)}, {len(args.out)})")
    return list(zip(args.mel, args.target, args.out))


def cmd_extract_features(args: argparse.Namespace) -> int:
    """Features of one or more targets with a trained run."""
    from onerep.models import load_model

    from .extract import extract_run

    setup_logging(args.log)
    _threads(args.threads)
    s = _settings(args.settings)
    loaded = load_model(args.model)
    for mel, target, out in _targets(args):
        extract_run(args.model, mel, out, rep=args.rep, target=target,
                    batch_size=int(setting(s, "extract.batch_size")),
                    device=str(setting(s, "train.device")), loaded=loaded)
    return 0


def cmd_mfcc(args: argparse.Namespace) -> int:
    """The MFCC baseline of a target."""
    from onerep.audio.store import MelStore

    from .baselines import mfcc_store
    from .extract import write_features

    setup_logging(args.log)
    for mel, target, out in _targets(args):
        store = MelStore(mel)
        feats = mfcc_store(store)
        frames = store.lengths  # MFCC statistics run over all frames
        write_features(out, store.track_ids, feats, frames, {
                           "rep": "mfcc", "target": target, "source": "mfcc",
                           "n_mfcc": feats.shape[1] // 6, "crop_frames": 0,
                           "windowing": "all-frames",
                           "pooling": "[means | stds] over frames (ddof=0) of [mfcc, delta, "
                                      "delta-delta]; channels combined by mean power",
                       })
        log.info("mfcc/%s: %d tracks, %d dims", target, *feats.shape)
    return 0


def cmd_rand(args: argparse.Namespace) -> int:
    """The Rand baseline (untrained network) of a strategy on a target."""
    from onerep.audio.scaler import load_scaler
    from onerep.audio.store import MelStore

    from .baselines import rand_network, rand_seed, rand_sources
    from .extract import extract_store, resolve_device, store_crop, torch_embedder, write_features

    setup_logging(args.log)
    _threads(args.threads)
    s = _settings(args.settings)
    sources = list(s["design.sources"])
    seed = rand_seed(int(s["seed"]), args.strategy)
    net = rand_network(args.strategy, sources, k=int(setting(s, "sources.k")),
                       width=float(setting(s, "train.width")), seed=seed)
    mean, std = load_scaler(args.scaler)
    dev = resolve_device(str(setting(s, "train.device")))
    rep = f"rand-{args.strategy}"
    embed = torch_embedder(net, dev)
    for mel, target, out in _targets(args):
        store = MelStore(mel)
        feats, windows = extract_store(embed, store, mean, std,
                                       int(setting(s, "extract.batch_size")), desc=f"{rep}/{target}")
        write_features(out, store.track_ids, feats, windows, {
            "rep": rep, "target": target, "source": "rand", "seed": seed,
            "strategy": args.strategy, "sources": rand_sources(args.strategy, sources),
            "representation": getattr(net, "representation", []),
            "crop_frames": store_crop(store), "scaler": args.scaler})
        log.info("%s/%s: %d tracks, %d dims (seed %d)", rep, target, *feats.shape, seed)
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    """A user's feature file, checked against the target and copied into the layout."""
    from onerep.audio.store import MelStore

    from .baselines import user_features
    from .extract import write_features

    setup_logging(args.log)
    store = MelStore(args.mel)
    feats, info = user_features(args.input, store.track_ids)
    write_features(args.out, store.track_ids, feats, np.zeros(len(feats), dtype=np.int64), {
        "rep": f"user-{args.name}", "target": args.target, "source": "user",
        "crop_frames": 0, "windowing": "unknown", "pooling": "as supplied by the user",
        **info})
    log.info("user-%s/%s: %d tracks, %d dims (%d extra ids dropped)", args.name, args.target,
             *feats.shape, info["extra_ids_dropped"])
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the extraction commands to the CLI."""
    p = subparsers.add_parser(
        "extract", help="features of a folder of audio with a trained network",
        description="Compute one feature vector per audio file under AUDIO_DIR with a trained "
                    "model: mel spectrogram with the model's parameters, 2.5 s windows "
                    "covering every frame (evenly spaced, the last ending at the clip's end), "
                    "fc-features, [means | stds] over windows. Writes an HDF5 with "
                    "track_id (path relative to AUDIO_DIR) and features (float32 N x D). "
                    "Unreadable files are listed on stderr and in the attribute 'unreadable'.")
    p.add_argument("model", help="model.pt of a trained run")
    p.add_argument("audio_dir", help="folder searched recursively for audio files")
    p.add_argument("-o", "--out", required=True, help="HDF5 file to write")
    p.add_argument("--batch-size", type=int, default=64, help="windows per forward pass")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--log", help="log file")
    p.set_defaults(func=cmd_extract)

    def common(q: argparse.ArgumentParser, many: bool = True) -> None:
        n = "+" if many else None
        q.add_argument("--mel", required=True, nargs=n, help="the target's mel store (one per target)")
        q.add_argument("--target", required=True, nargs=n, help="target name (recorded)")
        q.add_argument("--out", required=True, nargs=n, help="feature file to write (one per target)")
        q.add_argument("--log", help="log file")

    p = subparsers.add_parser("extract-features", help="features of a target with a trained run")
    common(p)
    p.add_argument("--model", required=True, help="model.pt of the run")
    p.add_argument("--rep", required=True, help="run id (recorded)")
    p.add_argument("--settings", help="JSON with extract.batch_size, train.device")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_extract_features)

    p = subparsers.add_parser("baseline-mfcc", help="MFCC baseline of a target (120 values)")
    common(p)
    p.set_defaults(func=cmd_mfcc)

    p = subparsers.add_parser("baseline-rand", help="untrained-network baseline of a target")
    common(p)
    p.add_argument("--strategy", required=True, help="strategy of the network")
    p.add_argument("--scaler", required=True, help="the learning corpus's scaler.npz")
    p.add_argument("--settings", required=True,
                   help="JSON with seed, design.sources, sources.k, train.width, "
                        "extract.batch_size, train.device")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_rand)

    p = subparsers.add_parser("user-features", help="copy a user's features of a target")
    common(p, many=False)
    p.add_argument("--name", required=True, help="name of the representation (user-<name>)")
    p.add_argument("--input", required=True, help="the user's HDF5 (track_id, features)")
    p.set_defaults(func=cmd_user)
