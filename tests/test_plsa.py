"""pLSA: planted topics recovered, monotone log-likelihood, kernels agree with the reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from onerep.sources.plsa import PLSA, PLSAReference, _random_simplex, top_terms


def planted(n_docs=1500, n_terms=300, k=8, doc_len=200, seed=0):
    """Counts sampled from known P(w|z) (overlapping Dirichlet topics) and P(z|d)
    (sparse Dirichlet mixtures); returns X, phi (k, terms), theta (docs, k)."""
    rng = np.random.default_rng(1000)  # the same topics for every seed
    phi = rng.dirichlet(np.full(n_terms, 0.1), size=k)
    rng = np.random.default_rng(seed)
    theta = rng.dirichlet(np.full(k, 0.3), size=n_docs)
    counts = rng.multinomial(doc_len, theta @ phi)
    return sp.csr_matrix(counts.astype(float)), phi, theta


def cosine(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return a @ b.T


@pytest.fixture(scope="module")
def data():
    return planted()


# seed 3 with a single document-seeded start ends in a local optimum (one topic split,
# two merged); five starts, the most likely kept, avoid it.
@pytest.mark.parametrize("algorithm, init, n_init", [("fused", "docs", 5), ("two_pass", "random", 1)])
def test_recovers_planted_topics_and_loglik_never_decreases(data, algorithm, init, n_init):
    X, phi, theta = data
    m = PLSA(n_components=8, max_iter=100, random_state=3, algorithm=algorithm, init=init,
             n_init=n_init).fit(X)
    assert m.algorithm_ == algorithm
    sim = cosine(m.components_, phi)
    r, c = linear_sum_assignment(-sim)
    assert sim[r, c].min() >= 0.9, sim[r, c]
    # the documents' topic mixtures come back too (columns permuted by the matching)
    est = m.doc_topic_[:, r[np.argsort(c)]]
    assert np.mean(np.sum(est * theta, 1) / np.linalg.norm(est, axis=1) / np.linalg.norm(theta, axis=1)) > 0.9
    ll = m.loglik_
    assert ll.shape == (101,)  # the kept start: its init and 100 iterations
    assert np.all(np.diff(ll) >= -1e-10 * np.abs(ll[:-1])), np.diff(ll).min()
    assert ll[-1] > ll[0]
    np.testing.assert_allclose(m.components_.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(m.doc_topic_.sum(1), 1.0, atol=1e-12)


def test_kernels_match_the_numpy_reference(data):
    X, _, _ = data
    X = X[:300]
    k, iters, seed = 5, 7, 11
    rng = np.random.default_rng(seed)
    ref = PLSAReference(_random_simplex(rng, (X.shape[0], k)), _random_simplex(rng, (k, X.shape[1])))
    lls = [ref.step(X) for _ in range(iters)]
    for algorithm in ("fused", "two_pass"):
        m = PLSA(n_components=k, max_iter=iters, random_state=seed, algorithm=algorithm, n_threads=2,
                 init="random").fit(X)
        np.testing.assert_allclose(m.doc_topic_, ref.theta, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(m.components_, ref.phi, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(m.loglik_[:iters], lls, rtol=1e-10)


def test_restarts_keep_the_most_likely_start(data):
    X, _, _ = data
    m = PLSA(n_components=8, max_iter=30, random_state=2, n_init=4, init_iter=5, init="random").fit(X)
    assert m.restart_logliks_.shape == (4,)
    assert len(np.unique(m.restart_logliks_)) == 4  # the starts differ
    # the kept start's trace passes through the best start's value after 5 iterations
    assert m.loglik_[5] == pytest.approx(m.restart_logliks_.max(), rel=1e-12)
    assert m.loglik_.shape == (31,) and np.all(np.diff(m.loglik_) >= -1e-10 * np.abs(m.loglik_[:-1]))
    single = [PLSA(n_components=8, max_iter=5, random_state=2, init="random").fit(X) for _ in range(1)]
    assert m.restart_logliks_[0] == pytest.approx(single[0].loglik_[-1], rel=1e-12)  # same first start


def test_document_seeding_spreads_the_seeds():
    """Three well-separated groups of documents: k-means++ seeding picks one of each."""
    from onerep.sources.plsa import _seed_documents

    blocks = np.kron(np.eye(3), np.ones((20, 5)))
    X = sp.csr_matrix(blocks)
    for seed in range(10):
        seeds = _seed_documents(np.random.default_rng(seed), X, 3)
        assert sorted(seeds // 20) == [0, 1, 2]


def test_auto_picks_two_pass_when_buffers_do_not_fit(data):
    X, _, _ = data
    m = PLSA(n_components=3, max_iter=2, random_state=0, buffer_mb=1e-3).fit(X)
    assert m.algorithm_ == "two_pass"
    assert PLSA(n_components=3, max_iter=2, random_state=0).fit(X).algorithm_ == "fused"


def test_seeded_and_fold_in(data):
    X, phi, theta = data
    a = PLSA(n_components=8, max_iter=60, random_state=5).fit(X)
    b = PLSA(n_components=8, max_iter=60, random_state=5).fit(X)
    c = PLSA(n_components=8, max_iter=60, random_state=6).fit(X)
    np.testing.assert_array_equal(a.doc_topic_, b.doc_topic_)
    assert not np.allclose(a.doc_topic_, c.doc_topic_)
    # New documents drawn from the same topics: folding in recovers their mixtures.
    Xn, _, theta_n = planted(n_docs=200, seed=1)
    a.fold_in_iter = 100
    zn = a.transform(Xn)
    np.testing.assert_allclose(zn.sum(1), 1.0, atol=1e-12)
    r, cc = linear_sum_assignment(-cosine(a.components_, phi))
    est = zn[:, r[np.argsort(cc)]]
    assert np.mean(np.abs(est - theta_n).sum(1)) < 0.25
    # An empty new document has no topic mixture.
    Xe = sp.vstack([Xn[:2], sp.csr_matrix((1, Xn.shape[1]))]).tocsr()
    ze = a.transform(Xe)
    assert np.isnan(ze[2]).all() and np.isfinite(ze[:2]).all()


def test_bad_input_is_rejected():
    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="1 of 3 documents have no counts"):
        PLSA(n_components=2, max_iter=2).fit(X)
    with pytest.raises(ValueError, match="negative"):
        PLSA(n_components=2, max_iter=2).fit(sp.csr_matrix(np.array([[1.0, -1.0]])))
    m = PLSA(n_components=2, max_iter=2, random_state=0).fit(np.array([[1.0, 2.0], [3.0, 0.0]]))
    with pytest.raises(ValueError, match="3 terms but the model was fitted on 2"):
        m.transform(np.ones((1, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        PLSA().transform(np.ones((1, 3)))


def test_top_terms_orders_by_weight():
    comp = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    idx, w = top_terms(comp, 2)
    np.testing.assert_array_equal(idx, [[1, 2], [0, 2]])
    np.testing.assert_allclose(w, [[0.6, 0.3], [0.5, 0.3]])
