"""CLI of the learning sources: ``labels``, ``audio-descriptors``, ``labels-summary``, ``corpus-split``."""

from __future__ import annotations

import argparse
import logging
import time

from onerep.util import parse_settings, setting, setup_logging

log = logging.getLogger("onerep.sources")


_settings = parse_settings  # the shared --settings parser


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the commands of the sources stage."""
    from .catalog import DECLARED_INPUTS, LABEL_SOURCES, SOURCE_INPUTS

    p = subparsers.add_parser(
        "labels",
        help="compute one learning source's latent-factor labels z (pLSA or GMM)",
        description=(
            "Read one learning source's label files, keep the corpus tracks of the "
            "manifest, reduce the labels to k-dim probability vectors (pLSA; TF-IDF + pLSA for "
            "lyrics; a Gaussian mixture for bpm, year and the audio descriptors) and write "
            "--out (HDF5: track_id, z) and --topics (TSV: topic, rank, term, weight). "
            "Inputs per built-in source: " + "; ".join(f"{s}: {', '.join(v)}" for s, v in SOURCE_INPUTS.items())
            + ". A declared source (kind terms, interactions or values) reads --file (and --group-file); "
              "its declaration comes in --settings as \"sources.declared.<source>\"."),
    )
    p.add_argument("--source", required=True,
                   help=f"a built-in source ({', '.join(LABEL_SOURCES)}) or one declared in --settings")
    p.add_argument("--manifest", required=True, help="corpus manifest TSV (track_id column)")
    keys = sorted({k for v in SOURCE_INPUTS.values() for k in v} | set(DECLARED_INPUTS))
    for key in keys:
        p.add_argument(f"--{key.replace('_', '-')}", dest=key, default=None, help=f"input file: {key}")
    p.add_argument("--settings", default=None,
                   help='JSON: {"sources.k", "sources.plsa_iterations", "sources.gmm_max_iter", '
                        '"sources.on_bad_line", "sources.topic_terms", "seed", "sources.declared.<source>"}')
    p.add_argument("--out", required=True, help="label file (HDF5)")
    p.add_argument("--topics", required=True, help="topic table (TSV)")
    p.add_argument("--threads", type=int, default=None, help="threads of the pLSA kernels")
    p.add_argument("--log", default=None, help="log file")
    p.set_defaults(func=run_labels, input_keys=keys)

    p = subparsers.add_parser(
        "audio-descriptors",
        help="clip-level MFCC, chroma and tempogram statistics of the corpus mel store",
        description="Compute the descriptors of the label-free audio sources (mfcc, chroma, "
                    "tempogram) for every track of a mel store and write them to --out (HDF5).",
    )
    p.add_argument("--mel-store", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--log", default=None)
    p.set_defaults(func=run_audio_descriptors)

    p = subparsers.add_parser(
        "labels-summary",
        help="tracks with labels per source and the tracks that have every design source",
        description="Summarise the label files: per source the manifest size, the ids with labels "
                    "in the files, those outside the corpus, malformed and unknown records, missing "
                    "values, corpus tracks with z, and the survivors of the equal-sample rule.",
    )
    p.add_argument("--manifest", required=True)
    p.add_argument("--labels", nargs="*", default=[], help="label files (HDF5)")
    p.add_argument("--settings", required=True, help='JSON: {"design.sources", "sources.require_all"}')
    p.add_argument("--out", required=True, help="summary TSV")
    p.add_argument("--log", default=None)
    p.set_defaults(func=run_summary)

    p = subparsers.add_parser(
        "corpus-split",
        help="train/valid split of the corpus tracks that enter training",
        description="Keep the mel-store tracks that have z of every design source (or of one, "
                    "with sources.require_all false) and split them at random (seeded) into "
                    "train and valid by audio.valid_fraction.",
    )
    p.add_argument("--mel-store", required=True, help="corpus mel store (HDF5 with track_id)")
    p.add_argument("--labels", nargs="*", default=[], help="label files of the design sources")
    p.add_argument("--settings", required=True,
                   help='JSON: {"seed", "audio.valid_fraction", "sources.require_all", "design.sources"}')
    p.add_argument("--split-file", default=None,
                   help="the corpus's own split (corpus.split_file) instead of a random one")
    p.add_argument("--out", required=True, help="split TSV")
    p.add_argument("--log", default=None)
    p.set_defaults(func=run_split)

    p = subparsers.add_parser(
        "jamendo-split",
        help="MTG-Jamendo's official split as a corpus split file (corpus.split_file)",
        description="Read the split files of data/splits/split-N (<prefix>-{train,validation,test}.tsv) "
                    "and write track_id, split (train, validation, test) for corpus-split --split-file.",
    )
    for part in ("train", "validation", "test"):
        p.add_argument(f"--{part}", nargs="+", required=True, help=f"the {part} part's TSV file(s)")
    p.add_argument("--on-bad-line", choices=["error", "skip"], default="error")
    p.add_argument("--out", required=True, help="split TSV to write")
    p.add_argument("--log", default=None)
    p.set_defaults(func=run_jamendo_split)


def run_labels(args: argparse.Namespace) -> int:
    """Handler of ``onerep labels``."""
    from .labels import make_labels, write_labels, write_topics

    setup_logging(args.log)
    settings = _settings(args.settings)
    inputs = {k: getattr(args, k) for k in args.input_keys if getattr(args, k)}
    t0 = time.perf_counter()
    result = make_labels(args.source, args.manifest, inputs, settings, threads=args.threads)
    write_labels(args.out, result)
    write_topics(args.topics, result.topics)
    log.info("source %s: z of %d tracks (k=%d, %s, seed %d) -> %s; topics -> %s (%.1f s)",
             args.source, len(result.track_ids), result.z.shape[1],
             result.method, result.attrs["seed"], args.out, args.topics, time.perf_counter() - t0)
    return 0


def run_audio_descriptors(args: argparse.Namespace) -> int:
    """Handler of ``onerep audio-descriptors``."""
    from .audio_sources import compute_descriptors

    setup_logging(args.log)
    compute_descriptors(args.mel_store, args.out)
    return 0


def run_summary(args: argparse.Namespace) -> int:
    """Handler of ``onerep labels-summary``."""
    from .loaders import read_manifest_ids
    from .split import summary_table, write_summary

    setup_logging(args.log)
    s = _settings(args.settings)
    design = list(setting(s, "design.sources"))
    table = summary_table(args.labels, design, bool(setting(s, "sources.require_all")),
                          manifest_ids=read_manifest_ids(args.manifest))
    write_summary(args.out, table)
    for line in table.to_string(index=False).splitlines():
        log.info(line)
    return 0


def run_split(args: argparse.Namespace) -> int:
    """Handler of ``onerep corpus-split``."""
    from .split import corpus_split

    setup_logging(args.log)
    s = _settings(args.settings)
    if "seed" not in s:
        raise ValueError("--settings needs the master 'seed'")
    corpus_split(
        args.mel_store, args.labels, list(setting(s, "design.sources")),
        bool(setting(s, "sources.require_all")), float(setting(s, "audio.valid_fraction")),
        int(s["seed"]), args.out, split_file=args.split_file,
    )
    return 0


def run_jamendo_split(args: argparse.Namespace) -> int:
    """Handler of ``onerep jamendo-split``."""
    from .open_corpora.jamendo import read_split_files
    from .split import write_own_split

    setup_logging(args.log)
    split = read_split_files({"train": args.train, "validation": args.validation, "test": args.test},
                             args.on_bad_line)
    write_own_split(split.part, args.out)
    counts = {p: sum(1 for v in split.part.values() if v == p) for p in sorted(set(split.part.values()))}
    log.info("MTG-Jamendo split from %d files: %s; %d rows skipped -> %s", len(split.files), counts,
             split.skipped, args.out)
    return 0
