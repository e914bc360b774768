"""Fig. 16's numbers: a t-SNE map of one representation on a genre target, with the
strongest topic terms of each learning source (paper Sect. 5.5). The figure itself is
drawn from the table written here by :func:`onerep.analysis.figures.fig16_tsne`.

The run is the configured ``analysis.tsne_run`` or, by default, the design run with
the best mean score on the target. Each track's feature vector ([means | stds] of
the fc-features over windows) is standardised per dimension and embedded in 2-D by
scikit-learn's t-SNE (seeded). For every non-``self`` source the run learned, the
source's own output layer (fc-out) is applied to the mean fc-feature of the
source's block, giving a predicted topic distribution z_t per track (the head is
linear, so this is the mean of the per-window logits); for every class of the
target the topic most raised above its average over all tracks is named by its
strongest terms from ``labels/<source>.topics.tsv``.

The step writes ``tsne.tsv`` (one row per track: ``track_id``, ``label``, ``x``, ``y``
(float32, as t-SNE returns them), ``<source>_topic`` and ``<source>_terms`` per source,
``run_id``, ``seed``; or one ``note`` when no map is drawn) and ``tsne.json`` (target,
run, why it was chosen, notes; or the ``note``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onerep.sources.labelfile import read_topics
from onerep.targets.files import read_labels
from onerep.util import atomic_path, write_text_atomic

from . import FIGURE_TABLES

log = logging.getLogger(__name__)


def choose_run(std: pd.DataFrame, target: str, configured: str | None = None) -> tuple[str, str]:
    """The run to draw and why: the configured one, else the best design run on ``target``."""
    runs = std[(std.kind == "run") & (std.target == target)]
    if configured:
        if configured not in set(std.run_id):
            raise ValueError(f"analysis.tsne_run '{configured}' is not a scored representation of the study")
        return configured, "chosen in the config (analysis.tsne_run)"
    if runs.empty:
        raise ValueError(f"no design run was scored on target '{target}'")
    best = runs.loc[runs.y.idxmax()]
    share = float((runs.y < best.y).mean() * 100)
    return str(best.run_id), f"the best of {len(runs)} runs on {target} (better than {share:.0f}% of them)"


def default_target(targets: list[dict]) -> str | None:
    """The first GTZAN target, else the first classification target (None when there is none)."""
    for t in targets:
        if t.get("kind") == "gtzan":
            return t["name"]
    for t in targets:
        if t.get("kind") in ("fma", "ballroom", "irmas") or t.get("task") == "classification":
            return t["name"]
    return None


def read_features(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Track ids and the (N, F) feature matrix (float64) of a features file, read by the
    features stage's reader."""
    from onerep.features.extract import load_features

    ids, X, _ = load_features(path)
    return np.array(ids, dtype=str), np.asarray(X, dtype=np.float64)


def embed(X: np.ndarray, seed: int) -> np.ndarray:
    """2-D t-SNE of the standardised features (constant dimensions dropped)."""
    from sklearn.manifold import TSNE

    sd = X.std(axis=0)
    keep = sd > 1e-12
    Z = (X[:, keep] - X[:, keep].mean(axis=0)) / sd[keep]
    n = len(Z)
    if n < 5:
        raise ValueError(f"{n} tracks are too few for a t-SNE map")
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(Z)


def predicted_topics(model_path: str | Path, X: np.ndarray) -> dict[str, np.ndarray]:
    """Per source (not ``self``): the topic distribution its fc-out layer predicts for each track."""
    import torch

    from onerep.models import load_model

    net, meta = load_model(model_path)
    D = int(meta.get("embedding_size", meta["representation"][-1][2]))
    if X.shape[1] < D:
        raise ValueError(f"{model_path}: the model's representation has {D} values but the features only "
                         f"{X.shape[1]}")
    means = X[:, :D]
    out: dict[str, np.ndarray] = {}
    blocks = {name: (a, b) for name, a, b in meta["representation"]}
    shared = len(blocks) == 1 and len(net.sources) > 1
    for s in net.sources:
        if s == "self":
            continue
        a, b = next(iter(blocks.values())) if shared or s not in blocks else blocks[s]
        head = net.heads[s]
        with torch.no_grad():
            logits = head.linear(torch.as_tensor(means[:, a:b], dtype=torch.float32))
            out[s] = torch.softmax(logits, dim=1).numpy().astype(np.float64)
    return out


