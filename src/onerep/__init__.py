"""onerep: a workflow that runs, reproduces and generalises Kim et al. (2020),
"One deep music representation to rule them all?".

Stages live in sub-packages (``demo``, ``audio``, ``sources``, ``design``,
``models``, ``features``, ``targets``, ``evaluate``, ``analysis``); the
command-line interface in :mod:`onerep.cli` is what the Snakemake rules call.
"""

__version__ = "0.1.0"
