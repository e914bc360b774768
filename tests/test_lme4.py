"""Models 1 and 2 (SPEC section 9) against lme4: the same REML fits from R.

R's lme4 (``lmer``, REML) fits the two models with the same fixed effects and the same
random-effects structure as :mod:`onerep.analysis.models`, written independently here
from the score table's columns:

- model 1: one fixed intercept per strategy and one fixed slope on n* per strategy whose
  n varies (not SS-R); every random term is its own ``(0 + x | target)`` term, so each
  strategy's intercept and slope get their own variance and are independent, as ours;
- model 2: ``1 + r* + n* + r*:n*`` fixed, and the three slopes random per target,
  each in its own term (independent, no random intercept), as ours.

Tables: a score table drawn from model 1 with known effects, one drawn from model 2,
and the standardised table of the tiny study (``tests/data/tiny_standardised.tsv``, see
``tests/data/README.md``). Fixed effects, their standard errors, the variance
components and the residual variance must agree within 1e-3, and the REML
log-likelihoods too; on the simulated tables the truth must be recovered (so that two
equally wrong fits cannot pass). R and lme4 are Debian packages (``r-base-core``,
``r-cran-lme4``) that ``make test`` installs when it can; without them the tests skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from onerep.analysis.coding import SINGLE, order_strategies
from onerep.analysis.collect import STANDARDISED_COLUMNS, model_data, standardise
from onerep.analysis.models import fit_mixed, model1_spec, model2_spec
from onerep.analysis.tables import read_tsv
from support.simulate import PAPER_LIKE, simple_design, simulate_model1

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny_standardised.tsv"
TOL = 1e-3

#: Known effects of model 2 (standardised units): b0, b10, b20, b30 and the standard
#: deviations of the random slopes u1, u2, u3 per target, and of the residual.
MODEL2_TRUTH = {"b0": -0.8, "b10": 1.2, "b20": 0.05, "b30": 0.1, "s1": 0.3, "s2": 0.06, "s3": 0.08, "se": 0.35}
SIM_TARGETS = [f"d{i:02d}" for i in range(24)]
SIM_SEED = 12

# Reads a job table (data, formula, out); fits each job's formula by REML on the
# design runs of its standardised table and writes the estimates.
R_SCRIPT = r"""
suppressPackageStartupMessages(library(lme4))
jobs <- read.delim(commandArgs(trailingOnly = TRUE)[1], stringsAsFactors = FALSE)
control <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE,
                       optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, maxeval = 1e5),
                       check.conv.singular = "ignore")
