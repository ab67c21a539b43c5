"""MOTChallenge folder -> rosbag2 (mcap / sqlite3) -> BagFrames round trip, plus rclpy compatibility."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Reader

from reid_tracker_ros.mot.bag_reader import BagFrames, image_to_numpy


def detections_to_numpy(msg):
    """(tlwh (N, 4), scores (N,), class_ids (N,)) of a DetectionArray read from a bag."""
    dets = msg.detections
    tlwh = np.array([[d.x, d.y, d.width, d.height] for d in dets], dtype=np.float64).reshape(-1, 4)
    return (tlwh, np.array([d.score for d in dets], dtype=np.float64),
            np.array([d.class_id for d in dets], dtype=np.int64))
from reid_tracker_ros.mot.bag_writer import (
    DEFAULT_START_TIME_NS,
    SEQUENCE_INFO_TOPIC,
    convert_sequence,
    main,
)
from reid_tracker_ros.mot.io import MotFormatError
from reid_tracker_ros.mot.msg_types import find_msg_dir, get_store, message_definition

W, H, N_FRAMES, FPS = 64, 48, 5, 14  # 14 fps (MOT17-05): 1e9/14 ns is not an integer
MISSING_FRAME = 3  # its image file is absent
EMPTY_FRAME = 4  # no rows in det.txt

DETS = {  # frame -> rows (x, y, w, h, score)
    1: [(1.5, 2.0, 10.0, 20.0, 0.9), (30.25, 5.0, 12.0, 30.0, 0.4)],
    2: [(2.0, 3.0, 10.0, 21.0, 0.85)],
    3: [(3.0, 4.0, 11.0, 22.0, -0.5)],  # DPM-style negative score is kept by default
    5: [(0.0, 0.0, 64.0, 48.0, 1.0), (10.0, 10.0, 5.0, 5.0, 0.1), (40.0, 8.0, 6.0, 9.0, 0.7)],
}


def make_sequence(root: Path, name: str = "TINY-01", det: bool = True) -> Path:
    """A MOTChallenge folder: seqinfo.ini, img1/*.jpg (one missing), det/det.txt, gt/gt.txt."""
    seq = root / name
    (seq / "img1").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate={FPS}\nseqLength={N_FRAMES}\n"
        f"imWidth={W}\nimHeight={H}\nimExt=.jpg\n"
    )
    rng = np.random.default_rng(0)
    for frame in range(1, N_FRAMES + 1):
        if frame != MISSING_FRAME:
            img = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
            assert cv2.imwrite(str(seq / "img1" / f"{frame:06d}.jpg"), img)
    if det:
        (seq / "det").mkdir()
        lines = [f"{f},-1,{x},{y},{w},{h},{s},-1,-1,-1" for f, rows in DETS.items() for x, y, w, h, s in rows]
        (seq / "det" / "det.txt").write_text("\n".join(lines) + "\n")
    (seq / "gt").mkdir()
    (seq / "gt" / "gt.txt").write_text("1,1,1,2,10,20,1,1,1.0\n2,1,2,3,10,21,1,1,1.0\n")
    return seq


def expected_rgb(seq: Path, frame: int) -> np.ndarray:
    """What the converter must store for a present frame: OpenCV's decode of the file, as RGB."""
    return cv2.cvtColor(cv2.imread(str(seq / "img1" / f"{frame:06d}.jpg")), cv2.COLOR_BGR2RGB)


@pytest.fixture
def seq(tmp_path: Path) -> Path:
    return make_sequence(tmp_path / "data")


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_raw_image_round_trip(seq: Path, tmp_path: Path, storage: str) -> None:
    with pytest.warns(UserWarning, match="written black"):
        summary = convert_sequence(seq, tmp_path / "bag", storage=storage, progress=False)
    assert Path(os.fspath(summary)) == tmp_path / "bag"
    assert (summary.frames, summary.blank_frames, summary.detection_messages) == (N_FRAMES, (MISSING_FRAME,), N_FRAMES)
    assert summary.detections == sum(len(r) for r in DETS.values())

    frames = BagFrames(summary.path)
    assert len(frames) == N_FRAMES
    info = frames.sequence_info()
    assert info["name"] == "TINY-01" and info["frame_rate"] == FPS
    assert (info["im_width"], info["im_height"], info["seq_length"], info["frames_written"]) == (W, H, N_FRAMES, N_FRAMES)
    assert info["blank_frames"] == [MISSING_FRAME] and info["image_topic"] == "/camera/image_raw"
    assert info["start_time_ns"] == DEFAULT_START_TIME_NS

    records = list(frames)
    assert [r.index for r in records] == list(range(1, N_FRAMES + 1))
    stamps = np.array([r.stamp_ns for r in records])
    assert stamps[0] == DEFAULT_START_TIME_NS
    assert np.all(np.abs(np.diff(stamps) - 1e9 / FPS) <= 1)  # 1/fps apart, rounded to the ns
    assert [r.log_time_ns for r in records] == stamps.tolist()
    for rec in records:
        assert rec.image_msgtype == "sensor_msgs/msg/Image" and rec.image_msg.encoding == "rgb8"
        assert rec.image_msg.step == 3 * W and rec.image_msg.header.frame_id == "camera"
        rgb = image_to_numpy(rec.image_msg)
        assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8
        if rec.index == MISSING_FRAME:
            assert not rgb.any()
        else:
            np.testing.assert_array_equal(rgb, expected_rgb(seq, rec.index))
        dets = rec.public_detections
        assert dets is not None and rec.detections_msgtype == "reid_msgs/msg/DetectionArray"
        assert dets.header.stamp == rec.image_msg.header.stamp and dets.header.frame_id == "camera"
        assert (dets.image_width, dets.image_height, dets.source) == (W, H, "public")
        tlwh, scores, class_ids = detections_to_numpy(dets)
        rows = np.array(DETS.get(rec.index, []), dtype=np.float64).reshape(-1, 5)
        np.testing.assert_allclose(tlwh, rows[:, :4], rtol=1e-6)
        np.testing.assert_allclose(scores, rows[:, 4], rtol=1e-6)
        assert np.all(class_ids == 0)
    assert len(records[EMPTY_FRAME - 1].public_detections.detections) == 0
    assert [r.index for r in frames] == list(range(1, N_FRAMES + 1))  # iterable twice


def test_compressed_images_keep_the_file_bytes(seq: Path, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="written black"):
        summary = convert_sequence(seq, tmp_path / "bag_jpeg", compressed=True, progress=False)
    records = list(BagFrames(summary.path))
    assert len(records) == N_FRAMES
    for rec in records:
        assert rec.image_msgtype == "sensor_msgs/msg/CompressedImage" and rec.image_msg.format == "jpeg"
        rgb = image_to_numpy(rec.image_msg)
        if rec.index == MISSING_FRAME:
            assert rgb.shape == (H, W, 3) and not rgb.any()
        else:
            path = seq / "img1" / f"{rec.index:06d}.jpg"
            assert rec.image_msg.data.tobytes() == path.read_bytes()
            np.testing.assert_array_equal(rgb, expected_rgb(seq, rec.index))


def test_bag_stores_real_definitions_and_metadata_topic(seq: Path, tmp_path: Path) -> None:
    with pytest.warns(UserWarning):
        convert_sequence(seq, tmp_path / "bag", progress=False)
    with Reader(tmp_path / "bag") as reader:
        conns = {c.topic: c for c in reader.connections}
        assert set(conns) == {"/camera/image_raw", "/mot/public_detections", SEQUENCE_INFO_TOPIC}
        det = conns["/mot/public_detections"]
        assert det.msgtype == "reid_msgs/msg/DetectionArray"
        text = det.msgdef.data
        for needle in ("image_width", "image_height", "processing_ms", "MSG: reid_msgs/Detection",
                       "class_id", "MSG: std_msgs/Header", "# copied from the image"):
            assert needle in text, needle
        assert text == message_definition("reid_msgs/msg/DetectionArray")
        # The hash must be the one rosidl generated for the installed package (what rosbag2 checks).
        installed_json = find_msg_dir() / "DetectionArray.json"
        if installed_json.exists():
            assert det.digest in installed_json.read_text()
        assert det.digest.startswith("RIHS01_")
        info_conn = conns[SEQUENCE_INFO_TOPIC]
        assert info_conn.msgcount == 1 and info_conn.ext.offered_qos_profiles[0].depth == 1
        (_, t, raw), = reader.messages(connections=[info_conn])
        info = json.loads(get_store().deserialize_cdr(raw, "std_msgs/msg/String").data)
        assert t == DEFAULT_START_TIME_NS and info["detections_topic"] == "/mot/public_detections"


def test_overwrite_rules_and_options(seq: Path, tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    convert_sequence(seq, bag, progress=False, max_frames=2, with_public_detections=False)
    frames = BagFrames(bag)
    assert len(frames) == 2 and frames.detections_topic is None
    assert frames.sequence_info()["frames_written"] == 2
    assert all(r.public_detections is None for r in frames)
    with pytest.raises(FileExistsError, match="exists"):
        convert_sequence(seq, bag, progress=False)
    convert_sequence(seq, bag, progress=False, max_frames=1, overwrite=True, with_public_detections=False)
    assert len(BagFrames(bag)) == 1
    not_a_bag = tmp_path / "precious"
    not_a_bag.mkdir()
    (not_a_bag / "data.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a rosbag2"):
        convert_sequence(seq, not_a_bag, progress=False, overwrite=True)
    assert (not_a_bag / "data.txt").exists()
    with pytest.raises(ValueError, match="storage"):
        convert_sequence(seq, tmp_path / "x", storage="bag1", progress=False)


def test_missing_det_file_gives_empty_arrays(tmp_path: Path) -> None:
    seq = make_sequence(tmp_path, det=False)
    with pytest.warns(UserWarning, match="det.txt not found"):
        summary = convert_sequence(seq, tmp_path / "bag", storage="sqlite3", progress=False, max_frames=2)
    recs = list(BagFrames(summary.path))
    assert [len(r.public_detections.detections) for r in recs] == [0, 0]
    assert any("det.txt" in w for w in summary.warnings)


@pytest.mark.parametrize("compressed", [False, True])
def test_corrupt_image_is_blank_and_wrong_size_is_an_error(tmp_path: Path, compressed: bool) -> None:
    seq = make_sequence(tmp_path)
    (seq / "img1" / "000002.jpg").write_bytes(b"not a jpeg")
    with pytest.warns(UserWarning, match="written black"):
        summary = convert_sequence(seq, tmp_path / "bag", compressed=compressed, progress=False)
    assert summary.blank_frames == (2, MISSING_FRAME)
    assert not image_to_numpy(list(BagFrames(summary.path))[1].image_msg).any()
    assert cv2.imwrite(str(seq / "img1" / "000001.jpg"), np.zeros((H, 2 * W, 3), np.uint8))
    with pytest.raises(ValueError, match=r"000001\.jpg is 128x48"):
        convert_sequence(seq, tmp_path / "bag2", compressed=compressed, progress=False)
    assert not (tmp_path / "bag2").exists()  # no half-written bag left behind


def test_broken_seqinfo_is_reported(tmp_path: Path) -> None:
    seq = make_sequence(tmp_path)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=TINY-01\n")
    with pytest.raises(MotFormatError, match="seqinfo"):
        convert_sequence(seq, tmp_path / "bag", progress=False)
    assert not (tmp_path / "bag").exists()


def test_cli(seq: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli_bag"
    argv = [str(seq), "-o", str(out), "--storage", "sqlite3", "--max-frames", "3", "--no-progress"]
    with pytest.warns(UserWarning):
        assert main(argv) == 0
    assert "3 frames of TINY-01" in capsys.readouterr().out
    assert len(BagFrames(out)) == 3
    assert main(argv) == 2  # refuses to overwrite
    assert "--overwrite" in capsys.readouterr().err
    with pytest.warns(UserWarning):
        assert main([*argv, "--overwrite", "--compressed"]) == 0
    assert next(iter(BagFrames(out))).image_msgtype == "sensor_msgs/msg/CompressedImage"


def test_image_to_numpy_encodings() -> None:
    store = get_store()
    Image = store.types["sensor_msgs/msg/Image"]
    Header = store.types["std_msgs/msg/Header"]
    Time = store.types["builtin_interfaces/msg/Time"]
    header = Header(stamp=Time(sec=1, nanosec=2), frame_id="camera")
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    padded = np.zeros((2, 12), dtype=np.uint8)  # step 12 > 3 * 3: rows carry padding
    padded[:, :9] = rgb[:, :, ::-1].reshape(2, 9)
    bgr_msg = Image(header=header, height=2, width=3, encoding="bgr8", is_bigendian=0, step=12, data=padded.ravel())
    np.testing.assert_array_equal(image_to_numpy(bgr_msg), rgb)
    mono = np.array([[0, 5, 9], [1, 2, 3]], dtype=np.uint8)
    mono_msg = Image(header=header, height=2, width=3, encoding="mono8", is_bigendian=0, step=3, data=mono.ravel())
    np.testing.assert_array_equal(image_to_numpy(mono_msg), np.repeat(mono[:, :, None], 3, axis=2))
    bad = Image(header=header, height=2, width=3, encoding="16UC1", is_bigendian=0, step=6,
                data=np.zeros(12, dtype=np.uint8))
    with pytest.raises(ValueError, match="16UC1"):
        image_to_numpy(bad)


def test_raw_bytes_deserialise_with_rclpy(seq: Path, tmp_path: Path) -> None:
    """The CDR bytes in the bag are what rosbag2/rclpy expect: a robot can play this bag."""
    import rclpy.serialization as serialization  # make setup installs ROS: no skip when it is missing
    import reid_msgs.msg as reid_msg
    import sensor_msgs.msg as sensor_msg
    import std_msgs.msg as std_msg
    with pytest.warns(UserWarning):
        summary = convert_sequence(seq, tmp_path / "bag", progress=False)
    frames = BagFrames(summary.path)
    for rec in frames:
        img = serialization.deserialize_message(rec.image_raw, sensor_msg.Image)
        assert (img.width, img.height, img.encoding, img.step) == (W, H, "rgb8", 3 * W)
        assert img.header.stamp.sec * 10**9 + img.header.stamp.nanosec == rec.stamp_ns
        assert bytes(img.data) == rec.image_msg.data.tobytes()
        det = serialization.deserialize_message(rec.detections_raw, reid_msg.DetectionArray)
        assert (det.image_width, det.image_height, det.source) == (W, H, "public")
        assert det.header.stamp == img.header.stamp
        got = np.array([[d.x, d.y, d.width, d.height, d.score] for d in det.detections]).reshape(-1, 5)
        tlwh, scores, _ = detections_to_numpy(rec.public_detections)
        np.testing.assert_array_equal(got, np.column_stack([tlwh, scores]))
        # and back (bytes differ only in CDR padding, which FastCDR leaves uninitialised)
        again = get_store().deserialize_cdr(serialization.serialize_message(det), rec.detections_msgtype)
        assert again == rec.public_detections
    with Reader(summary.path) as reader:
        conn = next(c for c in reader.connections if c.topic == SEQUENCE_INFO_TOPIC)
        (_, _, raw), = reader.messages(connections=[conn])
    text = serialization.deserialize_message(bytes(raw), std_msg.String).data
    assert json.loads(text) == frames.sequence_info()


def test_find_msg_dir_falls_back_to_the_source_tree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from reid_tracker_ros.mot import msg_types

    monkeypatch.setattr(msg_types, "_installed_msg_dir", lambda: None)
    source = msg_types.find_msg_dir()
    assert source.parts[-2:] == ("reid_msgs", "msg") and (source / "DetectionArray.msg").is_file()
    monkeypatch.setattr(msg_types, "_SOURCE_MSG_DIR", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="reid_msgs"):
        msg_types.find_msg_dir()
