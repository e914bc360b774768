# Evaluation (SPEC section 8): each representation (a run of the design or a
# baseline) on each target -> one tidy score table per (rep, target), one job each.
# Needs RUNS / RUN_IDS from design.smk (include it first).
#
# One rule per model: evaluate_mlp (classification and regression), evaluate_tagging
# (the multi-label MLP; its jobs also carry the target's main_metric) and evaluate_als
# (recommendation). A job's params hold its own evaluation (files, run metadata) and
# only its model's settings, so changing evaluate.mlp reruns the MLP and tagging
# scores, evaluate.als the ALS scores, and adding or changing one target only that
# target's scores. The SLURM profile batches these short jobs into group jobs.
import json
import re

from onerep.evaluate.plan import baseline_reps as _eval_baseline_reps
from onerep.evaluate.plan import evaluation_job as _eval_job
from onerep.evaluate.plan import score_files as _eval_score_files
from onerep.evaluate.plan import settings_keys as _eval_settings_keys
from onerep.evaluate.plan import targets_by_model as _eval_targets_by_model

EVAL_MODEL_TARGETS = _eval_targets_by_model(config)
EVAL_REPS = [*RUN_IDS, *_eval_baseline_reps(config)]
_EVAL_FILE_KEYS = ("features", "splits", "labels", "interactions")


for _model, _names in EVAL_MODEL_TARGETS.items():
    if not _names:
        continue

    rule:
        name:
            f"evaluate_{_model}"
        input:
            unpack(_eval_inputs),
        output:
            f"{R}/scores/{{rep}}/{{target}}.tsv",
        log:
            f"{LOGS}/evaluate_{_model}/{{rep}}/{{target}}.log",
        benchmark:
            f"{BENCH}/evaluate_{_model}/{{rep}}/{{target}}.tsv"
        wildcard_constraints:
            rep=one_of(EVAL_REPS),
            target=one_of(_names),
        conda:
            "../../envs/torch.yaml"
        threads: res("evaluate", "threads")
        resources:
            mem_mb=res("evaluate", "mem_mb"),
            runtime=res("evaluate", "runtime"),
            group_slot=1,
        params:
            jobs=lambda w: json.dumps([_eval_job_of(w)], sort_keys=True),
            settings=settings(*_eval_settings_keys(TARGETS[_names[0]])),
        shell:
            "onerep evaluate --jobs {params.jobs:q} --settings {params.settings:q} --threads {threads} --log {log:q}"


FINAL_TARGETS.extend(_eval_score_files(R, config, RUN_IDS))
