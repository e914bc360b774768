# Helpers of every stage (input functions, wildcard patterns, per-job settings and resources), kept apart from the rules.
import json
import os
import re
import shlex
import sys

from onerep.workflow_support import shell_prefix

# Rules call the package's `onerep` command (cluster jobs re-read this file and get the
# same prefix). By default it sits beside the Python that runs Snakemake (.venv/bin),
# which every shell command puts first on its PATH, so that `.venv/bin/snakemake ...`
# works from a shell that has not activated the environment. With
# `--software-deployment-method conda` the rules' envs/*.yaml hold the dependencies but
# not the package (Snakemake copies env files elsewhere, so `-e .` would not find this
# repository): the prefix leaves PATH to the activated environment and runs
# `python -m onerep` with this repository's src on PYTHONPATH (onerep.workflow_support).
_BIN = os.path.dirname(sys.executable)
_CONDA = any(m.name == "CONDA" for m in workflow.deployment_settings.deployment_method)
_SRC = os.path.abspath(os.path.join(workflow.current_basedir.get_path_or_uri(secret_free=True), "..", "..", "src"))
_PREFIX = shell_prefix(conda=_CONDA, venv_bin=_BIN, src_dir=_SRC)
if _PREFIX is not None:
    shell.prefix(_PREFIX)

R = config["results"]
LOGS = f"{R}/logs"
BENCH = f"{R}/benchmarks"
TARGETS = {t["name"]: t for t in config["targets"]}
DATASETS = ["corpus", *TARGETS]


def _get(path: str):
    node = config
    for part in path.split("."):
        node = node[part]
    return node


def settings(*keys: str, **extra) -> str:
    """JSON of the config keys (dotted paths) a rule depends on, for its params.

    Only these keys enter the rule's params, so changing any other key does not
    rerun the rule."""
    out = {key: _get(key) for key in keys}
    out.update(extra)
    return json.dumps(out, sort_keys=True)


def res(stage: str, key: str):
    """A resource of a stage from the config's `resources` section (falls back to `default`)."""
    section = config["resources"].get(stage) or {}
    if key in section:
        return section[key]
    return config["resources"]["default"][key]


# -- audio stage (audio.smk) --------------------------------------------------


def dataset_shards(dataset):
    """Shard ids (0000, 0001, ...) of a data set: audio.shards[dataset], else audio.shards.default."""
    return shard_ids(shard_count(config["audio"]["shards"], dataset))


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


def manifest_of_shard(wildcards):
    """The manifest of a shard's data set; a shard outside the data set's audio.shards is an error."""
    shards = dataset_shards(wildcards.dataset)
    if wildcards.shard not in shards:
        raise ValueError(
            f"shard {wildcards.shard} of data set {wildcards.dataset}: audio.shards gives it "
            f"{len(shards)} shard(s), {shards[0]} to {shards[-1]}"
        )
    return manifest_path(wildcards.dataset)


def shard_files(suffix):
    """Input function: the files mel/{dataset}/shard-NNNN<suffix> of every shard of a data set."""
    return lambda wc: [f"{MEL}/{wc.dataset}/shard-{shard}{suffix}" for shard in dataset_shards(wc.dataset)]


# -- sources stage (sources.smk) ----------------------------------------------


def label_inputs(wildcards):
    """The corpus manifest and the files one source reads (named like the CLI options):
    the corpus.* files of an MSD source, the file (and group_file) of a declared one."""
    return {"manifest": config["corpus"]["manifest"], **source_inputs(config, wildcards.source, AUDIO_DESCRIPTORS)}


def label_args(wildcards, input):
    """`--track-metadata PATH ...` for the source's inputs."""
    return " ".join(f"--{k.replace('_', '-')} {shlex.quote(str(v))}" for k, v in input.items() if k != "manifest")


def label_settings(wildcards):
    """Only what the source's z depends on: pLSA settings for count sources, GMM ones
    otherwise, and a declared source's declaration."""
    keys = ["seed", "sources.k", "sources.on_bad_line", "sources.topic_terms"]
    if reduction(config, wildcards.source) == "plsa":
        keys.append("sources.plsa_iterations")
        if "plsa_restarts" in config["sources"]:
            keys.append("sources.plsa_restarts")
    else:
        keys.append("sources.gmm_max_iter")
    if wildcards.source in config["sources"]["declared"]:
        keys.append(f"sources.declared.{wildcards.source}")
    return settings(*keys, source=wildcards.source)


# -- train stage (train.smk) --------------------------------------------------


def _run_labels(wildcards):
    sources = _RUN_ROWS[wildcards.run_id].sources.split(",")
    return [f"{R}/labels/{s}.h5" for s in sources if s != "self"]


# -- targets stage (targets.smk) ----------------------------------------------


def one_of(names):
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


# -- extract stage (extract.smk) ----------------------------------------------


def feature_targets(rep):
    """The targets a representation has features for (a user's: those it supplied)."""
    return list(USER_FEATURES[rep]) if rep in USER_FEATURES else list(TARGETS)


def feature_file(rep, target):
    return f"{FEATURES}/{rep}/{target}.h5"


# -- evaluate stage (evaluate.smk) --------------------------------------------


def _eval_job_of(wildcards):
    return _eval_job(R, wildcards.rep, TARGETS[wildcards.target], RUNS)


def _eval_inputs(wildcards):
    """The files one evaluation reads, named as the job names them."""
    return {k: v for k, v in _eval_job_of(wildcards).items() if k in _EVAL_FILE_KEYS}


# -- analysis stage (analysis.smk) --------------------------------------------


def _fig(number, caption, category, subcategory):
    """A figure's PNG as a report item (its TSV is a plain output beside it)."""
    return report(
        f"{AFIG}/{_FIGS[number]}.png",
        caption=f"../report/{caption}.rst",
        category=category,
        subcategory=subcategory,
        labels={"figure": f"Fig. {number}"},
    )


def _tsne_inputs(wildcards):
    if not _TSNE_TARGET:  # the placeholder figure reads none of them
        return {"features": [], "models": [], "labels": [], "topics": []}
    return {
        "features": [f"{R}/features/{r}/{_TSNE_TARGET}.h5" for r in _TSNE_RUNS],
        "models": [f"{R}/runs/{r}/model.pt" for r in _TSNE_RUNS],
        "labels": f"{R}/targets/{_TSNE_TARGET}/labels.tsv",
        "topics": [f"{R}/labels/{s}.topics.tsv" for s in _DESIGN_SOURCES],
    }