def class_terms(z: np.ndarray, labels: np.ndarray, topics: pd.DataFrame, n_terms: int = 3) -> pd.DataFrame:
    """For each class: the topic most raised above its overall mean, and its strongest terms."""
    overall = z.mean(axis=0)
    rows = []
    for lab in sorted(set(labels)):
        m = labels == lab
        lift = z[m].mean(axis=0) - overall
        t = int(np.argmax(lift))
        terms = topics[topics.topic == t].sort_values("rank").term.astype(str).head(n_terms).tolist()
        rows.append(dict(label=lab, topic=t, lift=float(lift[t]), terms=", ".join(terms)))
    return pd.DataFrame(rows)


def tsne_table(features: str | Path, labels_tsv: str | Path, run_id: str, seed: int,
               model: str | Path | None = None, topics: Mapping[str, str | Path] | None = None,
               n_terms: int = 3) -> tuple[pd.DataFrame, list[str]]:
    """The t-SNE map of the labelled tracks of ``features`` with each class's topic terms per
    source (the table of the module docstring), and notes on what could not be named."""
    ids, X = read_features(features)
    lab = read_labels(labels_tsv)
    lab = lab.drop_duplicates("track_id").set_index("track_id")["label"]
    keep = np.isin(ids, lab.index)
    if keep.sum() < len(ids):
        log.info("t-SNE: %d of %d tracks have no label and are left out", len(ids) - keep.sum(), len(ids))
    ids, X = ids[keep], X[keep]
    labels = lab.reindex(ids).to_numpy().astype(str)
    xy = embed(X, seed).astype(np.float32)
    notes = []
    terms: dict[str, pd.DataFrame] = {}
    if model is not None and Path(model).exists():
        try:
            z = predicted_topics(model, X)
        except (ValueError, KeyError, RuntimeError) as exc:
            z = {}
            notes.append(f"no topic terms: {exc}")
        for s, zs in z.items():
            path = (topics or {}).get(s)
            if path is None or not Path(path).exists():
                notes.append(f"no topic table for source {s}")
                continue
            table = read_topics(path)
            terms[s] = class_terms(zs, labels, table, n_terms)
    else:
        notes.append("no model file: topic terms not shown")
    data = pd.DataFrame({"track_id": ids, "label": labels, "x": xy[:, 0], "y": xy[:, 1]})
    for s, t in terms.items():
        m = t.set_index("label")
        data[f"{s}_topic"] = m.loc[labels, "topic"].to_numpy()
        data[f"{s}_terms"] = m.loc[labels, "terms"].to_numpy()
    data["run_id"] = run_id
    data["seed"] = seed
    return data, notes


#: The files of the t-SNE step, in its output folder.
TSNE_TABLE, TSNE_INFO = FIGURE_TABLES["tsne"], FIGURE_TABLES["tsne_info"]


def write_tsne(out_dir: str | Path, data: pd.DataFrame, info: dict[str, Any]) -> Path:
    """Write the t-SNE table (full precision) and its description; return the table's path."""
    out = Path(out_dir)
    with atomic_path(out / TSNE_TABLE) as tmp:
        data.to_csv(tmp, sep="\t", index=False, na_rep="NA")
    write_text_atomic(out / TSNE_INFO, json.dumps(info, indent=1, sort_keys=True) + "\n")
    return out / TSNE_TABLE


def no_map(out_dir: str | Path, reason: str) -> Path:
    """The t-SNE files when the study has no suitable target or run: a note saying why."""
    return write_tsne(out_dir, pd.DataFrame({"note": [reason]}), {"note": reason})


def read_tsne(table: str | Path, info: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The t-SNE table (coordinates back as float32, texts as written) and its description."""
    data = pd.read_csv(table, sep="\t", keep_default_na=False, na_values=[],
                       dtype={"x": np.float32, "y": np.float32, "track_id": str, "label": str, "run_id": str,
                              "note": str})
    return data, json.loads(Path(info).read_text())
