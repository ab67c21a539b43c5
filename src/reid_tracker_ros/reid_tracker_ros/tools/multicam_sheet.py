"""A picture of one multi-camera run: each camera's annotated frame (boxes coloured and labelled
by global id, as the visualizer draws them) and, beside them, a top-down view of the RViz
person markers the visualizer publishes for those frames (same colours: the same person has the
same colour in every camera). RViz itself cannot be installed here; the markers drawn are the
visualizer core's MarkerSpecs, i.e. what RViz would be sent."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from ..mot.io import frame_paths, read_seqinfo
from ..ros.viz_conversions import snapshot_from_msg
from ..visualization import CameraModel, TrackVisualizer, VisualizerSettings, annotate_tracks
from ..visualization.markers import ADD, NS_PERSON

PANEL_H = 360


def _settings(seq_dir: Path) -> VisualizerSettings:
    """Camera height, tilt and field of view from the set's ``*-cameras.json`` when there is one."""
    for meta in seq_dir.parent.glob("*-cameras.json"):
        for cam in json.loads(meta.read_text()).get("cameras", []):
            if cam.get("folder") == seq_dir.name:
                return VisualizerSettings(camera_height_m=cam["height_m"], camera_pitch_deg=cam["tilt_deg"],
                                          hfov_deg=cam["hfov_deg"], trail_length=20)
    return VisualizerSettings(camera_height_m=3.0, camera_pitch_deg=12.0, trail_length=20)


def _best_frame(tracks: dict, shared: set[int]) -> int:
    """The frame with the most people whose global id another camera also gave out."""
    def score(f: int) -> tuple[int, int]:
        gids = [t.global_id for t in tracks[f].tracks if t.frames_since_update == 0]
        return sum(g in shared for g in gids), len(gids)
    return max(sorted(tracks), key=score)


def _top_down(markers: list, size: int, max_range: float = 25.0) -> np.ndarray:
    """Person markers seen from above: x (right) across, z (depth) up; camera at the bottom."""
    img = np.full((size, size, 3), 245, np.uint8)
    scale = (size - 20) / max_range
    centre = (size // 2, size - 10)
    for r in range(5, int(max_range) + 1, 5):
        cv2.ellipse(img, centre, (int(r * scale), int(r * scale)), 0, 180, 360, (215, 215, 215), 1, cv2.LINE_AA)
    cv2.circle(img, centre, 5, (60, 60, 60), -1)
    for m in markers:
        if m.ns != NS_PERSON or m.action != ADD:
            continue
        x, _, z = m.position
        p = (int(centre[0] + x * scale), int(centre[1] - z * scale))
        r, g, b, _ = m.colour
        colour = (int(b * 255), int(g * 255), int(r * 255))
        cv2.circle(img, p, 8, colour, -1, cv2.LINE_AA)
    return img


def _labels(markers: list) -> dict[int, str]:
    return {m.id: m.text.split("  ")[0] for m in markers if m.ns == "label" and m.action == ADD}


def write_sheet(path: str | Path, seq_dirs: list[Path], tracks: list[dict]) -> Path | None:
    """One row per camera: annotated frame | top-down markers. ``tracks[k]``: camera k's
    frame index -> TrackArray. None when no camera has tracks."""
    if not any(tracks):
        return None
    seen = [{t.global_id for m in tr.values() for t in m.tracks if t.global_id} for tr in tracks]
    rows = []
    for k, (seq, tr) in enumerate(zip(seq_dirs, tracks)):
        if not tr:
            continue
        shared = set().union(*(s for j, s in enumerate(seen) if j != k)) & seen[k]
        frame = _best_frame(tr, shared)
        info = read_seqinfo(seq)
        vis = TrackVisualizer(_settings(Path(seq)))
        camera = CameraModel.from_hfov(info.im_width, info.im_height, vis.settings.hfov_deg)
        scene = None
        for f in sorted(tr):  # trails and velocities as the node builds them
            if f > frame:
                break
            scene = vis.update(snapshot_from_msg(tr[f]), f / info.frame_rate, camera)
        image = cv2.imread(str(frame_paths(info)[frame - 1]))
        annotated = annotate_tracks(image, snapshot_from_msg(tr[frame]), vis.trails, None,
                                    extra_text="colour and g<id>: global id / track id")
        scale = PANEL_H / annotated.shape[0]
        annotated = cv2.resize(annotated, (int(annotated.shape[1] * scale), PANEL_H))
        cv2.putText(annotated, f"{info.name}  frame {frame}", (8, PANEL_H - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                    (255, 255, 255), 2, cv2.LINE_AA)
        specs = scene.markers if scene is not None else []  # what the visualizer sends RViz for this frame
        top = _top_down(specs, PANEL_H)
        for m in specs:
            if m.ns == NS_PERSON and m.action == ADD:
                x, _, z = m.position
                s = (PANEL_H - 20) / 25.0
                cv2.putText(top, _labels(scene.markers).get(m.id, str(m.id)), (int(PANEL_H // 2 + x * s) + 10,
                            int(PANEL_H - 10 - z * s) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (40, 40, 40), 1,
                            cv2.LINE_AA)
        cv2.putText(top, "RViz person markers (top view)", (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (40, 40, 40),
                    1, cv2.LINE_AA)
        rows.append(np.hstack([annotated, np.full((PANEL_H, 6, 3), 255, np.uint8), top]))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    path = Path(path)
    cv2.imwrite(str(path), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path
