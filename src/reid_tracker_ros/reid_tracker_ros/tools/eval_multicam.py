"""Multi-camera evaluation through the real nodes: ``make eval-multicam SEQ="<cam1> <cam2> ..."``.

Each folder is one camera's MOTChallenge sequence whose ground-truth ids are global across the
folders (``python -m reid_tracker_ros.mot.multicam`` writes such sets). Every camera gets its
own pipeline (detector -> embedder -> tracker in namespace cam<k>) and one identity node gives
global ids; all cameras are replayed in lockstep (frame k of every camera, then wait for every
camera's tracks and the identity node's answers). Scores per camera and for the union of all
cameras (:mod:`reid_tracker_ros.mot.multicam_eval`). Last line: one JSON object
``{"cameras", "frames", "frames_dropped", "per_camera", "HOTA_global", "IDF1_global",
"IDF1_global_no_sharing", ...}``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from ..graph import (DETECTOR_ALIASES, EVALUATION_CONFIG, environment, image_subscriber_count,
                     multicam_pipeline)
from ..mot.io import read_seqinfo
from ..topics import IDENTITY_ASSIGNMENTS, PUBLIC_DETECTIONS
from .cli import key_value, run_guarded


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="eval_multicam", description=__doc__.split("\n\n")[0])
    p.add_argument("--seq", nargs="+", required=True, help="one MOTChallenge folder per camera (global gt ids)")
    p.add_argument("--tracker", default=None, help="tracker strategy (default: config value)")
    p.add_argument("--detector", default="public", choices=sorted(DETECTOR_ALIASES))
    p.add_argument("--embedder-model", default=None, help="ReID model override")
    p.add_argument("--config", action="append", default=[], help="extra parameter YAML (after mot_eval.yaml)")
    p.add_argument("--identity", action="append", default=[], metavar="KEY=VALUE",
                   help="identity node parameter override, e.g. threshold=0.05 (repeatable)")
    p.add_argument("--gallery-path", default="", help="identity gallery file (default: none, a fresh gallery)")
    p.add_argument("--restart-at", type=int, default=None, metavar="FRAME",
                   help="stop the --restart nodes before this frame (1-based) and start them again (the gallery "
                        "is kept in --gallery-path, default <out>/gallery.npz); reports whether people kept "
                        "their global ids")
    p.add_argument("--restart", default="identity,cam1.tracker",
                   help="comma-separated nodes to restart (graph keys: identity, cam<k>.tracker, ...)")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--frame-timeout", type=float, default=10.0)
    p.add_argument("--startup-timeout", type=float, default=240.0)
    p.add_argument("--out", default=None, help="output folder (default runs/eval-multicam/<first camera>)")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    seqs = [Path(s).resolve() for s in args.seq]
    if len(seqs) < 2:
        raise ValueError("eval-multicam needs two or more camera folders")
    infos = [read_seqinfo(s) for s in seqs]
    cams = [f"cam{k + 1}" for k in range(len(seqs))]
    out = Path(args.out or Path("runs") / "eval-multicam" / infos[0].name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    detector = DETECTOR_ALIASES[args.detector]
    os.environ.update(environment("local"))
    os.environ.setdefault("ROS_DOMAIN_ID", str(np.random.default_rng().integers(110, 200)))

    from ..mot.bag_writer import convert_sequence

    bags = []
    for cam, seq, info in zip(cams, seqs, infos):
        bag = out / cam / "bag"
        if bag.exists():
            shutil.rmtree(bag)
        print(f"converting {seq} -> {bag}", flush=True)
        conv = convert_sequence(seq, bag, compressed=True, with_public_detections=detector == "public",
                                progress=not args.no_progress, max_frames=args.max_frames, seqinfo=info)
        bags.append((bag, conv.frames))

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from reid_msgs.msg import IdentityAssignment
    from sensor_msgs.msg import Image

    from ..ros.conversions import fill_image_msg, stamp_to_ns
    from ..ros.qos import data_qos
    from ..runner import GraphRunner
    from .evaluate import replay_frames, tracks_to_rows
    from .replay import DEPTH, ReplayNode

    identity = dict(key_value(t, "--identity") for t in args.identity)
    if args.gallery_path or args.restart_at:
        identity["gallery_path"] = str(Path(args.gallery_path or out / "gallery.npz").resolve())
        if not args.gallery_path:
            Path(identity["gallery_path"]).unlink(missing_ok=True)  # a fresh gallery for this run
    specs = multicam_pipeline(cams, [EVALUATION_CONFIG, *args.config], with_visualizer=False,
                              identity_overrides=identity, detector_backend=detector, tracker=args.tracker,
                              embedder_model=args.embedder_model)
    runner = GraphRunner(specs, out / "logs", profile="local").start()
    rclpy.init(args=[])
    nodes = [ReplayNode(f"/{cam}/image_raw", detector == "public", topics_ns=f"/{cam}",
                        detections_topic=f"/{cam}/{PUBLIC_DETECTIONS}", name=f"mot_replay_{cam}") for cam in cams]
    answered: dict[str, set[int]] = {cam: set() for cam in cams}
    listener = rclpy.create_node("multicam_identity_listener")
    listener.create_subscription(IdentityAssignment, IDENTITY_ASSIGNMENTS,
                                 lambda m: answered.get(m.camera, set()).add(stamp_to_ns(m.header.stamp)),
                                 data_qos(DEPTH))
    try:
        per_cam_specs = {cam: [s for s in specs if s.namespace == cam] for cam in cams}
        print(f"waiting for the graph (logs: {out / 'logs'})", flush=True)
        for cam, node, info in zip(cams, nodes, infos):
            blank = Image()
            fill_image_msg(blank, np.zeros((info.im_height, info.im_width, 3), np.uint8))
            node.wait_for_graph(args.startup_timeout, runner.check_alive, blank_image=blank,
                                image_subscribers=image_subscriber_count(per_cam_specs[cam]))
        executor = SingleThreadedExecutor()
        for n in [*nodes, listener]:
            executor.add_node(n)
        streams = [replay_frames(bag, args.max_frames) for bag, _ in bags]
        total = max(n for _, n in bags)
        bar = None
        if not args.no_progress:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=f"lockstep {len(cams)} cameras", unit="frame")
        start = time.monotonic()
        restarted = [k for k in args.restart.split(",") if k] if args.restart_at else []
        for index in range(1, total + 1):
            if index == args.restart_at:
                print(f"frame {index}: restarting {', '.join(restarted)}", flush=True)
                codes = runner.restart(restarted)
                if any(codes.values()):
                    raise RuntimeError(f"restarted nodes did not stop cleanly: exit codes {codes}")
                for n in [*nodes, listener]:
                    executor.remove_node(n)
                for cam, node, info in zip(cams, nodes, infos):
                    if any(k.startswith(f"{cam}.") for k in restarted):
                        blank = Image()
                        fill_image_msg(blank, np.zeros((info.im_height, info.im_width, 3), np.uint8))
                        node.wait_for_graph(args.startup_timeout, runner.check_alive, blank_image=blank,
                                            image_subscribers=image_subscriber_count(per_cam_specs[cam]))
                deadline = time.monotonic() + args.startup_timeout
                while listener.count_publishers(IDENTITY_ASSIGNMENTS) == 0 and time.monotonic() < deadline:
                    runner.check_alive()
                    time.sleep(0.05)
                for n in [*nodes, listener]:
                    executor.add_node(n)
            frames = []
            for node, stream in zip(nodes, streams):
                frame = next(stream, None)
                if frame is not None:
                    node._publish(frame)
                frames.append(frame)
            deadline = time.monotonic() + args.frame_timeout
            waiting = [(n, f) for n, f in zip(nodes, frames) if f is not None]
            while time.monotonic() < deadline and not all(n._detected(f.index) for n, f in waiting):
                executor.spin_once(timeout_sec=0.01)
            # the identity node's answer to this frame's summaries, so the next frame's tracks
            # carry it (summaries are published right after the tracks, one per tracked frame)
            want = [(cam, f.stamp_ns) for cam, n, f in zip(cams, nodes, frames) if f is not None and n._detected(f.index)]
            until = time.monotonic() + min(2.0, args.frame_timeout)
            while time.monotonic() < until and not all(s in answered[c] for c, s in want):
                executor.spin_once(timeout_sec=0.005)
            for n, f in waiting:
                if not n._detected(f.index):
                    n.result.tracks.pop(f.index, None)
                    n.result.dropped.append(f.index)
                    runner.check_alive()
            if bar:
                bar.update(1)
        wall = time.monotonic() - start
        if bar:
            bar.close()
    finally:
        for n in [*nodes, listener]:
            n.destroy_node()
        rclpy.shutdown()
        runner.stop()

    from ..mot.multicam_eval import score_cameras

    rows, gids = [], []
    for node in nodes:
        r = tracks_to_rows(node.result.tracks)
        gid_of = {(f, t.track_id): t.global_id for f, m in node.result.tracks.items() for t in m.tracks}
        rows.append(r)
        gids.append(np.array([gid_of.get((int(x[0]), int(x[1])), 0) for x in r], np.int64))
    summary = score_cameras(seqs, rows, gids, out, lengths=[n for _, n in bags])
    if args.restart_at:
        from ..mot.multicam_eval import global_ids_of_people

        kept, total_people = 0, 0
        for k, seq in enumerate(seqs):
            r = args.restart_at
            before = global_ids_of_people(seq, rows[k], gids[k], max(1, r - 50), r - 1)
            after = global_ids_of_people(seq, rows[k], gids[k], r + 1, r + 100)
            owners = list(before.values())  # an id two people carried before is no one's to keep
            both = sorted(p for p in set(before) & set(after) if owners.count(before[p]) == 1)
            kept += sum(before[p] == after[p] for p in both)
            total_people += len(both)
        summary["restart"] = {"at_frame": args.restart_at, "nodes": restarted, "people_across": total_people,
                              "kept_global_id": kept}
    summary.update({"frames": int(sum(n for _, n in bags)),
                    "frames_dropped": int(sum(len(n.result.dropped) for n in nodes)),
                    "wall_s": round(wall, 2), "tracker": args.tracker or "config", "identity": identity})
    from .multicam_sheet import write_sheet

    sheet = write_sheet(out / "multicam_sheet.jpg", seqs, [n.result.tracks for n in nodes])
    summary["sheet"] = str(sheet) if sheet else None
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    code, summary = run_guarded("eval_multicam", run, parse_args(argv))
    if code:
        return code
    for name, m in summary["per_camera"].items():
        print(f"{name:<24} HOTA {m['HOTA']:6.2f}  IDF1 {m['IDF1']:6.2f}  MOTA {m['MOTA']:6.2f}  IDSW {m['IDSW']}")
    print(f"{'all cameras (global ids)':<24} HOTA {summary['HOTA_global']:6.2f}  IDF1 {summary['IDF1_global']:6.2f}"
          f"   (each camera its own ids: IDF1 {summary['IDF1_global_no_sharing']:.2f})")
    print(f"frames {summary['frames']}  dropped {summary['frames_dropped']}  wall {summary['wall_s']} s")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
