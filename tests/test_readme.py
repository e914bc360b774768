"""The README's claims about the default study match what config/config.yaml runs."""

from __future__ import annotations

import re
from pathlib import Path

from onerep.config import load
from onerep.design import runs_table


def test_readme_describes_the_demo_study_it_ships(repo: Path) -> None:
    text = re.sub(r"\s+", " ", (repo / "README.md").read_text())
    m = re.search(r"`config/config\.yaml` — the demo study \((\d+) sources, (\d+) strategies, "
                  r"(\d+) runs, (\d+) targets; (\d+) runs are trained, the (\d+) MSS-CR runs are "
                  r"assembled", text)
    assert m, "README: the line describing config/config.yaml is missing or reworded"
    sources, strategies, runs, targets, trained, assembled = map(int, m.groups())
    cfg = load(repo / "config" / "config.yaml")
    table = runs_table(cfg)
    assert sources == len(cfg["design"]["sources"])
    assert strategies == table.strategy.nunique() == len(cfg["design"]["strategies"])
    assert runs == len(table)
    assert targets == len(cfg["targets"])
    n_msscr = int((table.strategy == "msscr").sum()) if cfg["train"]["mss_from_ssr"] else 0
    assert (trained, assembled) == (runs - n_msscr, n_msscr)


def test_readme_states_the_feature_windowing_rule(repo: Path) -> None:
    from onerep.features.pool import WINDOWING

    text = (repo / "README.md").read_text()
    assert "drops the last partial window" not in text
    assert f"`{WINDOWING}`" in text
