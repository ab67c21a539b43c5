"""Frame sources without a camera driver: readers (video file, image folder, webcam errors)
and the source node on real DDS (fast and lockstep playback)."""
from __future__ import annotations

import time
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from reid_tracker_ros.sources import DEFAULT_FPS, ImageFolderReader, VideoFileReader, iterate, open_source

W, H = 160, 120


def level(k: int) -> int:
    return 20 + 15 * k


def make_video(path: Path, frames: int = 12, fps: float = 7.0) -> Path:
    """Frame k is a flat grey of level(k): the reader's frame order can be read off its pixels."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    assert writer.isOpened()
    for k in range(frames):
        writer.write(np.full((H, W, 3), level(k), np.uint8))
    writer.release()
    return path


def make_mot_sequence(root: Path, frames: int = 5, frame_rate: int = 25) -> Path:
    seq = root / "MOT-TEST"
    (seq / "img1").mkdir(parents=True)
    for k in range(frames):
        img = np.full((H, W, 3), level(k), np.uint8)
        cv2.putText(img, str(k), (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 255), 3)
        cv2.imwrite(str(seq / "img1" / f"{k + 1:06d}.jpg"), img)
    (seq / "img1" / "notes.txt").write_text("not an image")
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname=MOT-TEST\nimDir=img1\nframeRate={frame_rate}\n"
                                     f"seqLength={frames}\nimWidth={W}\nimHeight={H}\nimExt=.jpg\n")
    return seq


def levels(frames) -> list[int]:
    return [int(round(f.image.mean() / 15.0 - 20 / 15.0)) for f in frames]


def test_video_file_reader_rate_length_start_and_loop(tmp_path):
    video = make_video(tmp_path / "walk.avi")
    with open_source(str(video)) as reader:
        assert isinstance(reader, VideoFileReader)
        assert (reader.fps, reader.frame_count, reader.width, reader.height) == (7.0, 12, W, H)
        frames = list(iterate(reader))
    assert [f.index for f in frames] == list(range(12)) and levels(frames) == list(range(12))
    assert frames[0].image.shape == (H, W, 3) and frames[0].image.dtype == np.uint8
    with VideoFileReader(video, start_frame=5) as reader:
        assert reader.frame_count == 7
        looped = list(islice(iterate(reader, max_frames=3, loop=True), 8))
    assert levels(looped) == [5, 6, 7, 5, 6, 7, 5, 6]  # each pass restarts at start_frame
    assert [f.index for f in looped] == list(range(8))  # indices keep counting: stamps stay unique


def test_image_folder_reader_takes_a_mot_sequence_or_its_img1(tmp_path):
    seq = make_mot_sequence(tmp_path)
    for uri in (seq, seq / "img1"):
        reader = open_source(str(uri))
        assert isinstance(reader, ImageFolderReader)
        assert (reader.name, reader.fps, reader.frame_count, reader.width) == ("MOT-TEST", 25.0, 5, W)
        frames = list(iterate(reader))
        assert [f.index for f in frames] == list(range(5))
        assert np.array_equal(frames[2].image, cv2.imread(str(seq / "img1" / "000003.jpg")))
    assert [f.index for f in islice(iterate(open_source(str(seq)), loop=True, max_frames=2), 5)] == list(range(5))
    plain = tmp_path / "plain"
    plain.mkdir()
    cv2.imwrite(str(plain / "a.png"), np.zeros((8, 8, 3), np.uint8))
    assert open_source(str(plain)).fps == DEFAULT_FPS  # no seqinfo.ini: the default rate
    assert open_source(str(seq), start_frame=3).frame_count == 2


def test_bad_sources_fail_with_the_path_in_the_message(tmp_path):
    missing = tmp_path / "nowhere" / "video.mp4"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        open_source(str(missing))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=f"no images .* in {empty}"):
        open_source(str(empty))
    fake = tmp_path / "fake.avi"
    fake.write_text("this is not a video")
    with pytest.raises(ValueError, match=f"cannot open video file {fake}"):
        open_source(str(fake))
    seq = make_mot_sequence(tmp_path)
    (seq / "img1" / "000003.jpg").write_bytes(b"broken")
    reader = open_source(str(seq))
    with pytest.raises(ValueError, match="cannot read image .*000003.jpg"):
        list(iterate(reader))
    with pytest.raises(ValueError, match="start_frame=9 is past the end"):
        open_source(str(seq), start_frame=9)
    with pytest.raises(ValueError, match="no source given"):
        open_source("  ")
    with pytest.raises(ValueError, match=r"cannot open camera 63 \(/dev/video63\)"):
        open_source("/dev/video63")


# -- the node on real DDS -----------------------------------------------------------------------
class _Probe:
    """Listens to the source's image and camera_info; optionally answers each image with tracks."""

    def __init__(self, answer: bool) -> None:
        import rclpy
        from reid_msgs.msg import TrackArray
        from sensor_msgs.msg import CameraInfo, Image

        from reid_tracker_ros.ros.qos import data_qos

        self.node = rclpy.create_node("source_probe")
        self.images, self.infos, self.answer = [], [], answer
        self.tracks_pub = self.node.create_publisher(TrackArray, "/tracks", data_qos(10))
        self.node.create_subscription(Image, "/camera/image_raw", self._on_image, data_qos(50))
        self.node.create_subscription(CameraInfo, "/camera/camera_info", self.infos.append, data_qos(50))

    def _on_image(self, msg) -> None:
        from reid_msgs.msg import TrackArray

        self.images.append((time.monotonic(), msg))
        if self.answer:
            self.tracks_pub.publish(TrackArray(header=msg.header))

    def spin(self, runner, until, timeout: float) -> bool:
        import rclpy

        end = time.monotonic() + timeout
        while time.monotonic() < end and not until():
            runner.check_alive()
            rclpy.spin_once(self.node, timeout_sec=0.02)
        return until()


