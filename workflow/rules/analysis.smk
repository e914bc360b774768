# Analysis (SPEC section 9, the paper's Sect. 5): all scores -> standardised table ->
# mixed models with bootstrap intervals, pairwise comparisons, per-source variance
# components -> Figs. 7-16, the report's context tables, summary.md. Needs RUNS /
# RUN_IDS from design.smk (include it first). Every output of interest goes into
# Snakemake's report (`snakemake --report results/report.html`), grouped by section.
import sys

from onerep.analysis.figures import FIGURES as _FIGS
from onerep.analysis.figures import TRAINING as _TRAINING
from onerep.analysis.tsne import default_target as _tsne_default_target
from onerep.evaluate.plan import score_files as _analysis_score_files

for _key, _value, _allowed in (
    ("analysis.tsne_run", config["analysis"]["tsne_run"], RUN_IDS),
    ("analysis.tsne_target", config["analysis"]["tsne_target"], list(TARGETS)),
):
    if _value is not None and _value not in _allowed:
        sys.stderr.write(f"onerep: key '{_key}': '{_value}' is not one of the study's {_allowed}\n")
        sys.exit(1)


# The report's front page (Snakemake takes the last `report:` statement of the workflow).
report: "../report/workflow.rst"


ANALYSIS = f"{R}/analysis"
AFIG = f"{ANALYSIS}/figures"
ACTX = f"{ANALYSIS}/context"
_TSNE_TARGET = config["analysis"]["tsne_target"] or _tsne_default_target(config["targets"])
_TSNE_RUNS = [config["analysis"]["tsne_run"]] if config["analysis"]["tsne_run"] else RUN_IDS
_DESIGN_SOURCES = [s for s in config["design"]["sources"] if s != "self"]


rule analysis_collect:
    input:
        runs=f"{R}/design/runs.tsv",
        scores=_analysis_score_files(R, config, RUN_IDS),
    output:
        scores=report(
            f"{ANALYSIS}/scores.tsv", caption="../report/scores.rst", category="3. Scores", subcategory="tables"
        ),
        standardised=report(
            f"{ANALYSIS}/standardised.tsv",
            caption="../report/standardised.rst",
            category="3. Scores",
            subcategory="tables",
        ),
        info=f"{ANALYSIS}/collect.json",
    log:
        f"{LOGS}/analysis_collect/analysis_collect.log",
    benchmark:
        f"{BENCH}/analysis_collect/analysis_collect.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    params:
        out=lambda wildcards, output: os.path.dirname(output.info),
        settings=settings("extract.baselines", "extract.user_features", "design.strategies", targets=list(TARGETS)),
    shell:
        "onerep analysis collect --scores {input.scores:q} --runs {input.runs:q} "
        "--settings {params.settings:q} --out {params.out:q} --log {log:q}"


rule analysis:
    input:
        standardised=f"{ANALYSIS}/standardised.tsv",
    output:
        model1=report(
            f"{ANALYSIS}/model1.tsv", caption="../report/model1.rst", category="4. Models", subcategory="tables"
        ),
        model2=report(
            f"{ANALYSIS}/model2.tsv", caption="../report/model2.rst", category="4. Models", subcategory="tables"
        ),
        pairwise=report(
            f"{ANALYSIS}/pairwise.tsv", caption="../report/pairwise.rst", category="4. Models", subcategory="tables"
        ),
        components=report(
            f"{ANALYSIS}/variance_components.tsv",
            caption="../report/variance_components.rst",
            category="5. Sources",
            subcategory="tables",
        ),
        correlation=f"{ANALYSIS}/variance_correlation.tsv",
        boot1=f"{ANALYSIS}/bootstrap_model1.tsv",
        boot2=f"{ANALYSIS}/bootstrap_model2.tsv",
        fits=f"{ANALYSIS}/fits.json",
    log:
        f"{LOGS}/analysis/analysis.log",
    benchmark:
        f"{BENCH}/analysis/analysis.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: res("analysis", "threads")
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    params:
        out=lambda wildcards, output: os.path.dirname(output.fits),
        settings=settings("analysis.bootstrap", "seed", "analysis.bootstrap_scheme"),
    shell:
        "onerep analysis models --standardised {input.standardised:q} --settings {params.settings:q} "
        "--threads {threads} --out {params.out:q} --log {log:q}"


