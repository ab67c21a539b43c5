"""``make demo``: a generated MOT sequence through the real nodes, then the metrics.

1. generate a synthetic MOTChallenge sequence (rendered pedestrians, ground truth and noisy
   public detections; cached under runs/demo/ and re-made only when its settings change),
2. convert it to a rosbag2, start detector -> embedder -> tracker (the same graph the
   launch files start) and replay the bag in lockstep, every frame accounted for,
3. score the tracks with TrackEval (HOTA, MOTA, IDF1, IDSW),
4. replay it again free-running at the sequence frame rate to measure frames/s and latency,
5. and once more in lockstep without appearance features (motion only), so the appearance
   model's contribution is visible (the shipped model is trained on synthetic persons),
6. then a real pedestrian video (opencv-doc's vtest.avi, a part of it by default) through the
   camera graph with the YOLO detector and the visualizer (tools.demo_video): an
   annotated MP4 and a contact sheet; skipped with a clear message when the video is absent.
The last line printed is one JSON object with the runs' numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .demo_video import format_summary as format_video_summary
from .demo_video import parse_args as parse_video_args
from .demo_video import run as run_video
from .evaluate import format_table, parse_args, run
from ..mot.synthetic import generate_sequence, is_current
from .contact_sheet import contact_sheet



def describe_default_model() -> str:
    """One line on the embedder's default model (name, trained or not), from its metadata."""
    from ..embedding.default_model import default_model_path
    from ..embedding.metadata import read_metadata

    try:
        meta = read_metadata(default_model_path())
    except (OSError, ValueError) as exc:
        return f"default model unreadable ({exc})"
    kind = "trained on synthetic persons" if meta.trained else "UNTRAINED (its features carry little identity)"
    return f"'{meta.name}' ({meta.input_height}x{meta.input_width}, {meta.feature_dim}-d, {kind})"

def demo_sequence(root: Path, frames: int, seed: int) -> Path:
    """The demo's synthetic sequence, generated once per (frames, seed, generator version)."""
    seq = root / f"SYNTH-DEMO-{frames}f-s{seed}"
    if is_current(seq, frames):
        return seq
    print(f"generating {frames} synthetic frames (960x540, 8 people) in {seq}", flush=True)
    return generate_sequence(root, name=seq.name, frames=frames, seed=seed)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tracker", default=None, help="tracker strategy (default: config/default.yaml)")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--skip-realtime", action="store_true", help="no free-running (speed) run")
    p.add_argument("--skip-motion-only", action="store_true", help="no motion-only comparison run")
    p.add_argument("--skip-video", action="store_true", help="no real-video part (demo_video)")
    p.add_argument("--video", default=None, help="real-video part: any video file (default: opencv-doc's vtest.avi)")
    p.add_argument("--video-frames", type=int, default=None,
                   help="real-video part: frames played (default: demo_video's, a part of vtest)")
    p.add_argument("--video-all", action="store_true", help="real-video part: the whole video")
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    seq = demo_sequence(out / "sequences", args.frames, args.seed)
    common = ["--seq", str(seq)] + (["--tracker", args.tracker] if args.tracker else [])
    print("\n== lockstep replay: every frame waits for its tracks (accuracy) ==", flush=True)
    lockstep = run(parse_args(common + ["--out", str(out / "lockstep")]))
    print(format_table(lockstep), flush=True)
    realtime = None
    if not args.skip_realtime:
        print("\n== free-running replay at the sequence frame rate (speed) ==", flush=True)
        realtime = run(parse_args(common + ["--mode", "realtime", "--out", str(out / "realtime")]))
        print(format_table(realtime), flush=True)
    sheet = contact_sheet(seq, lockstep["results"], out / "contact_sheet.jpg")
    print(f"\ncontact sheet of the tracks: {sheet}", flush=True)
    motion = None
    if not args.skip_motion_only:
        print("\n== lockstep replay without appearance features (motion only, for comparison) ==", flush=True)
        motion = run(parse_args(common + ["--embedder-model", "none", "--out", str(out / "motion_only")]))
        print(format_table(motion), flush=True)
    model = describe_default_model()
    print(f"\nappearance model: {model}" + (
        f"; motion only scores HOTA {motion['HOTA']:.1f} / IDF1 {motion['IDF1']:.1f} "
        f"against {lockstep['HOTA']:.1f} / {lockstep['IDF1']:.1f} with it"
        if motion and motion.get("HOTA") is not None else "") + ".", flush=True)
    line = {k: lockstep.get(k) for k in ("sequence", "tracker", "HOTA", "MOTA", "IDF1", "IDSW", "frames",
                                         "frames_dropped")}
    line["fps_lockstep"] = lockstep.get("fps")
    if realtime is not None:
        line.update({"fps": realtime.get("fps"), "frames_dropped_realtime": realtime.get("frames_dropped"),
                     "latency_ms_p50": realtime["latency_ms"]["end_to_end"]["p50"]})
    if motion is not None:
        line.update({"HOTA_motion_only": motion.get("HOTA"), "IDF1_motion_only": motion.get("IDF1")})
    video = None
    if not args.skip_video:
        print("\n== a real video through source -> YOLO detector -> embedder -> tracker -> visualizer ==",
              flush=True)
        video_argv = (["--out", str(out / "video")] + (["--video", args.video] if args.video else [])
                      + (["--frames", str(args.video_frames)] if args.video_frames else [])
                      + (["--all"] if args.video_all else []))
        video = run_video(parse_video_args(video_argv))  # None: no video here (said why), not a failure
        if video is not None:
            print(format_video_summary(video), flush=True)
            line.update({"video_frames": video["frames_with_tracks"], "video_fps": video["fps"],
                         "video_tracks": video["tracks"], "video_mp4": video["mp4"],
                         "video_contact_sheet": video["contact_sheet"]})
    print(json.dumps(line))
    dropped = lockstep["frames_dropped"]
    if dropped:
        print(f"warning: {dropped} lockstep frame(s) got no tracks within the frame timeout: "
              f"{lockstep.get('dropped_frame_indices')} (they count as misses in the metrics)", file=sys.stderr)
    # a lost frame or two on a loaded machine is reported above; more means the graph is broken
    failed = dropped > max(1, lockstep["frames"] // 100) or (
        video is not None and video["frames_with_tracks"] < video["frames"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
