"""Target data sets: loaders of the native layouts, and the train/test splits.

``load_target(target_cfg)`` reads one ``targets`` entry of the config into a
:class:`TargetData` (manifest, labels, interactions, task, report); ``make_splits``
draws the repetitions' train/test folds; ``tagging`` reads the multi-label corpora
(MTG-Jamendo, MagnaTagATune); ``files`` writes and reads the files under
``results/targets/<target>/``.
"""

from onerep.util import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "common": ("AUDIO_EXTENSIONS", "TargetData", "track_id_from_path",),
        "files": ("TAG_SEPARATOR", "join_tags", "read_interactions", "read_labels", "read_report", "read_splits",
                  "tag_matrix", "write_target",),
        "loaders": ("LOADERS", "irmas_group", "load_target", "read_gtzan_split",),
        "splits": ("filter_interactions", "make_splits", "split_seed",),
        "tagging": ("mtt_song", "read_mtt_annotations",),
    },
)
