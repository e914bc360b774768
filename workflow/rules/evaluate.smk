# Evaluation (SPEC section 8): each representation (a run of the design or a
# baseline) on each target -> one tidy score table per (rep, target).
# MLP targets depend only on evaluate.mlp, the recommendation target only on
# evaluate.als (plus evaluate.repetitions and seed), so changing one model's settings
# reruns only its jobs. Needs RUNS / RUN_IDS from design.smk (include it first).
from onerep.evaluate.data import task_of as _eval_task_of
from onerep.evaluate.plan import run_meta_json as _eval_run_meta_json
from onerep.evaluate.plan import score_files as _eval_score_files
from onerep.evaluate.plan import settings_keys as _eval_settings_keys

EVAL_TASKS = {name: _eval_task_of(t) for name, t in TARGETS.items()}


def _evaluate_inputs(wildcards):
    target = wildcards.target
    files = {
        "features": f"{R}/features/{wildcards.rep}/{target}.h5",
        "splits": f"{R}/targets/{target}/splits.tsv",
    }
    if EVAL_TASKS[target] == "recommendation":
        files["interactions"] = f"{R}/targets/{target}/interactions.tsv"
    else:
        files["labels"] = f"{R}/targets/{target}/labels.tsv"
    return files


def _evaluate_data_args(wildcards, input):
    if EVAL_TASKS[wildcards.target] == "recommendation":
        return f"--interactions {input.interactions}"
    return f"--labels {input.labels}"


rule evaluate:
    input:
        unpack(_evaluate_inputs),
    output:
        f"{R}/scores/{{rep}}/{{target}}.tsv",
    wildcard_constraints:
        rep="[^/]+",
        target="|".join(TARGETS) or "NO_TARGETS",
    params:
        task=lambda w: EVAL_TASKS[w.target],
        data=_evaluate_data_args,
        settings=lambda w: settings(*_eval_settings_keys(TARGETS[w.target])),
        meta=lambda w: _eval_run_meta_json(w.rep, w.target, RUNS),
    log:
        f"{LOGS}/evaluate/{{rep}}/{{target}}.log",
    benchmark:
        f"{BENCH}/evaluate/{{rep}}/{{target}}.tsv"
    group:
        "evaluate"
    threads: res("evaluate", "threads")
    resources:
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    shell:
        "onerep evaluate --features {input.features} --splits {input.splits} {params.data}"
        " --task {params.task} --settings {params.settings:q} --run-meta {params.meta:q}"
        " --threads {threads} -o {output} --log {log}"


FINAL_TARGETS.extend(_eval_score_files(R, config, RUN_IDS))
