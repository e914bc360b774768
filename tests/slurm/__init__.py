"""Helpers for the SLURM tests: a throw-away one-node cluster and dry-run plans of a profile."""
