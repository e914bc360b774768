# Target data sets (SPEC section 8): each target's native layout -> manifest, labels
# (and Last.fm-1K interactions), then the train/test splits of every repetition.
# The audio stage turns targets/{target}/manifest.tsv into mel/{target}.h5; the split
# keeps only tracks with mel features, so every representation is scored on the
# same tracks and the same folds.
import json
import os
import re

TARGET_DIR = f"{R}/targets"
REC_TARGETS = [t for t, c in TARGETS.items() if c["kind"] == "lastfm1k"]
PLAIN_TARGETS = [t for t in TARGETS if t not in REC_TARGETS]


rule target_manifest:
    input:
        unpack(target_inputs),
    output:
        manifest=f"{TARGET_DIR}/{{target}}/manifest.tsv",
        labels=f"{TARGET_DIR}/{{target}}/labels.tsv",
        report=f"{TARGET_DIR}/{{target}}/report.tsv",
    log:
        f"{LOGS}/target_manifest/{{target}}.log",
    benchmark:
        f"{BENCH}/target_manifest/{{target}}.tsv"
    wildcard_constraints:
        target=one_of(PLAIN_TARGETS),
    conda:
        "../../envs/audio.yaml"
    threads: res("targets", "threads")
    resources:
        mem_mb=res("targets", "mem_mb"),
        runtime=res("targets", "runtime"),
    params:
        settings=target_settings,
        out_dir=lambda wildcards: f"{TARGET_DIR}/{wildcards.target}",
    shell:
        "onerep target-manifest --settings {params.settings:q} --out-dir {params.out_dir:q} --log {log:q}"


# Last.fm-1K also writes its listening counts.
use rule target_manifest as target_manifest_interactions with:
    output:
        manifest=f"{TARGET_DIR}/{{target}}/manifest.tsv",
        labels=f"{TARGET_DIR}/{{target}}/labels.tsv",
        report=f"{TARGET_DIR}/{{target}}/report.tsv",
        interactions=f"{TARGET_DIR}/{{target}}/interactions.tsv",
    log:
        f"{LOGS}/target_manifest_interactions/{{target}}.log",
    benchmark:
        f"{BENCH}/target_manifest_interactions/{{target}}.tsv"
    wildcard_constraints:
        target=one_of(REC_TARGETS),


rule target_splits:
    input:
        unpack(split_inputs),
    output:
        f"{TARGET_DIR}/{{target}}/splits.tsv",
    log:
        f"{LOGS}/target_splits/{{target}}.log",
    benchmark:
        f"{BENCH}/target_splits/{{target}}.tsv"
    wildcard_constraints:
        target=one_of(TARGETS),
    conda:
        "../../envs/audio.yaml"
    threads: res("targets", "threads")
    resources:
        mem_mb=res("targets", "mem_mb"),
        runtime=res("targets", "runtime"),
    params:
        settings=split_settings,
        interactions=split_interactions_arg,
    shell:
        "onerep target-splits --target {wildcards.target} --labels {input.labels:q} "
        "--report {input.report:q} --mel {input.mel:q} {params.interactions} "
        "--settings {params.settings:q} --out {output:q} --log {log:q}"


FINAL_TARGETS.extend(f"{R}/mel/{t}.h5" for t in TARGETS)
FINAL_TARGETS.extend(f"{TARGET_DIR}/{t}/splits.tsv" for t in TARGETS)
