# onerep: the study "One deep music representation to rule them all?" as a workflow.
#
#   snakemake --profile workflow/profiles/local --configfile config/config.yaml
#
# The config is validated (defaults filled, unknown keys and wrong types rejected)
# before any rule is defined, so a wrong key fails before any job starts.
import sys

from onerep.config import ConfigError, validate


configfile: "config/config.yaml"


try:
    _validated = validate(config)
except ConfigError as _exc:
    sys.stderr.write(f"onerep: {_exc}\n")
    sys.exit(1)
config.clear()
config.update(_validated)

# Every stage appends the files it wants built by default to FINAL_TARGETS.
FINAL_TARGETS: list[str] = []


# Every rule that runs a command names its conda environment (envs/*.yaml, used with
# --software-deployment-method conda); `all` runs none, so it names none.


rule all:
    default_target: True
    input:
        lambda wildcards: FINAL_TARGETS,


# Stage order matters: later rule files use names defined by earlier ones
# (RUNS / RUN_IDS from design.smk, FEATURE_REPS from extract.smk).
include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/audio.smk"
include: "workflow/rules/sources.smk"
include: "workflow/rules/design.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/analysis.smk"
