"""Networks and multi-source training (SPEC sections 4 and 5).

- :func:`build_network` builds any of the six strategies from one split table
  (:mod:`.strategies`); the network's ``embed(x)`` gives the representation.
- :func:`save_model` / :func:`load_model` read and write model files.
- :func:`onerep.models.train.train_run` trains one run (Algorithm 1, resumable).
"""

from .checkpoint import load_model, save_model
from .network import MultiSourceNet, build_network, count_parameters
from .strategies import SELF, STAGES, STRATEGIES, Strategy, get_strategy

__all__ = [
    "SELF", "STAGES", "STRATEGIES", "MultiSourceNet", "Strategy", "build_network",
    "count_parameters", "get_strategy", "load_model", "save_model",
]
