"""Shared by the DDS tests: a probe node that talks to the running graph through its real
interfaces (topics, /diagnostics, lifecycle and parameter services). Not a test file."""
from __future__ import annotations

import time
from typing import Any, Callable

import cv2
import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.node import Node
from reid_msgs.msg import Detection, DetectionArray, EmbeddedDetectionArray, TrackArray
from sensor_msgs.msg import CompressedImage, Image

from reid_tracker_ros.topics import DEFAULT_PUBLIC_DETECTIONS_TOPIC as PUBLIC_DETECTIONS_TOPIC
from reid_tracker_ros.ros.conversions import fill_image_msg, float32_array, stamp_to_ns
from reid_tracker_ros.ros.diagnostics import status_values


def status_level(status) -> int:
    """A DiagnosticStatus level as an int (rclpy gives bytes for the byte field)."""
    level = status.level
    return level[0] if isinstance(level, (bytes, bytearray)) else int(level)
from reid_tracker_ros.ros.qos import data_qos

TRANSITIONS = {"configure": Transition.TRANSITION_CONFIGURE, "activate": Transition.TRANSITION_ACTIVATE,
               "deactivate": Transition.TRANSITION_DEACTIVATE, "cleanup": Transition.TRANSITION_CLEANUP,
               "shutdown": Transition.TRANSITION_UNCONFIGURED_SHUTDOWN}


def header_for(stamp_ns: int, frame_id: str = "camera"):
    header = Image().header
    header.stamp.sec, header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    header.frame_id = frame_id
    return header


def detection_msgs(boxes_tlwh, scores=None) -> list:
    scores = [0.9] * len(boxes_tlwh) if scores is None else scores
    return [Detection(x=float(b[0]), y=float(b[1]), width=float(b[2]), height=float(b[3]), score=float(s),
                      class_id=0) for b, s in zip(boxes_tlwh, scores)]


