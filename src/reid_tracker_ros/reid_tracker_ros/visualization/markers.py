"""RViz content of the tracks as plain data (no ROS): markers with their lifecycle, and poses.

A marker in RViz stays until it is deleted (or its lifetime ends), so a track that ended
would leave a ghost behind. :class:`MarkerBook` remembers which (namespace, id) markers it
has published and emits a DELETE for each one whose track is gone; its first update starts
with DELETEALL, clearing whatever a previous run of the node left in RViz. Marker
``lifetime_s`` is a second safety net for when the node itself stops.

Constants match ``visualization_msgs/Marker`` (checked by the tests), so the ROS shell copies
the fields over one to one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colours import id_colour
from ..types import TrackState
from .geometry import up_vector

# visualization_msgs/Marker constants
ARROW, CYLINDER, TEXT_VIEW_FACING = 0, 3, 9
ADD, DELETE, DELETEALL = 0, 2, 3  # ADD also modifies an existing (ns, id)

NS_PERSON, NS_LABEL, NS_VELOCITY = "person", "label", "velocity"
NAMESPACES = (NS_PERSON, NS_LABEL, NS_VELOCITY)


@dataclass(frozen=True)
class MarkerSpec:
    """Everything a visualization_msgs/Marker needs apart from its header."""

    ns: str
    id: int
    action: int
    type: int = CYLINDER
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    orientation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)  # x, y, z, w
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    colour: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # r, g, b, a in [0, 1]
    text: str = ""
    points: tuple[tuple[float, float, float], ...] = ()  # ARROW from points[0] to points[1]
    lifetime_s: float = 0.0  # 0 = until deleted


def id_rgba(track_id: int, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """The track's colour of the annotated image (colours.id_colour, BGR) as RGBA floats."""
    b, g, r = id_colour(int(track_id))
    return (r / 255.0, g / 255.0, b / 255.0, float(alpha))


