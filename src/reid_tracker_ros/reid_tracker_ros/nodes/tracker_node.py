"""tracker: reid_msgs/EmbeddedDetectionArray -> reid_msgs/TrackArray, one per frame (also empty,
with the input's header, so evaluation can pair every frame). A lifecycle node over
:mod:`reid_tracker_ros.tracking`; the motion-only fallback (embedder down or slow), the image
input for camera-motion compensation and the PREDICTED answers to camera frames the detector
did not answer in time (``prediction_budget_s``) and the global ids from the identity node
(``identity``) are described in docs/nodes.md."""
from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import replace

from reid_msgs.msg import (DetectionArray, EmbeddedDetectionArray, IdentityAssignment, Track, TrackArray,
                           TrackSummary, TrackSummaryArray)
from sensor_msgs.msg import CompressedImage, Image

from ..fallback import MotionFallback
from ..identity.summaries import SummaryCollector, new_session
from ..ros.conversions import (detections_from_msg_list, embeddings_from_msg, image_to_rgb, sanitize_detections,
                               stamp_to_ns, summary_msgs_from, track_msgs_from)

from ..ros.lifecycle import ManagedNode, message_info_value
from ..ros.node_runtime import run_node
from ..ros.qos import data_qos, image_qos
from ..stamped_hold import StampedHold
from ..stats import StampVerdict
from ..topics import (DECODED_IMAGE, DETECTIONS, EMBEDDED_DETECTIONS, IDENTITY_ASSIGNMENTS, IDENTITY_SUMMARIES, IMAGE,
                      TRACKS, tracker_image_input)
from ..tracking import FrameDeadlines, StepClock, Tracker, config_from_parameters, predicted_snapshot

FRAME_CACHE = 8  # images kept for camera-motion compensation until their detections come
# Lockstep with camera-motion compensation (reliable images, no predictions): a frame whose
# detections come before its image (DDS delivers a large image late now and then, mostly under
# load) waits this long for it, and later frames queue behind it, so every run compensates the
# same frames. Live cameras (best-effort images or predictions on) never wait.
IMAGE_WAIT_S = 0.5


