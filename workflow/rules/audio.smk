# Audio stage (SPEC section 2): manifest -> shards -> acquisition -> mel per shard ->
# one mel store per data set (+ records of every track), and the corpus scaler.
#
#   rule acquire     audio/{dataset}/acquired/shard-NNNN.tsv (downloads in audio/{dataset}/files/)
#   rule mel_shard   mel/{dataset}/shard-NNNN.h5 (temporary) + shard-NNNN.records.tsv
#   rule mel_merge   mel/{dataset}.h5 + mel/{dataset}.records.tsv, in manifest order
#                    (stops past audio.max_loss_fraction)
#   rule scaler      corpus/scaler.npz from mel/corpus.h5 and corpus/split.tsv
#
# The shards are fixed at parse time: a data set has audio.shards[dataset] (else
# audio.shards.default) shards, and a track's shard is a hash of its id
# (onerep.audio.manifest.shard_of), so no checkpoint is needed (one would make Snakemake
# re-form job groups at each re-evaluation of the DAG). Each acquire job reads the whole
# manifest and keeps its shard's tracks; a shard may be empty.
#
# Each job gets only the settings it depends on: changing a mel parameter reruns the
# mel shards and what follows, a download setting or a data set's number of shards the
# acquisition; a target's manifest reruns only that data set's shards. Shard stores
# are temporary (they would double the disk use: ~60 GB for the paper's corpus); they
# are kept until their merge succeeds, so after a loss-check failure raising
# audio.max_loss_fraction reruns only the merge.
#
# audio.excerpt_seconds (centred excerpt, onerep.audio.mel.excerpt_span) enters the
# params of a data set's mel shards only where it applies (not null, and the data set
# in audio.excerpt_datasets or that list null): with the default (null) the params are
# exactly those of MEL_KEYS, as before the option existed, and nothing reruns.
from onerep.audio.manifest import shard_count, shard_ids

AUDIO = f"{R}/audio"
MEL = f"{R}/mel"
MEL_KEYS = [
    f"audio.{k}"
    for k in (
        "sample_rate",
        "n_fft",
        "hop_length",
        "n_mels",
        "fmin",
        "fmax",
        "top_db",
        "crop_frames",
        "dtype",
        "backend",
    )
]
DATASET_RE = "[a-z][a-z0-9_]*"

for _key, _names in (
    ("audio.excerpt_datasets", config["audio"].get("excerpt_datasets") or []),
    ("audio.shards", set(config["audio"]["shards"]) - {"default"}),
):
    _unknown = sorted(set(_names) - set(DATASETS))
    if _unknown:
        raise ValueError(f"{_key}: unknown data set(s) {', '.join(_unknown)}; the data sets are {', '.join(DATASETS)}")


# Shard ids of any data set (no {m,n} here: Snakemake reads braces in constraints as
# wildcards); acquire's input function holds a shard to its data set's range.
SHARD_RE = "|".join(max((dataset_shards(d) for d in DATASETS), key=len))


rule acquire:
    input:
        manifest=manifest_of_shard,
    output:
        f"{AUDIO}/{{dataset}}/acquired/shard-{{shard}}.tsv",
    log:
        f"{LOGS}/acquire/{{dataset}}-{{shard}}.log",
    benchmark:
        f"{BENCH}/acquire/{{dataset}}-{{shard}}.tsv"
    wildcard_constraints:
        dataset=DATASET_RE,
        shard=SHARD_RE,
    conda:
        "../../envs/audio.yaml"
    threads: res("acquire", "threads")
    resources:
        mem_mb=res("acquire", "mem_mb"),
        runtime=res("acquire", "runtime"),
        group_slot=1,
    params:
        settings=settings("audio.download"),
        shards=lambda wc: len(dataset_shards(wc.dataset)),
        files=f"{AUDIO}/{{dataset}}/files",
    shell:
        "onerep audio-acquire --manifest {input.manifest:q} --shard {wildcards.shard} --shards {params.shards} "
        "--out {output:q} --files {params.files:q} --settings {params.settings:q} --log {log:q}"


rule mel_shard:
    input:
        f"{AUDIO}/{{dataset}}/acquired/shard-{{shard}}.tsv",
    output:
        h5=temp(f"{MEL}/{{dataset}}/shard-{{shard}}.h5"),
        records=f"{MEL}/{{dataset}}/shard-{{shard}}.records.tsv",
    log:
        f"{LOGS}/mel_shard/{{dataset}}-{{shard}}.log",
    benchmark:
        f"{BENCH}/mel_shard/{{dataset}}-{{shard}}.tsv"
    wildcard_constraints:
        dataset=DATASET_RE,
        shard=SHARD_RE,
    conda:
        "../../envs/audio.yaml"
    threads: res("mel", "threads")
    resources:
        mem_mb=res("mel", "mem_mb"),
        runtime=res("mel", "runtime"),
        group_slot=1,
    params:
        settings=mel_settings,
    shell:
        "OMP_NUM_THREADS=1 onerep audio-mel --acquired {input:q} --out {output.h5:q} "
        "--records {output.records:q} --threads {threads} --settings {params.settings:q} --log {log:q}"


rule mel_merge:
    input:
        manifest=lambda wc: manifest_path(wc.dataset),
        h5=shard_files(".h5"),
        records=shard_files(".records.tsv"),
    output:
        h5=f"{MEL}/{{dataset}}.h5",
        records=f"{MEL}/{{dataset}}.records.tsv",
    log:
        f"{LOGS}/mel_merge/{{dataset}}.log",
    benchmark:
        f"{BENCH}/mel_merge/{{dataset}}.tsv"
    wildcard_constraints:
        dataset=DATASET_RE,
    conda:
        "../../envs/audio.yaml"
    threads: 1
    resources:
        mem_mb=res("mel", "mem_mb"),
        runtime=res("mel", "runtime"),
    params:
        settings=settings("audio.max_loss_fraction"),
    shell:
        "onerep audio-merge --dataset {wildcards.dataset} --manifest {input.manifest:q} --shards {input.h5:q} "
        "--shard-records {input.records:q} --out {output.h5:q} --out-records {output.records:q} "
        "--settings {params.settings:q} --log {log:q}"


rule scaler:
    input:
        mel=f"{MEL}/corpus.h5",
        split=f"{R}/corpus/split.tsv",
    output:
        f"{R}/corpus/scaler.npz",
    log:
        f"{LOGS}/scaler/scaler.log",
    benchmark:
        f"{BENCH}/scaler/scaler.tsv"
    conda:
        "../../envs/audio.yaml"
    threads: 1
    resources:
        mem_mb=res("mel", "mem_mb"),
        runtime=res("mel", "runtime"),
    shell:
        "onerep audio-scaler --mel {input.mel:q} --split {input.split:q} --out {output:q} --log {log:q}"


FINAL_TARGETS.extend([f"{MEL}/corpus.h5", f"{MEL}/corpus.records.tsv", f"{R}/corpus/scaler.npz"])
