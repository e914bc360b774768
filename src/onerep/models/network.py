"""The base CNN of the study (SPEC section 4, Table 3) and its multi-source variants.

One class, :class:`MultiSourceNet`, builds every strategy from the split table in
:mod:`onerep.models.strategies`: the first ``strategy.shared`` stages form the trunk,
the remaining stages are copied per source (branches), and each source has its own
output head. The ``self`` source gets the Siamese metric head: both crops of a pair go
through the same branch to the fc-feature, the two vectors are concatenated and
classified as same track / different track.

Parameter counting convention (it reproduces SPEC's 576,482 for one 50-way network):
every convolution and linear layer has a bias, every BatchNorm layer has its affine
scale and shift; running statistics are buffers and are not counted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from .strategies import SELF, STAGES, Strategy, check_sources, get_strategy

#: Output channels of conv1..conv7 at width 1 (Table 3).
CONV_CHANNELS: tuple[int, ...] = (16, 32, 64, 64, 128, 256, 256)
#: (kernel, stride, max-pool after the block) of conv1..conv7.
CONV_GEOMETRY: tuple[tuple[int, tuple[int, int], bool], ...] = (
    (5, (2, 1), True),
    (3, (1, 1), True),
    (3, (1, 1), True),
    (3, (1, 1), True),
    (3, (1, 1), True),
    (3, (1, 1), False),
    (1, (1, 1), False),
)
#: Width of the fc-feature layer (d) and of the Siamese head's hidden layer at width 1.
FC_FEATURE = 256
SELF_HIDDEN = 128
DROPOUT = 0.5
IN_CHANNELS = 2


def scaled(channels: int, width: float) -> int:
    """Channel count ``channels`` times the width multiplier (at least 1)."""
    return max(1, int(round(channels * width)))


class ConvBlock(nn.Sequential):
    """Conv2d ('same' zero padding) -> BatchNorm2d -> ReLU -> optional 2x2 max-pool.

    The pool is applied before the ReLU: max-pooling and ReLU commute exactly (ReLU is
    monotonic), so outputs and gradients are the same as in Table 3's order while the
    ReLU and its backward touch a quarter of the values.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: tuple[int, int], pool: bool):
        layers: list[tuple[str, nn.Module]] = [
            ("conv", nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)),
            ("bn", nn.BatchNorm2d(cout)),
        ]
        if pool:
            layers.append(("pool", nn.MaxPool2d(2)))
        layers.append(("relu", nn.ReLU(inplace=True)))
        super().__init__(OrderedDict(layers))


class FeatureBlock(nn.Sequential):
    """Global average pool -> Linear -> BatchNorm1d -> ReLU: the fc-feature (d values)."""

    def __init__(self, cin: int, d: int):
        super().__init__(OrderedDict([
            ("gap", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten(1)),
            ("linear", nn.Linear(cin, d)),
            ("bn", nn.BatchNorm1d(d)),
            ("relu", nn.ReLU(inplace=True)),
        ]))


class OutputHead(nn.Sequential):
    """Dropout on the fc-feature, then the fc-out layer (logits; softmax in the loss)."""

    def __init__(self, d: int, k: int):
        super().__init__(OrderedDict([
            ("dropout", nn.Dropout(DROPOUT)),
            ("linear", nn.Linear(d, k)),
        ]))


