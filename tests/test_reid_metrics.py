"""ReID metrics: distances, CMC/mAP on hand-computed cases and against a plain per-query loop,
k-reciprocal re-ranking (a toy case it must fix), Jaccard distance, CMC plot."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid_training.metrics import (compute_distance, evaluate_features, evaluate_rank, jaccard_distance,
                                   k_reciprocal_rerank, plot_cmc)


def test_distances_by_hand():
    q = np.array([[1.0, 0.0], [0.0, 2.0]])
    g = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]])
    cos = compute_distance(q, g, "cosine")
    np.testing.assert_allclose(cos, [[0.0, 1.0, 1 - 0.6], [1.0, 0.0, 1 - 0.8]], atol=1e-6)
    euc = compute_distance(q, g, "euclidean")
    np.testing.assert_allclose(euc, [[0.0, np.sqrt(2), np.sqrt(4 + 16)], [np.sqrt(5), 1.0, np.sqrt(9 + 4)]],
                               atol=1e-5)
    assert cos.dtype == np.float32 and euc.shape == (2, 3)


def test_distance_chunks_and_torch_input():
    import torch

    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(37, 8)), rng.normal(size=(23, 8))
    for metric in ("cosine", "euclidean"):
        full = compute_distance(q, g, metric)
        np.testing.assert_allclose(compute_distance(q, g, metric, chunk_size=5), full, atol=1e-5)
        np.testing.assert_allclose(compute_distance(torch.from_numpy(q), torch.from_numpy(g), metric), full, atol=1e-5)
    with pytest.raises(ValueError, match="feature sizes differ"):
        compute_distance(q, g[:, :4])
    with pytest.raises(ValueError, match="metric"):
        compute_distance(q, g, "manhattan")
    with pytest.raises(ValueError, match="query features"):
        compute_distance(np.zeros(3), g)


def _hand_case():
    """Three queries; gallery pids [1, 2, 1, 3, 1, 3] in cameras [0, 1, 1, 1, 2, 0].

    q0 (pid 1, cam 0): g0 is pid 1 in cam 0 -> excluded; ranking g1(-) g2(+) g3(-) g4(+) g5(-)
        -> first match at rank 2, AP = (1/2 + 2/4) / 2 = 0.5
    q1 (pid 2, cam 0): g1 first -> rank 1, AP = 1
    q2 (pid 3, cam 1): g3 excluded (same camera); ranking g1 g2 g0 g4 g5(+) -> rank 5, AP = 1/5
    """
    g_pids = np.array([1, 2, 1, 3, 1, 3])
    g_cams = np.array([0, 1, 1, 1, 2, 0])
    q_pids, q_cams = np.array([1, 2, 3]), np.array([0, 0, 1])
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.9],
                     [0.5, 0.1, 0.3, 0.4, 0.6, 0.9],
                     [0.5, 0.1, 0.3, 0.4, 0.6, 0.9]])
    return dist, q_pids, g_pids, q_cams, g_cams


def test_cmc_map_hand_computed():
    dist, q_pids, g_pids, q_cams, g_cams = _hand_case()
    cmc, mAP = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=6)
    np.testing.assert_allclose(cmc, [1 / 3, 2 / 3, 2 / 3, 2 / 3, 1.0, 1.0])
    assert mAP == pytest.approx((0.5 + 1.0 + 0.2) / 3)
    # max_rank larger than the gallery: truncated to the gallery size
    assert len(evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=50)[0]) == 6


def test_queries_without_match_are_skipped_and_junk_is_ignored():
    dist = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    g_pids, g_cams = np.array([-1, 5, 1]), np.array([1, 1, 1])
    # query 0 (pid 1): junk g0 ignored, ranking g1(-) g2(+) -> rank 2; query 1 (pid 9) has no match
    cmc, mAP = evaluate_rank(dist, [1, 9], g_pids, [0, 0], g_cams, max_rank=3)
    np.testing.assert_allclose(cmc, [0.0, 1.0, 1.0])
    assert mAP == pytest.approx(0.5)
    with pytest.raises(ValueError, match="none of the 1 queries"):
        evaluate_rank(dist[:1], [9], g_pids, [0], g_cams)
    with pytest.raises(ValueError, match="q_camids has 1 entries"):
        evaluate_rank(dist, [1, 9], g_pids, [0], g_cams)


def _reference(dist, q_pids, g_pids, q_cams, g_cams, max_rank):
    """Plain per-query loop, written independently of the vectorised code."""
    cmc = np.zeros(max_rank)
    aps = []
    for i in range(len(dist)):
        order = np.argsort(dist[i], kind="stable")
        ranked = [j for j in order if not (g_pids[j] == q_pids[i] and g_cams[j] == q_cams[i]) and g_pids[j] >= 0]
        good = [g_pids[j] == q_pids[i] for j in ranked]
        if not any(good):
            continue
        first = good.index(True)
        if first < max_rank:
            cmc[first:] += 1
        hits, precisions = 0, []
        for r, ok in enumerate(good, start=1):
            if ok:
                hits += 1
                precisions.append(hits / r)
        aps.append(np.mean(precisions))
    if not aps:
        raise ZeroDivisionError("no query with a true match")
    return cmc / len(aps), float(np.mean(aps))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 12), st.integers(2, 40), st.integers(1, 7))
def test_matches_reference_loop_for_any_chunking(seed, nq, ng, chunk):
    rng = np.random.default_rng(seed)
    q_pids, g_pids = rng.integers(0, 4, nq), rng.integers(-1, 4, ng)
    q_cams, g_cams = rng.integers(0, 3, nq), rng.integers(0, 3, ng)
    dist = rng.random((nq, ng)).round(1)  # ties on purpose: both sides break them by gallery order
    try:
        expected = _reference(dist, q_pids, g_pids, q_cams, g_cams, min(10, ng))
    except ZeroDivisionError:
        with pytest.raises(ValueError, match="true match"):
            evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=10, chunk_size=chunk)
        return
    cmc, mAP = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=10, chunk_size=chunk)
    np.testing.assert_allclose(cmc, expected[0])
    assert mAP == pytest.approx(expected[1])


def test_evaluate_features_equals_distance_matrix_path():
    rng = np.random.default_rng(3)
    qf, gf = rng.normal(size=(30, 16)), rng.normal(size=(90, 16))
    q_pids, g_pids = rng.integers(0, 10, 30), rng.integers(0, 10, 90)
    q_cams, g_cams = np.zeros(30, int), rng.integers(1, 3, 90)
    for metric in ("cosine", "euclidean"):
        a = evaluate_rank(compute_distance(qf, gf, metric), q_pids, g_pids, q_cams, g_cams)
        b = evaluate_features(qf, gf, q_pids, g_pids, q_cams, g_cams, metric, chunk_size=7)
        np.testing.assert_allclose(a[0], b[0])
        assert a[1] == pytest.approx(b[1])


def _rerank_toy():
    """2-D toy. Query 0 (pid 1) sits between its own tight cluster A (distance 0.91-1.1) and a
    lone gallery image h of pid 3 (distance 0.71): plain ranking puts h first. h and the query
    are each other's nearest neighbours, but they share no other neighbours, while the query's
    k-reciprocal set overlaps A's: the Jaccard distance puts A first."""
    sq = [(0.1, 0.1), (-0.1, 0.1), (0.1, -0.1), (-0.1, -0.1)]
    a = sq
    b = [(x + 4, y) for x, y in sq]
    h = [(1.5, 0.5)]
    c = [(x + 1.5, y + 4) for x, y in sq]
    g = np.array(a + b + h + c, np.float32)
    g_pids = np.array([1] * 4 + [2] * 4 + [3] * 5)
    g_cams = np.array([1, 2, 1, 2] * 2 + [1] + [2, 1, 2, 1])
    q = np.array([(1.0, 0.0), (4.0, 0.0)], np.float32)
    return q, g, np.array([1, 2]), g_pids, np.array([0, 0]), g_cams


