"""Analysis statistics: REML engine against statsmodels, recovery of known effects by
simulation (and its failure when the fitting code is broken), bootstrap, pairwise
comparisons, per-source variance components, standardisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from onerep.analysis.bootstrap import bootstrap
from onerep.analysis.collect import model_data, run_means, standardise
from onerep.analysis.compare import holm, pairwise
from onerep.analysis.models import fit_mixed, fit_statsmodels, model1_spec, model2_spec
from onerep.analysis.reml import VCModel
from onerep.analysis.variance import correlation, source_components, ssr_performance
from support.simulate import PAPER_LIKE, Model1Truth, simple_design, simulate_model1

ALL = ["ssr", "mssr_fc", "mscr6", "mscr4", "mscr2", "msscr"]
TARGETS = [f"d{i}" for i in range(7)]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _sim(seed: int, strategies=("ssr", "mssr_fc", "mscr2", "msscr"), truth: Model1Truth = PAPER_LIKE,
         multi_runs: int = 10) -> pd.DataFrame:
    runs = simple_design(list(strategies), 5, 2, multi_runs, seed=1)
    return simulate_model1(runs, TARGETS, truth, seed)


# -- the REML engine -------------------------------------------------------------------------
def test_reml_gradient_is_exact():
    spec = model1_spec(_sim(0))
    m = VCModel(spec.y, spec.X, spec.Z, spec.groups)
    g0 = np.linspace(0.02, 0.4, m.n_comp)
    _, grad = m.criterion(g0)
    eps = 1e-6
    num = [(m.criterion(g0 + eps * e)[0] - m.criterion(g0 - eps * e)[0]) / (2 * eps) for e in np.eye(m.n_comp)]
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", [model1_spec, model2_spec])
def test_reml_matches_statsmodels(make):
    spec = make(_sim(3))
    ours = fit_mixed(spec)
    theirs = fit_statsmodels(spec, method="powell")
    # same criterion: our optimum is at least as good, and the same point
    assert ours.llf >= theirs.llf - 1e-6
    assert ours.llf == pytest.approx(theirs.llf, abs=1e-3)
    np.testing.assert_allclose(ours.fe, theirs.fe, atol=2e-3)
    np.testing.assert_allclose(ours.vcomp, theirs.vcomp, atol=2e-3)
    assert ours.scale == pytest.approx(theirs.scale, rel=1e-2)
    np.testing.assert_allclose(np.sqrt(np.diag(ours.cov_fe)), np.sqrt(np.diag(theirs.cov_fe)), rtol=0.02)


def test_formula_strings_are_the_fitted_model():
    """MixedLM.from_formula with the formulas written in the output fits the same model."""
    import statsmodels.formula.api as smf

    data = _sim(5)
    spec = model1_spec(data)
    for r in ALL:
        data[f"is_{r}"] = (data.strategy == r).astype(float)
    f = spec.formulas
    model = smf.mixedlm(f["formula"], data, groups=data[f["groups"]], re_formula=f["re_formula"],
                        vc_formula=f["vc_formula"])
    res = model.fit(reml=True, method="powell")
    ours = fit_mixed(spec)
    assert ours.llf == pytest.approx(res.llf, abs=1e-3)
    np.testing.assert_allclose(ours.fe, np.asarray(res.fe_params), atol=2e-3)


def test_ssr_slope_is_left_out_and_single_n_noted():
    data = _sim(1)
    spec = model1_spec(data)
    assert "b1[SS-R]" not in spec.fe_names and "s1[SS-R]^2" not in spec.vc_names
    assert {"b1[MS-SR@FC]", "b1[MS-CR@2]", "b1[MSS-CR]"} <= set(spec.fe_names)
    one_n = data[~((data.strategy == "msscr") & (data.n != 3))]
    spec = model1_spec(one_n)
    assert "b1[MSS-CR]" not in spec.fe_names
    assert any("MSS-CR has a single n" in n for n in spec.notes)


def test_boundary_is_reported_not_raised():
    data = _sim(2, truth=Model1Truth(b0=PAPER_LIKE.b0, b1=PAPER_LIKE.b1, s0={r: 0.0 for r in ALL},
                                     s1={r: 0.0 for r in ALL}, se=0.3))
    spec = model1_spec(data)
    fit = fit_mixed(spec)
    assert fit.ok and fit.converged
    assert fit.boundary, "no variance between data sets was simulated: some components must be at zero"
    assert any("boundary" in n for n in fit.notes(spec))


# -- recovery of known effects by simulation ---------------------------------------------------
def recovery(n_sims: int, replicates: int, break_nstar: bool = False, scheme: str = "residual",
             truth: Model1Truth = PAPER_LIKE, strategies=ALL, multi_runs: int = 8) -> dict[str, np.ndarray]:
    """Simulate model 1 ``n_sims`` times, fit, bootstrap: errors and interval coverage per fixed effect."""
    errors, cover, se = [], [], []
    names = None
    for s in range(n_sims):
        data = _sim(100 + s, strategies=strategies, truth=truth, multi_runs=multi_runs)
        if break_nstar:  # the bug to catch: n* coded as n instead of n - 2 for multi-source runs
            data["n_star"] = np.where(data.strategy == "ssr", 0, data.n)
        spec = model1_spec(data)
        fit = fit_mixed(spec, keep_resid=True)
        assert fit.ok
        true = np.array([truth.fixed()[n] for n in spec.fe_names])
        ci = bootstrap(spec, fit, replicates, seed=s, scheme=scheme).intervals().iloc[: len(true)]
        errors.append(fit.fe - true)
        se.append(np.sqrt(np.diag(fit.cov_fe)))
        cover.append((ci.ci_low.to_numpy() <= true) & (true <= ci.ci_high.to_numpy()))
        names = spec.fe_names
    return {"names": np.array(names), "errors": np.array(errors), "cover": np.array(cover), "se": np.array(se)}


def recovered(r: dict[str, np.ndarray]) -> bool:
    """Estimates unbiased within 3 Monte-Carlo SEs, every effect covered in >= 70% and
    all effects together in >= 85% of the simulations."""
    n = len(r["errors"])
    bias_ok = np.all(np.abs(r["errors"].mean(axis=0)) < 3 * r["se"].mean(axis=0) / np.sqrt(n) + 0.02)
    return bool(bias_ok and r["cover"].mean(axis=0).min() >= 0.7 and r["cover"].mean() >= 0.85)


def test_model1_recovers_known_effects():
    r = recovery(n_sims=20, replicates=39)
    cov = dict(zip(r["names"], r["cover"].mean(axis=0)))
    assert recovered(r), f"coverage {cov}, mean error {r['errors'].mean(axis=0)}"
    # the estimates are close to the truth, not merely covered
    assert np.abs(r["errors"]).mean() < 0.12


def test_broken_nstar_coding_fails_recovery():
    r = recovery(n_sims=8, replicates=19, break_nstar=True)
    assert not recovered(r)
    b0 = [i for i, n in enumerate(r["names"]) if n.startswith("b0[") and n != "b0[SS-R]"]
    # every multi-source intercept is shifted by -2 b1: the strong-slope ones are missed
    assert r["cover"][:, b0].mean() < 0.6


def test_case_resampling_is_conditional_on_the_data_sets():
    """With large between-data-set variance, resampling runs only (data sets fixed) gives
    intervals too narrow for the population effects; the default scheme covers them."""
    truth = Model1Truth(b0=PAPER_LIKE.b0, b1=PAPER_LIKE.b1, s0={r: 0.5 for r in ALL},
                        s1={r: 0.03 for r in ALL}, se=0.2)
    kw = dict(n_sims=8, replicates=19, truth=truth, strategies=("ssr", "mscr2", "msscr"))
    runs_scheme = recovery(scheme="runs", **kw)
    residual = recovery(scheme="residual", **kw)
    b0 = [i for i, n in enumerate(residual["names"]) if n.startswith("b0[")]
    assert residual["cover"][:, b0].mean() >= 0.8
    assert runs_scheme["cover"][:, b0].mean() < residual["cover"][:, b0].mean() - 0.2


def test_bootstrap_is_seeded_and_independent_of_processes():
    spec = model1_spec(_sim(4))
    fit = fit_mixed(spec, keep_resid=True)
    a = bootstrap(spec, fit, 6, seed=11, threads=1)
    b = bootstrap(spec, fit, 6, seed=11, threads=2)
    c = bootstrap(spec, fit, 6, seed=12, threads=1)
    np.testing.assert_array_equal(a.draws, b.draws)
    assert not np.allclose(a.draws, c.draws)
    assert a.n_ok == 6


# -- pairwise comparisons ---------------------------------------------------------------------------
def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.0001])
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])


def test_pairwise_contrasts():
    spec = model1_spec(_sim(6))
    fit = fit_mixed(spec, keep_resid=True)
    boot = bootstrap(spec, fit, 20, seed=1)
    pw = pairwise(spec, fit, boot)
    assert len(pw[pw.family == "b0"]) == 6 and len(pw[pw.family == "b1"]) == 3
    row = pw[(pw.a == "b0[SS-R]") & (pw.b == "b0[MSS-CR]")].iloc[0]
    i, j = spec.fe_names.index("b0[SS-R]"), spec.fe_names.index("b0[MSS-CR]")
    assert row.difference == pytest.approx(fit.fe[i] - fit.fe[j])
    var = fit.cov_fe[i, i] + fit.cov_fe[j, j] - 2 * fit.cov_fe[i, j]
    assert row.se == pytest.approx(np.sqrt(var))
    assert row.p_wald < 1e-6  # SS-R is ~1.25 standardised units below MSS-CR in the truth
    assert row.p_boot == pytest.approx(2 / 21)  # every replicate on one side: the smallest p possible


# -- standardisation ---------------------------------------------------------------------------------
def test_standardise_codes_and_scales():
    rows = []
    for t, shift in (("a", 0.0), ("b", 10.0)):
        for run, strategy, n, y in (("r1", "ssr", 1, 1.0), ("r2", "mssr_fc", 3, 2.0), ("r3", "msscr", 5, 4.0)):
            rows.append(dict(run_id=run, target=t, metric="accuracy", kind="run", strategy=strategy,
                             sources=",".join(["s1", "s2", "s3", "s4", "s5"][:n]), n=n, value=y + shift))
        rows.append(dict(run_id="mfcc", target=t, metric="accuracy", kind="baseline", strategy="baseline",
                         sources="mfcc", n=0, value=0.0 + shift))
    means = run_means(pd.DataFrame(rows).assign(repetition=0))
    std, notes = standardise(means)
    assert not notes
    runs = std[std.kind == "run"]
    for _, d in runs.groupby("target"):
        assert d.y_std.mean() == pytest.approx(0.0, abs=1e-12)
        assert d.y_std.std() == pytest.approx(1.0)
    m, s = np.mean([1, 2, 4]), np.std([1, 2, 4], ddof=1)
    base = std[std.kind == "baseline"].y_std.to_numpy()
    np.testing.assert_allclose(base, (0 - m) / s)
    r = runs.set_index("run_id").loc[["r1", "r2", "r3"]].drop_duplicates("strategy")
    assert list(r.n_star) == [0, 1, 3] and list(r.r_star) == [0.0, 0.2, 1.0]
    assert list(r.has_s4) == [0, 0, 1]
    assert set(model_data(std).run_id) == {"r1", "r2", "r3"}


def test_constant_target_is_left_out_with_a_note():
    rows = [dict(run_id=f"r{i}", target="flat", metric="r2", kind="run", strategy="ssr", sources="a", n=1,
                 value=0.5, repetition=0) for i in range(3)]
    rows += [dict(run_id=f"r{i}", target="ok", metric="r2", kind="run", strategy="ssr", sources="a", n=1,
                  value=0.1 * i, repetition=0) for i in range(3)]
    std, notes = standardise(run_means(pd.DataFrame(rows)))
    assert any("flat" in n and "no spread" in n for n in notes)
    assert set(model_data(std).target) == {"ok"}


# -- per-source variance components ------------------------------------------------------------
def test_variance_components_find_the_planted_source():
    rng = np.random.default_rng(0)
    sources = ["a", "b", "c", "d"]
    rows = []
    for t, strong in (("t1", "a"), ("t2", "c")):
        for i in range(60):
            k = int(rng.integers(2, 4))
            has = set(rng.choice(sources, size=k, replace=False))
            strategy = ["mscr2", "msscr", "mssr_fc"][i % 3]
            y = 1.5 * (strong in has) + rng.normal(0, 0.3)
            rows.append(dict(run_id=f"m{i}", target=t, kind="run", strategy=strategy, y_std=y,
                             **{f"has_{s}": int(s in has) for s in sources}))
        for s in sources:
            rows.append(dict(run_id=f"ssr_{s}", target=t, kind="run", strategy="ssr",
                             y_std=1.0 if s == strong else -0.5, **{f"has_{x}": int(x == s) for x in sources}))
    data = pd.DataFrame(rows)
    comps, notes = source_components(data, sources)
    for t, strong in (("t1", "a"), ("t2", "c")):
        d = comps[comps.target == t].set_index("component")
        assert d.percent.sum() == pytest.approx(100.0)
        src = d[d.kind == "source"].percent
        assert src.idxmax() == strong and src[strong] > 50
    pairs, corr = correlation(comps, ssr_performance(data, sources))
    assert len(pairs) == 8 and corr["pearson_r"] > 0.9


def test_variance_components_match_statsmodels():
    """One target's crossed components, our REML against statsmodels' (one group, vc_formula)."""
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(3)
    n = 80
    df = pd.DataFrame({f"has_{s}": rng.integers(0, 2, n) for s in "abc"})
    df["strategy"] = rng.choice(["mscr2", "msscr", "mssr_fc"], n)
    df["y_std"] = 0.8 * df.has_a + 0.3 * df.has_b + (df.strategy == "msscr") * 0.5 + rng.normal(0, 0.4, n)
    df["target"], df["kind"] = "t", "run"
    comps, _ = source_components(df, list("abc"))
    df["g"] = 1
    vc = {"a": "0 + C(has_a)", "b": "0 + C(has_b)", "c": "0 + C(has_c)", "strategy": "0 + C(strategy)"}
    res = smf.mixedlm("y_std ~ 1", df, groups="g", re_formula="0", vc_formula=vc).fit(reml=True, method="powell")
    theirs = dict(zip(res.model.exog_vc.names, res.vcomp))
    ours = comps.set_index("component").variance
    for k in vc:
        assert ours[k] == pytest.approx(theirs[k], abs=5e-3)
    assert ours["residual"] == pytest.approx(res.scale, rel=1e-2)
