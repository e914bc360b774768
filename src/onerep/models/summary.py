"""Parameter counts and representation sizes of every strategy (the paper's Fig. 15)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .network import build_network, count_parameters
from .strategies import SELF, STRATEGIES

#: The eight learning sources of the paper, in its order.
PAPER_SOURCES: tuple[str, ...] = ("self", "bpm", "year", "taste", "tag", "lyrics", "cdr_tag", "artist")

COLUMNS = ("strategy", "params", "ratio_to_ssr", "representation_size")


def summary_rows(sources: Sequence[str] = PAPER_SOURCES, k: int = 50, width: float = 1.0
                 ) -> list[dict[str, Any]]:
    """One row per strategy for ``sources``: parameters, ratio to SS-R, representation size.

    SS-R is the single-source network of one labelled (k-way) source, or of ``self``
    when that is the only source; it is also the reference of the ratio. The networks
    are built on the meta device (no memory, no initialisation).
    """
    sources = list(sources)
    if not sources:
        raise ValueError("model-summary needs at least one source")
    reference = next((s for s in sources if s != SELF), sources[0])
    rows = []
    with torch.device("meta"):
        ref_params = count_parameters(build_network("ssr", [reference], k=k, width=width))
        for name in STRATEGIES:
            net = build_network(name, [reference] if name == "ssr" else sources, k=k, width=width)
            params = count_parameters(net)
            rows.append({"strategy": name, "params": params, "ratio_to_ssr": params / ref_params,
                         "representation_size": net.embedding_size})
    return rows


def format_summary(rows: list[dict[str, Any]], tsv: bool = False) -> str:
    """The rows as tab-separated text (``tsv``) or an aligned table."""
    if tsv:
        lines = ["\t".join(COLUMNS)]
        lines += [f"{r['strategy']}\t{r['params']}\t{r['ratio_to_ssr']:.4f}\t{r['representation_size']}"
                  for r in rows]
        return "\n".join(lines) + "\n"
    cells = [list(COLUMNS)] + [[r["strategy"], f"{r['params']:,}", f"{r['ratio_to_ssr']:.2f}",
                                str(r["representation_size"])] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    out = []
    for c in cells:
        out.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths))))
    return "\n".join(out) + "\n"
