# Evaluation (SPEC section 8): each representation (a run of the design or a
# baseline) on each target -> one tidy score table per (rep, target).
# Needs RUNS / RUN_IDS from design.smk (include it first).
import json
import re

from onerep.evaluate.plan import baseline_reps as _eval_baseline_reps
from onerep.evaluate.plan import evaluation_job as _eval_job
from onerep.evaluate.plan import score_files as _eval_score_files
from onerep.evaluate.plan import settings_keys as _eval_settings_keys
from onerep.evaluate.plan import targets_by_model as _eval_targets_by_model


# Runs and the all-target baselines (mfcc, rand-*) are scored in one job per
# (representation, model): one process (one scikit-learn / torch start-up) covers every
# target of that model. MLP targets (classification and regression: evaluate_mlp;
# tagging: evaluate_tagging, whose jobs also carry each target's main_metric) depend
# only on evaluate.mlp, the recommendation target only on evaluate.als, so changing one
# model's settings reruns only its jobs.
# A user's features cover the targets they supply: one job per (user rep, target).
EVAL_MODEL_TARGETS = _eval_targets_by_model(config)
EVAL_GROUPED_REPS = [*RUN_IDS, *[r for r in _eval_baseline_reps(config) if not r.startswith("user-")]]
EVAL_USER_REPS = [r for r in _eval_baseline_reps(config) if r.startswith("user-")]


def _eval_alternatives(names):
    return "|".join(re.escape(n) for n in names) or "(?!)"


def _grouped_jobs(rep, model):
    return [_eval_job(R, rep, TARGETS[t], RUNS) for t in EVAL_MODEL_TARGETS[model]]


def _grouped_inputs(model):
    def inputs(wildcards):
        jobs = _grouped_jobs(wildcards.rep, model)
        return [j[k] for j in jobs for k in ("features", "splits", "labels", "interactions") if k in j]

    return inputs


for _model, _names in EVAL_MODEL_TARGETS.items():
    if not _names:
        continue

    rule:
        name:
            f"evaluate_{_model}"
        input:
            _grouped_inputs(_model),
        output:
            [f"{R}/scores/{{rep}}/{t}.tsv" for t in _names],
        wildcard_constraints:
            rep=_eval_alternatives(EVAL_GROUPED_REPS),
        params:
            jobs=lambda w, model=_model: json.dumps(_grouped_jobs(w.rep, model), sort_keys=True),
            settings=settings(*_eval_settings_keys(TARGETS[_names[0]])),
        log:
            f"{LOGS}/evaluate_{_model}/{{rep}}.log",
        benchmark:
            f"{BENCH}/evaluate_{_model}/{{rep}}.tsv"
        threads: res("evaluate", "threads")
        resources:
            mem_mb=res("evaluate", "mem_mb"),
            runtime=res("evaluate", "runtime"),
        shell:
            "onerep evaluate --jobs {params.jobs:q} --settings {params.settings:q}"
            " --threads {threads} --log {log:q}"


def _user_job(wildcards):
    return _eval_job(R, wildcards.rep, TARGETS[wildcards.target], RUNS)


rule evaluate:
    input:
        lambda w: {k: v for k, v in _user_job(w).items() if k in ("features", "splits", "labels", "interactions")},
    output:
        f"{R}/scores/{{rep}}/{{target}}.tsv",
    wildcard_constraints:
        rep=_eval_alternatives(EVAL_USER_REPS),
        target=_eval_alternatives(TARGETS),
    params:
        jobs=lambda w: json.dumps([_user_job(w)], sort_keys=True),
        settings=lambda w: settings(*_eval_settings_keys(TARGETS[w.target])),
    log:
        f"{LOGS}/evaluate/{{rep}}/{{target}}.log",
    benchmark:
        f"{BENCH}/evaluate/{{rep}}/{{target}}.tsv"
    threads: res("evaluate", "threads")
    resources:
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    shell:
        "onerep evaluate --jobs {params.jobs:q} --settings {params.settings:q}"
        " --threads {threads} --log {log:q}"


FINAL_TARGETS.extend(_eval_score_files(R, config, RUN_IDS))
