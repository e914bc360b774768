"""Evaluation of representations on target data sets (SPEC section 8).

- ``mlp``: MLP classification (accuracy) and regression (R^2) on features
  standardised on the training part.
- ``als``: content-aware weighted matrix factorisation by vectorised ALS.
- ``recommend``: cold-start recommendation (filter, hold out, fit, nDCG@k).
- ``ranking``: nDCG@k with the ideal DCG truncated at k.
- ``scores``: one representation on one target -> the tidy score table.
- ``plan``: which representations the workflow scores, and their metadata.

The names below are loaded on first use, so that importing the package (as the
``onerep`` command line does for every command) stays cheap.
"""

from onerep.util import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "als": ("ALSModel", "ALSParams", "als_loss", "fit_content_als", "kcore_filter"),
        "data": ("load_features", "load_interactions", "load_labels", "task_of"),
        "plan": ("baseline_reps", "run_meta", "score_files"),
        "ranking": ("ideal_dcg", "ndcg_at_k", "ndcg_from_ranked"),
        "recommend": ("evaluate_split",),
        "scores": ("PROTOCOLS", "SCORE_COLUMNS", "evaluate_representation", "read_score_file", "read_scores",
                   "score_protocol", "write_scores"),
    },
)
