"""The simulated demo world: a seeded stand-in for MSD and the target data sets.

A latent world (``world.py``: genres, artists, tracks, users) is rendered to audio
(``arrange.py`` scores, ``synth.py`` sound), observed through noisy label models
(``labels.py``) and written in the real data sets' native formats (``writers.py``; the
MTG-Jamendo and MagnaTagATune layouts in ``open_layouts.py``); ``generator.py`` puts it all
on disk. It exercises the pipeline; it is not music data.
"""

from onerep.util import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "generator": ("generate", "write_corpus_label_files"),
        "world": ("DemoSettings", "build_world",),
    },
)
