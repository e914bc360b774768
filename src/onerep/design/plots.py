"""The alias-matrix heatmap of a design (the paper's Fig. 7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from onerep.util import atomic_path


def _label(column: str) -> str:
    kind, _, name = column.partition(":")
    return f"{name} (strategy)" if kind == "strategy" else name


def plot_alias(panels: dict[str, pd.DataFrame], path: str | Path, title: str = "") -> None:
    """Heatmaps of one or more alias matrices side by side, one shared colour bar; PNG at ``path``.

    ``panels`` maps a panel title (e.g. "all 425 runs") to a square correlation matrix.
    Cells hold the correlation (two decimals) when the matrix is small enough to read;
    undefined correlations (a constant column) are grey.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {k: v for k, v in panels.items() if v.shape[0] > 0}
    n = max(len(panels), 1)
    size = max((m.shape[0] for m in panels.values()), default=1)
    cell = 0.42 if size <= 16 else 0.3
    width = n * (1.6 + cell * size) + 1.2
    height = 1.9 + cell * size
    fig, axes = plt.subplots(1, n, figsize=(width, height), squeeze=False, constrained_layout=True)
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#d9d9d9")
    image = None
    for ax, (name, mat) in zip(axes[0], panels.items()):
        values = np.ma.masked_invalid(mat.to_numpy(dtype=np.float64))
        image = ax.imshow(values, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
        labels = [_label(c) for c in mat.columns]
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("main-effect column")
        ax.set_ylabel("main-effect column")
        ax.set_title(name, fontsize=10)
        if size <= 20:
            for i in range(mat.shape[0]):
                for j in range(mat.shape[1]):
                    v = mat.iat[i, j]
                    if i != j and np.isfinite(v):
                        v = 0.0 if abs(v) < 0.005 else v  # no "-.00"
                        ax.text(j, i, f"{v:.2f}".replace("0.", ".", 1), ha="center", va="center",
                                fontsize=6, color="white" if abs(v) > 0.6 else "black")
    if image is not None:
        bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
        bar.set_label("Pearson correlation")
    if title:
        fig.suptitle(title, fontsize=11)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    plt.close(fig)