class GraphProbe(Node):
    """Publishes into the graph, records every stage's output by stamp and the nodes' latest
    /diagnostics status; calls lifecycle and parameter services."""

    def __init__(self, name: str = "test_probe", image_topic: str = "/camera/image_raw") -> None:
        super().__init__(name)
        q = data_qos(100)
        self.image_pub = self.create_publisher(Image, image_topic, q)
        self.compressed_pub = self.create_publisher(CompressedImage, image_topic + "/compressed", q)
        self.public_pub = self.create_publisher(DetectionArray, PUBLIC_DETECTIONS_TOPIC, q)
        self.detections_pub = self.create_publisher(DetectionArray, "/detections", q)
        self.embedded_pub = self.create_publisher(EmbeddedDetectionArray, "/embedded_detections", q)
        self.got: dict[str, dict[int, Any]] = {"detections": {}, "embedded_detections": {}, "tracks": {},
                                                "image_decoded": {}}
        self.counts: dict[str, int] = dict.fromkeys(self.got, 0)
        for topic, cls in (("detections", DetectionArray), ("embedded_detections", EmbeddedDetectionArray),
                           ("tracks", TrackArray), ("image_decoded", Image)):
            self.create_subscription(cls, f"/{topic}", lambda m, t=topic: self._record(t, m), q)
        self.diag: dict[str, Any] = {}
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
        self._svc_clients: dict[tuple[str, str], Any] = {}

    def _record(self, topic: str, msg) -> None:
        self.got[topic][stamp_to_ns(msg.header.stamp)] = msg
        self.counts[topic] += 1

    def _on_diag(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self.diag[status.hardware_id] = status

    # -- waiting -------------------------------------------------------------------------------
    def spin_until(self, predicate: Callable[[], bool], timeout: float, runner=None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if runner is not None:
                runner.check_alive()
            rclpy.spin_once(self, timeout_sec=0.02)
        return predicate()

    def values(self, node: str) -> dict[str, str]:
        return status_values(self.diag[node]) if node in self.diag else {}

    def level(self, node: str) -> int | None:
        return status_level(self.diag[node]) if node in self.diag else None

    def wait_diag(self, node: str, predicate: Callable[[dict[str, str]], bool], timeout: float = 20.0,
                  runner=None) -> dict[str, str]:
        """Wait for a /diagnostics report of ``node`` whose values satisfy ``predicate``."""
        ok = self.spin_until(lambda: node in self.diag and predicate(self.values(node)), timeout, runner)
        assert ok, f"/diagnostics of {node}: {self.values(node)} (message: " \
                   f"{self.diag[node].message if node in self.diag else 'none'})"
        return self.values(node)

    # -- publishing ------------------------------------------------------------------------------
    def send_image(self, stamp_ns: int, rgb: np.ndarray | None = None, *, msg: Image | None = None) -> None:
        if msg is None:
            msg = Image()
            fill_image_msg(msg, rgb)
        msg.header = header_for(stamp_ns)
        self.image_pub.publish(msg)

    def send_public(self, stamp_ns: int, boxes_tlwh, scores=None, size=(320, 240)) -> None:
        out = DetectionArray(header=header_for(stamp_ns), image_width=size[0], image_height=size[1],
                             source="public")
        out.detections = detection_msgs(boxes_tlwh, scores)
        self.public_pub.publish(out)

    def send_embedded(self, stamp_ns: int, boxes_tlwh, features: np.ndarray | None, dim: int | None = None,
                      size=(320, 240), model="tiny-untrained") -> None:
        out = EmbeddedDetectionArray(header=header_for(stamp_ns), image_width=size[0], image_height=size[1],
                                     model_name=model)
        out.detections = detection_msgs(boxes_tlwh)
        if features is not None:
            out.embedding_dim = int(features.shape[1] if dim is None else dim)
            out.embeddings = float32_array(features)
        self.embedded_pub.publish(out)

    # -- services ------------------------------------------------------------------------------
    def _call(self, srv_type, name: str, request, timeout: float = 30.0):
        key = (name, srv_type.__name__)
        if key not in self._svc_clients:
            self._svc_clients[key] = self.create_client(srv_type, name)
        client = self._svc_clients[key]
        assert client.wait_for_service(timeout_sec=timeout), f"service {name} not available"
        future = client.call_async(request)
        rclpy.spin_until_future_complete(self, future, timeout_sec=timeout)
        assert future.done(), f"service {name} did not answer within {timeout} s"
        return future.result()

    def lifecycle_state(self, node: str) -> str:
        return self._call(GetState, f"/{node}/get_state", GetState.Request()).current_state.label

    def change_state(self, node: str, transition: str) -> bool:
        request = ChangeState.Request()
        request.transition.id = TRANSITIONS[transition]
        return bool(self._call(ChangeState, f"/{node}/change_state", request).success)

    def set_parameter(self, node: str, name: str, value) -> tuple[bool, str]:
        pv = ParameterValue()
        if isinstance(value, bool):
            pv.type, pv.bool_value = ParameterType.PARAMETER_BOOL, value
        elif isinstance(value, int):
            pv.type, pv.integer_value = ParameterType.PARAMETER_INTEGER, value
        elif isinstance(value, float):
            pv.type, pv.double_value = ParameterType.PARAMETER_DOUBLE, value
        else:
            pv.type, pv.string_value = ParameterType.PARAMETER_STRING, str(value)
        request = SetParameters.Request(parameters=[Parameter(name=name, value=pv)])
        result = self._call(SetParameters, f"/{node}/set_parameters", request).results[0]
        return bool(result.successful), result.reason


def two_people(k: int, size=(320, 240)) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """Two coloured 'people' moving apart; boxes in tlwh."""
    import cv2

    w, h = size
    rgb = np.full((h, w, 3), 90, np.uint8)
    boxes = [(40 + 2 * k, 60, 30, 80), (220 - 2 * k, 70, 32, 84)]
    for (x, y, bw, bh), c in zip(boxes, [(220, 40, 40), (40, 200, 60)]):
        cv2.rectangle(rgb, (int(x), int(y)), (int(x + bw), int(y + bh)), c, -1)
    return rgb, boxes


def two_walkers(k: int, width: int = 320, height: int = 240) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """Frame ``k`` of a scene with two coloured 'people' walking apart at 3 px/frame: the RGB
    image and their boxes (tlwh)."""
    rgb = np.full((height, width, 3), 90, np.uint8)
    boxes = [(40 + 3 * k, 60, 30, 80), (220 - 3 * k, 70, 32, 84)]
    for (x, y, w, h), c in zip(boxes, [(220, 40, 40), (40, 200, 60)]):
        cv2.rectangle(rgb, (int(x), int(y)), (int(x + w), int(y + h)), c, -1)
    return rgb, boxes
