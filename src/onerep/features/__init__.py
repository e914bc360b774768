"""Feature extraction: windows and pooling, trained runs, baselines, user folders.

``pool`` holds the window and pooling arithmetic, ``extract`` the extraction with a
network (from a mel store inside the workflow, or from a folder of audio for
``onerep extract``), ``baselines`` the MFCC, Rand and user-supplied representations.
"""

from .extract import extract_folder, extract_run, load_features, write_features
from .pool import clip_windows, pool, pooled_features, window_starts

__all__ = [
    "clip_windows",
    "extract_folder",
    "extract_run",
    "load_features",
    "pool",
    "pooled_features",
    "window_starts",
    "write_features",
]
