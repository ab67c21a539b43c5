"""Property-based fuzzing (hypothesis) of message contents against the conversion cores and
the tracker: whatever a message holds, the result is a valid array or a clear, named error,
never a crash or garbage passed on. Real generated ROS message classes, no DDS."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reid_msgs.msg import Detection, EmbeddedDetectionArray
from sensor_msgs.msg import CompressedImage, Image

from reid_tracker_ros.fallback import MotionFallback
from reid_tracker_ros.ros.conversions import (detection_msgs_from, detections_from_msg_list,
                                              embeddings_from_msg, float32_array, sanitize_detections,
                                              uint8_array)
from reid_tracker_ros.images import SUPPORTED_ENCODINGS, ImageConversionError, compressed_to_rgb, image_to_rgb
from reid_tracker_ros.stats import StampOrder, StampVerdict
from reid_tracker_ros.tracking import build_tracker

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


@SETTINGS
@given(encoding=st.sampled_from([*SUPPORTED_ENCODINGS, "32FC1", "16UC1", "bayer_rggb8", "", "yuv422"]),
       width=st.integers(0, 40), height=st.integers(0, 40), step_delta=st.integers(-5, 8),
       data_delta=st.integers(-50, 50))
def test_image_to_rgb_returns_rgb_or_a_named_error(encoding, width, height, step_delta, data_delta):
    channels = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "8UC3": 3}.get(encoding, 1)
    step = max(0, width * channels + step_delta)
    data = np.random.default_rng(width * 41 + height).integers(0, 256, max(0, step * height + data_delta), np.uint8)
    msg = Image(height=height, width=width, encoding=encoding, step=step, data=uint8_array(data.tobytes()))
    try:
        rgb = image_to_rgb(msg)
    except ImageConversionError as exc:
        assert str(exc)  # says why
        return
    assert rgb.dtype == np.uint8 and rgb.shape == (height, width, 3) and height > 0 and width > 0


@SETTINGS
@given(data=st.binary(max_size=300), fmt=st.sampled_from(["jpeg", "png", "rgb8; jpeg compressed bgr8", ""]))
def test_compressed_garbage_is_a_named_error(data, fmt):
    msg = CompressedImage(format=fmt, data=uint8_array(data))
    try:
        rgb = compressed_to_rgb(msg)
    except ImageConversionError as exc:
        assert "CompressedImage" in str(exc)
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3


boxes = st.lists(st.tuples(floats, floats, floats, floats, floats), max_size=12)


@SETTINGS
@given(rows=boxes, width=st.integers(0, 2000), height=st.integers(0, 2000))
def test_sanitize_keeps_only_usable_boxes_and_accounts_for_every_one(rows, width, height):
    msgs = [Detection(x=r[0], y=r[1], width=r[2], height=r[3], score=r[4], class_id=0) for r in rows]
    dets = detections_from_msg_list(msgs)
    kept, dropped = sanitize_detections(dets, width, height)
    assert len(kept) + dropped == len(rows)
    if len(kept):
        b = kept.boxes
        assert np.isfinite(b).all() and np.isfinite(kept.scores).all()
        assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
        if width and height:  # overlaps the image
            assert (b[:, 2] > 0).all() and (b[:, 3] > 0).all() and (b[:, 0] < width).all() and (b[:, 1] < height).all()
    # what goes out again is what came in (tlwh round trip of the kept boxes)
    again = detections_from_msg_list(detection_msgs_from(kept, Detection))
    np.testing.assert_allclose(again.boxes, kept.boxes, rtol=1e-5, atol=1e-3)


@SETTINGS
@given(n=st.integers(0, 6), dim=st.integers(0, 20), extra=st.integers(-3, 3))
def test_embeddings_size_mismatch_is_a_named_error(n, dim, extra):
    msg = EmbeddedDetectionArray(embedding_dim=dim)
    msg.detections = [Detection() for _ in range(n)]
    values = max(0, n * dim + extra)
    msg.embeddings = float32_array(np.ones(values, np.float32))
    try:
        emb = embeddings_from_msg(msg)
    except ValueError as exc:
        assert "embeddings hold" in str(exc) and extra != 0
        return
    assert emb is None if dim == 0 else emb.shape == (n, dim)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(st.tuples(boxes, st.booleans()), min_size=1, max_size=15),
       strategy=st.sampled_from(["sort", "deepsort"]))
def test_tracker_survives_any_sanitized_message_sequence(frames, strategy):
    """What the tracker node passes on after sanitising: the core never fails on it."""
    tracker = build_tracker({"strategy": strategy, "n_init": 1})
    rng = np.random.default_rng(0)
    for rows, with_features in frames:
        msgs = [Detection(x=r[0], y=r[1], width=r[2], height=r[3], score=r[4], class_id=0) for r in rows]
        dets = detections_from_msg_list(msgs)
        if with_features and len(dets):
            f = rng.normal(size=(len(dets), 8)).astype(np.float32)
            dets.embeddings = f / np.linalg.norm(f, axis=1, keepdims=True)
        dets, _ = sanitize_detections(dets, 640, 480)
        snap = tracker.update(dets)
        assert np.isfinite(snap.boxes).all()


@SETTINGS
@given(stamps=st.lists(st.integers(0, 5_000_000_000), min_size=1, max_size=40))
def test_stamp_order_processes_each_stamp_once_and_in_order_between_jumps(stamps):
    order = StampOrder(jump_back_s=1.0)
    processed = []
    for s in stamps:
        verdict = order.check(s)
        if verdict is StampVerdict.JUMP_BACK:
            processed.append(None)  # a restart: order starts afresh
        if verdict in (StampVerdict.NEW, StampVerdict.JUMP_BACK):
            processed.append(s)
    segment: list[int] = []
    for s in processed + [None]:
        if s is None:
            assert segment == sorted(set(segment))  # strictly increasing: no duplicate, no going back
            segment = []
        else:
            segment.append(s)


@SETTINGS
@given(events=st.lists(st.tuples(st.sampled_from(["hold", "take", "due"]), st.integers(0, 30),
                                 st.floats(0, 0.2)), max_size=60))
def test_fallback_releases_in_stamp_order_and_stays_bounded(events):
    hold: MotionFallback[int] = MotionFallback(timeout_s=0.3, capacity=5)
    now, released, taken = 0.0, [], []
    waiting: set[int] = set()  # what the hold must hold, by the rules of fallback.py
    held_new = 0

    def leave(out: list[int]) -> None:
        for s in out:  # only a frame that is waiting can leave, and only once
            assert s in waiting, f"released {s}, which was not held"
            waiting.remove(s)
        released.extend(out)

    for kind, stamp, dt in events:
        now += dt
        if kind == "hold":
            held_new += stamp not in waiting
            waiting.add(stamp)
            out = [h.stamp for h in hold.hold(stamp, stamp, now)]
            assert out == sorted(out) and len(out) == max(0, len(waiting) - 5)
            leave(out)
        elif kind == "take":
            out = [h.stamp for h in hold.take(stamp)]
            assert out == sorted(s for s in waiting if s < stamp)  # every older frame, oldest first
            leave(out)
            if stamp in waiting:  # its features came: the held copy is dropped, not released
                waiting.remove(stamp)
                taken.append(stamp)
        else:
            out = [h.stamp for h in hold.due(now)]
            assert out == sorted(out)
            leave(out)
        assert len(hold) == len(waiting) <= 5
    # every frame held leaves exactly one way: released (motion only), taken, or still waiting
    assert held_new == len(released) + len(taken) + len(waiting)
    final = [h.stamp for h in hold.due(now + 1.0)]  # after the timeout everything still waiting is due
    assert sorted(final) == sorted(waiting)