class TrackerNode(ManagedNode):
    schema_name = "tracker"

    def __init__(self) -> None:
        self.tracker = None
        self.pub = None
        self.fallback: MotionFallback | None = None
        self._features = None  # (model name, dimension) of the features the galleries hold
        self._motion_only_stamps: deque[int] = deque(maxlen=256)
        self.frames_with_features = 0
        self.frames_motion_only = 0
        self._motion_only_run = 0  # consecutive fallback frames: the embedder is silent
        self._image_topic: str | None = None  # topics.tracker_image_input: CMC or predictions
        self._frames: OrderedDict[int, object] | None = None  # stamp -> Image msg (CMC only)
        self._image_wait: StampedHold | None = None  # lockstep CMC: frames waiting for their image
        self.frames_without_image = 0
        # live cameras (prediction_budget_s > 0): camera frames waiting for their detections
        self._deadlines: FrameDeadlines | None = None
        self._steps = StepClock()
        self.frames_predicted = 0
        self._size = (0, 0)  # the camera's image size, for predictions of frames seen only compressed
        # identity node (parameter 'identity'): summaries out, global ids in
        self._summaries: SummaryCollector | None = None
        self._summary_pub = None
        self._camera = ""
        self._session = ""
        self._global_ids: dict[int, int] = {}  # track id -> global id, from the identity node
        super().__init__("tracker")

    # -- lifecycle ---------------------------------------------------------------------------
    def configure_resources(self) -> None:
        p = self.params
        self.tracker = Tracker(config_from_parameters(p))
        self._features = None
        self.pub = self.make_publisher(TrackArray, TRACKS, data_qos(p["queue_depth"]))
        timeout = p["appearance_timeout"]
        self.fallback = MotionFallback(timeout, capacity=max(8, p["queue_depth"])) if timeout > 0 else None
        self._image_topic = tracker_image_input(p)
        self._frames = OrderedDict() if self.tracker.config.cmc != "none" else None
        budget = p["prediction_budget_s"]
        self._deadlines = FrameDeadlines(budget) if budget > 0 else None
        # only where every image is delivered (reliable) and no frame is answered early
        self._image_wait = (StampedHold(IMAGE_WAIT_S, 64, "image wait")
                            if self._frames is not None and self._deadlines is None
                            and p["image_qos"] == "reliable" else None)
        self._steps.reset()
        if p["identity"]:
            self._summaries = SummaryCollector(p["identity_period"], p["identity_features"])
            self._summary_pub = self.make_publisher(TrackSummaryArray, IDENTITY_SUMMARIES, data_qos(p["queue_depth"]))
            self._camera = p["camera_name"] or self.get_namespace().strip("/") or self.get_name()
            self._session = new_session()
            self._global_ids = {}
        self.get_logger().info(f"tracker ready: {p['tracker']}" + (
            f", motion-only fallback after {timeout:g} s without features" if timeout > 0 else ""))

    def create_inputs(self) -> list:
        q = data_qos(self.params["queue_depth"])
        inputs = []
        if self._image_topic is not None:
            # created first: the executor serves ready subscriptions in creation order, so a frame's
            # image waiting next to its detections is cached before they are tracked
            if self._frames is not None:
                self._frames.clear()
            if self._image_topic == DECODED_IMAGE:
                inputs.append(self.create_subscription(Image, DECODED_IMAGE, self.on_image, q))
                if self._deadlines is not None:
                    # the detector decodes (and passes on) only the frames it takes: the frames it
                    # skips are seen here, as JPEGs, without decoding (only their stamps count)
                    topic = self.resolve_topic_name(IMAGE) + "/compressed"
                    inputs.append(self.create_subscription(
                        CompressedImage, topic, self.on_compressed,
                        image_qos(self.params["image_qos"], FRAME_CACHE)))
            else:
                inputs.append(self.create_subscription(Image, self._image_topic, self.on_image,
                                                       image_qos(self.params["image_qos"], FRAME_CACHE)))
        inputs.append(self.create_subscription(EmbeddedDetectionArray, EMBEDDED_DETECTIONS, self.on_embedded, q))
        if self.fallback is not None:
            self.fallback.clear()
            inputs.append(self.create_subscription(DetectionArray, DETECTIONS, self.on_detections, q))
            inputs.append(self.create_timer(min(0.05, self.params["appearance_timeout"] / 4), self.on_timer))
        if self._deadlines is not None:
            self._deadlines.clear()
            self._steps.reset()
            period = max(0.005, min(0.02, self._deadlines.budget_s / 4))
            inputs.append(self.create_timer(period, self.on_prediction_timer))
        if self._image_wait is not None:
            self._image_wait.clear()
            inputs.append(self.create_timer(0.05, self.on_image_wait_timer))
        if self._summaries is not None:
            inputs.append(self.create_subscription(IdentityAssignment, IDENTITY_ASSIGNMENTS, self.on_assignment,
                                                   data_qos(self.params["queue_depth"])))
        return inputs

    def release_resources(self) -> None:
        self._frames = None
        self._image_wait = None
        self._deadlines = None
        self.tracker = None
        self.pub = None
        self.fallback = None
        self._summaries = None
        self._summary_pub = None
        self._global_ids = {}

    def on_parameters(self, changes: dict) -> None:
        if self.tracker is not None:
            self.tracker.reconfigure(config_from_parameters(self.params))

    def on_time_jump(self) -> None:
        if self.tracker is not None:
            self.tracker.reset()
        if self.fallback is not None:
            self.fallback.clear()
        if self._deadlines is not None:
            self._deadlines.clear()
        if self._image_wait is not None:
            self._image_wait.clear()
        self._steps.reset()
        if self._summaries is not None:  # track ids start again: a new session for the identity node
            self._summaries.clear()
            self._session = new_session()
            self._global_ids = {}

    def diagnostic_values(self) -> list[tuple[str, str]]:
        p = self.params
        values = [("tracker", p["tracker"]), ("features", "/".join(map(str, self._features or ("none",)))),
                  ("frames_with_features", str(self.frames_with_features)),
                  ("frames_motion_only", str(self.frames_motion_only)),
                  ("appearance_timeout", str(p["appearance_timeout"])),
                  ("max_age", str(p["max_age"])), ("max_cosine_distance", str(p["max_cosine_distance"]))]
        if self.tracker is not None:
            values.append(("tracks", str(len(getattr(self.tracker, "tracks", ())))))
        if self.fallback is not None:
            values.append(("waiting_for_features", str(len(self.fallback))))
        if self._deadlines is not None:
            values += [("frames_predicted", str(self.frames_predicted)),
                       ("prediction_budget_s", str(p["prediction_budget_s"]))]
        if self._frames is not None:
            values += [("camera_motion", str(self.tracker.config.cmc)),
                       ("frames_without_image", str(self.frames_without_image))]
        if self._summaries is not None:
            values += [("camera_name", self._camera), ("identity_session", self._session),
                       ("global_ids", str(sum(1 for g in self._global_ids.values() if g)))]
        if self._motion_only_run >= 3:
            self.warn_now(f"no appearance features for the last {self._motion_only_run} frames: tracking on "
                          "motion only (embedder down or behind?)")
        return values

    # -- inputs ------------------------------------------------------------------------------
    def on_assignment(self, msg: IdentityAssignment) -> None:
        """The identity node's global ids for the tracks of our latest summary."""
        if msg.camera != self._camera or msg.session != self._session:
            return  # another camera's, or from before our restart
        self._global_ids = {int(t): int(g) for t, g in zip(msg.track_ids, msg.global_ids) if g}

    def on_embedded(self, msg: EmbeddedDetectionArray, info) -> None:
        self.stats.on_input(self.now_s(), "embedded_detections",
                            message_info_value(info, "publication_sequence_number"))
        received = message_info_value(info, "received_timestamp") or time.time_ns()
        stamp = stamp_to_ns(msg.header.stamp)
        if self.fallback is not None:
            if stamp in self._motion_only_stamps:
                self.stats.drop("late_features")  # this frame was tracked on motion only already
                return
            for held in self.fallback.take(stamp):
                self._track(held.stamp, held.item[0], held.item[1], motion_only=True)
        self._track(stamp, msg, received, motion_only=False)

    def on_image(self, msg: Image) -> None:
        """Camera-motion compensation: keep the frame until its detections are tracked.
        Predictions: the frame is owed a TrackArray; it gets a PREDICTED one if its detections
        are not tracked within the budget."""
        stamp = stamp_to_ns(msg.header.stamp)
        if self._deadlines is not None and self._image_topic != DECODED_IMAGE:
            self._owe(stamp, msg.header, int(msg.width), int(msg.height))
        if self._frames is None:
            return
        self._frames[stamp] = msg
        while len(self._frames) > FRAME_CACHE:
            self._frames.popitem(last=False)
        if self._image_wait is not None:  # frames that waited for this image (and the ones behind them)
            self._track_held(self._image_wait.release_while(lambda s: s in self._frames))

    def on_image_wait_timer(self) -> None:
        """Frames whose image did not come within IMAGE_WAIT_S: tracked without it."""
        if self._image_wait is None or self.tracker is None:
            return
        self._track_held(self._image_wait.due(self.now_s()))

    def on_compressed(self, msg: CompressedImage) -> None:
        """Compressed input with predictions: every camera frame is owed a TrackArray."""
        self._owe(stamp_to_ns(msg.header.stamp), msg.header, *self._size)

    def _owe(self, stamp: int, header, width: int, height: int) -> None:
        self._steps.frame(stamp)
        if width and height:
            self._size = (width, height)
        for pending in self._deadlines.add(stamp, (header, width, height), self.now_s()):
            self._publish_predicted(pending)

    def on_prediction_timer(self) -> None:
        if self._deadlines is None or self.tracker is None:
            return
        for pending in self._deadlines.due(self.now_s()):
            self._publish_predicted(pending)

    def _publish_predicted(self, pending) -> None:
        """A PREDICTED TrackArray for a camera frame without tracked detections (yet): the
        current tracks extrapolated to its stamp; the tracker's state is not changed."""
        started = time.perf_counter()
        header, width, height = pending.item
        width, height = (width, height) if width and height else self._size
        snapshot = predicted_snapshot(self.tracker, self._steps.steps_to(pending.stamp))
        out = TrackArray(header=header, image_width=width, image_height=height, tracker=self.params["tracker"],
                         kind=TrackArray.PREDICTED)
        out.tracks = track_msgs_from(snapshot, Track, self._global_ids)
        out.processing_ms = (time.perf_counter() - started) * 1e3
        self.pub.publish(out)
        self.frames_predicted += 1

    def _frame_for(self, stamp: int):
        """The image of ``stamp`` as an array (older cached frames are dropped), else None."""
        if self._frames is None:
            return None
        msg = self._frames.pop(stamp, None)
        for old in [s for s in self._frames if s < stamp]:
            del self._frames[old]
        if msg is None:
            self.frames_without_image += 1
            return None
        try:
            return image_to_rgb(msg)
        except ValueError as exc:
            self.errors.report("bad_image", f"image for camera-motion compensation ignored: {exc}")
            return None

    def on_detections(self, msg: DetectionArray, info) -> None:
        """The detector's output (fallback only): held until its features come or time out."""
        self.stats.on_input(self.now_s(), "detections", message_info_value(info, "publication_sequence_number"),
                            counts_as_frame=False)
        stamp = stamp_to_ns(msg.header.stamp)
        if self.stamp_order.peek(stamp) not in (StampVerdict.NEW, StampVerdict.JUMP_BACK):
            return  # its featured version was tracked already
        received = message_info_value(info, "received_timestamp") or time.time_ns()
        for held in self.fallback.hold(stamp, (msg, received), self.now_s()):
            self._track(held.stamp, held.item[0], held.item[1], motion_only=True)

    def on_timer(self) -> None:
        if self.fallback is None:
            return
        for held in self.fallback.due(self.now_s()):
            self._track(held.stamp, held.item[0], held.item[1], motion_only=True)

    # -- processing --------------------------------------------------------------------------
    def _track(self, stamp: int, msg, received_ns: int, motion_only: bool) -> None:
        wait = self._image_wait
        if wait is not None and (len(wait) or stamp not in self._frames):
            # lockstep CMC: this frame's image (or an earlier waiting frame's) has not come yet;
            # a second message of a waiting stamp waits with it (and is then judged a duplicate)
            entry = (msg, received_ns, motion_only)
            held = wait.get(stamp)
            if held is not None:
                held.item.append(entry)
                return
            self._track_held(wait.put(stamp, [entry], self.now_s()))
            return
        self._track_now(stamp, msg, received_ns, motion_only)

    def _track_held(self, frames) -> None:
        for held in frames:
            for entry in held.item:
                self._track_now(held.stamp, *entry)

    def _track_now(self, stamp: int, msg, received_ns: int, motion_only: bool) -> None:
        started = time.perf_counter()
        if not self.check_stamp(stamp, "embedded_detections" if not motion_only else "detections"):
            return
        dets = detections_from_msg_list(msg.detections)
        if motion_only:
            self._motion_only_stamps.append(stamp)
            self.frames_motion_only += 1
            self._motion_only_run += 1
        else:
            self._motion_only_run = 0
            try:
                dets.embeddings = embeddings_from_msg(msg)
            except ValueError as exc:
                self.errors.report("bad_embeddings", f"features ignored (motion only this frame): {exc}")
                dets.embeddings = None
            if dets.embeddings is not None:
                self.frames_with_features += 1
                features = (msg.model_name, dets.embeddings.shape[1])
                if self._features is not None and features != self._features:
                    # features of another model cannot be compared with the galleries: start afresh
                    self.get_logger().warn(f"appearance features changed from {self._features} to {features} "
                                           "(embedder restarted with another model?): tracks reset")
                    self.tracker.reset()
                self._features = features
        dets, dropped = sanitize_detections(dets, msg.image_width, msg.image_height)
        if dropped:
            self.errors.report("bad_box", f"{dropped} detection(s) with NaN/inf, non-positive size or "
                               "outside the image dropped")
        if self._deadlines is not None:
            # frames the detector skipped (older than this one, still owed tracks): predicted from
            # the state before this update, so the topic stays in stamp order where it can
            for pending in self._deadlines.tracked(stamp):
                self._publish_predicted(pending)
        # live: as many Kalman steps as camera frames passed (velocities per camera frame)
        steps = self._steps.update_steps(stamp) if self._deadlines is not None else 1
        snapshot = self.tracker.update(dets, frame=self._frame_for(stamp), steps=steps)
        self._steps.updated(stamp)
        if msg.image_width and msg.image_height:
            self._size = (int(msg.image_width), int(msg.image_height))
        out = TrackArray(header=msg.header, image_width=msg.image_width, image_height=msg.image_height,
                         tracker=self.params["tracker"], kind=TrackArray.DETECTED)
        out.tracks = track_msgs_from(snapshot, Track, self._global_ids)
        out.processing_ms = (time.perf_counter() - started) * 1e3
        self.pub.publish(out)
        self.stats.on_output(self.now_s(), self.latency_ms(received_ns))
        if self._summaries is not None:
            self._publish_summaries(msg.header)

    def _publish_summaries(self, header) -> None:
        summaries = self._summaries.observe(self.tracker.tracks, self._size)
        if summaries is None:
            return
        model, dim = self._features or ("", 0)
        if not dim:  # motion only: alive tracks, no features
            summaries = [replace(s, features=s.features[:0]) for s in summaries]
        self._summary_pub.publish(TrackSummaryArray(
            header=header, camera=self._camera, session=self._session, model_name=model, feature_dim=dim,
            tracks=summary_msgs_from(summaries, TrackSummary)))


def main(args: list[str] | None = None) -> int:
    return run_node(TrackerNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
