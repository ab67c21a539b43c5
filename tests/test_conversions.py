"""Message <-> numpy conversions on real ROS message classes (no DDS needed)."""
from __future__ import annotations

import numpy as np
import pytest

from reid_tracker_ros.ros.conversions import (detection_msgs_from, detections_from_msg_list, embeddings_from_msg, fill_image_msg, float32_array, sanitize_detections, track_msgs_from)

from reid_tracker_ros.images import ImageConversionError, image_to_rgb
from reid_tracker_ros.types import Detections, TrackSnapshot, TrackState

import reid_msgs.msg as reid  # noqa: E402  (make setup builds them; a missing one must fail, not skip)
import sensor_msgs.msg as msg  # noqa: E402


def _image(arr: np.ndarray, encoding: str, pad: int = 0):
    m = msg.Image()
    h, w = arr.shape[:2]
    c = 1 if arr.ndim == 2 else arr.shape[2]
    rows = np.zeros((h, w * c + pad), np.uint8)
    rows[:, : w * c] = arr.reshape(h, w * c)
    m.height, m.width, m.encoding, m.step = h, w, encoding, w * c + pad
    m.data = rows.tobytes()
    return m


def test_encodings_and_row_padding_give_rgb():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(image_to_rgb(_image(rgb, "rgb8")), rgb)
    assert np.array_equal(image_to_rgb(_image(rgb[:, :, ::-1].copy(), "bgr8", pad=3)), rgb)
    rgba = np.concatenate([rgb, np.full((5, 7, 1), 9, np.uint8)], axis=2)
    assert np.array_equal(image_to_rgb(_image(rgba, "rgba8")), rgb)
    grey = rgb[:, :, 0].copy()
    assert np.array_equal(image_to_rgb(_image(grey, "mono8")), np.repeat(grey[:, :, None], 3, 2))


@pytest.mark.parametrize("mutate, match", [
    (lambda m: setattr(m, "encoding", "16UC1"), "unsupported image encoding '16UC1'"),
    (lambda m: setattr(m, "step", 2), "step 2 is smaller"),
    (lambda m: setattr(m, "data", b"\x00" * 10), "data holds 10 bytes"),
    (lambda m: setattr(m, "height", 0), "empty image"),
])
def test_bad_images_raise_a_clear_error(mutate, match):
    m = _image(np.zeros((4, 4, 3), np.uint8), "rgb8")
    mutate(m)
    with pytest.raises(ImageConversionError, match=match):
        image_to_rgb(m)


def test_fill_image_roundtrip():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    m = msg.Image()
    fill_image_msg(m, rgb)
    assert (m.encoding, m.step) == ("rgb8", 9)
    assert np.array_equal(image_to_rgb(m), rgb)


def test_detections_roundtrip_and_sanitize():
    dets = Detections(np.array([[10, 20, 30, 60], [0, 0, 5, 5.0]]), [0.9, 0.4], [0, 0])
    msgs = detection_msgs_from(dets, reid.Detection)
    assert (msgs[0].x, msgs[0].y, msgs[0].width, msgs[0].height) == (10, 20, 20, 40)
    back = detections_from_msg_list(msgs)
    assert np.allclose(back.boxes, dets.boxes) and np.allclose(back.scores, [0.9, 0.4])
    bad = Detections(np.array([[np.nan, 0, 5, 5], [10, 10, 5, 20], [-50, -50, -10, -10], [90, 10, 130, 40],
                               [1, 1, 9, 9]]), [0.5, 0.5, 0.5, 0.5, np.inf], [0] * 5)
    kept, dropped = sanitize_detections(bad, 100, 50)
    assert dropped == 4  # NaN box, negative width, fully outside, inf score
    assert np.allclose(kept.boxes, [[90, 10, 130, 40]])  # partly outside: kept unclipped


def test_embeddings_flat_layout_and_mismatch():
    m = reid.EmbeddedDetectionArray()
    m.detections = [reid.Detection(), reid.Detection()]
    m.embedding_dim = 3
    m.embeddings = float32_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert np.array_equal(embeddings_from_msg(m), np.arange(6, dtype=np.float32).reshape(2, 3))
    m.embedding_dim = 4
    with pytest.raises(ValueError, match="expected 2 detections x 4"):
        embeddings_from_msg(m)
    m.embedding_dim = 0
    assert embeddings_from_msg(m) is None


def test_track_messages_carry_state_and_velocity():
    snap = TrackSnapshot(np.array([7]), np.array([[10, 10, 30, 50.0]]), np.array([0.8]), np.array([0]),
                         np.array([TrackState.LOST], np.uint8), np.array([12]), np.array([9]), np.array([2]),
                         np.array([[1.5, -0.5]]))
    (t,) = track_msgs_from(snap, reid.Track)
    assert (t.track_id, t.state, t.age, t.hits, t.frames_since_update) == (7, reid.Track.LOST, 12, 9, 2)
    assert (t.width, t.height, t.velocity_x, t.velocity_y) == (20, 40, 1.5, -0.5)