# Fig. 15's numbers: the networks' parameter counts per strategy and number of sources,
# counted by the models stage's code (onerep.models.summary) on the meta device.
rule analysis_parameters:
    output:
        f"{ANALYSIS}/parameters.tsv",
    log:
        f"{LOGS}/analysis_parameters/analysis_parameters.log",
    benchmark:
        f"{BENCH}/analysis_parameters/analysis_parameters.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    params:
        settings=settings("design.sources", "design.strategies", "train.width", "sources.k"),
    shell:
        "onerep analysis parameters --settings {params.settings:q} --out {output:q} --log {log:q}"


rule analysis_figures:
    input:
        standardised=f"{ANALYSIS}/standardised.tsv",
        model1=f"{ANALYSIS}/model1.tsv",
        model2=f"{ANALYSIS}/model2.tsv",
        correlation=f"{ANALYSIS}/variance_correlation.tsv",
        fits=f"{ANALYSIS}/fits.json",
        parameters=f"{ANALYSIS}/parameters.tsv",
        tsne=f"{ANALYSIS}/tsne.tsv",
        tsne_info=f"{ANALYSIS}/tsne.json",
        alias=f"{R}/design/alias.tsv",
        alias_phase3=f"{R}/design/alias_phase3.tsv",
    output:
        fig07=_fig(7, "fig07", "1. Design", "alias matrix"),
        fig08=_fig(8, "fig08", "3. Scores", "figures"),
        fig09=_fig(9, "fig09", "3. Scores", "figures"),
        fig10=_fig(10, "fig10", "3. Scores", "figures"),
        fig11=_fig(11, "fig11", "4. Models", "figures"),
        fig12=_fig(12, "fig12", "4. Models", "figures"),
        fig13=_fig(13, "fig13", "5. Sources", "figures"),
        fig14=_fig(14, "fig14", "5. Sources", "figures"),
        fig15=_fig(15, "fig15", "6. Compactness and explainability", "figures"),
        fig16=_fig(16, "fig16", "6. Compactness and explainability", "figures"),
        data=[f"{AFIG}/{_FIGS[k]}.tsv" for k in range(7, 17)],
    log:
        f"{LOGS}/analysis_figures/analysis_figures.log",
    benchmark:
        f"{BENCH}/analysis_figures/analysis_figures.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    params:
        out=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "onerep analysis figures --standardised {input.standardised:q} --model1 {input.model1:q} "
        "--model2 {input.model2:q} --correlation {input.correlation:q} --fits {input.fits:q} "
        "--parameters {input.parameters:q} --tsne {input.tsne:q} --tsne-info {input.tsne_info:q} "
        "--alias {input.alias:q} --alias-phase3 {input.alias_phase3:q} --out {params.out:q} --log {log:q}"


rule analysis_tsne:
    input:
        unpack(_tsne_inputs),
        standardised=f"{ANALYSIS}/standardised.tsv",
    output:
        table=f"{ANALYSIS}/tsne.tsv",
        info=f"{ANALYSIS}/tsne.json",
    log:
        f"{LOGS}/analysis_tsne/analysis_tsne.log",
    benchmark:
        f"{BENCH}/analysis_tsne/analysis_tsne.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    params:
        out=lambda wildcards, output: os.path.dirname(output.table),
        settings=settings(
            "analysis.tsne_run",
            "analysis.tsne_target",
            "seed",
            targets=[{"name": t["name"], "kind": t["kind"], "task": t["task"]} for t in config["targets"]],
        ),
    shell:
        "onerep analysis tsne --standardised {input.standardised:q} --features {input.features:q} "
        "--models {input.models:q} --target-labels {input.labels:q} --topics {input.topics:q} "
        "--settings {params.settings:q} --out {params.out:q} --log {log:q}"


