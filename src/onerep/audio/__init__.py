"""Audio stage: acquisition, mel spectrograms, the ragged HDF5 mel store, the scaler.

Modules (the API between stages is in docs/architecture.md):

* :mod:`~onerep.audio.manifest` - manifests and shards
* :mod:`~onerep.audio.acquire` - local verification and HTTP downloads, per-track records
* :mod:`~onerep.audio.mel` - decoding and log-mel spectrograms (``MelParams``, ``load_audio``,
  ``compute_mel``, ``AudioError``, batched ``mel_batch`` for GPUs)
* :mod:`~onerep.audio.store` - the mel store (``MelStore``, ``write_store``, ``merge_stores``)
* :mod:`~onerep.audio.pipeline` - the shard, merge and one-shot jobs
* :mod:`~onerep.audio.records` - per-track records and loss summaries (``loss_table``)
* :mod:`~onerep.audio.scaler` - per-band mean/std (``compute_scaler``, ``load_scaler``)
* :mod:`~onerep.audio.commands` - the ``onerep audio-*`` commands
"""
