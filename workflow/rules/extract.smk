# Feature extraction (SPEC section 7): one feature file per (representation, target),
# read from the target's mel store, never from the audio. Representations: every run
# of the design (RUN_IDS, from design.smk, which must be included first), the MFCC
# baseline, the untrained network of each strategy (rand-<strategy>), and the users'
# own features (user-<name>).
import re
import sys

FEATURES = f"{R}/features"
_BASELINES = config["extract"]["baselines"]
BASELINE_REPS = (["mfcc"] if "mfcc" in _BASELINES else []) + (
    [f"rand-{s}" for s in config["design"]["strategies"]] if "rand" in _BASELINES else []
)
# user-<name> -> {target: HDF5 path}
USER_FEATURES = {f"user-{n}": m for n, m in config["extract"]["user_features"].items()}
for _rep, _files in USER_FEATURES.items():
    if not re.fullmatch(r"user-[A-Za-z0-9_.-]+", _rep):
        sys.exit(f"onerep: key 'extract.user_features': name '{_rep[5:]}' may hold only letters, digits, '_', '.', '-'")
    for _t in _files:
        if _t not in TARGETS:
            sys.exit(
                f"onerep: key 'extract.user_features.{_rep[5:]}': '{_t}' is not a "
                f"target (targets: {', '.join(TARGETS)})"
            )
FEATURE_REPS = [*RUN_IDS, *BASELINE_REPS, *USER_FEATURES]


# One job per (representation, target): adding, removing or changing one target runs
# that target's jobs only, and a new run of the design only its own. Locally each job
# pays one Python + torch start-up (about 1.2 s); on a cluster the SLURM profile
# batches these short jobs into group jobs (workflow/profiles/slurm/config.yaml).
_TARGET_RE = one_of(TARGETS)


rule extract:
    input:
        model=f"{R}/runs/{{rep}}/model.pt",
        mel=f"{R}/mel/{{target}}.h5",
    output:
        f"{FEATURES}/{{rep}}/{{target}}.h5",
    log:
        f"{LOGS}/extract/{{rep}}/{{target}}.log",
    benchmark:
        f"{BENCH}/extract/{{rep}}/{{target}}.tsv"
    wildcard_constraints:
        rep=one_of(RUN_IDS),
        target=_TARGET_RE,
    conda:
        "../../envs/torch.yaml"
    threads: res("extract", "threads")
    resources:
        mem_mb=res("extract", "mem_mb"),
        runtime=res("extract", "runtime"),
        gpu=res("extract", "gpu"),
        torch_jobs=1,
        group_slot=1,
    params:
        settings=settings("extract.batch_size", "train.device"),
    shell:
        "onerep extract-features --model {input.model:q} --mel {input.mel:q} --rep {wildcards.rep} "
        "--target {wildcards.target} --settings {params.settings:q} --threads {threads} "
        "--out {output:q} --log {log:q}"


rule baseline_mfcc:
    input:
        mel=f"{R}/mel/{{target}}.h5",
    output:
        f"{FEATURES}/mfcc/{{target}}.h5",
    log:
        f"{LOGS}/baseline_mfcc/{{target}}.log",
    benchmark:
        f"{BENCH}/baseline_mfcc/{{target}}.tsv"
    wildcard_constraints:
        target=_TARGET_RE,
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=res("extract", "mem_mb"),
        runtime=res("extract", "runtime"),
    shell:
        "onerep baseline-mfcc --mel {input.mel:q} --target {wildcards.target} --out {output:q} --log {log:q}"


rule baseline_rand:
    input:
        mel=f"{R}/mel/{{target}}.h5",
        scaler=f"{R}/corpus/scaler.npz",
    output:
        f"{FEATURES}/rand-{{strategy}}/{{target}}.h5",
    log:
        f"{LOGS}/baseline_rand/{{strategy}}/{{target}}.log",
    benchmark:
        f"{BENCH}/baseline_rand/{{strategy}}/{{target}}.tsv"
    wildcard_constraints:
        strategy=one_of(config["design"]["strategies"]),
        target=_TARGET_RE,
    conda:
        "../../envs/torch.yaml"
    threads: res("extract", "threads")
    resources:
        mem_mb=res("extract", "mem_mb"),
        runtime=res("extract", "runtime"),
        gpu=res("extract", "gpu"),
        torch_jobs=1,
        group_slot=1,
    params:
        settings=settings("seed", "design.sources", "sources.k", "train.width", "extract.batch_size", "train.device"),
    shell:
        "onerep baseline-rand --strategy {wildcards.strategy} --scaler {input.scaler:q} "
        "--mel {input.mel:q} --target {wildcards.target} --settings {params.settings:q} "
        "--threads {threads} --out {output:q} --log {log:q}"


rule user_features:
    input:
        features=lambda wildcards: USER_FEATURES[f"user-{wildcards.name}"][wildcards.target],
        mel=f"{R}/mel/{{target}}.h5",
    output:
        f"{FEATURES}/user-{{name}}/{{target}}.h5",
    log:
        f"{LOGS}/user_features/{{name}}/{{target}}.log",
    benchmark:
        f"{BENCH}/user_features/{{name}}/{{target}}.tsv"
    wildcard_constraints:
        name=one_of([r[5:] for r in USER_FEATURES]),
        target=_TARGET_RE,
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=res("extract", "mem_mb"),
        runtime=res("extract", "runtime"),
    shell:
        "onerep user-features --name {wildcards.name} --input {input.features:q} "
        "--mel {input.mel:q} --target {wildcards.target} --out {output:q} --log {log:q}"


FINAL_TARGETS.extend(feature_file(rep, t) for rep in FEATURE_REPS for t in feature_targets(rep))
