"""Feature extraction: windows and pooling, trained runs, baselines, user folders.

``pool`` holds the window and pooling arithmetic, ``extract`` the extraction with a
network (from a mel store inside the workflow, or from a folder of audio for
``onerep extract``), ``baselines`` the MFCC, Rand and user-supplied representations.
"""

from onerep.util import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "extract": ("extract_folder", "extract_run", "load_features", "write_features",),
        "pool": ("clip_windows", "pool", "pooled_features", "window_starts",),
    },
)