def _source_runner(tmp_path, uri: str, **overrides):
    from reid_tracker_ros.graph import camera_pipeline
    from reid_tracker_ros.runner import GraphRunner

    (spec,) = [s for s in camera_pipeline(source=uri, source_overrides=overrides) if s.name == "source"]
    return GraphRunner([spec], tmp_path / "logs", profile="local").start()


def test_source_node_publishes_every_frame_with_camera_info(ros_context, tmp_path):
    from reid_tracker_ros.ros.conversions import stamp_to_ns
    from reid_tracker_ros.images import image_to_rgb

    seq = make_mot_sequence(tmp_path)
    probe = _Probe(answer=False)
    runner = _source_runner(tmp_path, str(seq), playback="fast", frame_id="cam_optical", hfov_deg=90.0)
    try:
        assert probe.spin(runner, lambda: len(probe.images) == 5 and len(probe.infos) == 5, 30), \
            runner.log_tail("source")
        msgs = [m for _, m in probe.images]
        stamps = [stamp_to_ns(m.header.stamp) for m in msgs]
        assert stamps == sorted(set(stamps))  # unique, increasing
        assert all(m.encoding == "bgr8" and m.header.frame_id == "cam_optical" for m in msgs)
        expected = cv2.imread(str(seq / "img1" / "000004.jpg"))
        assert np.array_equal(cv2.cvtColor(image_to_rgb(msgs[3]), cv2.COLOR_RGB2BGR), expected)
        info = probe.infos[3]
        assert stamp_to_ns(info.header.stamp) == stamps[3] and (info.width, info.height) == (W, H)
        assert list(info.k) == pytest.approx([W / 2, 0, W / 2, 0, W / 2, H / 2, 0, 0, 1])  # 90 deg: fx = W/2
        probe.spin(runner, lambda: "end of source" in runner.log_tail("source"), 5)
        assert "5 frames sent" in runner.log_tail("source")
    finally:
        probe.node.destroy_node()
        runner.stop()


def test_source_node_lockstep_waits_for_each_frames_tracks(ros_context, tmp_path):
    video = make_video(tmp_path / "walk.avi", frames=6)
    probe = _Probe(answer=True)  # answers each image with its tracks, as the tracker would
    runner = _source_runner(tmp_path, str(video), playback="lockstep", lockstep_timeout_s=1.5, max_frames=4)
    try:
        assert probe.spin(runner, lambda: len(probe.images) == 4, 30), runner.log_tail("source")
        means = [np.frombuffer(m.data, np.uint8).mean() for _, m in probe.images]
        assert [round((v - level(0)) / 15.0) for v in means] == [0, 1, 2, 3]  # in order, none skipped
        assert probe.spin(runner, lambda: "4 frames sent, 0 without tracks" in runner.log_tail("source"), 5)
    finally:
        probe.node.destroy_node()
        runner.stop()
    # a graph that does not answer: one frame per lockstep_timeout_s, each logged
    probe = _Probe(answer=False)
    runner = _source_runner(tmp_path / "b", str(video), playback="lockstep", lockstep_timeout_s=0.5, max_frames=3)
    try:
        assert probe.spin(runner, lambda: len(probe.images) == 3, 30)
        gaps = np.diff([t for t, _ in probe.images])
        assert (gaps > 0.4).all()
        assert probe.spin(runner, lambda: "3 frames sent, 3 without tracks" in runner.log_tail("source", 50), 5)
        assert "no tracks for frame 0 within 0.5 s" in runner.log_tail("source", 50)
    finally:
        probe.node.destroy_node()
        runner.stop()
