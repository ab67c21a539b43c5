"""The node graph, described once and started two ways.

``launch/*.launch.py`` turn these specs into ``launch_ros`` Node actions on a robot;
:mod:`reid_tracker_ros.runner` starts the very same specs as processes where ``launch``
is not installed (tests, the demo, the evaluator). Nothing about nodes, executables,
parameter files or remappings is written anywhere else.

Topics (relative names resolve inside the launch namespace)::

    image (sensor_msgs/Image) --> detector --> detections (reid_msgs/DetectionArray)
    public_detections (DetectionArray, only for backend 'public') --^
    image + detections --> embedder --> embedded_detections (reid_msgs/EmbeddedDetectionArray)
    embedded_detections --> tracker --> tracks (reid_msgs/TrackArray)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from .config import check_config_files, load_node_parameters
from .paths import PACKAGE, config_path, package_share_dir
from .topics import (CAMERA_INFO, DEFAULT_CAMERA_INFO_TOPIC, DEFAULT_IMAGE_TOPIC, DEFAULT_PUBLIC_DETECTIONS_TOPIC,
                     DEPTH, IMAGE, PUBLIC_DETECTIONS, tracker_image_input)


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph: what a launch_ros Node action or a local process needs."""

    name: str
    executable: str  # console script installed in lib/reid_tracker_ros
    module: str  # python -m <module> runs the same main()
    param_files: tuple[str, ...]
    overrides: dict = field(default_factory=dict)  # parameters set on top of the files
    remappings: tuple[tuple[str, str], ...] = ()
    namespace: str = ""  # e.g. "cam1": relative topics resolve under /cam1 (several cameras)

    @property
    def key(self) -> str:
        """Unique within a graph: the name, after the namespace when there is one."""
        return f"{self.namespace.strip('/')}.{self.name}" if self.namespace else self.name


def pipeline(config_files: list[str] | tuple[str, ...] = ("default.yaml",),
             image_topic: str = DEFAULT_IMAGE_TOPIC,
             detector_backend: str | None = None,
             public_detections_topic: str = DEFAULT_PUBLIC_DETECTIONS_TOPIC,
             tracker: str | None = None,
             embedder_model: str | None = None) -> list[NodeSpec]:
    """detector -> embedder -> tracker. ``config_files`` are applied in order (later wins);
    ``default.yaml`` is always first so every parameter has a value."""
    default = config_path("default.yaml")
    files = [str(default)] + [str(config_path(f)) for f in config_files if config_path(f) != default]
    check_config_files(files)
    files_t = tuple(files)
    image_remap = ((IMAGE, image_topic),)
    detector_overrides = {"backend": detector_backend} if detector_backend else {}
    embedder_overrides = {"model": embedder_model} if embedder_model else {}
    tracker_overrides = {"tracker": tracker} if tracker else {}
    return [
        NodeSpec("detector", "detector_node", f"{PACKAGE}.nodes.detector_node", files_t, detector_overrides,
                 image_remap + ((PUBLIC_DETECTIONS, public_detections_topic),)),
        NodeSpec("embedder", "embedder_node", f"{PACKAGE}.nodes.embedder_node", files_t, embedder_overrides,
                 image_remap),
        NodeSpec("tracker", "tracker_node", f"{PACKAGE}.nodes.tracker_node", files_t, tracker_overrides,
                 image_remap),  # images for camera-motion compensation and PREDICTED answers
    ]


def node_parameters(spec: NodeSpec) -> dict:
    """The parameters ``spec``'s node will run with (its files, then its overrides), presets filled."""
    return load_node_parameters(spec.name, list(spec.param_files), spec.overrides)