def quaternion_from_matrix(rot: np.ndarray) -> tuple[float, float, float, float]:
    """Rotation matrix (3x3, columns = the rotated frame's axes) -> unit quaternion (x, y, z, w)."""
    m = np.asarray(rot, np.float64)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = ((m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s)
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q3 = [0.0, 0.0, 0.0]
        q3[i] = 0.25 * s
        q3[j] = (m[j, i] + m[i, j]) / s
        q3[k] = (m[k, i] + m[i, k]) / s
        q = (q3[0], q3[1], q3[2], (m[k, j] - m[j, k]) / s)
    q = np.asarray(q)
    q = q / np.linalg.norm(q)
    return tuple(float(x) for x in q)


def upright_quaternion(pitch_deg: float) -> tuple[float, float, float, float]:
    """Orientation that turns a marker's z axis (a cylinder's axis) to the world's up."""
    half = np.radians(90.0 + pitch_deg) / 2.0
    return (float(np.sin(half)), 0.0, 0.0, float(np.cos(half)))


def heading_quaternions(velocities: np.ndarray, pitch_deg: float, min_speed: float = 0.2) -> np.ndarray:
    """(N, 4) pose orientations whose x axis points along the walking direction (the velocity
    projected on the floor) and whose z axis is up; people slower than ``min_speed`` m/s face
    the camera. RViz draws PoseArray poses as arrows along x."""
    up = up_vector(pitch_deg)
    vel = np.asarray(velocities, np.float64).reshape(-1, 3)
    flat = vel - np.outer(vel @ up, up)
    speed = np.linalg.norm(flat, axis=1)
    towards_camera = -(np.array([0.0, 0.0, 1.0]) - up[2] * up)
    towards_camera /= np.linalg.norm(towards_camera)
    out = np.zeros((len(vel), 4))
    for i in range(len(vel)):
        x = flat[i] / speed[i] if speed[i] >= min_speed else towards_camera
        y = np.cross(up, x)
        out[i] = quaternion_from_matrix(np.column_stack([x, y, up]))
    return out


def shown_mask(states: np.ndarray, show_tentative: bool) -> np.ndarray:
    """Tracks that get 3D output: confirmed and lost ones, tentative ones only when asked."""
    states = np.asarray(states).reshape(-1)
    keep = (states == TrackState.CONFIRMED) | (states == TrackState.LOST)
    return keep | (states == TrackState.TENTATIVE) if show_tentative else keep


class MarkerBook:
    """Builds each frame's markers and deletes those of tracks that are gone (no ghosts)."""

    def __init__(self, lifetime_s: float = 1.0, min_speed: float = 0.2) -> None:
        if lifetime_s < 0:
            raise ValueError(f"marker lifetime must be >= 0 s, got {lifetime_s}")
        self.lifetime_s = lifetime_s
        self.min_speed = min_speed
        self._live: dict[str, set[int]] = {ns: set() for ns in NAMESPACES}
        self._cleared = False

    @property
    def live(self) -> dict[str, set[int]]:
        """(namespace -> marker ids) that RViz currently shows (after the last update)."""
        return {ns: set(ids) for ns, ids in self._live.items()}

    def update(self, track_ids: np.ndarray, states: np.ndarray, positions: np.ndarray, heights: np.ndarray,
               velocities: np.ndarray, pitch_deg: float = 0.0, global_ids: np.ndarray | None = None
               ) -> list[MarkerSpec]:
        """Markers for the tracks given (rows with a NaN position are treated as absent); with
        ``global_ids`` (0: none) a person is coloured and labelled by their global id, so the
        same person has the same colour in every camera."""
        ids = np.asarray(track_ids, np.int64).reshape(-1)
        gids = np.zeros(len(ids), np.int64) if global_ids is None else np.asarray(global_ids, np.int64).reshape(-1)
        positions = np.asarray(positions, np.float64).reshape(-1, 3)
        heights = np.asarray(heights, np.float64).reshape(-1)
        velocities = np.asarray(velocities, np.float64).reshape(-1, 3)
        states = np.asarray(states).reshape(-1)
        out: list[MarkerSpec] = []
        if not self._cleared:
            out.append(MarkerSpec(ns="", id=0, action=DELETEALL))
            self._cleared = True
        up = up_vector(pitch_deg)
        upright = upright_quaternion(pitch_deg)
        now: dict[str, set[int]] = {ns: set() for ns in NAMESPACES}
        for i, tid in enumerate(ids.tolist()):
            foot = positions[i]
            if not np.isfinite(foot).all():
                continue
            lost = int(states[i]) == TrackState.LOST
            key = int(gids[i]) if gids[i] > 0 else tid  # colour and label: the global id when known
            colour = id_rgba(key, 0.35 if lost else 0.8)
            height = float(heights[i]) if np.isfinite(heights[i]) else 1.7
            centre = foot + up * height / 2.0
            out.append(MarkerSpec(NS_PERSON, tid, ADD, CYLINDER, tuple(centre), upright, (0.5, 0.5, height), colour,
                                  lifetime_s=self.lifetime_s))
            label = (f"g{key} ({tid})" if gids[i] > 0 else f"{tid}") + (" lost" if lost else "") + \
                f"  {float(np.linalg.norm(foot)):.1f} m"
            out.append(MarkerSpec(NS_LABEL, tid, ADD, TEXT_VIEW_FACING, tuple(foot + up * (height + 0.3)),
                                  scale=(0.3, 0.3, 0.3), colour=id_rgba(key, 1.0), text=label,
                                  lifetime_s=self.lifetime_s))
            now[NS_PERSON].add(tid)
            now[NS_LABEL].add(tid)
            vel = velocities[i]
            speed = float(np.linalg.norm(vel))
            if np.isfinite(speed) and speed >= self.min_speed:
                start = centre
                end = start + vel  # one second ahead
                out.append(MarkerSpec(NS_VELOCITY, tid, ADD, ARROW, scale=(0.08, 0.16, 0.2),
                                      colour=id_rgba(key, 1.0), points=(tuple(start), tuple(end)),
                                      lifetime_s=self.lifetime_s))
                now[NS_VELOCITY].add(tid)
        for ns in NAMESPACES:
            for tid in sorted(self._live[ns] - now[ns]):
                out.append(MarkerSpec(ns, tid, DELETE))
        self._live = now
        return out

    def clear(self) -> list[MarkerSpec]:
        """DELETE for every live marker (the node shutting down or being reset)."""
        out = [MarkerSpec(ns, tid, DELETE) for ns in NAMESPACES for tid in sorted(self._live[ns])]
        self._live = {ns: set() for ns in NAMESPACES}
        return out
