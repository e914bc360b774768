"""MLP classification, regression and tagging on frozen features (SPEC section 8).

Two hidden layers of 256 ReLU units, Adam, at most 200 iterations (scikit-learn's
``MLPClassifier`` / ``MLPRegressor`` with their other defaults, as in the paper),
features standardised with the mean and deviation of the training part only.
Accuracy for classification, R^2 for regression. A regression target is standardised
the same way (training part only) and predictions mapped back: R^2 does not depend on
the target's scale, but 200 Adam steps from a zero-centred output do. On MediaEval's
1-9 ratings without it the fit ends far from the target's mean and R^2 is strongly
negative for every representation, which measures the optimiser, not the features.
Tagging (multi-label) fits the same classifier to the track x tag 0/1 matrix, which
gives one sigmoid output per tag and binary cross-entropy; the scores are macro
ROC-AUC and macro PR-AUC (average precision) over the tags that have both positive and
negative tracks in the test part (:func:`macro_tag_scores`; a tag without either is
left out, as scikit-learn cannot score it and the MagnaTagATune literature drops it).
``backend: torch`` runs the same models in torch (``mlp_torch.py``; on the GPU when
there is one).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class MLPParams:
    """Model settings (config ``evaluate.mlp``)."""

    hidden: tuple[int, ...] = (256, 256)
    max_iter: int = 200
    learning_rate: float = 0.001
    backend: str = "sklearn"

    @classmethod
    def from_settings(cls, mlp: dict) -> MLPParams:
        """Take the keys of an ``evaluate.mlp`` settings dict."""
        out = cls()
        if "hidden" in mlp:
            out.hidden = tuple(int(h) for h in mlp["hidden"])
        for key in ("max_iter", "learning_rate", "backend"):
            if key in mlp:
                setattr(out, key, mlp[key])
        if out.backend not in ("sklearn", "torch"):
            raise ValueError(f"evaluate.mlp.backend '{out.backend}' is unknown; use 'sklearn' or 'torch'")
        return out


def build_mlp(task: str, params: MLPParams, seed: int):
    """A standardise-then-MLP scikit-learn pipeline for ``task`` seeded with ``seed``."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    kwargs = dict(
        hidden_layer_sizes=params.hidden,
        activation="relu",
        solver="adam",
        learning_rate_init=params.learning_rate,
        max_iter=params.max_iter,
        random_state=seed,
    )
    if task in ("classification", "tagging"):
        model = MLPClassifier(**kwargs)
    elif task == "regression":
        model = MLPRegressor(**kwargs)
    else:
        raise ValueError(f"no MLP for task '{task}'")
    # The scaler is fitted inside the pipeline, so on the training part only.
    return make_pipeline(StandardScaler(), model)


def fit_score(
    task: str, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
    params: MLPParams, seed: int,
) -> tuple[str, float]:
    """Fit on the training part, score on the test part: ``("accuracy" | "r2", value)``."""
    from sklearn.metrics import r2_score

    if task == "classification" and len(np.unique(y_train)) < 2:
        raise ValueError(f"the training part has a single class {np.unique(y_train)}; cannot fit a classifier")
    if task == "regression":
        y_train, unscale = standardise_target(y_train)
        pred = unscale(_predict(task, X_train, y_train, X_test, params, seed))
        return "r2", float(r2_score(y_test, pred))
    from sklearn.metrics import accuracy_score

    return "accuracy", float(accuracy_score(y_test, _predict(task, X_train, y_train, X_test, params, seed)))


def standardise_target(y: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """``(y - mean) / std`` of the training targets and the map back (std 0 counts as 1)."""
    y = np.asarray(y, dtype=np.float64)
    mean, std = float(y.mean()), float(y.std())
    std = std if std > 0 else 1.0
    return (y - mean) / std, lambda p: np.asarray(p, dtype=np.float64) * std + mean


#: The metrics of a tagging score, in the order the score rows list them.
TAG_METRICS = ("roc_auc", "pr_auc")


@dataclass(frozen=True)
class TagScores:
    """Macro ROC-AUC and PR-AUC over the ``scored`` tags; ``dropped`` tags lacked
    positive or negative test tracks."""

    roc_auc: float
    pr_auc: float
    scored: int
    dropped: int


def macro_tag_scores(y_true: np.ndarray, y_score: np.ndarray) -> TagScores:
    """Macro ROC-AUC and average precision over the tags (columns) that have both
    positive and negative tracks; the unweighted mean of the per-tag scores, as
    scikit-learn's ``average='macro'`` on those columns."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.ndim != 2 or y_true.shape != y_score.shape:
        raise ValueError(f"tag matrices differ in shape: truth {y_true.shape}, scores {y_score.shape}")
    positives = (y_true > 0).sum(axis=0)
    keep = np.flatnonzero((positives > 0) & (positives < y_true.shape[0]))
    if not len(keep):
        raise ValueError(f"none of the {y_true.shape[1]} tags has both positive and negative test tracks")
    roc = [roc_auc_score(y_true[:, j] > 0, y_score[:, j]) for j in keep]
    ap = [average_precision_score(y_true[:, j] > 0, y_score[:, j]) for j in keep]
    return TagScores(float(np.mean(roc)), float(np.mean(ap)), len(keep), y_true.shape[1] - len(keep))


def fit_tagging(X_train: np.ndarray, Y_train: np.ndarray, X_test: np.ndarray, Y_test: np.ndarray,
                params: MLPParams, seed: int) -> TagScores:
    """Fit the tagger on the training part (0/1 matrix, one column per tag), score the test part."""
    Y_train = np.asarray(Y_train, dtype=np.int8)
    if not Y_train.any():
        raise ValueError("no training track has any tag; cannot fit a tagger")
    return macro_tag_scores(Y_test, _predict("tagging", X_train, Y_train, X_test, params, seed))


def _predict(task: str, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
             params: MLPParams, seed: int) -> np.ndarray:
    """Fit the MLP of ``params.backend`` on the training part and predict the test part
    (tagging: each tag's probability, tracks x tags)."""
    if params.backend == "torch":
        from .mlp_torch import fit_predict

        return fit_predict(task, X_train, y_train, X_test, params.hidden, params.max_iter,
                           params.learning_rate, seed)
    from sklearn.exceptions import ConvergenceWarning

    pipe = build_mlp(task, params, seed)
    # One tag: scikit-learn treats a single 0/1 column as a binary problem (one logistic
    # unit; predict_proba gives 1 - p and p).
    single_tag = task == "tagging" and y_train.shape[1] == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        pipe.fit(X_train, y_train[:, 0] if single_tag else y_train)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        log.info("MLP stopped at max_iter=%d before converging (as in the paper's fixed budget)", params.max_iter)
    if task == "tagging":
        proba = pipe.predict_proba(X_test)
        return proba[:, 1:] if single_tag else proba
    return pipe.predict(X_test)
