"""Content-aware ALS: each half-step is the exact block minimiser (checked against an
independent dense per-row solver, torch autograd and scipy.optimize), the loss never
increases, the k-core filter, and recovery of planted structure in cold-start ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import scipy.sparse as sp
import torch

from onerep.evaluate import als as als_mod
from onerep.evaluate.als import ALSParams, als_loss, fit_content_als, kcore_filter, solve_w
from onerep.evaluate.recommend import evaluate_split


def _random_problem(seed: int, n_users: int = 30, n_items: int = 40, d: int = 6, density: float = 0.25):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    counts = np.where(mask, rng.integers(1, 30, size=mask.shape), 0).astype(float)
    X = rng.normal(size=(n_items, d))
    return counts, X


def _dense_loss(counts, X, U, V, W, p: ALSParams) -> float:
    """The objective written directly on dense matrices (no sparse tricks)."""
    P = (counts > 0).astype(float)
    C = 1.0 + p.alpha * counts
    return (0.5 * np.sum(C * (P - U @ V.T) ** 2) + 0.5 * p.lambda_u * np.sum(U**2)
            + 0.5 * p.lambda_v * np.sum((V - X @ W) ** 2) + 0.5 * p.lambda_w * np.sum(W**2))


def _reference_als(counts, X, V0, p: ALSParams):
    """Textbook weighted ALS with a content prior: one dense solve per user and per item,
    with the full confidence diagonal C_u (no V^T V + sparse-correction trick)."""
    P = (counts > 0).astype(float)
    C = 1.0 + p.alpha * counts
    r = V0.shape[1]
    V = V0.copy()
    d = X.shape[1]
    W = np.linalg.solve(p.lambda_v * X.T @ X + p.lambda_w * np.eye(d), p.lambda_v * X.T @ V)
    U = np.zeros((counts.shape[0], r))
    trace = []
    for _ in range(p.iterations):
        for u in range(counts.shape[0]):
            Cu = np.diag(C[u])
            U[u] = np.linalg.solve(V.T @ Cu @ V + p.lambda_u * np.eye(r), V.T @ Cu @ P[u])
        prior = X @ W
        for i in range(counts.shape[1]):
            Ci = np.diag(C[:, i])
            V[i] = np.linalg.solve(U.T @ Ci @ U + p.lambda_v * np.eye(r), U.T @ Ci @ P[:, i] + p.lambda_v * prior[i])
        W = np.linalg.solve(p.lambda_v * X.T @ X + p.lambda_w * np.eye(d), p.lambda_v * X.T @ V)
        trace.append((U.copy(), V.copy(), W.copy()))
    return trace


@pytest.mark.parametrize("params", [
    ALSParams(factors=5, alpha=0.1, lambda_u=1e-5, lambda_v=1e-5, lambda_w=0.1, iterations=3),
    ALSParams(factors=4, alpha=2.0, lambda_u=0.5, lambda_v=3.0, lambda_w=0.7, iterations=3),
])
def test_matches_dense_per_row_reference(params):
    counts, X = _random_problem(0)
    counts[0] = 0  # a user without interactions (all their tracks held out)
    counts[:, 1] = 0  # a track without listeners
    counts[2, :30] = np.arange(1, 31)  # a heavy user: rows of very different lengths
    V0 = np.random.default_rng(1).normal(scale=0.1, size=(counts.shape[1], params.factors))
    model = fit_content_als(sp.csr_matrix(counts), X, params, seed=0, V0=V0)
    U, V, W = _reference_als(counts, X, V0, params)[-1]
    np.testing.assert_allclose(model.U, U, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.V, V, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.W, W, rtol=1e-6, atol=1e-9)
    assert np.all(model.U[0] == 0)
    # The sparse loss formula equals the dense one.
    assert als_loss(sp.csr_matrix(counts), X, model, params=params) == pytest.approx(
        _dense_loss(counts, X, model.U, model.V, model.W, params), rel=1e-10)


def test_blocked_computation_equals_unblocked(monkeypatch):
    counts, X = _random_problem(2, n_users=25, n_items=33)
    p = ALSParams(factors=6, iterations=2)
    whole = fit_content_als(sp.csr_matrix(counts), X, p, seed=3)
    monkeypatch.setattr(als_mod, "_BLOCK_VALUES", 50)  # blocks of 2-3 rows/columns
    blocked = fit_content_als(sp.csr_matrix(counts), X, p, seed=3)
    np.testing.assert_allclose(blocked.U, whole.U, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(blocked.V, whole.V, rtol=1e-9, atol=1e-12)
    assert [loss for *_, loss in blocked.losses] == pytest.approx([loss for *_, loss in whole.losses], rel=1e-10)


def test_each_half_step_zeroes_the_autograd_gradient_and_loss_never_increases():
    counts, X = _random_problem(4)
    p = ALSParams(factors=5, alpha=0.5, lambda_u=0.1, lambda_v=0.2, lambda_w=0.3, iterations=1)
    R = sp.csr_matrix(counts)
    V0 = np.random.default_rng(5).normal(scale=0.1, size=(counts.shape[1], p.factors))
    W0 = solve_w(X, V0, p.lambda_v, p.lambda_w)
    # One U-step alone (iterations of the internal row solver), then check dL/dU = 0 with torch.
    U1 = als_mod._solve_rows(R, V0, p.alpha, p.lambda_u, None)
    V1 = als_mod._solve_rows(R.T.tocsr(), U1, p.alpha, p.lambda_v, X @ W0)
    W1 = solve_w(X, V1, p.lambda_v, p.lambda_w)

    def grads(U, V, W):
        t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in dict(U=U, V=V, W=W).items()}
        P = torch.tensor((counts > 0).astype(float))
        C = 1.0 + p.alpha * torch.tensor(counts)
        Xt = torch.tensor(X)
        loss = (0.5 * (C * (P - t["U"] @ t["V"].T) ** 2).sum() + 0.5 * p.lambda_u * (t["U"] ** 2).sum()
                + 0.5 * p.lambda_v * ((t["V"] - Xt @ t["W"]) ** 2).sum() + 0.5 * p.lambda_w * (t["W"] ** 2).sum())
        loss.backward()
        return {k: v.grad.abs().max().item() for k, v in t.items()}

    assert grads(U1, V0, W0)["U"] < 1e-9
    assert grads(U1, V1, W0)["V"] < 1e-9
    assert grads(U1, V1, W1)["W"] < 1e-9
    # Non-trivial: the gradients of the other blocks are not zero at these points.
    assert grads(U1, V0, W0)["V"] > 1e-3

    model = fit_content_als(R, X, ALSParams(factors=5, alpha=0.5, lambda_u=0.1, lambda_v=0.2,
                                             lambda_w=0.3, iterations=8), seed=9)
    losses = [loss for *_, loss in model.losses]
    assert len(losses) == 24
    assert all(b <= a * (1 + 1e-12) for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.5 * losses[0]


def test_user_row_is_the_minimiser_found_by_scipy_optimize():
    counts, X = _random_problem(6)
    p = ALSParams(factors=4, alpha=1.0, lambda_u=0.05)
    V = np.random.default_rng(7).normal(size=(counts.shape[1], p.factors))
    U = als_mod._solve_rows(sp.csr_matrix(counts), V, p.alpha, p.lambda_u, None)
    u = 3
    c = 1.0 + p.alpha * counts[u]
    pu = (counts[u] > 0).astype(float)

    def f(x):
        return 0.5 * np.sum(c * (pu - V @ x) ** 2) + 0.5 * p.lambda_u * x @ x

    best = scipy.optimize.minimize(f, np.zeros(p.factors), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(U[u], best.x, atol=1e-5)
    assert f(U[u]) <= best.fun + 1e-12


def test_without_content_it_is_plain_weighted_mf():
    """lV = 0: W = 0 and the loss is the weighted MF loss of Hu, Koren and Volinsky
    (with regularisation on U only), which every half-step decreases."""
    counts, X = _random_problem(8)
    p = ALSParams(factors=5, alpha=1.0, lambda_u=0.1, lambda_v=0.0, lambda_w=0.1, iterations=30)
    model = fit_content_als(sp.csr_matrix(counts), X, p, seed=1)
    assert np.all(model.W == 0)
    P = (counts > 0).astype(float)
    C = 1.0 + counts
    plain = 0.5 * np.sum(C * (P - model.U @ model.V.T) ** 2) + 0.05 * np.sum(model.U**2)
    assert model.losses[-1][2] == pytest.approx(plain, rel=1e-10)
    losses = [loss for *_, loss in model.losses]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(losses, losses[1:]))
    # The fit explains far more than the all-zero prediction does.
    assert losses[-1] < 0.5 * 0.5 * np.sum(C * P)


def test_solve_w_dual_equals_primal():
    rng = np.random.default_rng(0)
    V = rng.normal(size=(10, 3))
    X = rng.normal(size=(10, 25))  # D > N: dual form
    W = solve_w(X, V, 1e-5, 0.1)
    ridge = 0.1 / 1e-5
    np.testing.assert_allclose(W, np.linalg.solve(X.T @ X + ridge * np.eye(25), X.T @ V), rtol=1e-8)
    assert np.all(solve_w(X, V, 0.0, 0.1) == 0)


def test_kcore_filter_iterates_until_stable():
    # Pass 1 drops item d (one user); then u3 has one item left and drops (pass 2);
    # then item c has one user left and drops (pass 3); pass 4 removes nothing.
    # A single pass would have kept u3-c and u2-c.
    rows = [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"), ("u4", "a"), ("u4", "b"),
            ("u2", "c"), ("u3", "c"), ("u3", "d")]
    users, items = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    keep, passes = kcore_filter(users, items, min_user_items=2, min_item_users=2)
    assert [rows[i] for i in np.flatnonzero(keep)] == [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"),
                                                       ("u4", "a"), ("u4", "b")]
    assert passes == 4
    keep, passes = kcore_filter(users, items, min_user_items=3, min_item_users=1)
    assert [rows[i] for i in np.flatnonzero(keep)] == [("u2", "a"), ("u2", "b"), ("u2", "c")]
    assert passes == 2


def _planted_world(seed: int, n_users=120, n_items=300, r=4, d=16):
    """Users and tracks in a shared low-rank taste space; track features are a noisy
    linear image of the track factors; listening follows the taste affinity."""
    rng = np.random.default_rng(seed)
    Ut = rng.normal(size=(n_users, r))
    Vt = rng.normal(size=(n_items, r))
    affinity = Ut @ Vt.T
    listened = affinity > np.quantile(affinity, 0.85, axis=1, keepdims=True)
    counts = np.where(listened, rng.integers(1, 20, size=listened.shape), 0)
    X = Vt @ rng.normal(size=(r, d)) + 0.3 * rng.normal(size=(n_items, d))
    tracks = np.array([f"t{i:03d}" for i in range(n_items)])
    u, i = np.nonzero(counts)
    inter = pd.DataFrame({"user": [f"u{k:03d}" for k in u], "track_id": tracks[i], "count": counts[u, i].astype(float)})
    folds = pd.Series(np.where(rng.random(n_items) < 0.2, "test", "train"), index=tracks)
    return inter, tracks, X, folds


def test_planted_structure_is_recovered_for_cold_tracks():
    inter, tracks, X, folds = _planted_world(0)
    p = ALSParams(factors=8, alpha=0.1, lambda_u=1e-5, lambda_v=1e-5, lambda_w=0.1, iterations=10)
    good = evaluate_split(inter, tracks, X, folds, p, seed=1, k=10, min_user_tracks=5, min_track_users=5)
    noise = np.random.default_rng(3).normal(size=X.shape)
    rand = evaluate_split(inter, tracks, noise, folds, p, seed=1, k=10, min_user_tracks=5, min_track_users=5)
    assert good.n_heldout_tracks == rand.n_heldout_tracks == 49
    assert good.n_users == 120
    assert good.ndcg > 0.8  # measured 0.895
    assert rand.ndcg < 0.35  # measured 0.15-0.27 over noise seeds
    # Same seed, same result.
    again = evaluate_split(inter, tracks, X, folds, p, seed=1, k=10)
    assert again.ndcg == good.ndcg


def test_ranking_all_tracks_mixes_warm_and_cold_scales():
    """candidates='all': cold tracks compete with the user's unheard warm tracks. With the
    paper's lW/lV = 1e4 ridge on a small catalogue the cold factors X W are shrunk
    towards 0 and rank below the warm tracks (nDCG ~ 0): why 'heldout' is the default.
    With a weak ridge the content signal shows again."""
    inter, tracks, X, folds = _planted_world(0)
    noise = np.random.default_rng(3).normal(size=X.shape)
    paper = ALSParams(factors=8, iterations=10)
    assert evaluate_split(inter, tracks, X, folds, paper, seed=1, k=10, candidates="all").ndcg < 0.02
    weak = ALSParams(factors=8, iterations=10, lambda_w=1e-5)
    good_all = evaluate_split(inter, tracks, X, folds, weak, seed=1, k=10, candidates="all")
    rand_all = evaluate_split(inter, tracks, noise, folds, weak, seed=1, k=10, candidates="all")
    assert good_all.ndcg > 0.25  # measured 0.35
    assert rand_all.ndcg < 0.05


def test_without_content_matches_the_implicit_library():
    """With no content (X = 0, so W = 0) and lU = lV, the model is the weighted MF of the
    `implicit` package (confidences 1 + alpha R passed as its matrix): the same factors
    from the same start, and the same loss under its normalisation. Runs where
    `implicit` (0.7.3, an optional test dependency) is installed."""
    implicit_als = pytest.importorskip("implicit.cpu.als")
    from implicit.cpu import _als

    rng = np.random.default_rng(0)
    n_users, n_items, r = 60, 90, 8
    mask = rng.random((n_users, n_items)) < 0.15
    R = sp.csr_matrix(np.where(mask, rng.integers(1, 30, mask.shape), 0).astype(float))
    p = ALSParams(factors=r, alpha=0.1, lambda_u=0.3, lambda_v=0.3, lambda_w=0.1, iterations=10)
    V0 = rng.random((n_items, r)) * 0.01
    X = np.zeros((n_items, 1))
    ours = fit_content_als(R, X, p, seed=0, V0=V0)
    assert np.all(ours.W == 0)
    conf = R.copy()
    conf.data = 1.0 + p.alpha * conf.data
    ref = implicit_als.AlternatingLeastSquares(factors=r, regularization=p.lambda_u, alpha=1.0,
                                               iterations=p.iterations, use_cg=False, dtype=np.float64,
                                               calculate_training_loss=False, random_state=0)
    ref.user_factors = np.zeros((n_users, r))
    ref.item_factors = V0.copy()
    ref.fit(conf, show_progress=False)
    # implicit casts the confidences to float32, hence ~1e-8 differences.
    np.testing.assert_allclose(ours.U, ref.user_factors, atol=1e-6)
    np.testing.assert_allclose(ours.V, ref.item_factors, atol=1e-6)
    their = _als.calculate_loss(conf, ref.user_factors, ref.item_factors, p.lambda_u, num_threads=1)
    normaliser = conf.data.sum() + n_users * n_items - R.nnz
    assert 2 * als_loss(R, X, ours, params=p) / normaliser == pytest.approx(their, rel=1e-6)
