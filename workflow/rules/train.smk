# Training (SPEC sections 4 and 5): one job per run of the design (RUNS / RUN_IDS from
# design.smk, which must be included first). A job resumes its own checkpoint
# ({R}/runs/<run>/checkpoint.pt, deliberately not a declared output: Snakemake deletes
# the outputs of an interrupted job before rerunning it, and the checkpoint must
# survive that). With train.mss_from_ssr, MSS-CR runs are assembled from the SS-R runs
# of their sources instead of being trained.
import json
import re

RUNS_DIR = f"{R}/runs"
_RUN_ROWS = {r.run_id: r for r in RUNS.itertuples(index=False)}
ASSEMBLED_RUNS = [r for r in RUN_IDS if config["train"]["mss_from_ssr"] and _RUN_ROWS[r].strategy == "msscr"]
TRAINED_RUNS = [r for r in RUN_IDS if r not in set(ASSEMBLED_RUNS)]

# What the trained parameters depend on (a change reruns training and what follows) ...
_TRAIN_KEYS = [
    "train.epochs",
    "train.batch_size",
    "train.learning_rate",
    "train.weight_decay",
    "train.width",
    "train.loss_weighting",
    "train.max_iterations_per_epoch",
    "audio.crop_frames",
]
if config["train"]["loss_weighting"] == "inverse_val_loss":
    _TRAIN_KEYS.append("train.probe_epochs")
TRAIN_SETTINGS = settings(*_TRAIN_KEYS)
# ... and how a job runs (device, compilation, precision, checkpoint interval): passed
# as a resource, like threads, not as params, so changing them reruns nothing.
TRAIN_RUNTIME = json.dumps(
    {f"train.{k}": config["train"][k] for k in ("checkpoint_every", "device", "compile", "precision")},
    sort_keys=True,
)
_GPU_MODEL = res("train", "gpu_model")


rule train:
    input:
        mel=f"{R}/mel/corpus.h5",
        split=f"{R}/corpus/split.tsv",
        scaler=f"{R}/corpus/scaler.npz",
        labels=_run_labels,
    output:
        model=f"{RUNS_DIR}/{{run_id}}/model.pt",
        log=f"{RUNS_DIR}/{{run_id}}/train_log.tsv",
    log:
        f"{LOGS}/train/{{run_id}}.log",
    benchmark:
        f"{BENCH}/train/{{run_id}}.tsv"
    wildcard_constraints:
        run_id=one_of(TRAINED_RUNS),
    conda:
        "../../envs/torch.yaml"
    threads: res("train", "threads")
    resources:
        **({"gpu_model": _GPU_MODEL} if _GPU_MODEL else {}),
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
        torch_jobs=1,
        run_settings=TRAIN_RUNTIME,
    params:
        settings=TRAIN_SETTINGS,
        strategy=lambda w: _RUN_ROWS[w.run_id].strategy,
        sources=lambda w: _RUN_ROWS[w.run_id].sources,
        seed=lambda w: int(_RUN_ROWS[w.run_id].seed),
        out=lambda w: f"{RUNS_DIR}/{w.run_id}",
    shell:
        "onerep train --run-id {wildcards.run_id} --strategy {params.strategy} "
        "--sources {params.sources} --seed {params.seed} --mel {input.mel:q} "
        "--split {input.split:q} --scaler {input.scaler:q} --labels {input.labels:q} "
        "--settings {params.settings:q} --runtime {resources.run_settings:q} --threads {threads} "
        "--out {params.out:q} --log {log:q}"


if ASSEMBLED_RUNS:
    from onerep.models.assemble import pick_ssr_runs

    _SSR_OF = {r: pick_ssr_runs(RUNS, r) for r in ASSEMBLED_RUNS}

    rule assemble_msscr:
        input:
            models=lambda w: [f"{RUNS_DIR}/{r}/model.pt" for r in _SSR_OF[w.run_id].values()],
            logs=lambda w: [f"{RUNS_DIR}/{r}/train_log.tsv" for r in _SSR_OF[w.run_id].values()],
        output:
            model=f"{RUNS_DIR}/{{run_id}}/model.pt",
            log=f"{RUNS_DIR}/{{run_id}}/train_log.tsv",
        log:
            f"{LOGS}/assemble_msscr/{{run_id}}.log",
        benchmark:
            f"{BENCH}/assemble_msscr/{{run_id}}.tsv"
        wildcard_constraints:
            run_id=one_of(ASSEMBLED_RUNS),
        conda:
            "../../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=res("default", "mem_mb"),
            runtime=res("default", "runtime"),
        params:
            sources=lambda w: _RUN_ROWS[w.run_id].sources,
            seed=lambda w: int(_RUN_ROWS[w.run_id].seed),
            ssr=lambda w: " ".join(f"{s}={r}={RUNS_DIR}/{r}/model.pt" for s, r in _SSR_OF[w.run_id].items()),
            out=lambda w: f"{RUNS_DIR}/{w.run_id}",
        shell:
            "onerep assemble-msscr --run-id {wildcards.run_id} --sources {params.sources} "
            "--seed {params.seed} --ssr {params.ssr} --out {params.out:q} --log {log:q}"


FINAL_TARGETS.extend(f"{RUNS_DIR}/{r}/model.pt" for r in RUN_IDS)
