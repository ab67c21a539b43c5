"""A real pedestrian video through the whole camera graph (the second part of ``make demo``).

    video file --> source --> detector (YOLO, default pretrained weights) --> embedder
               --> tracker --> visualizer --> annotated images --> MP4 + contact sheet

The nodes are the real ones on real DDS, started from ``graph.camera_pipeline`` exactly as
``launch/camera.launch.py`` starts them. The source plays in lockstep (the next frame when the
previous one's tracks are back), so every frame is processed however slow the computer.
Default video: ``vtest.avi`` of Debian's ``opencv-doc`` package (795 frames, 768x576, 10 fps,
outdoor pedestrians); by default its first part, ``--all`` for the whole of it; any video path
with ``--video``. Prints fps and the number of tracks; the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rclpy.node import Node
from reid_msgs.msg import Track, TrackArray
from sensor_msgs.msg import Image

from ..graph import LOCKSTEP_CONFIG, camera_pipeline, environment, image_subscriber_count
from ..topics import TRACKS, VISUALIZER_TOPICS
from ..nodes.visualizer_node import bgr_view
from ..ros.conversions import image_to_rgb, stamp_to_ns

from ..ros.qos import data_qos
from .graph_start import start_source_last
from ..sources import open_source

VTEST_PATHS = (Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi"),
               Path("/usr/share/opencv4/samples/data/vtest.avi"))
DEFAULT_FRAMES = 200
DEFAULT_IMGSZ = 960  # 20 s of vtest: about a minute on 2 CPU cores (YOLO ~8 fps there)
SHEET_FRAMES, SHEET_COLUMNS, SHEET_TILE_WIDTH = 6, 3, 384
MISSING_HINT = ("vtest.avi comes with Debian/Ubuntu's opencv-doc package (sudo apt-get install opencv-doc); "
                "or pass --video <any video file>")


def find_video(path: str | None) -> Path | None:
    """The requested video, else the first vtest.avi found; None when there is none."""
    if path:
        return Path(path).expanduser()
    return next((p for p in VTEST_PATHS if p.is_file()), None)


def contact_sheet(tiles: list[tuple[int, np.ndarray]], out_path: Path, columns: int = SHEET_COLUMNS) -> Path:
    """Grid of (frame number, BGR tile) with the frame number written on each tile."""
    if not tiles:
        raise ValueError("contact sheet needs at least one frame")
    images = []
    for number, tile in tiles:
        tile = tile.copy()
        cv2.putText(tile, f"frame {number}", (6, tile.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3,
                    cv2.LINE_AA)
        cv2.putText(tile, f"frame {number}", (6, tile.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        images.append(tile)
    while len(images) % columns:
        images.append(np.zeros_like(images[0]))
    grid = np.vstack([np.hstack(images[r:r + columns]) for r in range(0, len(images), columns)])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_path), grid):
        raise OSError(f"could not write {out_path}")
    return out_path


def demo_config(path: Path, imgsz: int) -> Path:
    """The demo's own overlay (after default.yaml and lockstep.yaml): the YOLO input size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by reid_tracker_ros.tools.demo_video\n"
                    f"/**/detector:\n  ros__parameters:\n    imgsz: {int(imgsz)}\n")
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="demo_video", description=__doc__.split("\n\n")[0])
    p.add_argument("--video", default=None, help="video file (default: opencv-doc's vtest.avi)")
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help="frames played from --start")
    p.add_argument("--start", type=int, default=0, help="first frame")
    p.add_argument("--all", action="store_true", help="the whole video (ignores --frames)")
    p.add_argument("--tracker", default=None, help="tracker strategy (default: config/default.yaml)")
    p.add_argument("--imgsz", type=int, default=DEFAULT_IMGSZ,
                   help="YOLO input size: vtest's people are 70-110 px tall, which yolo11n-pose finds about twice "
                        "as often at 960 as at 640, at about twice the CPU time")
    p.add_argument("--out", default="runs/demo/video")
    p.add_argument("--startup-timeout", type=float, default=300.0,
                   help="seconds for the graph to come up (the first YOLO ONNX export takes a while)")
    p.add_argument("--frame-timeout", type=float, default=20.0, help="lockstep: seconds to wait for a frame")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict | None:
    """Play the video through the graph; the summary dict, or None when there is no video."""
    video = find_video(args.video)
    if video is None or not video.is_file():
        where = video if video is not None else " or ".join(str(p) for p in VTEST_PATHS)
        print(f"video demo skipped: no video at {where}. {MISSING_HINT}", flush=True)
        return None
    with open_source(str(video), args.start) as reader:
        available = reader.frame_count
        width, height, video_fps = reader.width, reader.height, reader.fps
    if available is not None and available <= 0:
        raise ValueError(f"{video} has no frames after --start {args.start}")
    frames = available if args.all or not args.frames else min(args.frames, available or args.frames)
    if frames is None:
        raise ValueError(f"{video}: its length is unknown; give --frames")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.update(environment("local"))
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(110, 199)))

    files = ["default.yaml", LOCKSTEP_CONFIG, str(demo_config(out / "video_demo.yaml", args.imgsz))]
    specs = camera_pipeline(files, source=str(video),
                            detector_backend="ultralytics", tracker=args.tracker,
                            source_overrides={"playback": "lockstep", "start_frame": args.start,
                                              "max_frames": frames, "lockstep_timeout_s": args.frame_timeout})
    # the first frame goes out only when every image subscriber is active (lockstep: no frame lost)
    source = next(s for s in specs if s.name == "source")
    source.overrides["wait_for_subscribers"] = image_subscriber_count(specs)
    print(f"video demo: {video.name} frames {args.start}-{args.start + frames - 1} of "
          f"{available if available is not None else '?'} ({width}x{height}, {video_fps:g} fps) through "
          f"{' -> '.join(s.name for s in specs)} (lockstep; logs: {out / 'logs'})", flush=True)
    rclpy.init(args=[])
    collector = VideoCollector(frames, out / f"{video.stem}_tracks.mp4", video_fps)
    # the source starts last, once the collector hears the tracker and the visualizer: the first
    # lockstep frame's tracks and image are not lost to discovery still under way
    runners = []
    try:
        runners = start_source_last(specs, out / "logs", collector, collector.inputs, args.startup_timeout)
        result = collector.collect(runners, args.startup_timeout, args.frame_timeout, not args.no_progress)
        if result["frames_with_tracks"] < frames:  # say why, from the nodes' own logs
            for runner in runners:
                for spec in runner.specs:
                    print(f"--- {spec.name} log (last lines) ---\n{runner.log_tail(spec.name)}", flush=True)
    finally:
        collector.close()
        collector.destroy_node()
        for runner in reversed(runners):
            runner.stop()
        rclpy.shutdown()
    tiles = result.pop("tiles")
    sheet = contact_sheet(tiles, out / f"{video.stem}_contact_sheet.png") if tiles else None
    summary = {"video": str(video), "frames": frames, "frames_with_tracks": result["frames_with_tracks"],
               "annotated_frames": result["annotated"], "fps": result["fps"], "tracks": result["tracks"],
               "latency_ms_p50": result["latency_ms_p50"], "mp4": str(collector.mp4_path),
               "contact_sheet": str(sheet) if sheet else None}
    return summary


