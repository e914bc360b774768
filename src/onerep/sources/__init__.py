"""Learning sources: native label files -> latent-factor labels z_t (SPEC section 3).

- ``catalog``: the source names (``self``, the MSD preset, the audio sources, declared
  sources), the inputs each reads and the checks of ``sources.names``.
- ``kinds``: the generic kinds of labels (terms, interactions, values, grouping) that
  adapters return.
- ``loaders``: the MSD preset, one loader per source, reading the MSD companion files in
  their native formats (Last.fm ``lastfm_tags.db``, ``track_metadata.db``, Taste Profile
  ``train_triplets.txt``, musiXmatch ``mxm_dataset_train.txt``, a tempo TSV or the MSD
  summary HDF5, a track-to-genre TSV) and keeping the corpus tracks of the manifest.
- ``generic``: declared sources: the adapters by format (``FORMATS``), the generic
  ``tsv`` readers, and the conversion of their tables into the loaders' labels.
- ``plsa``: pLSA by EM on sparse matrices (numba kernels), scikit-learn style.
- ``gmm``: Gaussian-mixture posteriors for scalar and vector labels.
- ``audio_sources``: label-free sources (MFCC, chroma, tempogram statistics) from the
  corpus mel store.
- ``labels``: one source end to end, the label files (``load_labels``) and topic tables.
- ``split``: the equal-sample rule, ``labels/summary.tsv`` and the corpus train/valid
  split (``load_split``).
- ``commands``: ``onerep labels``, ``audio-descriptors``, ``labels-summary``, ``corpus-split``.

Imports stay lazy here: ``catalog`` (source names and inputs) is all the CLI parser and
the Snakemake rules need.
"""
