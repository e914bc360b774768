"""Cost preview of a study: training crops, forward passes, device-hours, memory plan.

Counted from the run table and the config, before any data is processed:

- **training crops** of a run (SPEC section 5): an epoch is ``L = l x m`` iterations
  (``l = ceil(train tracks / b)``, m sources; ``train.max_iterations_per_epoch`` caps
  L), each draws one source uniformly and ``b`` crops, ``2b`` for ``self`` (Siamese
  pairs). Expected crops per epoch: ``L x b x (m + s) / m`` with s = 1 when ``self``
  is a source, i.e. ``l x b x (m + s)`` without a cap. Times ``train.epochs``, plus
  ``train.probe_epochs`` for ``inverse_val_loss`` runs of several sources. MSS-CR runs
  assembled from SS-R runs (``train.mss_from_ssr``) train nothing.
- **validation passes** per epoch: every validation track through the path of each
  labelled source (one path for SS-R and MS-SR@FC, whose fc-feature is shared), and
  both crops of a validation pair through ``self``'s.
- **extraction windows** (SPEC section 7): ``ceil(T / crop)`` windows per clip of T
  frames, for every target and every representation (each run, and each ``rand-``
  baseline when ``extract.baselines`` has ``rand``); a d x m network computes m paths
  per window.

Sizes come from the best source at hand, and the preview says which: for the corpus,
``--train-tracks`` / ``--valid-tracks``, else ``<results>/corpus/split.tsv`` (after the
label filter), ``<results>/labels/summary.tsv`` (survivors), the corpus manifest
(before the label filter: an upper bound), the demo's ``demo.corpus_tracks`` (upper
bound), else the paper's MSD corpus; for a target, its mel store
``<results>/mel/<target>.h5``, else the demo's settings, else the paper's size of its
kind (SPEC section 8).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from onerep.models.strategies import SELF, STRATEGIES

from .throughput import Rates

#: The paper's corpus (SPEC section 2): MSD previews with labels of every source.
PAPER_CORPUS = (41_841, 4_649)
#: Length of an MSD preview (s), assumed when no mel store gives the frames.
PREVIEW_SECONDS = 30.0
#: Target sizes of the paper (SPEC section 8): kind -> (clips, seconds per clip).
PAPER_TARGETS: dict[str, tuple[int, float]] = {
    "gtzan": (1_000, 30.0),
    "fma": (25_000, 30.0),
    "ballroom": (3_390, 30.0),
    "irmas": (6_705, 3.0),
    "mediaeval2013": (744, 45.0),
    "lastfm1k": (27_093, 30.0),
}
#: Bytes of one frame in memory: 2 channels, float16 (times n_mels).
FRAME_BYTES_PER_BAND = 2 * 2


# ---------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorpusSize:
    """Training and validation tracks, mean frames per track, and their origins."""

    n_train: int
    n_valid: int
    frames: float
    origin: str
    frames_origin: str

    @property
    def tracks(self) -> int:
        """Training plus validation tracks (all held in memory by a training run)."""
        return self.n_train + self.n_valid


@dataclass(frozen=True)
class TargetSize:
    """Clips and windows of one target (None: unknown), and their origin."""

    name: str
    clips: int | None
    windows: int | None
    origin: str


def frames_of(seconds: float, sample_rate: int, hop: int) -> int:
    """Frames of a centred STFT of a clip of ``seconds`` (``1 + floor(samples / hop)``)."""
    return 1 + int(round(seconds * sample_rate)) // hop


def windows_of(frames: int, crop: int) -> int:
    """Windows of a clip of ``frames`` frames (``onerep.features.pool``'s even cover)."""
    return max(1, -(-int(frames) // crop))


def split_sizes(n: int, valid_fraction: float) -> tuple[int, int]:
    """(train, valid) of ``n`` tracks split like ``onerep.sources.split.make_split``."""
    n_valid = int(round(valid_fraction * n))
    if n >= 2:
        n_valid = min(max(n_valid, 1), n - 1)
    return n - n_valid, n_valid


def _store_lengths(path: Path) -> Any:
    """Frames per track of a mel store (its one reader, ``onerep.audio.store.MelStore``)."""
    from onerep.audio.store import MelStore

    return MelStore(path).lengths


def _count_manifest(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        lines = [ln for ln in fh if ln.strip() and not ln.startswith("#")]
    return len(lines) - (1 if lines and lines[0].split("\t")[0] == "track_id" else 0)


def _demo(config: Mapping[str, Any]) -> Any:
    demo = config.get("demo") or {}
    if not demo.get("enabled"):
        return None
    from onerep.demo.world import DemoSettings

    return DemoSettings.from_dict(dict(demo))


def corpus_size(config: Mapping[str, Any], train_tracks: int | None = None,
                valid_tracks: int | None = None, root: str | Path = ".") -> CorpusSize:
    """The learning corpus's training and validation tracks (origins in the module docstring)."""
    root = Path(root)
    results = root / str(config["results"])
    audio = config.get("audio") or {}
    vf = float(audio["valid_fraction"])
    demo = _demo(config)
    split = results / "corpus" / "split.tsv"
    summary = results / "labels" / "summary.tsv"
    manifest = (config.get("corpus") or {}).get("manifest")
    if train_tracks is not None:
        n_train = int(train_tracks)
        n_valid = int(valid_tracks) if valid_tracks is not None else \
            int(round(n_train * vf / (1 - vf)))
        origin = "given on the command line"
    elif split.is_file():
        from onerep.sources.split import read_split_table

        parts = read_split_table(split)["split"].value_counts()
        n_train, n_valid = int(parts.get("train", 0)), int(parts.get("valid", 0))
        origin = f"{split} (after the label filter)"
    elif summary.is_file():
        from onerep.sources.split import read_summary

        table = read_summary(summary)
        n = int(table.loc[table["source"] == "survivors", "survivors"].iloc[0])
        n_train, n_valid = split_sizes(n, vf)
        origin = f"{summary}: {n:,} survivors of the label filter, {vf:g} for validation"
    elif manifest and (root / manifest).is_file():
        n = _count_manifest(root / manifest)
        n_train, n_valid = split_sizes(n, vf)
        origin = (f"{manifest}: {n:,} tracks before the label filter (an upper bound), "
                  f"{vf:g} for validation")
    elif demo is not None:
        n_train, n_valid = split_sizes(demo.corpus_tracks, vf)
        origin = (f"demo.corpus_tracks: {demo.corpus_tracks:,} tracks before the label filter "
                  f"(an upper bound), {vf:g} for validation")
    else:
        n_train, n_valid = PAPER_CORPUS
        origin = ("assumed: the paper's MSD corpus (SPEC section 2), no split, labels summary or "
                  "manifest found; --train-tracks to change")
    if train_tracks is None and valid_tracks is not None:
        n_valid = int(valid_tracks)
    if n_train < 1:
        raise ValueError(f"the corpus has no training track ({origin})")
    store = results / "mel" / "corpus.h5"
    sr, hop = int(audio["sample_rate"]), int(audio["hop_length"])
    if store.is_file():
        frames = float(_store_lengths(store).mean())
        frames_origin = f"mean of {store}"
    else:
        seconds = (demo.clip_seconds if demo is not None else audio.get("excerpt_seconds")
                   or PREVIEW_SECONDS)
        frames = float(frames_of(seconds, sr, hop))
        frames_origin = f"{seconds:g} s clips" + ("" if demo is not None else " assumed, as MSD previews")
    return CorpusSize(n_train, n_valid, frames, origin, frames_origin)


def _demo_target(kind: str, demo: Any) -> tuple[int, float] | None:
    from onerep.demo.generator import LASTFM1K_AUDIO_FRACTION
    from onerep.demo.world import IRMAS_CLIP_SECONDS

    sec = demo.clip_seconds
    sizes = {
        "gtzan": (demo.n_genres * demo.gtzan_per_genre, sec),
        "fma": (demo.fma_tracks, sec),
        "ballroom": (demo.ballroom_tracks, sec),
        "irmas": (demo.irmas_clips, IRMAS_CLIP_SECONDS),
        "mediaeval2013": (demo.emotion_tracks, sec),
        "lastfm1k": (int(round(demo.lastfm1k_tracks * LASTFM1K_AUDIO_FRACTION)), sec),
    }
    return sizes.get(kind)


def target_sizes(config: Mapping[str, Any], root: str | Path = ".") -> list[TargetSize]:
    """Clips and windows of every target of the config (origins in the module docstring)."""
    root = Path(root)
    results = root / str(config["results"])
    audio = config.get("audio") or {}
    sr, hop = int(audio["sample_rate"]), int(audio["hop_length"])
    crop = int(audio["crop_frames"])
    demo = _demo(config)
    out = []
    for t in config.get("targets") or []:
        name, kind = str(t["name"]), str(t["kind"])
        store = results / "mel" / f"{name}.h5"
        if store.is_file():
            lengths = _store_lengths(store)
            out.append(TargetSize(name, len(lengths), sum(windows_of(n, crop) for n in lengths),
                                  f"{store}"))
            continue
        size = _demo_target(kind, demo) if demo is not None else PAPER_TARGETS.get(kind)
        if size is None:
            out.append(TargetSize(name, None, None, f"unknown size ({kind}): no mel store {store}"))
            continue
        clips, sec = size
        origin = "demo settings" if demo is not None else "the paper's size (SPEC section 8)"
        out.append(TargetSize(name, clips, clips * windows_of(frames_of(sec, sr, hop), crop),
                              f"{clips:,} x {sec:g} s, {origin}"))
    return out


# ---------------------------------------------------------------------------------
# Counts per run
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainPlan:
    """The training settings the counts depend on (the config's ``train`` section)."""

    epochs: int = 200
    batch_size: int = 128
    max_iterations_per_epoch: int | None = None
    probe_epochs: int = 0
    mss_from_ssr: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TrainPlan:
        """From the validated config's ``train`` section."""
        t = config["train"]
        probe = int(t["probe_epochs"]) if t["loss_weighting"] == "inverse_val_loss" else 0
        return cls(epochs=int(t["epochs"]), batch_size=int(t["batch_size"]),
                   max_iterations_per_epoch=t["max_iterations_per_epoch"], probe_epochs=probe,
                   mss_from_ssr=bool(t["mss_from_ssr"]))


@dataclass(frozen=True)
class RunCount:
    """What one run of the design costs in crops, passes and windows."""

    run_id: str
    phase: int
    strategy: str
    n: int
    trained: bool
    train_crops: int
    valid_passes: int
    extract_windows: int
    extract_passes: int


def _exact(x: Fraction) -> int:
    """An expected count as an integer (rounded when a cap makes it fractional)."""
    return int(x) if x.denominator == 1 else int(round(x))


def run_count(run_id: str, phase: int, strategy: str, sources: Sequence[str], corpus: CorpusSize,
              plan: TrainPlan, windows: int) -> RunCount:
    """The counts of one run (rules in the module docstring)."""
    m = len(sources)
    has_self = SELF in sources
    labelled = m - int(has_self)
    trained = not (plan.mss_from_ssr and strategy == "msscr")
    shared = STRATEGIES[strategy].shared_representation
    b = min(plan.batch_size, corpus.n_train)
    length = math.ceil(corpus.n_train / b) * m
    if plan.max_iterations_per_epoch:
        length = min(length, int(plan.max_iterations_per_epoch))
    epochs = plan.epochs + (plan.probe_epochs if m > 1 else 0)
    crops = Fraction(length * b * (m + int(has_self)), m) * epochs
    valid = 0
    if corpus.n_valid:
        valid = corpus.n_valid * (1 if shared else labelled) * int(labelled > 0)
        valid += 2 * corpus.n_valid * int(has_self and corpus.n_valid >= 2)
    return RunCount(run_id, phase, strategy, m, trained, _exact(crops) if trained else 0,
                    valid * epochs if trained else 0, windows, windows * paths(strategy, m))


def paths(strategy: str, m: int) -> int:
    """Network paths a window goes through: 1 where the fc-feature is shared, else m."""
    return 1 if STRATEGIES[strategy].shared_representation else m


# ---------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------
def _plus(seconds: float | None, amount: float, rate: float | None) -> float | None:
    """``seconds + amount / rate``; None once a needed rate is missing (or already None)."""
    if seconds is None or not amount:
        return seconds
    return None if rate is None else seconds + amount / rate


@dataclass
class PhaseCost:
    """Totals of one phase (``1``, ``2``, ``3``, ``rand``) or of the study (``total``)."""

    phase: str
    runs: int = 0
    trained: int = 0
    train_crops: int = 0
    valid_passes: int = 0
    extract_windows: int = 0
    extract_passes: int = 0
    train_seconds: float | None = 0.0
    forward_seconds: float | None = 0.0

    def add(self, c: RunCount, rates: Rates) -> None:
        """Add one run (its seconds at ``rates``; None once a rate is missing)."""
        self.runs += 1
        self.trained += int(c.trained)
        self.train_crops += c.train_crops
        self.valid_passes += c.valid_passes
        self.extract_windows += c.extract_windows
        self.extract_passes += c.extract_passes
        self.train_seconds = _plus(self.train_seconds, c.train_crops, rates.get("train", c.strategy))
        self.forward_seconds = _plus(self.forward_seconds, c.valid_passes + c.extract_passes,
                                     rates.get("forward", c.strategy))

    @property
    def hours(self) -> float | None:
        """Device-hours of training and forward passes (None when a rate is missing)."""
        if self.train_seconds is None or self.forward_seconds is None:
            return None
        return (self.train_seconds + self.forward_seconds) / 3600.0


@dataclass
class StudyCost:
    """The cost preview of a study."""

    study: str
    corpus: CorpusSize
    targets: list[TargetSize]
    plan: TrainPlan
    rates: Rates
    device: str
    runs: list[RunCount] = field(default_factory=list)
    phases: list[PhaseCost] = field(default_factory=list)

    @property
    def total(self) -> PhaseCost:
        """The sum over the phases."""
        t = PhaseCost("total")
        for p in self.phases:
            for name in ("runs", "trained", "train_crops", "valid_passes", "extract_windows",
                         "extract_passes"):
                setattr(t, name, getattr(t, name) + getattr(p, name))
            for name in ("train_seconds", "forward_seconds"):
                a, b = getattr(t, name), getattr(p, name)
                setattr(t, name, None if a is None or b is None else a + b)
        return t

    @property
    def windows_per_rep(self) -> int:
        """Extraction windows of one representation over every target of known size."""
        return sum(t.windows or 0 for t in self.targets)


def rand_sources(strategy: str, sources: Sequence[str]) -> list[str]:
    """Sources of a strategy's untrained baseline network (``onerep.features.baselines``)."""
    from onerep.features.baselines import rand_sources as _rand

    return _rand(strategy, list(sources))


def study_cost(config: Mapping[str, Any], runs: pd.DataFrame, corpus: CorpusSize,
               targets: list[TargetSize], rates: Rates, device: str) -> StudyCost:
    """Counts and device-hours of every run of ``runs`` (the design's run table),
    per phase, plus the ``rand-`` baselines."""
    plan = TrainPlan.from_config(config)
    cost = StudyCost(str(config["study"]), corpus, targets, plan, rates, device)
    windows = cost.windows_per_rep
    phases: dict[str, PhaseCost] = {}
    for r in runs.itertuples(index=False):
        c = run_count(r.run_id, int(r.phase), r.strategy, str(r.sources).split(","), corpus, plan,
                      windows)
        cost.runs.append(c)
        phases.setdefault(str(c.phase), PhaseCost(str(c.phase))).add(c, rates)
    design = config.get("design") or {}
    if "rand" in ((config.get("extract") or {}).get("baselines") or []):
        rand = PhaseCost("rand")
        for s in design.get("strategies") or []:
            m = len(rand_sources(s, design.get("sources") or []))
            rand.add(RunCount(f"rand-{s}", 0, s, m, False, 0, 0, windows, windows * paths(s, m)),
                     rates)
        if rand.runs:
            phases["rand"] = rand
    cost.phases = [phases[k] for k in sorted(phases, key=lambda k: (not k.isdigit(), k))]
    return cost


# ---------------------------------------------------------------------------------
# Memory and text
# ---------------------------------------------------------------------------------
def corpus_bytes(corpus: CorpusSize, n_mels: int) -> int:
    """Bytes of the corpus frames a training run holds (float16, 2 channels)."""
    return int(round(corpus.tracks * corpus.frames)) * n_mels * FRAME_BYTES_PER_BAND


def memory_lines(config: Mapping[str, Any], corpus: CorpusSize, device: str,
                 gpu_gb: Sequence[float]) -> list[str]:
    """The memory plan of a training run on each GPU size (``gpu_gb``: GB free), or on the
    CPU, checked against the job's ``resources.train.mem_mb``."""
    from onerep.models.device import gb, plan_placement

    n_mels = int(config["audio"]["n_mels"])
    nbytes = corpus_bytes(corpus, n_mels)
    res = config.get("resources") or {}
    mem_mb = (res.get("train") or {}).get("mem_mb", (res.get("default") or {}).get("mem_mb"))
    host = int(mem_mb) * 10**6 if mem_mb else None
    lines = [f"memory: {corpus.tracks:,} tracks x {corpus.frames:,.0f} frames ({corpus.frames_origin}) "
             f"x 2 channels x {n_mels} bands, float16 = {gb(nbytes)} per training run"
             + (f"; job memory resources.train.mem_mb = {mem_mb}" if mem_mb else "")]
    sizes: Sequence[float | None] = list(gpu_gb) if device == "cuda" else [None]
    for size in sizes:
        free = None if size is None else int(size * 1e9)
        label = "CPU" if size is None else f"{size:g} GB GPU"
        try:
            plan = plan_placement(nbytes, free, "auto", host_free=host)
            lines.append(f"  {label}: {plan.message}")
        except ValueError as exc:
            lines.append(f"  {label}: the run stops: {exc}")
    return lines


def _n(x: int | None) -> str:
    return "?" if x is None else f"{x:,}"


def _h(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:,.1f}" if x >= 10 else f"{x:.2f}"


def format_cost(cost: StudyCost, memory: Sequence[str] = ()) -> str:
    """The preview as text: sizes and their origins, one row per phase, the total."""
    c, p = cost.corpus, cost.plan
    b = min(p.batch_size, c.n_train)
    l_ = math.ceil(c.n_train / b)
    unit = "GPU-hours" if cost.device == "cuda" else "CPU-hours"
    lines = [
        f"cost preview of study '{cost.study}' on {cost.device}",
        f"  corpus: {c.n_train:,} training + {c.n_valid:,} validation tracks ({c.origin})",
        f"  training: {p.epochs} epochs" + (f" + {p.probe_epochs} probe" if p.probe_epochs else "")
        + f", batch {b}, l = ceil({c.n_train:,} / {b}) = {l_:,} batches per source per epoch"
        + (f", capped at {p.max_iterations_per_epoch} iterations" if p.max_iterations_per_epoch else "")
        + "; a self batch is b pairs (2b crops)",
        f"  targets: {_n(cost.windows_per_rep)} extraction windows per representation"
        + (" (targets of unknown size not counted)" if any(t.windows is None for t in cost.targets)
           else ""),
    ]
    name_w = max((len(t.name) for t in cost.targets), default=0)
    win_w = max((len(_n(t.windows)) for t in cost.targets), default=0)
    lines += [f"    {t.name.ljust(name_w)}  {_n(t.windows).rjust(win_w)}  {t.origin}" for t in cost.targets]
    lines.append(f"  throughput: {cost.rates.origin}")
    head = ("phase", "runs", "trained", "training crops", "validation passes",
            "extraction windows", unit)
    rows = [head] + [(q.phase, str(q.runs), str(q.trained), _n(q.train_crops), _n(q.valid_passes),
                      _n(q.extract_windows), _h(q.hours)) for q in [*cost.phases, cost.total]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        lines.append("  " + "  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                                      for i, (v, w) in enumerate(zip(r, widths))))
    lines += list(memory)
    return "\n".join(lines) + "\n"


def cost_table(cost: StudyCost) -> pd.DataFrame:
    """One row per phase and the total (machine-readable form of :func:`format_cost`)."""
    rows = [{"phase": q.phase, "runs": q.runs, "trained": q.trained, "train_crops": q.train_crops,
             "valid_passes": q.valid_passes, "extract_windows": q.extract_windows,
             "extract_passes": q.extract_passes, "train_hours": None if q.train_seconds is None
             else q.train_seconds / 3600, "forward_hours": None if q.forward_seconds is None
             else q.forward_seconds / 3600, "hours": q.hours} for q in [*cost.phases, cost.total]]
    return pd.DataFrame(rows)


def preview(config: Mapping[str, Any], runs: pd.DataFrame, *, device: str | None = None,
            samples: Sequence[str] | None = None, windows: Sequence[str] | None = None,
            table: Sequence[Any] | None = None, train_tracks: int | None = None,
            valid_tracks: int | None = None, root: str | Path = ".") -> StudyCost:
    """The :class:`StudyCost` of a validated config and its run table."""
    from .throughput import study_rates

    dev = device or study_device(config)
    t = config["train"]
    rates = study_rates(sorted(set(runs["strategy"])), dev, float(t["width"]),
                        int(t["batch_size"]), samples, windows, table)
    corpus = corpus_size(config, train_tracks, valid_tracks, root)
    return study_cost(config, runs, corpus, target_sizes(config, root), rates, dev)


def study_device(config: Mapping[str, Any]) -> str:
    """``cuda`` or ``cpu``: ``train.device``, or for ``auto`` whether training jobs ask for a GPU."""
    dev = str(config["train"]["device"])
    if dev != "auto":
        return dev
    res = config.get("resources") or {}
    return "cuda" if int((res.get("train") or {}).get("gpu", 0) or 0) > 0 else "cpu"