class VideoCollector(Node):
    """The demo's own ROS node: receives tracks and annotated images, writes the MP4 as frames
    arrive and keeps a few small tiles for the contact sheet (memory stays flat)."""

    def __init__(self, frames: int, mp4_path: Path, fps: float) -> None:
        super().__init__("video_demo_collector")
        self.frames, self.mp4_path, self.fps = frames, mp4_path, fps
        self.writer = None
        self.annotated = 0
        self.track_times: list[float] = []
        self.latencies_ms: list[float] = []
        self.confirmed: set[int] = set()
        picks = np.linspace(0, frames - 1, SHEET_FRAMES + 2).round().astype(int)[1:-1]
        self.picks = set(picks.tolist()) if frames > SHEET_FRAMES else set(range(frames))
        self.tiles: list[tuple[int, np.ndarray]] = []
        q = data_qos(50)
        self.inputs = (self.create_subscription(TrackArray, "/" + TRACKS, self.on_tracks, q),
                       self.create_subscription(Image, "/" + VISUALIZER_TOPICS["annotated_image"], self.on_image, q))

    def on_tracks(self, msg: TrackArray) -> None:
        self.track_times.append(time.monotonic())
        # stamps are the source's ROS clock (system time) at publication: latency from camera to tracks
        self.latencies_ms.append((time.time() - stamp_to_ns(msg.header.stamp) * 1e-9) * 1e3)
        self.confirmed.update(t.track_id for t in msg.tracks if t.state == Track.CONFIRMED)

    def on_image(self, msg: Image) -> None:
        bgr = bgr_view(msg)
        if bgr is None:
            bgr = cv2.cvtColor(image_to_rgb(msg), cv2.COLOR_RGB2BGR)
        if self.writer is None:
            self.mp4_path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = cv2.VideoWriter(str(self.mp4_path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                          (bgr.shape[1], bgr.shape[0]))
            if not self.writer.isOpened():
                raise OSError(f"OpenCV cannot write MP4 (mp4v) to {self.mp4_path}")
        self.writer.write(np.ascontiguousarray(bgr))
        if self.annotated in self.picks:
            h = round(SHEET_TILE_WIDTH * bgr.shape[0] / bgr.shape[1])
            self.tiles.append((self.annotated, cv2.resize(bgr, (SHEET_TILE_WIDTH, h), interpolation=cv2.INTER_AREA)))
        self.annotated += 1

    def collect(self, runners, startup_timeout: float, frame_timeout: float, progress: bool) -> dict:
        """Spin until every frame's tracks and annotated image arrived, or nothing new came
        for a while (a node that died is reported by the runner with its log)."""
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=self.frames, desc="video", unit="frame")
        last_change, seen = time.monotonic(), 0
        while self.annotated < self.frames or len(self.track_times) < self.frames:
            for runner in runners:
                runner.check_alive()
            rclpy.spin_once(self, timeout_sec=0.05)
            now = time.monotonic()
            if len(self.track_times) != seen:
                if bar is not None:
                    bar.update(len(self.track_times) - seen)
                seen, last_change = len(self.track_times), now
            limit = startup_timeout if not seen else frame_timeout + 10.0
            if now - last_change > limit:
                print(f"\nvideo demo: nothing new for {limit:.0f} s; stopping with {seen} frames tracked and "
                      f"{self.annotated} annotated of {self.frames}", flush=True)
                break
        if bar is not None:
            bar.close()
        times = self.track_times
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else None
        lat = float(np.percentile(self.latencies_ms, 50)) if self.latencies_ms else None
        return {"frames_with_tracks": len(times), "annotated": self.annotated, "fps": fps,
                "tracks": len(self.confirmed), "latency_ms_p50": lat, "tiles": self.tiles}

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None


def format_summary(summary: dict) -> str:
    fps = f"{summary['fps']:.1f}" if summary["fps"] else "?"
    lat = f"{summary['latency_ms_p50']:.0f} ms" if summary["latency_ms_p50"] is not None else "?"
    return (f"video demo: {summary['frames_with_tracks']}/{summary['frames']} frames tracked at {fps} frames/s "
            f"(lockstep, end-to-end latency p50 {lat}), {summary['tracks']} confirmed tracks; "
            f"{summary['annotated_frames']} annotated frames in {summary['mp4']}; contact sheet "
            f"{summary['contact_sheet']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    summary = run(args)
    if summary is None:
        print(json.dumps({"video": None, "skipped": True}))
        return 0
    print(format_summary(summary), flush=True)
    print(json.dumps(summary))
    return 0 if summary["frames_with_tracks"] == summary["frames"] else 1


if __name__ == "__main__":
    sys.exit(main())
