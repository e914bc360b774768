"""Throughputs that turn the cost preview's counts into device-hours.

Two rates per strategy, both per network path (trunk plus one source's branch):

- ``train``: training crops per second -- forward, backward and the Adam step of a
  batch, batch sampling included; a ``self`` batch of b pairs counts 2b crops;
- ``forward``: crops (or windows) per second through one path in eval mode -- what
  validation and feature extraction cost. A network whose representation is d x m
  computes m paths per window.

They come from the command line (``--samples-per-second``, ``--windows-per-second``:
one number for all strategies, or ``strategy=number`` items), from a TSV written by
``bench/gpu.py --write-table``, or from :data:`MEASURED`, the measurements stored in
the package (``bench/gpu.py`` prints rows to add). A strategy without its own rate
takes the rate of its proxy (:data:`PROXY`): one training step of any strategy runs
the whole stack once, trunk plus one branch, so their costs differ little.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

#: Strategies whose rates are taken from another one when not measured themselves
#: (bench/gpu.py measures ssr, mssr_fc and mscr2).
PROXY: dict[str, str] = {"mscr6": "mscr2", "mscr4": "mscr2", "msscr": "mscr2", "mssr_fc": "ssr",
                         "mscr2": "ssr"}
#: A forward pass is about a third of forward + backward (0.117 of 0.35 GFLOP per
#: crop at width 1, SPEC section 4): the forward rate when only a training rate is known.
FORWARD_PER_TRAIN = 3.0


@dataclass(frozen=True)
class Measured:
    """One measured row: rates of ``strategy`` on ``device`` at ``width`` and ``batch``."""

    device: str
    hardware: str
    strategy: str
    width: float
    batch: int
    mode: str
    train: float
    forward: float
    measured: str


_DEMO_CPU = ("Intel Xeon (AVX-512) VM, 2 cores shared, 1 thread, torch 2.13.0+cpu", 0.25, 32, "eager",
             "2026-12-06 bench/gpu.py --device cpu --width 0.25 --batch 32 --threads 1 "
             "--modes eager --steps 40 (a loaded shared VM: +-30 %)")
#: Rows measured with bench/gpu.py (``--write-table`` writes them). Only the demo's
#: CPU setting (width 0.25, batch 32, one thread per job) is measured: no GPU has run
#: bench/gpu.py yet, so there is no ``cuda`` row and a GPU study's preview needs
#: --samples-per-second (or --throughput-table) until the first measurement is added.
MEASURED: tuple[Measured, ...] = (
    Measured("cpu", _DEMO_CPU[0], "ssr", *_DEMO_CPU[1:4], train=512.0, forward=977.0,
             measured=_DEMO_CPU[4]),
    Measured("cpu", _DEMO_CPU[0], "mscr2", *_DEMO_CPU[1:4], train=463.0, forward=3_615.0,
             measured=_DEMO_CPU[4]),
    Measured("cpu", _DEMO_CPU[0], "mssr_fc", *_DEMO_CPU[1:4], train=508.0, forward=977.0,
             measured=_DEMO_CPU[4]),
)

COLUMNS = tuple(f.name for f in fields(Measured))


def write_table(path: str | Path, rows: Iterable[Measured]) -> None:
    """Write measured rows as a TSV (:data:`COLUMNS`)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([getattr(r, c) for c in COLUMNS])


def read_table(path: str | Path) -> list[Measured]:
    """Read a TSV written by :func:`write_table`; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"throughput table not found: {path}")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    out = []
    for i, r in enumerate(rows, start=2):
        missing = [c for c in COLUMNS if not r.get(c)]
        if missing:
            raise ValueError(f"{path}, line {i}: no value for {', '.join(missing)}")
        try:
            out.append(Measured(r["device"], r["hardware"], r["strategy"], float(r["width"]),
                                int(r["batch"]), r["mode"], float(r["train"]), float(r["forward"]),
                                r["measured"]))
        except ValueError as exc:
            raise ValueError(f"{path}, line {i}: {exc}") from None
    return out


def parse_rates(items: Sequence[str] | None, what: str) -> tuple[float | None, dict[str, float]]:
    """``["50000"]`` or ``["ssr=52000", "mscr2=30000"]`` -> (rate for all, per strategy)."""
    from .greedy import STRATEGIES

    default: float | None = None
    per: dict[str, float] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep:
            key, value = "", key
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"{what}: '{item}' is not a number or strategy=number") from None
        if not rate > 0:
            raise ValueError(f"{what}: rates must be positive, got '{item}'")
        if not key:
            default = rate
        elif key in STRATEGIES:
            per[key] = rate
        else:
            raise ValueError(f"{what}: unknown strategy '{key}' in '{item}'; known: {', '.join(STRATEGIES)}")
    return default, per


@dataclass(frozen=True)
class Rates:
    """Training and forward rates per strategy, and where they come from."""

    train: Mapping[str, float]
    forward: Mapping[str, float]
    origin: str

    def get(self, kind: str, strategy: str) -> float | None:
        """The ``train`` or ``forward`` rate of ``strategy``, through :data:`PROXY`."""
        table = self.train if kind == "train" else self.forward
        seen = set()
        while strategy not in table and strategy in PROXY and strategy not in seen:
            seen.add(strategy)
            strategy = PROXY[strategy]
        return table.get(strategy)

    @property
    def known(self) -> bool:
        """Whether any training rate is known."""
        return bool(self.train)


def _per_strategy(strategies: Sequence[str], default: float | None, per: Mapping[str, float]
                  ) -> dict[str, float]:
    """``per``, plus ``default`` for every strategy of ``strategies`` that ``per`` lacks."""
    out = {s: default for s in strategies if default is not None}
    out.update(per)
    return out


def study_rates(strategies: Sequence[str], device: str, width: float, batch: int,
                samples: Sequence[str] | None = None, windows: Sequence[str] | None = None,
                table: Sequence[Measured] | None = None) -> Rates:
    """The rates of ``strategies``: the command line's, else the table's (``table`` or
    :data:`MEASURED`) rows of ``device`` at ``width`` and ``batch`` (best mode)."""
    s_all, s_per = parse_rates(samples, "--samples-per-second")
    w_all, w_per = parse_rates(windows, "--windows-per-second")
    given_forward = _per_strategy(strategies, w_all, w_per)
    if s_all is not None or s_per:
        train = _per_strategy(strategies, s_all, s_per)
        origin = "given on the command line"
        if not given_forward:
            origin += (f"; forward passes at {FORWARD_PER_TRAIN:g}x the training rate "
                       "(no --windows-per-second)")
            return Rates(train, {s: FORWARD_PER_TRAIN * r for s, r in train.items()}, origin)
        return Rates(train, given_forward, origin)
    rows = [r for r in (MEASURED if table is None else table)
            if r.device == device and r.width == float(width) and r.batch == int(batch)]
    if not rows:
        return Rates({}, {}, f"not measured for {device} at width {width:g}, batch {batch} "
                             "(give --samples-per-second, or --throughput-table from bench/gpu.py)")
    best: dict[str, Measured] = {}
    for r in rows:
        if r.strategy not in best or r.train > best[r.strategy].train:
            best[r.strategy] = r
    forward = {s: r.forward for s, r in best.items()}
    forward.update(given_forward)
    hardware = sorted({r.hardware for r in best.values()})
    modes = ", ".join(f"{s} {r.mode}" for s, r in sorted(best.items()))
    return Rates({s: r.train for s, r in best.items()}, forward,
                 f"measured on {'; '.join(hardware)} ({modes})")
