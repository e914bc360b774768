"""Target data sets: loaders of the native layouts, and the train/test splits.

``load_target(target_cfg)`` reads one ``targets`` entry of the config into a
:class:`TargetData` (manifest, labels, interactions, task, report); ``make_splits``
draws the repetitions' train/test folds; ``files`` writes and reads the files under
``results/targets/<target>/``.
"""

from .common import AUDIO_EXTENSIONS, TargetData, track_id_from_path
from .files import read_interactions, read_labels, read_report, read_splits, write_target
from .loaders import LOADERS, irmas_group, load_target, read_gtzan_split
from .splits import filter_interactions, make_splits, split_seed

__all__ = [
    "AUDIO_EXTENSIONS",
    "LOADERS",
    "TargetData",
    "filter_interactions",
    "irmas_group",
    "load_target",
    "make_splits",
    "read_gtzan_split",
    "read_interactions",
    "read_labels",
    "read_report",
    "read_splits",
    "split_seed",
    "track_id_from_path",
    "write_target",
]