def image_subscriber_count(specs: list[NodeSpec]) -> int:
    """How many nodes of ``specs`` subscribe to the raw image topic once active, so a file
    source can wait for all of them before its first frame (the detector not with the public
    backend, which only relays detections). Waiting for fewer lets the first frame reach the
    tracker (camera-motion compensation) but not the embedder, which then waits for that image
    forever (lockstep: frame lost)."""
    count = 0
    for spec in specs:
        if spec.name == "detector":
            params = node_parameters(spec)
            count += params.get("image_transport", "raw") == "raw" and params.get("backend") != "public"
        elif spec.name == "embedder":
            count += node_parameters(spec).get("image_transport", "raw") == "raw"
        elif spec.name == "visualizer":
            count += 1
        elif spec.name == "tracker":
            count += tracker_image_input(node_parameters(spec)) == IMAGE
    return count


EVALUATOR_EXECUTABLE = "evaluate"
# user-facing detector names -> detector node backend
DETECTOR_ALIASES = {"public": "public", "yolo": "ultralytics", "ultralytics": "ultralytics"}
EVALUATION_CONFIG = "mot_eval.yaml"
LOCKSTEP_CONFIG = "lockstep.yaml"  # a file played in lockstep through the camera graph


def evaluation_pipeline(detector_backend: str = "public", tracker: str | None = None,
                        image_topic: str = DEFAULT_IMAGE_TOPIC,
                        extra_config: list[str] | tuple[str, ...] = (),
                        embedder_model: str | None = None) -> list[NodeSpec]:
    """The graph for MOT replay: default.yaml, then mot_eval.yaml (reliable QoS, deep queues),
    then any extra files; ``detector_backend`` 'public' or 'ultralytics'."""
    return pipeline([EVALUATION_CONFIG, *extra_config], image_topic=image_topic,
                    detector_backend=detector_backend, tracker=tracker, embedder_model=embedder_model)


RVIZ_CONFIG = "reid_tracker.rviz"


def source_uri(source: str) -> str:
    """A webcam index as a device path: ``-p uri:=0`` would reach the node as an integer."""
    source = str(source).strip()
    return f"/dev/video{source}" if source.isdigit() else source


def camera_pipeline(config_files: list[str] | tuple[str, ...] = ("default.yaml",),
                    image_topic: str = DEFAULT_IMAGE_TOPIC,
                    camera_info_topic: str = DEFAULT_CAMERA_INFO_TOPIC,
                    depth_topic: str | None = None,
                    source: str | None = None,
                    source_overrides: dict | None = None,
                    detector_backend: str | None = None,
                    tracker: str | None = None,
                    embedder_model: str | None = None,
                    visualizer_overrides: dict | None = None,
                    public_detections_topic: str = DEFAULT_PUBLIC_DETECTIONS_TOPIC) -> list[NodeSpec]:
    """[source ->] detector -> embedder -> tracker -> visualizer on a camera's topics.

    ``source`` (a video file, webcam index or image folder) adds the source node publishing
    ``image_topic`` and ``camera_info_topic``; without it a camera driver publishes them.
    ``depth_topic`` (an aligned depth image) switches the visualizer's 3D positions to depth."""
    specs = pipeline(config_files, image_topic=image_topic, detector_backend=detector_backend, tracker=tracker,
                     embedder_model=embedder_model, public_detections_topic=public_detections_topic)
    files = specs[0].param_files
    camera_remaps = ((IMAGE, image_topic), (CAMERA_INFO, camera_info_topic))
    vis_overrides = {"use_depth": True} if depth_topic else {}
    vis_overrides.update(visualizer_overrides or {})
    specs.append(NodeSpec("visualizer", "visualizer_node", f"{PACKAGE}.nodes.visualizer_node", files, vis_overrides,
                          camera_remaps + (((DEPTH, depth_topic),) if depth_topic else ())))
    if source:
        overrides = {"uri": source_uri(source), **(source_overrides or {})}
        specs.insert(0, NodeSpec("source", "source_node", f"{PACKAGE}.nodes.source_node", files, overrides,
                                 camera_remaps))
    return specs


