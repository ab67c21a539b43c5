"""``make soak``: thousands of frames through the running graph; memory and latency at the
start and at the end must match (flat memory, no growing queues).

The graph is the evaluation graph (public detections relayed by the detector, the default
ReID model, reliable QoS) started as local processes; this process is the camera: it
publishes synthetic 320x240 frames with three moving people and their boxes, keeping at most
``--in-flight`` frames unanswered (as fast as the graph goes, never an unbounded backlog), and
waits for each frame's tracks. A frame without tracks within ``--frame-timeout`` is dropped.

Reports, every ``--window`` frames, the node processes' summed RSS and the window's latency
(frame published -> its tracks received), and the embedder's pairing queues from
/diagnostics. The LAST LINE printed is one JSON object:
``{"frames", "dropped", "rss_mb_start", "rss_mb_end", "latency_ms_p50_start", "latency_ms_p50_end", ...}``
where start = the first ``--window`` frames and end = the last ``--window`` frames.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

W, H = 320, 240
PEOPLE = [((220, 40, 40), 60, 1.5), ((40, 200, 60), 75, -2.0), ((60, 80, 230), 40, 1.0)]  # colour, y, px/frame


def scene(k: int) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """Frame k: people walking across and re-entering on the other side (tlwh boxes)."""
    rgb = np.full((H, W, 3), 90, np.uint8)
    boxes = []
    for i, (colour, y, speed) in enumerate(PEOPLE):
        span = W + 40
        x = (37 * i + speed * k) % span - 20
        x0, x1 = int(max(0, x)), int(min(W, x + 30))
        if x1 - x0 < 4:
            continue
        rgb[y:y + 80, x0:x1] = colour
        boxes.append((float(x0), float(y), float(x1 - x0), 80.0))
    return rgb, boxes


def rss_mb(pids: list[int], field: str = "VmRSS") -> float:
    """Summed resident memory of the processes (Linux /proc), MB. ``RssAnon`` leaves out
    file-backed pages (shared libraries) that the kernel may evict under memory pressure,
    so it shows leaks without that noise."""
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total_kb += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total_kb / 1024.0


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=10_000)
    p.add_argument("--window", type=int, default=1000, help="frames in the start and end windows")
    p.add_argument("--in-flight", type=int, default=4, help="frames published but not yet answered, at most")
    p.add_argument("--frame-timeout", type=float, default=10.0)
    p.add_argument("--startup-timeout", type=float, default=120.0)
    p.add_argument("--out", default="runs/soak", help="node logs go here")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.frames < 2 * args.window or args.window < 1:
        p.error(f"--frames ({args.frames}) must be at least twice --window ({args.window})")

    from ..graph import environment, evaluation_pipeline, image_subscriber_count

    os.environ.update(environment("local"))
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(110, 199)))

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node
    from reid_msgs.msg import Detection, DetectionArray, TrackArray
    from sensor_msgs.msg import Image

    from ..topics import DEFAULT_IMAGE_TOPIC, DEFAULT_PUBLIC_DETECTIONS_TOPIC, DIAGNOSTICS, TRACKS
    from ..ros.conversions import fill_image_msg, stamp_to_ns
    from ..ros.diagnostics import status_values
    from ..ros.qos import data_qos
    from ..runner import GraphRunner

    specs = evaluation_pipeline(detector_backend="public")
    runner = GraphRunner(specs, Path(args.out) / "logs", profile="local").start()
    # every image subscriber matched before the first frame: the empty pings below are answered
    # without the embedder's image, so they cannot prove its image path (frames were lost at start)
    image_subscribers = image_subscriber_count(specs)
    rclpy.init(args=[])
    node = Node("soak_camera")
    q = data_qos(100)
    image_pub = node.create_publisher(Image, DEFAULT_IMAGE_TOPIC, q)
    det_pub = node.create_publisher(DetectionArray, DEFAULT_PUBLIC_DETECTIONS_TOPIC, q)
    answered: dict[int, float] = {}
    diag: dict[str, dict[str, str]] = {}
    node.create_subscription(TrackArray, "/" + TRACKS, lambda m: answered.setdefault(stamp_to_ns(m.header.stamp),
                                                                                 time.monotonic()), q)
    node.create_subscription(DiagnosticArray, DIAGNOSTICS, lambda m: diag.update(
        {s.hardware_id: status_values(s) for s in m.status}), 50)
    pids = [proc.pid for proc in runner.procs.values()]

    def spin(seconds: float) -> None:
        rclpy.spin_once(node, timeout_sec=seconds)

    def publish(stamp: int, k: int) -> None:
        rgb, boxes = scene(k)
        img = Image()
        img.header.stamp.sec, img.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        img.header.frame_id = "camera"
        fill_image_msg(img, rgb)
        dets = DetectionArray(header=img.header, image_width=W, image_height=H, source="public")
        dets.detections = [Detection(x=b[0], y=b[1], width=b[2], height=b[3], score=0.9, class_id=0) for b in boxes]
        det_pub.publish(dets)
        image_pub.publish(img)

    try:
        deadline = time.monotonic() + args.startup_timeout
        ping = 1
        while not answered:  # the whole chain answers an empty frame: connected end to end
            runner.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the graph did not answer within {args.startup_timeout:.0f} s")
            if image_pub.get_subscription_count() >= image_subscribers and det_pub.get_subscription_count():
                img = Image()
                img.header.stamp.nanosec = ping
                fill_image_msg(img, np.zeros((H, W, 3), np.uint8))
                det_pub.publish(DetectionArray(header=img.header, image_width=W, image_height=H))
                image_pub.publish(img)
                ping += 1
            end = time.monotonic() + 0.5
            while not answered and time.monotonic() < end:
                spin(0.02)
        answered.clear()

        base = 10**9 * 100_000
        sent: dict[int, float] = {}
        pending: list[int] = []
        latency: list[float | None] = []
        dropped = 0
        rss_rows: list[tuple[int, float]] = []
        bar = None
        if not args.no_progress:
            from tqdm import tqdm

            bar = tqdm(total=args.frames, desc="soak", unit="frame", file=sys.stderr)
        started = time.monotonic()

        def settle(limit: int) -> None:
            """Spin until at most ``limit`` frames are unanswered; time out the oldest."""
            nonlocal dropped
            while len(pending) > limit:
                spin(0.005)
                while pending and (pending[0] in answered or time.monotonic() - sent[pending[0]] > args.frame_timeout):
                    s = pending.pop(0)
                    if s in answered:
                        latency.append((answered.pop(s) - sent.pop(s)) * 1e3)
                    else:
                        dropped += 1
                        latency.append(None)
                        sent.pop(s)
                    if bar:
                        bar.update(1)
                    done = len(latency)
                    if done % args.window == 0 or done == args.frames:
                        rss_rows.append((done, rss_mb(pids), rss_mb(pids, "RssAnon")))
                        window = [v for v in latency[-args.window:] if v is not None]
                        waiting = diag.get("embedder", {})
                        print(f"\nframes {done:6d}  rss {rss_rows[-1][1]:7.1f} MB (anon {rss_rows[-1][2]:.1f})  latency p50 "
                              f"{percentile(window, 50) or float('nan'):6.2f} ms p95 "
                              f"{percentile(window, 95) or float('nan'):6.2f} ms  embedder waiting "
                              f"{waiting.get('waiting_images', '?')}/{waiting.get('waiting_detections', '?')}"
                              f"  dropped {dropped}", flush=True)
                if len(pending) > limit:
                    runner.check_alive()

        for k in range(args.frames):
            stamp = base + k * 33_333_333
            sent[stamp] = time.monotonic()
            pending.append(stamp)
            publish(stamp, k)
            settle(args.in_flight - 1)
        settle(0)
        wall = time.monotonic() - started
        if bar:
            bar.close()
        runner.check_alive()
    finally:
        node.destroy_node()
        rclpy.shutdown()
        runner.stop()

    first = [v for v in latency[: args.window] if v is not None]
    last = [v for v in latency[-args.window:] if v is not None]
    start_row = next(row for row in rss_rows if row[0] >= args.window)
    result = {"frames": len(latency), "dropped": dropped, "rss_mb_start": round(start_row[1], 1),
              "rss_mb_end": round(rss_rows[-1][1], 1), "rss_anon_mb_start": round(start_row[2], 1),
              "rss_anon_mb_end": round(rss_rows[-1][2], 1),
              "latency_ms_p50_start": None if not first else round(percentile(first, 50), 2),
              "latency_ms_p50_end": None if not last else round(percentile(last, 50), 2),
              "fps": round(len(latency) / wall, 1)}
    print(json.dumps(result))
    return 0 if dropped == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
