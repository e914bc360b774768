"""Latent-factor labels z_t of each learning source (SPEC section 3) and their files.

``make_labels`` loads one source's labels, reduces them to k-dim probability vectors
(pLSA for count matrices, TF-IDF first where asked, as for lyrics; a Gaussian mixture
for scalar values, on log2 where asked, as for bpm, and for the audio descriptors) and
returns the z of every corpus track that has labels of the source. A source of the MSD
preset is read by its loader (``MSD_PRESET``), a declared source by its format's
adapter (``generic``); both give the same in-memory labels (``loaders.CountLabels``,
``loaders.ScalarLabels``) and go through the same reductions, configured by a
:class:`Reduction`. ``write_labels`` / ``load_labels`` handle the
HDF5 file; ``topic_table`` lists the strongest terms of each topic for the
explainability figures.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onerep.util import setting

from .. import __version__
from ..util import derive_seed
from . import generic, loaders
from .audio_sources import SCALING, load_descriptors
from .catalog import AUDIO_SOURCES, GMM_SOURCES, LABEL_SOURCES, PLSA_SOURCES, SOURCE_INPUTS  # noqa: F401
from .gmm import GMMResult, fit_gmm
from .labelfile import LabelResult, label_attrs, load_labels, write_labels, write_topics  # noqa: F401
from .plsa import PLSA, top_terms

log = logging.getLogger(__name__)

#: Iterations of each of the ``sources.plsa_restarts`` pLSA starts; the most likely start
#: is continued to ``sources.plsa_iterations``.
PLSA_INIT_ITER = 10


@dataclass(frozen=True)
class Reduction:
    """How a source's labels are reduced (the same for the MSD preset and declared sources)."""

    tfidf: bool = False  # TF-IDF before pLSA (the paper's lyrics)
    log: bool = False  # the mixture on log2 of the values (the paper's bpm)
    group_dataset: str | None = None  # label-file dataset with each track's document (artist_id)
    number: str = ".4g"  # format of a component's mean and range in the topic table
    unit_label: str = ""  # shown after a component's mean


Loader = Callable[..., "loaders.CountLabels | loaders.ScalarLabels"]

#: The MSD preset: the paper's sources, each read by its loader from the ``corpus.*``
#: files ``SOURCE_INPUTS[source]`` (passed in that order, then the manifest ids and
#: on_bad_line).
MSD_PRESET: dict[str, tuple[Loader, Reduction]] = {
    "bpm": (loaders.load_tempo, Reduction(log=True, number=".1f", unit_label="bpm")),
    "year": (loaders.load_year, Reduction(number=".1f")),
    "taste": (loaders.load_taste, Reduction()),
    "tag": (loaders.load_tags, Reduction()),
    "lyrics": (loaders.load_musixmatch, Reduction(tfidf=True)),
    "cdr_tag": (loaders.load_cdr, Reduction()),
    "artist": (loaders.load_artist_tags, Reduction(group_dataset="artist_id")),
}