class SiameseHead(nn.Module):
    """Metric head of ``self``: [f(a) | f(b)] -> Linear -> BN -> ReLU -> Dropout -> Linear 2.

    Output column 0 means 'same track', column 1 'different tracks'.
    """

    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.dropout = nn.Dropout(DROPOUT)
        self.hidden = nn.Sequential(OrderedDict([
            ("linear", nn.Linear(2 * d, hidden)),
            ("bn", nn.BatchNorm1d(hidden)),
            ("relu", nn.ReLU(inplace=True)),
            ("dropout", nn.Dropout(DROPOUT)),
        ]))
        self.out = nn.Linear(hidden, 2)

    def forward(self, fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.out(self.hidden(self.dropout(torch.cat([fa, fb], dim=1))))


def make_stage(name: str, width: float) -> nn.Module:
    """A fresh copy of stage ``name`` of the base network at ``width``."""
    channels = [IN_CHANNELS] + [scaled(c, width) for c in CONV_CHANNELS]
    if name == "fc":
        return FeatureBlock(channels[-1], scaled(FC_FEATURE, width))
    i = STAGES.index(name)
    kernel, stride, pool = CONV_GEOMETRY[i]
    return ConvBlock(channels[i], channels[i + 1], kernel, stride, pool)


def _stack(names: Sequence[str], width: float) -> nn.Sequential:
    return nn.Sequential(OrderedDict((n, make_stage(n, width)) for n in names))


class MultiSourceNet(nn.Module):
    """A network of one strategy for an ordered list of sources.

    - ``forward(x, source)``: logits of ``source``'s head. For a 50-way source ``x`` is
      ``(B, 2, T, F)``; for ``self`` it is ``(2B, 2, T, F)``, row ``i`` paired with row
      ``B + i``, and the logits are ``(B, 2)``.
    - ``embed(x)``: the representation ``(B, D)`` in eval mode (fc-features after
      ReLU; per-source blocks concatenated in ``sources`` order for d x m strategies).
    - ``representation``: ``[(name, start, stop), ...]`` layout of the embedding.
    """

    def __init__(self, strategy: Strategy, sources: Sequence[str], k: int = 50,
                 width: float = 1.0):
        super().__init__()
        if k < 2:
            raise ValueError(f"k must be at least 2, got {k}")
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        self.strategy = strategy
        self.sources = check_sources(strategy, sources)
        self.k = int(k)
        self.width = float(width)
        self.d = scaled(FC_FEATURE, width)
        self.trunk = _stack(strategy.shared_stages, width)
        self.branches = nn.ModuleDict(
            {s: _stack(strategy.branch_stages, width) for s in self.sources}
        )
        self.heads = nn.ModuleDict({
            s: SiameseHead(self.d, scaled(SELF_HIDDEN, width)) if s == SELF else OutputHead(self.d, self.k)
            for s in self.sources
        })

    # -- layout -------------------------------------------------------------------
    @property
    def representation(self) -> list[tuple[str, int, int]]:
        """Blocks of the embedding: one shared d-block, or one d-block per source."""
        if self.strategy.shared_representation:
            return [("+".join(self.sources), 0, self.d)]
        return [(s, i * self.d, (i + 1) * self.d) for i, s in enumerate(self.sources)]

    @property
    def embedding_size(self) -> int:
        """D, the length of ``embed``'s output."""
        return self.representation[-1][2]

    def output_size(self, source: str) -> int:
        """Number of outputs of ``source``'s head."""
        return 2 if source == SELF else self.k

    # -- computation --------------------------------------------------------------
    def feature(self, x: torch.Tensor, source: str) -> torch.Tensor:
        """fc-feature of ``source``'s path (trunk then its branch), in the current mode."""
        return self.branches[source](self.trunk(x))

    def head(self, source: str, feat: torch.Tensor) -> torch.Tensor:
        """Logits of ``source`` from its fc-feature (pairs split in halves for ``self``)."""
        if source == SELF:
            half = feat.shape[0] // 2
            return self.heads[SELF](feat[:half], feat[half:])
        return self.heads[source](feat)

    def forward(self, x: torch.Tensor, source: str) -> torch.Tensor:  # noqa: D102
        if source not in self.heads:
            raise ValueError(f"source '{source}' is not one of this network's {self.sources}")
        return self.head(source, self.feature(x, source))

    def features_all(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """fc-feature of every source, the trunk computed once (current mode)."""
        h = self.trunk(x)
        return {s: self.branches[s](h) for s in self.sources}

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Representation of standardised crops ``(B, 2, T, F)`` -> ``(B, D)`` (eval mode)."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                feats = self.features_all(x)
                if self.strategy.shared_representation:
                    out = feats[self.sources[0]]
                else:
                    out = torch.cat([feats[s] for s in self.sources], dim=1)
        finally:
            self.train(was_training)
        return out.float()


def init_glorot(net: nn.Module, generator: torch.Generator | None = None) -> None:
    """Glorot-uniform weights for every conv and linear layer, zero biases (BN: 1 and 0)."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight, generator=generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def build_network(strategy: str, sources: Sequence[str] | str, k: int = 50, width: float = 1.0,
                  seed: int | None = None) -> MultiSourceNet:
    """The network of ``strategy`` for ``sources`` (a list or a comma-separated string).

    Weights are Glorot-uniform; with ``seed`` the initialisation is reproducible and
    leaves the global random state untouched.
    """
    if isinstance(sources, str):
        sources = [s for s in sources.split(",") if s]
    net = MultiSourceNet(get_strategy(strategy), sources, k=k, width=width)
    gen = None
    if seed is not None:
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(seed))
    if not any(p.is_meta for p in net.parameters()):
        init_glorot(net, gen)
    return net


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters (weights, biases, BN scale and shift)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
