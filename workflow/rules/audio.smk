# Audio stage (SPEC section 2): manifest -> shards -> acquisition -> mel per shard ->
# one mel store per data set (+ records of every track), and the corpus scaler.
#
#   checkpoint shard_manifest  audio/{dataset}/shards/shard-NNNN.tsv   (audio.shard_size tracks)
#   rule acquire               audio/{dataset}/acquired/shard-NNNN.tsv (downloads in audio/{dataset}/files/)
#   rule mel_shard             mel/{dataset}/shard-NNNN.h5 (temporary) + shard-NNNN.records.tsv
#   rule mel_merge             mel/{dataset}.h5 + mel/{dataset}.records.tsv (stops past audio.max_loss_fraction)
#   rule scaler                corpus/scaler.npz from mel/corpus.h5 and corpus/split.tsv
#
# Each job gets only the settings it depends on: changing a mel parameter reruns the
# mel shards and what follows, a download setting the acquisition, audio.shard_size
# the sharding; a target's manifest reruns only that data set's shards. Shard stores
# are temporary (they would double the disk use: ~60 GB for the paper's corpus); they
# are kept until their merge succeeds, so after a loss-check failure raising
# audio.max_loss_fraction reruns only the merge.
#
# audio.excerpt_seconds (centred excerpt, onerep.audio.mel.excerpt_span) enters the
# params of a data set's mel shards only where it applies (not null, and the data set
# in audio.excerpt_datasets or that list null): with the default (null) the params are
# exactly those of MEL_KEYS, as before the option existed, and nothing reruns.
import os

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
SHARD_RE = "[0-9]+"  # no {m,n} here: Snakemake reads braces in constraints as wildcards

_unknown_excerpt = sorted(set(config["audio"].get("excerpt_datasets") or []) - set(DATASETS))
if _unknown_excerpt:
    raise ValueError(
        f"audio.excerpt_datasets: unknown data set(s) {', '.join(_unknown_excerpt)}; "
        f"the data sets are {', '.join(DATASETS)}"
    )


def excerpt_applies(dataset):
    """Whether audio.excerpt_seconds cuts the files of a data set."""
    audio = config["audio"]
    names = audio.get("excerpt_datasets")
    return audio.get("excerpt_seconds") is not None and (names is None or dataset in names)


def mel_settings(wildcards):
    """Params of a data set's mel shards: MEL_KEYS, plus the excerpt only where it applies."""
    if excerpt_applies(wildcards.dataset):
        return settings(*MEL_KEYS, "audio.excerpt_seconds")
    return settings(*MEL_KEYS)


def manifest_path(dataset):
    """The audio manifest of a data set: the corpus's from the config, a target's from the targets stage."""
    if dataset == "corpus":
        return config["corpus"]["manifest"]
    return f"{R}/targets/{dataset}/manifest.tsv"


def audio_shards(wildcards):
    """Shard ids of a data set (known once checkpoint shard_manifest has run)."""
    folder = checkpoints.shard_manifest.get(dataset=wildcards.dataset).output[0]
    return sorted(glob_wildcards(os.path.join(folder, "shard-{shard}.tsv")).shard)


def shard_mels(wildcards):
    return expand(f"{MEL}/{wildcards.dataset}/shard-{{shard}}.h5", shard=audio_shards(wildcards))


def shard_records(wildcards):
    return expand(f"{MEL}/{wildcards.dataset}/shard-{{shard}}.records.tsv", shard=audio_shards(wildcards))


checkpoint shard_manifest:
    input:
        manifest=lambda wc: manifest_path(wc.dataset),
    output:
        directory(f"{AUDIO}/{{dataset}}/shards"),
    params:
        settings=settings("audio.shard_size"),
    wildcard_constraints:
        dataset=DATASET_RE,
    log:
        f"{LOGS}/shard_manifest/{{dataset}}.log",
    benchmark:
        f"{BENCH}/shard_manifest/{{dataset}}.tsv"
    threads: 1
    resources:
        mem_mb=res("acquire", "mem_mb"),
        runtime=res("acquire", "runtime"),
    shell:
        "onerep audio-shard --manifest {input.manifest:q} --out {output:q} "
        "--settings {params.settings:q} --log {log:q}"


rule acquire:
    input:
        f"{AUDIO}/{{dataset}}/shards/shard-{{shard}}.tsv",
    output:
        f"{AUDIO}/{{dataset}}/acquired/shard-{{shard}}.tsv",
    params:
        settings=settings("audio.download"),
        files=f"{AUDIO}/{{dataset}}/files",
    wildcard_constraints:
        dataset=DATASET_RE,
        shard=SHARD_RE,
    log:
        f"{LOGS}/acquire/{{dataset}}-{{shard}}.log",
    benchmark:
        f"{BENCH}/acquire/{{dataset}}-{{shard}}.tsv"
    threads: res("acquire", "threads")
    resources:
        mem_mb=res("acquire", "mem_mb"),
        runtime=res("acquire", "runtime"),
    shell:
        "onerep audio-acquire --shard {input:q} --out {output:q} --files {params.files:q} "
        "--settings {params.settings:q} --log {log:q}"


rule mel_shard:
    input:
        f"{AUDIO}/{{dataset}}/acquired/shard-{{shard}}.tsv",
    output:
        h5=temp(f"{MEL}/{{dataset}}/shard-{{shard}}.h5"),
        records=f"{MEL}/{{dataset}}/shard-{{shard}}.records.tsv",
    params:
        settings=mel_settings,
    wildcard_constraints:
        dataset=DATASET_RE,
        shard=SHARD_RE,
    log:
        f"{LOGS}/mel_shard/{{dataset}}-{{shard}}.log",
    benchmark:
        f"{BENCH}/mel_shard/{{dataset}}-{{shard}}.tsv"
    threads: res("mel", "threads")
    resources:
        mem_mb=res("mel", "mem_mb"),
        runtime=res("mel", "runtime"),
    shell:
        "OMP_NUM_THREADS=1 onerep audio-mel --acquired {input:q} --out {output.h5:q} "
        "--records {output.records:q} --threads {threads} --settings {params.settings:q} --log {log:q}"


rule mel_merge:
    input:
        h5=shard_mels,
        records=shard_records,
    output:
        h5=f"{MEL}/{{dataset}}.h5",
        records=f"{MEL}/{{dataset}}.records.tsv",
    params:
        settings=settings("audio.max_loss_fraction"),
    wildcard_constraints:
        dataset=DATASET_RE,
    log:
        f"{LOGS}/mel_merge/{{dataset}}.log",
    benchmark:
        f"{BENCH}/mel_merge/{{dataset}}.tsv"
    threads: 1
    resources:
        mem_mb=res("mel", "mem_mb"),
        runtime=res("mel", "runtime"),
    shell:
        "onerep audio-merge --dataset {wildcards.dataset} --shards {input.h5:q} "
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
    threads: 1
    resources:
        mem_mb=res("mel", "mem_mb"),
        runtime=res("mel", "runtime"),
    shell:
        "onerep audio-scaler --mel {input.mel:q} --split {input.split:q} --out {output:q} --log {log:q}"


FINAL_TARGETS.extend([f"{MEL}/corpus.h5", f"{MEL}/corpus.records.tsv", f"{R}/corpus/scaler.npz"])
