"""Fig. 16: a t-SNE map of one representation on a genre target, with the strongest
topic terms of each learning source (paper Sect. 5.5).

The run is the configured ``analysis.tsne_run`` or, by default, the design run with
the best mean score on the target. Each track's feature vector ([means | stds] of
the fc-features over windows) is standardised per dimension and embedded in 2-D by
scikit-learn's t-SNE (seeded). For every non-``self`` source the run learned, the
source's own output layer (fc-out) is applied to the mean fc-feature of the
source's block, giving a predicted topic distribution z_t per track (the head is
linear, so this is the mean of the per-window logits); for every class of the
target the topic most raised above its average over all tracks is named by its
strongest terms from ``labels/<source>.topics.tsv``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .coding import strategy_label
from .figures import FIGURES, _plt, save

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
    """Track ids and the (N, F) feature matrix of a features file."""
    import h5py

    path = Path(path)
    with h5py.File(path, "r") as h5:
        for name in ("track_id", "features"):
            if name not in h5:
                raise ValueError(f"{path}: dataset '{name}' missing")
        ids = np.array([str(t) for t in h5["track_id"].asstr()[:]])
        X = np.asarray(h5["features"][:], dtype=np.float64)
    if len(ids) != len(X):
        raise ValueError(f"{path}: {len(ids)} track ids but {len(X)} feature rows")
    return ids, X


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


def fig16_tsne(features: str | Path, labels_tsv: str | Path, out_dir: str | Path, run_id: str, target: str,
               reason: str, seed: int, model: str | Path | None = None,
               topics: Mapping[str, str | Path] | None = None, n_terms: int = 3) -> Path:
    """Draw Fig. 16 (t-SNE with per-class topic terms) and write its data."""
    plt = _plt()
    ids, X = read_features(features)
    lab = pd.read_csv(labels_tsv, sep="\t", dtype={"track_id": str, "label": str})
    lab = lab.drop_duplicates("track_id").set_index("track_id")["label"]
    keep = np.isin(ids, lab.index)
    if keep.sum() < len(ids):
        log.info("t-SNE: %d of %d tracks have no label and are left out", len(ids) - keep.sum(), len(ids))
    ids, X = ids[keep], X[keep]
    labels = lab.reindex(ids).to_numpy().astype(str)
    xy = embed(X, seed)
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
            table = pd.read_csv(path, sep="\t", dtype={"term": str})
            terms[s] = class_terms(zs, labels, table, n_terms)
    else:
        notes.append("no model file: topic terms not shown")
    classes = sorted(set(labels))
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    fig, (ax, tx) = plt.subplots(1, 2, figsize=(13.5, 6.6), gridspec_kw={"width_ratios": [1.6, 1]},
                                 constrained_layout=True)
    for i, c in enumerate(classes):
        m = labels == c
        ax.scatter(xy[m, 0], xy[m, 1], s=12, color=cmap(i % cmap.N), label=c, alpha=0.8, linewidths=0)
        cx, cy = np.median(xy[m], axis=0)
        ax.text(cx, cy, str(i + 1), fontsize=9, weight="bold", ha="center", va="center",
                bbox=dict(boxstyle="circle,pad=0.2", fc="white", ec=cmap(i % cmap.N), alpha=0.85))
    ax.set_xlabel("t-SNE dimension 1")
    ax.set_ylabel("t-SNE dimension 2")
    ax.legend(title="class", loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=min(5, len(classes)),
              frameon=False, markerscale=1.8)
    run_name = run_id.split("_")[0]
    ax.set_title(f"{target}: representation {run_id} ({strategy_label(run_name)})\n{reason}", fontsize=9)
    tx.set_axis_off()
    lines = []
    for i, c in enumerate(classes):
        parts = [f"{s}: {t.set_index('label').loc[c, 'terms']}" for s, t in terms.items()]
        lines.append(f"{i + 1}. {c}" + ("\n     " + "\n     ".join(parts) if parts else ""))
    header = "strongest topic terms per class\n(topic most raised by the class, per source)\n" if terms else ""
    text = header + "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")
    tx.text(0.0, 1.0, text, va="top", ha="left", fontsize=8 if len(classes) <= 10 else 6.5, family="monospace",
            transform=tx.transAxes)
    fig.suptitle("t-SNE map of one representation with the topic terms its sources predict")
    data = pd.DataFrame({"track_id": ids, "label": labels, "x": xy[:, 0], "y": xy[:, 1]})
    for s, t in terms.items():
        m = t.set_index("label")
        data[f"{s}_topic"] = m.loc[labels, "topic"].to_numpy()
        data[f"{s}_terms"] = m.loc[labels, "terms"].to_numpy()
    data["run_id"] = run_id
    data["seed"] = seed
    return save(fig, out_dir, FIGURES[16], data)


def placeholder(out_dir: str | Path, reason: str) -> Path:
    """An explanatory Fig. 16 when the study has no suitable target or run."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 2.5), constrained_layout=True)
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"Fig. 16 not drawn:\n{reason}", ha="center", va="center", wrap=True)
    return save(fig, out_dir, FIGURES[16], pd.DataFrame({"note": [reason]}))
