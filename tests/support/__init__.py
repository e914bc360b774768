"""Test fixtures shared by the tests and the benchmarks (not part of the ``onerep`` package).

- :mod:`.clips`     music-like audio clips (numerical parity of the audio stage)
- :mod:`.corpus`    a small learning corpus in the workflow's file formats (training)
- :mod:`.simulate`  scores drawn from model 1 with known effects (the analysis)
- :mod:`.train_killed`  ``onerep train`` that kills itself after an epoch's checkpoint

The tests import them as ``support.<module>`` (pytest puts ``tests/`` on ``sys.path``,
as for ``slurm``); the scripts under ``bench/`` insert ``tests/`` themselves.
"""