def test_rerank_fixes_the_toy_case():
    q, g, q_pids, g_pids, q_cams, g_cams = _rerank_toy()
    q_g = compute_distance(q, g, "euclidean")
    assert np.argmin(q_g[0]) == 8  # the look-alike h wins the plain ranking
    cmc, mAP = evaluate_rank(q_g, q_pids, g_pids, q_cams, g_cams)
    rr = k_reciprocal_rerank(q_g, compute_distance(q, q, "euclidean"), compute_distance(g, g, "euclidean"),
                             k1=4, k2=1, lambda_value=0.3)
    cmc_rr, mAP_rr = evaluate_rank(rr, q_pids, g_pids, q_cams, g_cams)
    assert cmc[0] == 0.5 and cmc_rr[0] == 1.0
    assert mAP_rr > mAP
    assert rr.shape == q_g.shape and np.isfinite(rr).all()
    # lambda = 1 keeps the original order (distances only rescaled per query)
    orig = k_reciprocal_rerank(q_g, compute_distance(q, q, "euclidean"), compute_distance(g, g, "euclidean"),
                               k1=4, k2=1, lambda_value=1.0)
    np.testing.assert_array_equal(np.argsort(orig, axis=1, kind="stable"), np.argsort(q_g, axis=1, kind="stable"))


def test_rerank_rejects_bad_shapes_and_parameters():
    q_g, q_q, g_g = np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((3, 3))
    with pytest.raises(ValueError, match="shapes do not fit"):
        k_reciprocal_rerank(q_g, q_q, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="lambda_value"):
        k_reciprocal_rerank(q_g, q_q, g_g, lambda_value=1.5)
    with pytest.raises(ValueError, match="k1 and k2"):
        k_reciprocal_rerank(q_g, q_q, g_g, k1=0)


def test_jaccard_distance_properties():
    rng = np.random.default_rng(1)
    feats = np.concatenate([rng.normal(0, 0.1, (10, 4)) + 3, rng.normal(0, 0.1, (10, 4)) - 3])
    jac = jaccard_distance(feats, k1=5, k2=2)
    assert jac.shape == (20, 20) and jac.dtype == np.float32
    np.testing.assert_array_equal(jac, jac.T)
    assert (np.diag(jac) == 0).all() and jac.min() >= 0 and jac.max() <= 1
    labels = np.arange(20) < 10
    same = labels[:, None] == labels[None, :]
    assert jac[same & ~np.eye(20, dtype=bool)].max() < jac[~same].min()  # clusters separate
    assert jac[~same].min() == pytest.approx(1.0)  # no shared neighbours across far clusters
    # a distance matrix gives the same result as the features it came from
    dist = compute_distance(feats, feats, "euclidean")
    np.fill_diagonal(dist, 0.0)
    np.testing.assert_allclose(jaccard_distance(dist, k1=5, k2=2), jac, atol=1e-4)
    np.testing.assert_allclose(jaccard_distance(dist, k1=5, k2=2, is_distance=True), jac, atol=1e-4)


def test_plot_cmc_writes_png(tmp_path):
    cmc = np.linspace(0.5, 1.0, 20)
    path = plot_cmc({"plain": cmc, "re-ranked": np.minimum(cmc + 0.1, 1)}, tmp_path / "sub" / "cmc.png")
    img = cv2.imread(str(path))
    assert img is not None and img.shape[0] > 100 and img.std() > 5
    with pytest.raises(ValueError, match="not finite"):
        plot_cmc(np.array([np.nan]), tmp_path / "bad.png")
