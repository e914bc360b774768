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


def _one_of(names):
    """Wildcard regex matching exactly these names (nothing when empty)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def _inside(path, folder):
    """Whether path lies inside folder (such a file comes with the folder)."""
    a, b = os.path.abspath(path), os.path.abspath(folder)
    return os.path.commonpath([a, b]) == b


def mtg_split_files(cfg):
    """The split files an mtg_jamendo target reads (its subset's, of its split); subset
    `all` without autotagging-<part>.tsv reads the three category files."""
    data = cfg["root"]
    if os.path.isdir(os.path.join(data, "data", "splits")):
        data = os.path.join(data, "data")
    folder = os.path.join(data, "splits", f"split-{int(cfg.get('split') or 0)}")
    subset = cfg.get("subset") or "top50tags"
    prefixes = ["autotagging"] if subset == "all" else [f"autotagging_{subset}"]
    if (
        subset == "all"
        and not os.path.exists(os.path.join(folder, "autotagging-train.tsv"))
        and all(
            os.path.exists(os.path.join(folder, f"autotagging_{c}-train.tsv"))
            for c in ("genre", "instrument", "moodtheme")
        )
    ):
        prefixes = [f"autotagging_{c}" for c in ("genre", "instrument", "moodtheme")]
    return [os.path.join(folder, f"{p}-{part}.tsv") for p in prefixes for part in ("train", "validation", "test")]


def target_inputs(wildcards):
    """The target's data folder and its extra files (split list, audio manifest, CSV,
    the audio folder of MTG-Jamendo / MagnaTagATune); for MTG-Jamendo the split files it
    reads instead of its data folder."""
    cfg = TARGETS[wildcards.target]
    if cfg["kind"] == "mtg_jamendo":
        return {"splits": mtg_split_files(cfg), "audio_root": cfg["audio_root"]}
    files = {"root": cfg["root"]} if cfg["root"] else {}
    for key in ("split_file", "audio_manifest", "labels_csv", "audio_root"):
        # audio_root has no schema default (targets without it keep their settings JSON)
        if cfg.get(key) and not (cfg["root"] and _inside(cfg[key], cfg["root"])):
            files[key] = cfg[key]
    return files


def target_settings(wildcards):
    """JSON of the target's config entry (only it reruns the target's files)."""
    return json.dumps(TARGETS[wildcards.target], sort_keys=True)


def split_inputs(wildcards):
    files = {
        "labels": f"{TARGET_DIR}/{wildcards.target}/labels.tsv",
        "report": f"{TARGET_DIR}/{wildcards.target}/report.tsv",
        "mel": f"{R}/mel/{wildcards.target}.h5",
    }
    if wildcards.target in REC_TARGETS:
        files["interactions"] = f"{TARGET_DIR}/{wildcards.target}/interactions.tsv"
    return files


def split_settings(wildcards):
    if wildcards.target in REC_TARGETS:
        return settings(
            "seed",
            "evaluate.repetitions",
            "evaluate.als.min_user_tracks",
            "evaluate.als.min_track_users",
            "evaluate.als.holdout_fraction",
        )
    return settings("seed", "evaluate.repetitions", "evaluate.test_fraction")


def split_interactions_arg(wildcards):
    if wildcards.target in REC_TARGETS:
        return f"--interactions {TARGET_DIR}/{wildcards.target}/interactions.tsv"
    return ""


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
        target=_one_of(PLAIN_TARGETS),
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
        target=_one_of(REC_TARGETS),


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
        target=_one_of(TARGETS),
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
