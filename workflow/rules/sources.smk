# Learning sources (SPEC section 3): each source's native labels -> z (k-dim probability
# vectors) per corpus track, the per-source summary, and the corpus train/valid split.
#
#   rule audio_descriptors   labels/audio_descriptors.h5 (only when an audio source is used)
#   rule labels              labels/{source}.h5 + labels/{source}.topics.tsv (one job per source)
#   rule labels_summary      labels/summary.tsv
#   rule corpus_split        corpus/split.tsv (survivors of the equal-sample rule in mel/corpus.h5)
import shlex
import sys

from onerep.sources.catalog import AUDIO_SOURCES, check_sources, declared_sources, reduction, source_inputs

LABELS = f"{R}/labels"
# Every source with a label file (self has none), in the config's order: built-in sources
# (the MSD preset, the audio sources) and those declared under sources.declared.
LABEL_SOURCES = [s for s in config["sources"]["names"] if s != "self"]
DESIGN_LABEL_SOURCES = [s for s in config["design"]["sources"] if s != "self"]
AUDIO_DESCRIPTORS = f"{LABELS}/audio_descriptors.h5"

# Declarations with their defaults; every listed source is built in or declared, with its files set.
config["sources"]["declared"] = declared_sources(config)
try:
    check_sources(config)
except ValueError as _exc:
    sys.exit(f"onerep: {_exc}")


if any(s in AUDIO_SOURCES for s in LABEL_SOURCES):

    rule audio_descriptors:
        input:
            mel=f"{R}/mel/corpus.h5",
        output:
            AUDIO_DESCRIPTORS,
        log:
            f"{LOGS}/audio_descriptors/corpus.log",
        benchmark:
            f"{BENCH}/audio_descriptors/corpus.tsv"
        conda:
            "../../envs/audio.yaml"
        threads: 1
        resources:
            mem_mb=res("labels", "mem_mb"),
            runtime=res("labels", "runtime"),
        shell:
            "onerep audio-descriptors --mel-store {input.mel:q} --out {output:q} --log {log:q}"


rule labels:
    input:
        unpack(label_inputs),
    output:
        h5=f"{LABELS}/{{source}}.h5",
        topics=f"{LABELS}/{{source}}.topics.tsv",
    log:
        f"{LOGS}/labels/{{source}}.log",
    benchmark:
        f"{BENCH}/labels/{{source}}.tsv"
    wildcard_constraints:
        source="|".join(LABEL_SOURCES) or "(?!)",
    conda:
        "../../envs/audio.yaml"
    threads: res("labels", "threads")
    resources:
        mem_mb=res("labels", "mem_mb"),
        runtime=res("labels", "runtime"),
    params:
        settings=label_settings,
        args=label_args,
    shell:
        "onerep labels --source {wildcards.source} --manifest {input.manifest:q} {params.args} "
        "--settings {params.settings:q} --threads {threads} --out {output.h5:q} "
        "--topics {output.topics:q} --log {log:q}"


rule labels_summary:
    input:
        manifest=config["corpus"]["manifest"],
        labels=expand(f"{LABELS}/{{source}}.h5", source=LABEL_SOURCES),
    output:
        f"{LABELS}/summary.tsv",
    log:
        f"{LOGS}/labels_summary/labels_summary.log",
    benchmark:
        f"{BENCH}/labels_summary/labels_summary.tsv"
    conda:
        "../../envs/audio.yaml"
    threads: 1
    resources:
        mem_mb=res("labels", "mem_mb"),
        runtime=res("labels", "runtime"),
    params:
        settings=settings("design.sources", "sources.require_all"),
    shell:
        "onerep labels-summary --manifest {input.manifest:q} --labels {input.labels:q} "
        "--settings {params.settings:q} --out {output:q} --log {log:q}"


JAMENDO = config["corpus"]["jamendo"]
OWN_SPLIT = config["corpus"]["split_file"]
if JAMENDO and JAMENDO["split_dir"] and not OWN_SPLIT:
    sys.exit(
        "onerep: key 'corpus.split_file': corpus.jamendo.split_dir is set; name the split "
        "file to write, e.g. {results}/corpus/jamendo_split.tsv"
    )


if JAMENDO:

    rule jamendo_manifest:
        input:
            **({"checksums": JAMENDO["checksums"]} if JAMENDO["checksums"] else {}),
            tsv=JAMENDO["tsv"],
            audio=JAMENDO["audio_root"],
        output:
            config["corpus"]["manifest"],
        log:
            f"{LOGS}/jamendo_manifest/corpus.log",
        benchmark:
            f"{BENCH}/jamendo_manifest/corpus.tsv"
        conda:
            "../../envs/audio.yaml"
        threads: 1
        resources:
            mem_mb=res("labels", "mem_mb"),
            runtime=res("labels", "runtime"),
        params:
            checksums=f"--checksums {shlex.quote(JAMENDO['checksums'])}" if JAMENDO["checksums"] else "",
            low="--low" if JAMENDO["low"] else "",
            on_bad_line=config["sources"]["on_bad_line"],
        shell:
            "onerep jamendo-manifest --tsv {input.tsv:q} --audio-root {input.audio:q} {params.checksums} "
            "{params.low} --on-bad-line {params.on_bad_line} --out {output:q} --log {log:q}"


if JAMENDO and JAMENDO["split_dir"]:

    rule jamendo_split:
        input:
            **{
                part: [f"{JAMENDO['split_dir']}/{prefix}-{part}.tsv" for prefix in JAMENDO["split_prefixes"]]
                for part in ("train", "validation", "test")
            },
        output:
            OWN_SPLIT,
        log:
            f"{LOGS}/jamendo_split/corpus.log",
        benchmark:
            f"{BENCH}/jamendo_split/corpus.tsv"
        conda:
            "../../envs/audio.yaml"
        threads: 1
        resources:
            mem_mb=res("labels", "mem_mb"),
            runtime=res("labels", "runtime"),
        params:
            on_bad_line=config["sources"]["on_bad_line"],
        shell:
            "onerep jamendo-split --train {input.train:q} --validation {input.validation:q} "
            "--test {input.test:q} --on-bad-line {params.on_bad_line} --out {output:q} --log {log:q}"


rule corpus_split:
    input:
        **({"own": OWN_SPLIT} if OWN_SPLIT else {}),
        mel=f"{R}/mel/corpus.h5",
        labels=expand(f"{LABELS}/{{source}}.h5", source=DESIGN_LABEL_SOURCES),
    output:
        f"{R}/corpus/split.tsv",
    log:
        f"{LOGS}/corpus_split/corpus_split.log",
    benchmark:
        f"{BENCH}/corpus_split/corpus_split.tsv"
    conda:
        "../../envs/audio.yaml"
    threads: 1
    resources:
        mem_mb=res("labels", "mem_mb"),
        runtime=res("labels", "runtime"),
    params:
        settings=settings("seed", "audio.valid_fraction", "sources.require_all", "design.sources"),
        own=f"--split-file {shlex.quote(OWN_SPLIT)} " if OWN_SPLIT else "",
    shell:
        "onerep corpus-split --mel-store {input.mel:q} --labels {input.labels:q} "
        "{params.own}--settings {params.settings:q} --out {output:q} --log {log:q}"


FINAL_TARGETS.extend(
    [f"{LABELS}/{s}.h5" for s in LABEL_SOURCES]
    + [f"{LABELS}/{s}.topics.tsv" for s in LABEL_SOURCES]
    + [f"{LABELS}/summary.tsv", f"{R}/corpus/split.tsv"]
)
