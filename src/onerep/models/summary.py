"""Parameter counts and representation sizes of every strategy (the paper's Fig. 15)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    import pandas as pd

from .network import build_network, count_parameters
from .strategies import SELF, STRATEGIES

#: The eight learning sources of the paper, in its order.
PAPER_SOURCES: tuple[str, ...] = ("self", "bpm", "year", "taste", "tag", "lyrics", "cdr_tag", "artist")

COLUMNS = ("strategy", "params", "ratio_to_ssr", "representation_size")

#: Columns of :func:`parameter_counts` (Fig. 15's data); the table file adds ``width`` and ``k``.
COUNT_COLUMNS = ("strategy", "n", "params_without_self", "params_with_self", "params_mean", "ratio_to_ssr")


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


def _count(strategy: str, sources: list[str], k: int, width: float) -> int:
    """Trainable parameters of one network, built on the meta device."""
    with torch.device("meta"):
        return count_parameters(build_network(strategy, sources, k=k, width=width))


def parameter_counts(sources: Sequence[str], strategies: Sequence[str], k: int = 50,
                     width: float = 1.0) -> pd.DataFrame:
    """Trainable parameters of each strategy for n = 1..m sources, with and without ``self``
    (a DataFrame of :data:`COUNT_COLUMNS`, strategies in canonical order).

    A network's size depends on n and on whether the Siamese ``self`` head is among
    the sources; ``params_mean`` weights the two by the share of n-subsets that contain
    ``self`` (n / m when the study has it). ``ratio_to_ssr`` is relative to the
    single-source network of a k-way source (of ``self`` when that is all there is).
    """
    import pandas as pd

    sources = list(sources)
    others = [s for s in sources if s != SELF]
    has_self = SELF in sources
    m = len(sources)
    given = list(dict.fromkeys(strategies))
    rows = []
    for r in [s for s in STRATEGIES if s in given] + sorted(s for s in given if s not in STRATEGIES):
        for n in [1] if r == "ssr" else range(2, m + 1):
            counts: dict[bool, int] = {}
            for with_self in (False, True) if has_self else (False,):
                picked = ([SELF] + others[: n - 1]) if with_self else others[:n]
                if len(picked) == n:
                    counts[with_self] = _count(r, picked, k, width)
            if not counts:
                continue
            share = n / m if has_self else 0.0
            mean = (share * counts[True] + (1 - share) * counts[False] if len(counts) == 2
                    else next(iter(counts.values())))
            rows.append(dict(strategy=r, n=n, params_without_self=counts.get(False, math.nan),
                             params_with_self=counts.get(True, math.nan), params_mean=mean))
    df = pd.DataFrame(rows, columns=list(COUNT_COLUMNS[:-1]))
    ref = df[df.strategy == "ssr"]
    if not len(ref):
        base = math.nan
    elif math.isfinite(ref.params_without_self.iloc[0]):
        base = float(ref.params_without_self.iloc[0])
    else:
        base = float(ref.params_mean.iloc[0])
    df["ratio_to_ssr"] = df["params_mean"] / base
    return df


def write_parameter_counts(path: str | Path, sources: Sequence[str], strategies: Sequence[str], k: int,
                           width: float) -> Path:
    """Write :func:`parameter_counts` with its ``width`` and ``k`` as a TSV (full precision, ``NA``
    for a count that does not exist), atomically; the table Fig. 15 is drawn from."""
    from onerep.util import atomic_path

    table = parameter_counts(sources, strategies, k=k, width=width).assign(width=float(width), k=int(k))
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="NA")
    return Path(path)
