"""identity: one node for all cameras. reid_msgs/TrackSummaryArray (every tracker with
``identity: true``) -> reid_msgs/IdentityAssignment (global ids of the summary's tracks, which
the tracker copies into Track.global_id). A lifecycle node over :mod:`reid_tracker_ros.identity`;
the gallery is loaded from ``gallery_path`` at configure, saved atomically every
``save_period_s`` when it changed and at shutdown. Services: list, forget (privacy), enrol
(named people from a folder of crops)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from reid_msgs.msg import IdentityAssignment, TrackSummaryArray
from reid_msgs.srv import EnrolIdentity, ForgetIdentity, ListIdentities

from ..embedding.default_model import identity_threshold, resolve_embedder
from ..identity import IdentityAssigner, IdentityConfig, load, save_atomic
from ..identity.enrol import crop_features, read_crops
from ..ros.conversions import stamp_to_ns, summaries_from_msg
from ..ros.lifecycle import ManagedNode, message_info_value
from ..ros.node_runtime import run_node
from ..ros.qos import data_qos
from ..topics import IDENTITY_ASSIGNMENTS, IDENTITY_SERVICES, IDENTITY_SUMMARIES


class IdentityNode(ManagedNode):
    schema_name = "identity"

    def __init__(self) -> None:
        self.core: IdentityAssigner | None = None
        self.model_name = ""  # the model the gallery's features come from
        self.pub = None
        self._path: Path | None = None
        self._dirty = False
        self._embedder = None  # enrolment only, loaded on the first request
        self._now = 0.0  # newest summary stamp [s]: the clock retention and enrolment use
        self.summaries = 0
        super().__init__("identity")

    # -- lifecycle ---------------------------------------------------------------------------
    def configure_resources(self) -> None:
        p = self.params
        self._path = Path(p["gallery_path"]).expanduser() if p["gallery_path"] else None
        self.core, self.model_name, self._dirty = None, "", False
        if self._path is not None and self._path.exists():
            state = load(self._path)
            self.model_name = str(state.get("model_name", ""))
            self.core = IdentityAssigner.from_state(self._config(), state)
            self._now = float(np.max(state["last_seen"])) if len(state["last_seen"]) else 0.0
            self.get_logger().info(f"gallery {self._path}: {len(self.core.gallery)} identities "
                                   f"({self.model_name or 'model unknown'})")
        self.pub = self.make_publisher(IdentityAssignment, IDENTITY_ASSIGNMENTS, data_qos(p["queue_depth"]))

    def create_inputs(self) -> list:
        q = data_qos(self.params["queue_depth"])
        return [self.create_subscription(TrackSummaryArray, IDENTITY_SUMMARIES, self.on_summaries, q),
                self.create_timer(self.params["save_period_s"], self.save),
                self.create_service(ListIdentities, IDENTITY_SERVICES["list"], self.on_list),
                self.create_service(ForgetIdentity, IDENTITY_SERVICES["forget"], self.on_forget),
                self.create_service(EnrolIdentity, IDENTITY_SERVICES["enrol"], self.on_enrol)]

    def release_resources(self) -> None:
        self.save()
        self.core = None
        self.pub = None
        self._embedder = None

    def on_parameters(self, changes: dict) -> None:
        if self.core is not None:
            self.core.config = self._config()

    def _config(self) -> IdentityConfig:
        """The core's settings; ``threshold`` 0 takes the one the gallery's model carries in its
        metadata (``extra.identity_threshold``), since cosine distances differ between models."""
        config = IdentityConfig.from_parameters(self.params)
        if self.params["threshold"] > 0:
            return config
        threshold = identity_threshold(self.model_name, self.params["model"]) if self.model_name else None
        if threshold is None:
            threshold = IdentityConfig().threshold
            if self.model_name:
                self.get_logger().warn(f"model {self.model_name!r} carries no identity_threshold in its metadata: "
                                       f"threshold {threshold:g} (chosen for the shipped default; set 'threshold' "
                                       "for this model)")
        return replace(config, threshold=threshold)

    def diagnostic_values(self) -> list[tuple[str, str]]:
        values = [("summaries", str(self.summaries)), ("model", self.model_name or "none yet"),
                  ("gallery_path", str(self._path or "(memory only)"))]
        if self.core is not None:
            values += [("identities", str(len(self.core.gallery))), ("cameras", ",".join(sorted(self.core.cameras))),
                       ("created", str(self.core.created)), ("linked", str(self.core.linked)),
                       ("indexed", str(self.core.gallery.index.indexed)),
                       ("threshold", f"{self.core.config.threshold:g}")]
        return values

    # -- persistence -------------------------------------------------------------------------
    def save(self) -> None:
        if self._path is None or self.core is None or not self._dirty:
            return
        try:
            save_atomic(self._path, {**self.core.state(), "model_name": np.array(self.model_name)})
            self._dirty = False
        except OSError as exc:
            self.errors.report("save_failed", f"gallery not saved to {self._path}: {exc} (the previous file "
                               "is intact)")

    def _core_for(self, model: str, dim: int) -> IdentityAssigner | None:
        """The core, made on the first features; None (reported) for features of another model."""
        if self.core is None:
            self.model_name = model
            self.core = IdentityAssigner(self._config(), dim)
            self.get_logger().info(f"gallery of {model or 'unnamed'} features ({dim}-d), threshold "
                                   f"{self.core.config.threshold:g}")
        if dim != self.core.dim or (model and self.model_name and model != self.model_name):
            self.errors.report("model_mismatch", f"features of {model or '?'}/{dim} cannot be compared with the "
                               f"gallery's {self.model_name or '?'}/{self.core.dim}: ignored")
            return None
        self.model_name = self.model_name or model
        return self.core

    # -- inputs ------------------------------------------------------------------------------
    def on_summaries(self, msg: TrackSummaryArray, info) -> None:
        self.stats.on_input(self.now_s(), "track_summaries", message_info_value(info, "publication_sequence_number"))
        try:
            summaries = summaries_from_msg(msg)
        except ValueError as exc:
            self.errors.report("bad_summary", f"summary ignored: {exc}")
            return
        has_features = any(len(s.features) for s in summaries)
        if self.core is None and not has_features:
            core = None
        else:
            core = self._core_for(msg.model_name, int(msg.feature_dim) if has_features else self.core.dim)
        stamp = stamp_to_ns(msg.header.stamp) * 1e-9
        self._now = max(self._now, stamp)
        mapping = core.assign(msg.camera, msg.session, stamp, summaries) if core is not None else {}
        self._dirty |= core is not None
        self.summaries += 1
        out = IdentityAssignment(header=msg.header, camera=msg.camera, session=msg.session)
        out.track_ids = [int(s.track_id) for s in summaries]
        out.global_ids = [int(mapping.get(int(s.track_id), 0)) for s in summaries]
        out.names = [core.gallery.name(g) if core is not None and g else "" for g in out.global_ids]
        self.pub.publish(out)
        self.stats.on_output(self.now_s(), 0.0)

    def on_list(self, request, response):
        infos = self.core.gallery.identities() if self.core is not None else []
        response.global_ids = [i.global_id for i in infos]
        response.names = [i.name for i in infos]
        response.first_seen = [i.first_seen for i in infos]
        response.last_seen = [i.last_seen for i in infos]
        response.cameras = [",".join(i.cameras) for i in infos]
        return response

    def on_forget(self, request, response):
        gid = int(request.global_id)
        if not gid and request.name and self.core is not None:
            gid = self.core.gallery.gid_by_name(request.name) or 0
        response.success = bool(self.core is not None and gid and self.core.forget(gid))
        response.message = (f"identity {gid} forgotten" if response.success else
                            f"no identity {request.global_id or repr(request.name)}")
        if response.success:
            self._dirty = True
            self.save()  # privacy: gone from the disk too, now
        return response

    def on_enrol(self, request, response):
        try:
            crops = read_crops(request.folder)
            if self._embedder is None:
                self._embedder = resolve_embedder(self.params["model"], device=self.params["device"])
                if self._embedder is None:
                    raise ValueError(f"model {self.params['model']!r} gives no features: cannot enrol")
            feats = crop_features(self._embedder, crops)
            if not len(feats):
                raise ValueError(f"no usable crop in {request.folder}")
            core = self._core_for(self._embedder.name, self._embedder.feature_dim)
            if core is None:
                raise ValueError(f"the gallery holds {self.model_name} features; the enrolment model is "
                                 f"{self._embedder.name}")
            response.global_id = core.enrol(request.name, feats, self._now)
            response.crops = len(feats)
            response.success = True
            response.message = f"{request.name!r} enrolled as {response.global_id} from {len(feats)} crops"
            self._dirty = True
            self.save()
        except ValueError as exc:
            response.success = False
            response.message = str(exc)
        return response


def main(args: list[str] | None = None) -> int:
    return run_node(IdentityNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