def _normalise_rows(z: np.ndarray) -> np.ndarray:
    """float32 rows summing to 1 (after the float32 cast)."""
    z = np.asarray(z, dtype=np.float64)
    z = z / z.sum(axis=1, keepdims=True)
    z32 = z.astype(np.float32)
    z32 /= z32.sum(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    return z32


def _clean(term: str) -> str:
    return " ".join(str(term).split())


def plsa_topic_table(components: np.ndarray, terms: np.ndarray, n: int) -> pd.DataFrame:
    """The ``n`` strongest terms of each topic with P(w|z)."""
    idx, w = top_terms(components, n)
    k, m = idx.shape
    return pd.DataFrame({
        "topic": np.repeat(np.arange(k), m),
        "rank": np.tile(np.arange(1, m + 1), k),
        "term": [_clean(terms[i]) for i in idx.ravel()],
        "weight": w.ravel(),
    })


def gmm_topic_table(res: GMMResult, names: list[str], n: int, reduction: Reduction = Reduction()
                    ) -> pd.DataFrame:
    """Components as topics: for a scalar its mean and +-1 sd range in the values' unit
    (weight = mixture weight); for a descriptor the ``n`` features whose component mean
    is furthest from the corpus mean (weight = that mean in standard units)."""
    rows = []
    k = len(res.weights)
    fmt, unit = reduction.number, f" {reduction.unit_label}" if reduction.unit_label else ""
    if res.means.shape[1] == 1:
        for t in range(k):
            mu, sd = float(res.means[t, 0]), float(res.sds[t, 0])
            mid, lo, hi = mu, mu - sd, mu + sd
            if reduction.log:  # fitted on log2 of the values
                mid, lo, hi = 2 ** mu, 2 ** (mu - sd), 2 ** (mu + sd)
            term = f"{mid:{fmt}}{unit} [{lo:{fmt}}, {hi:{fmt}}]"
            rows.append((t, 1, term, float(res.weights[t])))
    else:
        for t in range(k):
            m = res.means_std[t]
            order = np.argsort(-np.abs(m), kind="stable")[:n]
            for r, j in enumerate(order, start=1):
                rows.append((t, r, names[j], float(m[j])))
    return pd.DataFrame(rows, columns=["topic", "rank", "term", "weight"])


def _reduce_counts(data: loaders.CountLabels, source: str, reduction: Reduction, k: int, iterations: int,
                   restarts: int, seed: int, threads: int | None, n_terms: int) -> LabelResult:
    X = data.X
    method = "plsa"
    if reduction.tfidf:
        from sklearn.feature_extraction.text import TfidfTransformer

        X = TfidfTransformer(norm=None, smooth_idf=True, sublinear_tf=False).fit_transform(X).tocsr()
        method = "tfidf+plsa"
    log.info("source %s: pLSA with k=%d on %d documents x %d %ss (%d non-zeros), %d iterations, "
             "best of %d document-seeded starts", source, k, X.shape[0], X.shape[1], data.term_kind, X.nnz,
             iterations, restarts)
    model = PLSA(n_components=k, max_iter=iterations, random_state=seed, init="docs", n_init=restarts,
                 init_iter=PLSA_INIT_ITER, n_threads=threads, verbose=True)
    doc_topic = model.fit_transform(X)
    ll = model.loglik_
    log.info("source %s: log-likelihood %.6e -> %.6e (%s kernel, %.3f s per iteration)",
             source, ll[0], ll[-1], model.algorithm_, model.seconds_per_iteration_)
    z = doc_topic[data.row_of_track]
    attrs = {
        "iterations": int(model.n_iter_),
        "loglik": ll,
        "n_documents": int(X.shape[0]),
        "n_terms": int(X.shape[1]),
        "term_kind": data.term_kind,
        "plsa_kernel": model.algorithm_,
        "plsa_init": "docs",
        "plsa_restarts": restarts,
        "plsa_restart_iterations": PLSA_INIT_ITER if restarts > 1 else 0,
        "restart_logliks": model.restart_logliks_,
    }
    extra = {}
    if reduction.group_dataset:
        extra[reduction.group_dataset] = np.asarray(data.doc_ids)[data.row_of_track].astype(str)
    return LabelResult(source, method, data.track_ids, _normalise_rows(z),
                       plsa_topic_table(model.components_, data.terms, n_terms), attrs, extra)


def _reduce_values(track_ids: np.ndarray, values: np.ndarray, names: list[str], source: str,
                   k: int, max_iter: int, seed: int, n_terms: int, method: str,
                   reduction: Reduction = Reduction(), scale: str = "feature") -> LabelResult:
    log.info("source %s: Gaussian mixture with %d components on %d tracks x %d values",
             source, k, values.shape[0], 1 if values.ndim == 1 else values.shape[1])
    res = fit_gmm(values, k=k, max_iter=max_iter, seed=seed, source=source, scale=scale)
    n = values.shape[0]
    attrs = {
        "iterations": res.n_iter,
        "loglik": np.array([res.lower_bound * n]),
        "converged": res.converged,
        "gmm_dims": res.dims,
        "gmm_scale": scale,
        "gmm_warnings": json.dumps(res.warnings),
        "component_weights": res.weights,
    }
    if values.ndim == 1 or values.shape[1] == 1:
        attrs["component_means"] = res.means[:, 0]
        attrs["component_sds"] = res.sds[:, 0]
    return LabelResult(source, method, track_ids, _normalise_rows(res.z),
                       gmm_topic_table(res, names, n_terms, reduction), attrs)


def declaration(source: str, settings: dict[str, Any]) -> generic.Declared | None:
    """The declaration of ``source`` in the settings (``sources.declared.<source>``), if any."""
    entry = settings.get(f"sources.declared.{source}") or setting(settings, "sources.declared").get(source)
    return None if entry is None else generic.Declared.from_entry(source, entry)


def make_labels(source: str, manifest: str | Path, inputs: dict[str, str | Path], settings: dict[str, Any],
                threads: int | None = None) -> LabelResult:
    """Load and reduce one source. ``inputs`` maps the input keys to paths: the keys of
    ``SOURCE_INPUTS[source]`` for a built-in source, ``file`` (and ``group_file``) for a
    source declared in ``settings`` under ``sources.declared.<source>``."""
    decl = declaration(source, settings)
    if decl is None and source not in SOURCE_INPUTS:
        raise ValueError(f"unknown source {source!r}: not built in ({', '.join(LABEL_SOURCES)}) and the "
                         f"settings have no 'sources.declared.{source}'")
    needed = decl.inputs if decl is not None else SOURCE_INPUTS[source]
    missing = [key for key in needed if not inputs.get(key)]
    if missing:
        where = (f"sources.declared.{source}.{missing[0].replace('group_', 'group.')}" if decl is not None
                 else f"corpus.{missing[0]}")
        raise ValueError(f"source {source} needs the input(s) {missing} (set {where} in the config)")
    k = int(setting(settings, "sources.k"))
    iterations = int(setting(settings, "sources.plsa_iterations"))
    restarts = int(setting(settings, "sources.plsa_restarts"))
    gmm_iter = int(setting(settings, "sources.gmm_max_iter"))
    on_bad = str(setting(settings, "sources.on_bad_line"))
    n_terms = int(setting(settings, "sources.topic_terms"))
    master = setting(settings, "seed")
    seed = derive_seed(master, "labels", source)
    ids = loaders.read_manifest_ids(manifest)
    p = {key: Path(v) for key, v in inputs.items() if v}

    stats: loaders.LoadStats
    data: loaders.CountLabels | loaders.ScalarLabels | None = None
    declared: dict[str, Any] = {}
    if decl is not None:
        data, info = generic.load_declared(decl, p, ids, on_bad)
        reduction = Reduction(tfidf=decl.tfidf, log=decl.log, group_dataset="group_id" if decl.group_file else None)
        declared = {"declared": json.dumps(asdict(decl), sort_keys=True, default=str),
                    "adapter_info": json.dumps(info, sort_keys=True, default=str)}
    elif source in MSD_PRESET:
        loader, reduction = MSD_PRESET[source]
        data = loader(*(p[key] for key in SOURCE_INPUTS[source]), ids, on_bad)
    else:  # audio descriptors
        a_ids, values, names = load_descriptors(p["audio_descriptors"], source)
        stats = loaders.LoadStats(source, [str(p["audio_descriptors"])], rows=len(a_ids),
                                  labelled_ids=len(a_ids), in_manifest=len(ids))
        pos = pd.Index(a_ids).get_indexer(ids)
        stats.outside_corpus = int(len(a_ids) - (pos >= 0).sum())
        have = pos >= 0
        stats.with_labels = int(have.sum())
    if data is not None:
        stats = data.stats
    _log_stats(stats)
    if stats.with_labels == 0:
        raise ValueError(f"source {source}: no track of the manifest {manifest} has labels in "
                         f"{', '.join(stats.files)}")

    if isinstance(data, loaders.CountLabels):
        result = _reduce_counts(data, source, reduction, k, iterations, restarts, seed, threads, n_terms)
    elif isinstance(data, loaders.ScalarLabels):
        values = np.log2(data.values) if reduction.log else data.values
        method = f"gmm(log2 {data.unit})" if reduction.log else "gmm"
        result = _reduce_values(data.track_ids, values, [source], source, k, gmm_iter, seed, n_terms, method,
                                reduction)
    else:
        result = _reduce_values(ids[have], values[pos[have]], names, source, k, gmm_iter, seed,
                                n_terms, "gmm(descriptor)", scale=SCALING[source])
    result.attrs.update({
        "k": k,
        "seed": seed,
        "master_seed": master,
        "stats": json.dumps(stats.to_dict()),
        "inputs": json.dumps({key: str(v) for key, v in sorted(p.items())}),
        "manifest": str(manifest),
        "settings": json.dumps(settings, sort_keys=True),
        "onerep_version": __version__,
        **declared,
    })
    return result


def _log_stats(s: loaders.LoadStats) -> None:
    log.info(
        "source %s: %d records read; %d ids with labels, %d of them outside the corpus (ignored); "
        "%d malformed, %d unknown ids, %d missing values; %d of %d corpus tracks have labels",
        s.source, s.rows, s.labelled_ids, s.outside_corpus, s.malformed, s.unknown_ids,
        s.missing_values, s.with_labels, s.in_manifest,
    )
    for e in s.examples:
        log.warning("source %s: skipped: %s", s.source, e)
