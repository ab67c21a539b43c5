"""Property tests (hypothesis) of the association costs: symmetry, bounds, NaN-free on
degenerate boxes and features (zero-size, inverted, NaN/inf, huge, all-zero embeddings)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reid_tracker_ros.tracking.costs import cosine_distance, iou_distance, iou_matrix
from reid_tracker_ros.tracking.kalman_filter import warp_boxes
from reid_tracker_ros.tracking.strategies import adaptive_weights, momentum_similarity

coord = st.one_of(st.floats(-1e4, 1e4, allow_nan=False),
                  st.sampled_from([0.0, np.nan, np.inf, -np.inf, 1e300]))
box_rows = st.lists(st.lists(coord, min_size=4, max_size=4), min_size=0, max_size=6)
finite_box_rows = st.lists(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=4, max_size=4),
                           min_size=1, max_size=6)
feature_rows = st.lists(st.lists(st.one_of(st.floats(-10, 10, allow_nan=False),
                                           st.sampled_from([0.0, np.nan, np.inf])),
                                 min_size=5, max_size=5), min_size=0, max_size=5)


def as_boxes(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


@settings(max_examples=80, deadline=None)
@given(box_rows, box_rows)
def test_iou_symmetric_bounded_and_nan_free(a, b):
    a, b = as_boxes(a), as_boxes(b)
    m = iou_matrix(a, b)
    assert m.shape == (len(a), len(b))
    assert np.isfinite(m).all() and (m >= 0).all() and (m <= 1).all()
    np.testing.assert_array_equal(m, iou_matrix(b, a).T)
    d = iou_distance(a, b)
    np.testing.assert_allclose(d, 1.0 - m)


@settings(max_examples=60, deadline=None)
@given(finite_box_rows)
def test_iou_of_a_proper_box_with_itself_is_one(rows):
    boxes = as_boxes(rows)
    proper = (boxes[:, 2] - boxes[:, 0] > 1e-3) & (boxes[:, 3] - boxes[:, 1] > 1e-3)
    diag = np.diag(iou_matrix(boxes, boxes))
    np.testing.assert_allclose(diag[proper], 1.0)


@settings(max_examples=80, deadline=None)
@given(feature_rows, feature_rows)
def test_cosine_symmetric_bounded_and_nan_free(a, b):
    a = np.array(a, dtype=np.float64).reshape(-1, 5)
    b = np.array(b, dtype=np.float64).reshape(-1, 5)
    with np.errstate(all="ignore"):
        d = cosine_distance(a, b)
        d_t = cosine_distance(b, a)
    assert d.shape == (len(a), len(b))
    assert np.isfinite(d).all() and (d >= 0).all() and (d <= 2).all()
    np.testing.assert_allclose(d, d_t.T, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(finite_box_rows, finite_box_rows,
       st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=2))
def test_momentum_similarity_bounded_and_nan_free(tracks, detections, direction):
    t, d = as_boxes(tracks), as_boxes(detections)
    dirs = np.tile(np.array(direction), (len(t), 1))
    n = np.linalg.norm(dirs, axis=1, keepdims=True)
    dirs = np.divide(dirs, n, out=np.zeros_like(dirs), where=n > 1e-9)
    m = momentum_similarity(dirs, t, d)
    assert m.shape == (len(t), len(d))
    assert np.isfinite(m).all() and (m >= -0.5 - 1e-12).all() and (m <= 0.5 + 1e-12).all()
    # a detection straight ahead in the direction of motion gets the maximum
    if n[0, 0] > 1e-3:
        centre = 0.5 * (t[0, :2] + t[0, 2:])
        ahead = np.concatenate([centre + 50 * dirs[0] - 1, centre + 50 * dirs[0] + 1])[None]
        assert momentum_similarity(dirs[:1], t[:1], ahead)[0, 0] > 0.49


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-1, 1, allow_nan=False), min_size=3, max_size=3),
                min_size=0, max_size=4), st.floats(0, 2), st.floats(0, 2))
def test_adaptive_weights_stay_between_base_and_boosted(rows, base, boost):
    sim = np.array(rows, dtype=np.float64).reshape(-1, 3)
    w = adaptive_weights(sim, base, boost)
    assert w.shape == sim.shape and np.isfinite(w).all()
    assert (w >= base - 1e-12).all() and (w <= base * (1 + boost) + 1e-12).all()


@settings(max_examples=60, deadline=None)
@given(finite_box_rows, st.floats(-50, 50), st.floats(-50, 50), st.floats(0.5, 2.0))
def test_warp_boxes_keeps_validity_and_inverts(rows, tx, ty, zoom):
    boxes = as_boxes(rows)
    affine = np.array([[zoom, 0.0, tx], [0.0, zoom, ty]])
    warped = warp_boxes(boxes, affine)
    assert np.isfinite(warped).all()
    np.testing.assert_allclose(warped[:, 2:] - warped[:, :2], zoom * (boxes[:, 2:] - boxes[:, :2]),
                               atol=1e-6)
    inverse = np.array([[1 / zoom, 0.0, -tx / zoom], [0.0, 1 / zoom, -ty / zoom]])
    np.testing.assert_allclose(warp_boxes(warped, inverse), boxes, atol=1e-6)
