"""Cost matrices (IoU, cosine, gating/fusion) and thresholded linear assignment."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid_tracker_ros.tracking.assignment import linear_assignment
from reid_tracker_ros.tracking.costs import (GATED_COST, cosine_distance, fuse_motion, gate_cost,
                                             iou_distance, iou_matrix, nearest_neighbor_distance,
                                             threshold_cost)
from reid_tracker_ros.vectors import normalize_rows

# ---------------------------------------------------------------------------- IoU


def test_iou_known_values():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([
        [0.0, 0.0, 10.0, 10.0],  # identical
        [20.0, 20.0, 30.0, 30.0],  # disjoint
        [5.0, 0.0, 15.0, 10.0],  # half of each overlaps: 50 / 150
        [0.0, 0.0, 5.0, 10.0],  # contained half: 50 / 100
        [10.0, 0.0, 20.0, 10.0],  # touching edge
    ])
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 0.0, 1 / 3, 0.5, 0.0]])
    np.testing.assert_allclose(iou_distance(a, b), [[0.0, 1.0, 2 / 3, 0.5, 1.0]])


def test_iou_is_symmetric_and_shaped():
    rng = np.random.default_rng(0)
    tl = rng.uniform(0, 100, (7, 2))
    a = np.concatenate([tl, tl + rng.uniform(1, 50, (7, 2))], axis=1)
    tl = rng.uniform(0, 100, (4, 2))
    b = np.concatenate([tl, tl + rng.uniform(1, 50, (4, 2))], axis=1)
    m = iou_matrix(a, b)
    assert m.shape == (7, 4)
    np.testing.assert_allclose(m, iou_matrix(b, a).T)
    np.testing.assert_allclose(np.diag(iou_matrix(a, a)), 1.0)
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 4)
    assert iou_matrix(a, np.zeros((0, 4))).shape == (7, 0)
    assert iou_matrix([], []).shape == (0, 0)


def test_iou_degenerate_boxes_are_nan_free():
    boxes = np.array([
        [5.0, 5.0, 5.0, 5.0],  # point
        [0.0, 5.0, 10.0, 5.0],  # zero height
        [10.0, 10.0, 0.0, 0.0],  # inverted
        [np.nan, 0.0, 10.0, 10.0],
        [0.0, 0.0, np.inf, 10.0],
        [-np.inf, -np.inf, np.inf, np.inf],
        [0.0, 0.0, 10.0, 10.0],
        [1e200, 1e200, 1e201, 1e201],
    ])
    m = iou_matrix(boxes, boxes)
    assert np.isfinite(m).all()
    assert m.min() >= 0.0 and m.max() <= 1.0
    assert m[6, 6] == 1.0
    np.testing.assert_array_equal(m[:6, :6], 0.0)  # empty/invalid boxes overlap nothing
    np.testing.assert_array_equal(m[6, :6], 0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=4, max_size=4),
                min_size=1, max_size=6))
def test_iou_range_property(rows):
    boxes = np.array(rows)
    m = iou_matrix(boxes, boxes[::-1])
    assert np.isfinite(m).all() and m.min() >= 0.0 and m.max() <= 1.0


# ---------------------------------------------------------------------------- cosine


def test_cosine_distance_values_and_range():
    e = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [3.0, 0.0]], np.float32)
    d = cosine_distance(e, e)
    np.testing.assert_allclose(d[0], [0.0, 1.0, 2.0, 0.0], atol=1e-6)  # 4th row renormalised
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(30, 64))
    d = cosine_distance(a, b)
    assert d.shape == (20, 30) and d.min() >= 0.0 and d.max() <= 2.0
    assert cosine_distance(np.zeros((0, 8)), b[:, :8]).shape == (0, 30)
    with pytest.raises(ValueError, match=r"\(30, 10\)"):
        cosine_distance(a, b[:, :10])


def test_cosine_guards_zero_and_nonfinite_rows():
    a = np.array([[0.0, 0.0, 0.0], [np.nan, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    d = cosine_distance(a, a)
    assert np.isfinite(d).all()
    np.testing.assert_allclose(d[0], 1.0)  # no direction: neutral distance
    np.testing.assert_allclose(d[1], 1.0)
    n = normalize_rows(a)
    np.testing.assert_array_equal(n[:2], 0.0)
    np.testing.assert_allclose(np.linalg.norm(n[2]), 1.0)


def test_nearest_neighbor_distance_takes_gallery_minimum():
    rng = np.random.default_rng(2)
    emb = normalize_rows(rng.normal(size=(4, 16)))
    g0 = normalize_rows(np.stack([rng.normal(size=16), emb[2]]))  # contains detection 2 exactly
    g1 = normalize_rows(rng.normal(size=(5, 16)))
    empty = np.zeros((0, 16), np.float32)
    d = nearest_neighbor_distance([g0, g1, empty], emb)
    np.testing.assert_allclose(d[0], cosine_distance(g0, emb).min(axis=0), atol=1e-6)
    np.testing.assert_allclose(d[1], cosine_distance(g1, emb).min(axis=0), atol=1e-6)
    assert d[0, 2] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_array_equal(d[2], 2.0)  # empty gallery never matches
    # a mask computes only the requested pairs (dense rows use the matrix path)
    mask = np.array([[True, False, True, False], [True, True, True, True], [True] * 4])
    dm = nearest_neighbor_distance([g0, g1, empty], emb, mask=mask)
    np.testing.assert_allclose(dm[mask], d[mask], atol=1e-6)
    np.testing.assert_array_equal(dm[~mask], 2.0)
    with pytest.raises(ValueError, match="feature dim 16"):
        nearest_neighbor_distance([g0], emb[:, :8])


def test_gate_threshold_and_fuse():
    cost = np.array([[0.1, 0.5], [0.3, np.nan]])
    gd = np.array([[1.0, 20.0], [5.0, 1.0]])
    gated = gate_cost(cost, gd, 9.4877)
    assert gated[0, 1] == GATED_COST and gated[0, 0] == 0.1
    assert not np.shares_memory(gated, cost)
    t = threshold_cost(cost, 0.2)
    np.testing.assert_array_equal(t, [[0.1, GATED_COST], [GATED_COST, GATED_COST]])
    fused = fuse_motion(np.array([[0.1, 0.1]]), np.array([[0.0, 8.0]]), 8.0, appearance_weight=0.5)
    np.testing.assert_allclose(fused, [[0.05, 0.55]])
    pure = fuse_motion(np.array([[0.1, 0.1]]), np.array([[0.0, 9.0]]), 8.0, appearance_weight=1.0)
    np.testing.assert_allclose(pure, [[0.1, GATED_COST]])
    with pytest.raises(ValueError, match="appearance_weight"):
        fuse_motion(cost, gd, 1.0, appearance_weight=1.5)


# ---------------------------------------------------------------------------- assignment


def test_assignment_finds_optimum():
    cost = np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    matches, ur, uc = linear_assignment(cost, threshold=10.0)
    assert sorted(map(tuple, matches.tolist())) == [(0, 1), (1, 0), (2, 2)]
    assert len(ur) == 0 and len(uc) == 0
    assert matches.dtype == np.int64 and matches.shape == (3, 2)


def test_assignment_respects_threshold():
    cost = np.array([[0.1, 0.9], [0.8, 0.95]])
    matches, ur, uc = linear_assignment(cost, threshold=0.5)
    np.testing.assert_array_equal(matches, [[0, 0]])
    np.testing.assert_array_equal(ur, [1])
    np.testing.assert_array_equal(uc, [1])
    # a cheap pair is never traded for a forbidden one to "complete" the matching
    cost = np.array([[0.0, 0.1], [0.2, 10.0]])
    matches, _, _ = linear_assignment(cost, threshold=0.5)
    assert sorted(map(tuple, matches.tolist())) == [(0, 1), (1, 0)]
    matches, ur, uc = linear_assignment(cost, threshold=0.15)  # (1, 0) now forbidden
    np.testing.assert_array_equal(matches, [[0, 0]])
    assert ur.tolist() == [1] and uc.tolist() == [1]
    # nothing allowed at all
    m, ur, uc = linear_assignment(np.full((2, 3), 5.0), threshold=1.0)
    assert m.shape == (0, 2) and ur.tolist() == [0, 1] and uc.tolist() == [0, 1, 2]


def test_assignment_handles_empty_and_non_finite():
    for shape in [(0, 0), (0, 3), (4, 0)]:
        m, ur, uc = linear_assignment(np.zeros(shape), 0.5)
        assert m.shape == (0, 2)
        assert ur.tolist() == list(range(shape[0])) and uc.tolist() == list(range(shape[1]))
    cost = np.array([[np.nan, 0.2], [np.inf, np.inf], [0.1, np.nan]])
    m, ur, uc = linear_assignment(cost, 0.5)
    assert sorted(map(tuple, m.tolist())) == [(0, 1), (2, 0)] and ur.tolist() == [1]
    m, ur, _ = linear_assignment(cost, np.inf)  # no threshold: only non-finite is forbidden
    assert sorted(map(tuple, m.tolist())) == [(0, 1), (2, 0)] and ur.tolist() == [1]
    with pytest.raises(ValueError, match="2-D"):
        linear_assignment(np.zeros(3), 0.5)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 10_000), st.floats(0.05, 1.0))
def test_assignment_is_optimal_among_thresholded_matchings(n, m, seed, threshold):
    """Brute force: minimal cost where every unmatched row/col costs the threshold."""
    cost = np.random.default_rng(seed).uniform(0, 1, (n, m))
    matches, ur, uc = linear_assignment(cost, threshold)
    assert all(cost[r, c] <= threshold for r, c in matches)
    assert sorted(matches[:, 0].tolist() + ur.tolist()) == list(range(n))
    assert sorted(matches[:, 1].tolist() + uc.tolist()) == list(range(m))

    def total(pairs):
        return sum(cost[r, c] for r, c in pairs) + threshold * (min(n, m) - len(pairs))

    best = threshold * min(n, m)
    for k in range(1, min(n, m) + 1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.permutations(range(m), k):
                pairs = list(zip(rows, cols))
                if all(cost[r, c] <= threshold for r, c in pairs):
                    best = min(best, total(pairs))
    assert total(matches.tolist()) <= best + 1e-4