for (i in seq_len(nrow(jobs))) {
  d <- read.delim(jobs$data[i], stringsAsFactors = FALSE, colClasses = c(target = "character"))
  d <- d[d$kind == "run" & is.finite(d$y_std), ]
  for (r in unique(d$strategy)) d[[paste0("is_", r)]] <- as.numeric(d$strategy == r)
  fit <- lmer(as.formula(jobs$formula[i]), data = d, REML = TRUE, control = control)
  fe <- fixef(fit)
  vc <- as.data.frame(VarCorr(fit))
  out <- rbind(
    data.frame(kind = "fixed", name = names(fe), estimate = unname(fe),
               se = unname(sqrt(diag(as.matrix(vcov(fit)))))),
    data.frame(kind = "variance", name = ifelse(is.na(vc$var1), "residual", vc$var1),
               estimate = vc$vcov, se = NA),
    data.frame(kind = "reml", name = "logLik", estimate = as.numeric(logLik(fit, REML = TRUE)), se = NA))
  write.table(out, jobs$out[i], sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
}
"""


def lme4_formula(model: str, data: pd.DataFrame) -> str:
    """The lme4 formula of model 1 or 2 for the design runs in ``data``."""
    if model == "model2":
        return ("y_std ~ 1 + r_star + n_star + r_star:n_star"
                " + (0 + r_star | target) + (0 + n_star | target) + (0 + r_star:n_star | target)")
    strategies = order_strategies(data["strategy"])
    varying = [r for r in strategies if r != SINGLE and data.loc[data.strategy == r, "n_star"].nunique() > 1]
    fixed = [f"is_{r}" for r in strategies] + [f"is_{r}:n_star" for r in varying]
    return f"y_std ~ 0 + {' + '.join(fixed)} + " + " + ".join(f"(0 + {x} | target)" for x in fixed)


def simulate_model2(runs: pd.DataFrame, targets: list[str], truth: dict[str, float], seed: int) -> pd.DataFrame:
    """Scores of every run on every target drawn from model 2 (same columns as model 1's)."""
    rng = np.random.default_rng(seed)
    table = simulate_model1(runs, targets, PAPER_LIKE, seed)  # the layout; y_std is redrawn
    r, n = table["r_star"].to_numpy(), table["n_star"].to_numpy()
    u = {d: rng.normal(0, [truth["s1"], truth["s2"], truth["s3"]]) for d in targets}
    u1, u2, u3 = np.array([u[d] for d in table["target"]]).T
    table["y_std"] = (truth["b0"] + (truth["b10"] + u1) * r + (truth["b20"] + u2) * n
                      + (truth["b30"] + u3) * r * n + rng.normal(0, truth["se"], size=len(table)))
    return table


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, Path]:
    """The score tables the models are fitted on, as files both sides read. The
    simulated ones lose a random 15% of their scores (y* missing, as for a failed
    evaluation): unbalanced, so the fixed effects depend on the variance estimates."""
    root = tmp_path_factory.mktemp("lme4")
    runs = simple_design(["ssr", "mssr_fc", "mscr6", "mscr4", "mscr2", "msscr"], sources=5, ssr_replicates=2,
                         multi_runs=8, seed=3)
    out = {"tiny": TINY}
    for name, table in (("sim1", simulate_model1(runs, SIM_TARGETS, PAPER_LIKE, seed=SIM_SEED)),
                        ("sim2", simulate_model2(runs, SIM_TARGETS, MODEL2_TRUTH, seed=SIM_SEED))):
        lost = np.random.default_rng(SIM_SEED).random(len(table)) < 0.15
        table.loc[lost, "y_std"] = np.nan
        out[name] = root / f"{name}.tsv"
        table.to_csv(out[name], sep="\t", index=False, na_rep="NA")  # full precision
    return out


def _ours(path: Path, model: str):
    data = model_data(read_tsv(path))
    spec = (model1_spec if model == "model1" else model2_spec)(data)
    with threadpool_limits(1):
        fit = fit_mixed(spec)
    assert fit.ok and fit.converged, fit.notes(spec)
    return data, spec, fit


def _lme4_missing() -> str | None:
    if shutil.which("Rscript") is None:
        return "Rscript not found: install the Debian package r-base-core (`make test` does as root)"
    probe = subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return ("the R package lme4 is not installed: install the Debian package r-cran-lme4 "
                f"(`make test` does as root); R said: {' '.join(probe.stderr.split())[-300:]}")
    return None


JOBS = [(table, model) for table in ("sim1", "sim2", "tiny") for model in ("model1", "model2")]


@pytest.fixture(scope="module")
def lme4(tables, tmp_path_factory) -> dict[tuple[str, str], pd.DataFrame]:
    """lme4's estimates of every (table, model) job, from one Rscript run."""
    reason = _lme4_missing()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lme4_out")
    rows = []
    for table, model in JOBS:
        data = model_data(read_tsv(tables[table]))
        rows.append(dict(data=str(tables[table]), formula=lme4_formula(model, data),
                         out=str(root / f"{table}_{model}.tsv")))
    (root / "fit.R").write_text(R_SCRIPT)
    pd.DataFrame(rows).to_csv(root / "jobs.tsv", sep="\t", index=False)
    done = subprocess.run(["Rscript", str(root / "fit.R"), str(root / "jobs.tsv")], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {job: pd.read_csv(root / f"{job[0]}_{job[1]}.tsv", sep="\t") for job in JOBS}


def _theirs_by_our_names(spec, theirs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """lme4's fixed effects and variance components, rows in our parameter order."""
    fixed = theirs[theirs.kind == "fixed"].copy()
    fixed["name"] = fixed["name"].replace({"(Intercept)": "1"})
    var = theirs[theirs.kind == "variance"]
    assert sorted(fixed["name"]) == sorted(spec.fixed["column"]), "lme4 and ours fit different fixed effects"
    assert sorted(var["name"]) == sorted([*spec.components["column"], "residual"]), \
        "lme4 and ours fit different variance components"
    return fixed.set_index("name").loc[list(spec.fixed["column"])], var.set_index("name")


@pytest.mark.parametrize("table,model", JOBS)
def test_fit_equals_lme4(tables, lme4, table, model):
    _, spec, fit = _ours(tables[table], model)
    theirs = lme4[(table, model)]
    fixed, var = _theirs_by_our_names(spec, theirs)
    np.testing.assert_allclose(fit.fe, fixed["estimate"], rtol=0, atol=TOL, err_msg="fixed effects")
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov_fe)), fixed["se"], rtol=0, atol=TOL, err_msg="their SEs")
    np.testing.assert_allclose(fit.vcomp, var.loc[list(spec.components["column"]), "estimate"], rtol=0, atol=TOL,
                               err_msg="variance components")
    assert fit.scale == pytest.approx(var.loc["residual", "estimate"], abs=TOL), "residual variance"
    llf = float(theirs.loc[theirs.kind == "reml", "estimate"].iloc[0])
    assert fit.llf == pytest.approx(llf, abs=TOL), "REML log-likelihood"


