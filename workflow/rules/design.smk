# Experimental design (SPEC section 6): which representations the study trains.
# The run table depends only on the config, so it is computed at parse time (no
# checkpoint): RUNS / RUN_IDS drive the training stage's job list. The rule writes the
# same table with its alias matrix (Fig. 7) and balance counts for the record.
import sys

from onerep.design import runs_table

try:
    RUNS = runs_table(config)
except ValueError as _exc:
    sys.stderr.write(f"onerep: {_exc}\n")
    sys.exit(1)
RUN_IDS = list(RUNS.run_id)
DESIGN = f"{R}/design"


rule design:
    output:
        runs=f"{DESIGN}/runs.tsv",
        alias=f"{DESIGN}/alias.tsv",
        alias_phase3=f"{DESIGN}/alias_phase3.tsv",
        heatmap=f"{DESIGN}/alias.png",
        balance=f"{DESIGN}/balance.tsv",
        summary=f"{DESIGN}/summary.json",
    log:
        f"{LOGS}/design/design.log",
    benchmark:
        f"{BENCH}/design/design.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: res("design", "threads")
    resources:
        mem_mb=res("design", "mem_mb"),
        runtime=res("design", "runtime"),
    params:
        settings=settings("design", "seed"),
        out=lambda wildcards, output: os.path.dirname(output.runs),
    shell:
        "onerep design --settings {params.settings:q} --out {params.out:q} --log {log}"


FINAL_TARGETS.extend(
    [
        f"{DESIGN}/runs.tsv",
        f"{DESIGN}/alias.tsv",
        f"{DESIGN}/alias_phase3.tsv",
        f"{DESIGN}/alias.png",
        f"{DESIGN}/balance.tsv",
        f"{DESIGN}/summary.json",
    ]
)
