"""Networks and multi-source training (SPEC sections 4 and 5).

- :func:`build_network` builds any of the six strategies from one split table
  (:mod:`.strategies`); the network's ``embed(x)`` gives the representation.
- :func:`save_model` / :func:`load_model` read and write model files.
- :func:`onerep.models.train.train_run` trains one run (Algorithm 1, resumable).
"""

from onerep.util import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "checkpoint": ("load_model", "save_model",),
        "network": ("MultiSourceNet", "build_network", "count_parameters",),
        "strategies": ("SELF", "STAGES", "STRATEGIES", "Strategy", "get_strategy",),
    },
)
