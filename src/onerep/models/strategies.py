"""The six learning strategies of the study as one table of split points (SPEC section 4).

Every network is the same stack of stages (``STAGES``): seven convolution blocks and
the fc-feature layer. A strategy says how many leading stages all sources share; the
remaining stages are copied per source (a *branch*), and every source has its own
output layer. Nothing else differs between strategies, so one builder serves all six.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The stages of the base network (Table 3), in order. ``fc`` is global average
#: pooling followed by the fc-feature layer (Linear, BatchNorm, ReLU).
STAGES: tuple[str, ...] = ("conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "fc")

#: The label-free Siamese source: pairs of crops, same track or not (2-way output).
SELF = "self"


@dataclass(frozen=True)
class Strategy:
    """One learning strategy: its id, the paper's name and where the branches split."""

    name: str
    label: str
    shared: int
    """Number of leading ``STAGES`` shared by all sources (8 = all, 0 = none)."""
    ordinal: float
    """Coding of the strategy in the analysis (SS-R 0 ... MSS-CR 1)."""
    single_source: bool = False

    @property
    def shared_stages(self) -> tuple[str, ...]:
        """The stages computed once for all sources."""
        return STAGES[: self.shared]

    @property
    def branch_stages(self) -> tuple[str, ...]:
        """The stages copied per source."""
        return STAGES[self.shared:]

    @property
    def shared_representation(self) -> bool:
        """True when the fc-feature itself is shared (representation size d, not d x m)."""
        return self.shared == len(STAGES)


#: SPEC Table 4: shared layers of each strategy.
STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("ssr", "SS-R", shared=8, ordinal=0.0, single_source=True),
        Strategy("mssr_fc", "MS-SR@FC", shared=8, ordinal=0.2),
        Strategy("mscr6", "MS-CR@6", shared=5, ordinal=0.4),
        Strategy("mscr4", "MS-CR@4", shared=3, ordinal=0.6),
        Strategy("mscr2", "MS-CR@2", shared=1, ordinal=0.8),
        Strategy("msscr", "MSS-CR", shared=0, ordinal=1.0),
    )
}


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name``; ``ValueError`` listing the known ones otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(
            f"unknown strategy '{name}'; known: {', '.join(STRATEGIES)}"
        ) from None


def check_sources(strategy: Strategy, sources: list[str] | tuple[str, ...]) -> list[str]:
    """Validate a run's source list for ``strategy`` and return it as a list."""
    sources = list(sources)
    if not sources:
        raise ValueError(f"strategy '{strategy.name}' needs at least one source")
    dup = sorted({s for s in sources if sources.count(s) > 1})
    if dup:
        raise ValueError(f"sources {dup} are listed twice in {sources}")
    bad = [s for s in sources if not s or "." in s or "," in s or s.strip() != s]
    if bad:
        raise ValueError(f"invalid source names {bad}")
    if strategy.single_source and len(sources) != 1:
        raise ValueError(f"strategy '{strategy.name}' takes exactly one source, got {sources}")
    return sources