rule analysis_context:
    input:
        runs=f"{R}/design/runs.tsv",
        records=[f"{R}/mel/{d}.records.tsv" for d in DATASETS],
        train_logs=[f"{R}/runs/{r}/train_log.tsv" for r in RUN_IDS],
        labels_summary=f"{R}/labels/summary.tsv",
    output:
        design=report(f"{ACTX}/design.tsv", caption="../report/design.rst", category="1. Design", subcategory="runs"),
        acquisition=report(
            f"{ACTX}/acquisition.tsv",
            caption="../report/acquisition.rst",
            category="2. Data and training",
            subcategory="data",
        ),
        labels=report(
            f"{ACTX}/labels.tsv", caption="../report/labels.rst", category="2. Data and training", subcategory="data"
        ),
        versions=report(
            f"{ACTX}/versions.tsv", caption="../report/versions.rst", category="7. Summary", subcategory="software"
        ),
        curves=report(
            f"{AFIG}/{_TRAINING}.png",
            caption="../report/training_curves.rst",
            category="2. Data and training",
            subcategory="training",
        ),
        curves_data=f"{AFIG}/{_TRAINING}.tsv",
    log:
        f"{LOGS}/analysis_context/analysis_context.log",
    benchmark:
        f"{BENCH}/analysis_context/analysis_context.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    params:
        out=lambda wildcards, output: os.path.dirname(output.design),
        figures=lambda wildcards, output: os.path.dirname(output.curves),
    shell:
        "onerep analysis context --runs {input.runs:q} --records {input.records:q} "
        "--train-logs {input.train_logs:q} --labels-summary {input.labels_summary:q} "
        "--out {params.out:q} --figures {params.figures:q} --log {log:q}"


rule analysis_summary:
    input:
        # the tables summary.md is written from, the figures it links (all of Figs. 7-16 and
        # the training curves, in AFIG) and, to close the analysis, the steps' other outputs
        standardised=rules.analysis_collect.output.standardised,
        collect=rules.analysis_collect.output.info,
        model1=rules.analysis.output.model1,
        model2=rules.analysis.output.model2,
        pairwise=rules.analysis.output.pairwise,
        components=rules.analysis.output.components,
        fits=rules.analysis.output.fits,
        design=rules.analysis_context.output.design,
        acquisition=rules.analysis_context.output.acquisition,
        versions=rules.analysis_context.output.versions,
        figures=[
            *rules.analysis_figures.output,
            rules.analysis_context.output.curves,
            rules.analysis_context.output.curves_data,
        ],
        other=[
            rules.analysis_collect.output.scores,
            rules.analysis.output.correlation,
            rules.analysis.output.boot1,
            rules.analysis.output.boot2,
            rules.analysis_context.output.labels,
        ],
    output:
        report(
            f"{ANALYSIS}/summary.md", caption="../report/summary.rst", category="7. Summary", subcategory="key numbers"
        ),
    log:
        f"{LOGS}/analysis_summary/analysis_summary.log",
    benchmark:
        f"{BENCH}/analysis_summary/analysis_summary.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    params:
        settings=settings("study", "demo.enabled"),
    shell:
        "onerep analysis summary --standardised {input.standardised:q} --collect {input.collect:q} "
        "--model1 {input.model1:q} --model2 {input.model2:q} --pairwise {input.pairwise:q} "
        "--components {input.components:q} --fits {input.fits:q} --design {input.design:q} "
        "--acquisition {input.acquisition:q} --versions {input.versions:q} --figures {input.figures:q} "
        "--settings {params.settings:q} --out {output:q} --log {log:q}"


FINAL_TARGETS.append(f"{ANALYSIS}/summary.md")
