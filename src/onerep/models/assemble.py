"""MSS-CR representations assembled from trained SS-R runs (``train.mss_from_ssr``).

MSS-CR shares nothing between its sources, so its network is exactly one SS-R network
per source side by side; the paper notes these representations come for free. Each
source's SS-R weights become that source's branch and head.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..util import derive_seed
from .checkpoint import load_model, save_model
from .network import build_network
from .strategies import SELF
from .trainlog import LOG_COLUMNS, read_log, write_log

log = logging.getLogger("onerep.models")


def pick_ssr_runs(runs: pd.DataFrame, run_id: str) -> dict[str, str]:
    """The SS-R run used for each source of MSS-CR run ``run_id``.

    Among the SS-R runs of a source one is picked with a seed derived from the
    MSS-CR run's seed, so that replicates draw different SS-R networks.
    """
    row = runs.loc[runs["run_id"] == run_id]
    if row.empty:
        raise ValueError(f"run '{run_id}' is not in the design")
    row = row.iloc[0]
    if row["strategy"] != "msscr":
        raise ValueError(f"run '{run_id}' is {row['strategy']}, not msscr")
    ssr = runs.loc[runs["strategy"] == "ssr"]
    out = {}
    for source in str(row["sources"]).split(","):
        cands = sorted(ssr.loc[ssr["sources"] == source, "run_id"].astype(str))
        if not cands:
            raise ValueError(f"train.mss_from_ssr: run '{run_id}' needs an SS-R run of source "
                             f"'{source}', but the design has none (design.replicates_single = 0?)")
        out[source] = cands[derive_seed(int(row["seed"]), "msscr_from_ssr", source) % len(cands)]
    return out


def assemble_msscr(run_id: str, seed: int, sources: list[str], ssr_models: Mapping[str, str | Path],
                   out: str | Path, ssr_run_ids: Mapping[str, str] | None = None) -> Path:
    """Build MSS-CR run ``run_id`` from one SS-R model file per source; write model and log."""
    out = Path(out)
    missing = [s for s in sources if s not in ssr_models]
    if missing:
        raise ValueError(f"no SS-R model given for sources {missing}")
    loaded = {s: load_model(ssr_models[s]) for s in sources}
    first_meta: dict[str, Any] = loaded[sources[0]][1]
    # k only matters for labelled sources (self's head is always 2-way)
    labelled = [s for s in sources if s != SELF]
    k = loaded[labelled[0]][1]["k"] if labelled else first_meta["k"]
    for s, (_net, meta) in loaded.items():
        path = ssr_models[s]
        if meta["strategy"] != "ssr" or list(meta["sources"]) != [s]:
            raise ValueError(f"{path}: expected an SS-R model of source '{s}', got "
                             f"{meta['strategy']} of {meta['sources']}")
        if s != SELF and meta["k"] != k:
            raise ValueError(f"{path}: k = {meta['k']} differs from the other sources' k = {k}")
        for key in ("width", "crop_frames"):
            if meta.get(key) != first_meta.get(key):
                raise ValueError(f"{path}: {key} = {meta.get(key)} differs from "
                                 f"{ssr_models[sources[0]]} ({first_meta.get(key)})")
        if not (np.array_equal(meta["scaler_mean"], first_meta["scaler_mean"])
                and np.array_equal(meta["scaler_std"], first_meta["scaler_std"])):
            raise ValueError(f"{path}: trained with a different scaler than {ssr_models[sources[0]]}")
    net = build_network("msscr", sources, k=k, width=first_meta["width"])
    state = {}
    for s, (ssr_net, _) in loaded.items():
        for key, value in ssr_net.state_dict().items():
            if key.startswith("trunk."):
                state[f"branches.{s}.{key[len('trunk.'):]}"] = value
            else:
                state[key] = value
    net.load_state_dict(state)
    ids = dict(ssr_run_ids or {s: loaded[s][1].get("run_id", "") for s in sources})
    meta = {k: first_meta[k] for k in ("scaler_mean", "scaler_std", "mel_params", "crop_frames",
                                       "settings") if k in first_meta}
    meta.update(run_id=run_id, seed=int(seed), assembled_from=ids,
                loss_weights={s: 1.0 for s in sources},
                final_valid_loss={s: loaded[s][1].get("final_valid_loss", {}).get(s) for s in sources})
    save_model(out / "model.pt", net, meta)
    rows = []
    for s in sources:
        log_path = Path(ssr_models[s]).with_name("train_log.tsv")
        if log_path.exists():
            df = read_log(log_path)
            df["phase"] = "ssr:" + df["run_id"].astype(str) + ":" + df["phase"].astype(str)
            df["run_id"] = run_id
            rows.append(df)
    log_df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=LOG_COLUMNS)
    write_log(out / "train_log.tsv", log_df)
    log.info("assembled %s from SS-R runs %s", run_id, ids)
    return out / "model.pt"
