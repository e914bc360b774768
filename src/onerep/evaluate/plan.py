"""What the workflow scores: the representations of a study and their metadata.

Used by ``workflow/rules/evaluate.smk`` at parse time; pure functions of the config
and the run table, so the rule file stays thin.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from .data import task_of
from .scores import DEFAULT_TAG_METRIC


def baseline_reps(config: dict[str, Any]) -> dict[str, list[str]]:
    """Baseline representation names -> the targets they are scored on.

    ``mfcc`` and ``rand-<strategy>`` (each strategy of the design) for every target
    when listed in ``extract.baselines``; ``user-<name>`` for the targets its
    ``extract.user_features`` entry provides.
    """
    targets = [t["name"] for t in config["targets"]]
    out: dict[str, list[str]] = {}
    baselines = config["extract"]["baselines"]
    if "mfcc" in baselines:
        out["mfcc"] = list(targets)
    if "rand" in baselines:
        for strategy in config["design"]["strategies"]:
            out[f"rand-{strategy}"] = list(targets)
    for name, files in config["extract"]["user_features"].items():
        out[f"user-{name}"] = [t for t in targets if t in files]
    return out


def run_meta(rep: str, target: str, runs: pd.DataFrame | None) -> dict[str, Any]:
    """Metadata of a representation for its score rows: run_id, target, strategy, sources, n.

    A run id of the design takes its strategy, sources and n from the run table;
    a baseline has strategy 'baseline', sources = its own name and n = 0.
    """
    if runs is not None and len(runs):
        table = runs if "run_id" in runs.columns else runs.reset_index()
        hit = table[table["run_id"].astype(str) == rep]
        if len(hit):
            row = hit.iloc[0]
            sources = row["sources"]
            if isinstance(sources, list | tuple):
                sources = ",".join(sources)
            return {"run_id": rep, "target": target, "strategy": str(row["strategy"]),
                    "sources": str(sources), "n": int(row["n"])}
    if rep == "mfcc" or rep.startswith(("rand-", "user-")):
        return {"run_id": rep, "target": target, "strategy": "baseline", "sources": rep, "n": 0}
    raise ValueError(f"representation '{rep}' is neither a run of the design nor a baseline")


def run_meta_json(rep: str, target: str, runs: pd.DataFrame | None) -> str:
    """:func:`run_meta` as the JSON string the rule passes to ``onerep evaluate --run-meta``."""
    return json.dumps(run_meta(rep, target, runs), sort_keys=True)


def settings_keys(target_cfg: dict[str, Any]) -> tuple[str, ...]:
    """The config keys an evaluation of this target depends on (for the rule's params)."""
    model = "evaluate.als" if task_of(target_cfg) == "recommendation" else "evaluate.mlp"
    return (model, "evaluate.repetitions", "seed")


def score_files(results: str, config: dict[str, Any], run_ids: list[str]) -> list[str]:
    """Every score file of the study: each run on each target, each baseline on its targets."""
    targets = [t["name"] for t in config["targets"]]
    files = [f"{results}/scores/{rep}/{t}.tsv" for rep in run_ids for t in targets]
    for rep, ts in baseline_reps(config).items():
        files += [f"{results}/scores/{rep}/{t}.tsv" for t in ts]
    return files


def evaluation_job(results: str, rep: str, target_cfg: dict[str, Any],
                   runs: pd.DataFrame | None) -> dict[str, Any]:
    """One (representation, target) evaluation as ``onerep evaluate --jobs`` takes it."""
    name = target_cfg["name"]
    task = task_of(target_cfg)
    job: dict[str, Any] = {
        "task": task,
        "features": f"{results}/features/{rep}/{name}.h5",
        "splits": f"{results}/targets/{name}/splits.tsv",
        "meta": run_meta(rep, name, runs),
        "output": f"{results}/scores/{rep}/{name}.tsv",
    }
    if task == "recommendation":
        job["interactions"] = f"{results}/targets/{name}/interactions.tsv"
    else:
        job["labels"] = f"{results}/targets/{name}/labels.tsv"
    if task == "tagging":
        job["main_metric"] = target_cfg.get("main_metric") or DEFAULT_TAG_METRIC
    return job


def targets_by_model(config: dict[str, Any]) -> dict[str, list[str]]:
    """Target names grouped by the model that scores them: ``mlp`` (classification,
    regression), ``tagging`` (the multi-label MLP) or ``als``.

    Tagging targets form their own group so that adding one to a study, or changing its
    main_metric, reruns only the tagging jobs.
    """
    out: dict[str, list[str]] = {"mlp": [], "tagging": [], "als": []}
    model = {"recommendation": "als", "tagging": "tagging"}
    for t in config["targets"]:
        out[model.get(task_of(t), "mlp")].append(t["name"])
    return out