IDENTITY_NODE = NodeSpec("identity", "identity_node", f"{PACKAGE}.nodes.identity_node", ())


def identity_spec(config_files: list[str] | tuple[str, ...] = ("default.yaml",), overrides: dict | None = None
                  ) -> NodeSpec:
    """The one identity node of a multi-camera graph (global ids; outside every namespace)."""
    default = config_path("default.yaml")
    files = tuple([str(default)] + [str(config_path(f)) for f in config_files if config_path(f) != default])
    check_config_files(list(files))
    return replace(IDENTITY_NODE, param_files=files, overrides=dict(overrides or {}))


def multicam_pipeline(cameras: list[str], config_files: list[str] | tuple[str, ...] = ("default.yaml",),
                      image_topic: str = "image_raw", sources: list[str] | None = None,
                      with_visualizer: bool = True, identity_overrides: dict | None = None,
                      **pipeline_kwargs) -> list[NodeSpec]:
    """One camera pipeline per name in ``cameras``, each in the namespace of that name (its
    image is ``/<camera>/<image_topic>`` for a relative ``image_topic``), trackers with
    ``identity: true``, plus one identity node. ``sources``: a video/folder/webcam per camera
    (source nodes), else camera drivers publish the images. ``pipeline_kwargs`` go to
    :func:`pipeline` (detector_backend, tracker, embedder_model, public_detections_topic)."""
    if not cameras or len(set(cameras)) != len(cameras) or not all(c and c.isidentifier() for c in cameras):
        raise ValueError(f"cameras must be distinct names (letters, digits, _), got {cameras}")
    if sources and len(sources) != len(cameras):
        raise ValueError(f"{len(sources)} sources for {len(cameras)} cameras: give one per camera or none")
    pipeline_kwargs.setdefault("public_detections_topic", PUBLIC_DETECTIONS)  # per camera: relative
    specs: list[NodeSpec] = []
    for k, cam in enumerate(cameras):
        camera = (camera_pipeline(config_files, image_topic=image_topic, camera_info_topic="camera_info",
                                  source=sources[k] if sources else None, **pipeline_kwargs) if with_visualizer
                  else pipeline(config_files, image_topic=image_topic, **pipeline_kwargs))
        for spec in camera:
            overrides = dict(spec.overrides)
            if spec.name == "tracker":
                overrides.update(identity=True, camera_name=cam)
            specs.append(replace(spec, namespace=cam, overrides=overrides))
    specs.append(identity_spec(config_files, identity_overrides))
    return specs


def rviz_config_path() -> Path:
    """config/reid_tracker.rviz: the annotated image, the markers and the poses."""
    return package_share_dir() / "config" / RVIZ_CONFIG