def test_tiny_fixture_is_what_the_analysis_writes_today():
    """The committed tiny-study table has the columns, and the y*, n*, r* and source
    indicators, that :func:`standardise` gives its run means today."""
    kept = read_tsv(TINY)
    means = kept[["run_id", "target", "metric", "kind", "strategy", "sources", "n", "y", "y_sd", "repetitions"]]
    today, _ = standardise(means)
    assert list(kept.columns) == list(today.columns), "regenerate tests/data/tiny_standardised.tsv (README there)"
    assert list(kept.columns[:len(STANDARDISED_COLUMNS)]) == list(STANDARDISED_COLUMNS)
    # the file holds 6 significant digits
    pd.testing.assert_frame_equal(kept, today, check_dtype=False, rtol=1e-5, atol=1e-5)
    assert len(model_data(kept)) == 21 and kept.target.nunique() == 3


# -- the truth of the simulated tables is recovered --------------------------------------
# Bounds from 20 simulations of these designs (seeds 11-30): fixed effects at most 3.4
# standard errors (about 0.08) off, residual variance within 11%, the variance
# components in the ratios given below; so two equally wrong fits cannot pass.
def _check_recovered(spec, fit, fixed_truth: dict[str, float], resid_truth: float) -> None:
    truth = np.array([fixed_truth[name] for name in spec.fe_names])
    se = np.sqrt(np.diag(fit.cov_fe))
    assert se.max() < 0.1, "the simulation is too small to test recovery"
    z = (fit.fe - truth) / se
    assert np.abs(z).max() < 4, dict(zip(spec.fe_names, np.round(fit.fe - truth, 3)))
    assert fit.scale == pytest.approx(resid_truth, rel=0.15)


def test_model1_recovers_the_simulated_truth(tables):
    _, spec, fit = _ours(tables["sim1"], "model1")
    _check_recovered(spec, fit, PAPER_LIKE.fixed(), PAPER_LIKE.se ** 2)
    intercepts = spec.components["term"] == "intercept"
    true_var = sum(PAPER_LIKE.s0[r] ** 2 for r in spec.components.loc[intercepts, "strategy"])
    assert 0.4 < fit.vcomp[intercepts.to_numpy()].sum() / true_var < 2.5  # 0.57-1.35 over 20 seeds


def test_model2_recovers_the_simulated_truth(tables):
    _, spec, fit = _ours(tables["sim2"], "model2")
    _check_recovered(spec, fit, MODEL2_TRUTH, MODEL2_TRUTH["se"] ** 2)
    assert spec.vc_names[0] == "s1^2"
    assert 0.4 < fit.vcomp[0] / MODEL2_TRUTH["s1"] ** 2 < 2.5  # 0.5-1.44 over 20 seeds