def multicam_rviz_config(cameras: list[str], out_dir: str | Path, fixed_frame: str = "") -> Path:
    """An RViz config for several cameras, written to ``out_dir``: config/reid_tracker.rviz with
    each of its displays of the visualizer's topics (``/tracks/...``) once per camera, on
    ``/<camera>/tracks/...`` and named after the camera. ``fixed_frame``: the view's fixed frame
    ('' keeps the file's, base_link, which a robot's TF connects to every camera)."""
    import yaml  # noqa: PLC0415 (only launch files need it)

    doc = yaml.safe_load(rviz_config_path().read_text())
    manager = doc["Visualization Manager"]
    displays = []
    for display in manager["Displays"]:
        topic = display.get("Topic", {}).get("Value", "") if isinstance(display.get("Topic"), dict) else ""
        if not topic.startswith("/tracks"):
            displays.append(display)
            continue
        for cam in cameras:
            copy = yaml.safe_load(yaml.safe_dump(display))
            copy["Topic"]["Value"] = f"/{cam}{topic}"
            copy["Name"] = f"{display['Name']} ({cam})"
            displays.append(copy)
    manager["Displays"] = displays
    if fixed_frame:
        manager["Global Options"]["Fixed Frame"] = fixed_frame
    out = Path(out_dir) / f"reid_tracker_{'_'.join(cameras)}.rviz"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def camera_tf_arguments(config_files: list[str] | tuple[str, ...] = ("default.yaml",),
                        parent_frame: str = "base_link") -> list[str]:
    """Arguments of tf2_ros' static_transform_publisher (Humble+ flag syntax) placing the
    source's optical frame at the visualizer's camera height and pitch above ``parent_frame``:
    without a robot's TF this lets RViz show people standing on the floor. Optical frame
    (x right, y down, z forward) from a z-up parent: roll -(90 deg + pitch), yaw -90 deg."""
    files = [str(config_path("default.yaml"))] + [str(config_path(f)) for f in config_files
                                                   if config_path(f) != config_path("default.yaml")]
    vis = load_node_parameters("visualizer", files)
    frame = load_node_parameters("source", files)["frame_id"]
    roll = -(math.pi / 2 + math.radians(float(vis["camera_pitch_deg"])))
    return ["--x", "0", "--y", "0", "--z", f"{float(vis['camera_height_m']):g}", "--roll", f"{roll:.6f}",
            "--pitch", "0", "--yaw", f"{-math.pi / 2:.6f}", "--frame-id", parent_frame, "--child-frame-id", frame]

def launch_node_kwargs(spec: NodeSpec) -> dict:
    """Keyword arguments of a launch_ros Node action for a spec (the runner's ros_arguments
    produce the same command line)."""
    return {"package": PACKAGE, "executable": spec.executable, "name": spec.name, "namespace": spec.namespace,
            "output": "screen",
            "parameters": list(spec.param_files) + ([dict(spec.overrides)] if spec.overrides else []),
            "remappings": list(spec.remappings)}


def launch_environment(profile: str, current: dict[str, str]) -> dict[str, str]:
    """Variables a launch file sets: the profile's transport (profile 'env' keeps whatever the
    environment already has) and the malloc/YOLO settings unless the user set them."""
    if profile == "env":
        wanted = {k: v for k, v in environment("robot").items() if k != "FASTRTPS_DEFAULT_PROFILES_FILE"}
        return {k: v for k, v in wanted.items() if k not in current}
    wanted = environment(profile)
    return {k: v for k, v in wanted.items() if k == "FASTRTPS_DEFAULT_PROFILES_FILE" or k not in current}


def dds_profile(kind: str = "robot") -> Path:
    """The tuned Fast DDS profile: 'robot' (shared memory + UDP) or 'local' (shared memory
    only: every packet stays on this host; tests, demo, evaluation)."""
    names = {"robot": "fastdds.xml", "local": "fastdds_local.xml"}
    if kind not in names:
        raise ValueError(f"DDS profile must be one of {sorted(names)}, got {kind!r}")
    return package_share_dir() / "config" / names[kind]


def environment(profile: str = "robot") -> dict[str, str]:
    """Environment every node process gets (launch files set the same)."""
    return {
        "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
        # Jazzy's Fast DDS 2.14 reads this name and silently ignores FASTDDS_DEFAULT_PROFILES_FILE
        "FASTRTPS_DEFAULT_PROFILES_FILE": str(dds_profile(profile)),
        # glibc: no mmap/munmap churn for image-sized buffers (~1000 page faults less per image)
        "MALLOC_MMAP_THRESHOLD_": "33554432",
        "MALLOC_TRIM_THRESHOLD_": "134217728",
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "False",
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m reid_tracker_ros.graph --print-env local|robot``: shell exports (env.bash)."""
    import argparse
    import shlex

    parser = argparse.ArgumentParser(description="print the graph's environment as shell exports")
    parser.add_argument("--print-env", choices=("local", "robot"), required=True)
    args = parser.parse_args(argv)
    for key, value in environment(args.print_env).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
