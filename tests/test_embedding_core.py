"""Embedding cores: crops, metadata, backends (ONNX Runtime, TorchScript) with the tiny model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reid_tracker_ros.embedding import (CropPreprocessor, ModelMetadata, OnnxRuntimeBackend, TensorRTBackend,
                                        build_tiny_model, crop_and_resize, export_tiny_model,
                                        load_embedder, metadata_path, pixel_boxes, read_metadata, write_metadata)
from reid_tracker_ros.embedding.backends import resolve_ort_providers
from reid_tracker_ros.vectors import normalize_rows

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def _gradient_image(h: int = 120, w: int = 160) -> np.ndarray:
    """Each pixel encodes its position: R = x, G = y, B = constant 7."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.arange(w, dtype=np.uint8)[None, :]
    img[..., 1] = np.arange(h, dtype=np.uint8)[:, None]
    img[..., 2] = 7
    return img


def _denorm(batch_row: np.ndarray) -> np.ndarray:
    """(3, H, W) normalised -> (H, W, 3) pixel values (float)."""
    return (batch_row.transpose(1, 2, 0) * STD + MEAN) * 255.0


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    return export_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny.onnx", seed=0)


@pytest.fixture(scope="module")
def tiny_pt(tmp_path_factory):
    return export_tiny_model(tmp_path_factory.mktemp("tiny_pt") / "tiny.pt", seed=0)


# ---------------------------------------------------------------- crops

def test_crop_exact_box_keeps_pixels_and_normalises():
    img = _gradient_image()
    batch, valid = crop_and_resize(img, np.array([[10, 20, 42, 84]]), out_hw=(64, 32))
    assert batch.shape == (1, 3, 64, 32) and batch.dtype == np.float32
    assert valid.tolist() == [True]
    pixels = _denorm(batch[0])
    # same size as the box: no resampling, so R is x (10..41) and G is y (20..83) exactly
    np.testing.assert_allclose(pixels[0, :, 0], np.arange(10, 42), atol=1e-3)
    np.testing.assert_allclose(pixels[:, 0, 1], np.arange(20, 84), atol=1e-3)
    np.testing.assert_allclose(pixels[..., 2], 7.0, atol=1e-3)


def test_crop_clips_boxes_partly_outside():
    img = _gradient_image()  # 160 x 120
    boxes = np.array([[-30.0, -10.0, 20.0, 40.0],  # top-left corner sticks out
                      [150.0, 100.0, 400.0, 300.0]])  # bottom-right sticks out
    ints, valid = pixel_boxes(boxes, 160, 120)
    assert valid.tolist() == [True, True]
    assert ints.tolist() == [[0, 0, 20, 40], [150, 100, 160, 120]]
    batch, valid = crop_and_resize(img, boxes, out_hw=(40, 20))
    assert valid.all()
    pixels = _denorm(batch[0])
    np.testing.assert_allclose(pixels[0, 0, :2], [0.0, 0.0], atol=1e-3)  # crop starts at the image corner


def test_crop_fractional_box_rounds_outwards():
    ints, valid = pixel_boxes(np.array([[10.2, 5.7, 20.4, 30.1]]), 100, 100)
    assert valid.tolist() == [True]
    assert ints.tolist() == [[10, 5, 21, 31]]


@pytest.mark.parametrize("box", [
    [30.0, 30.0, 30.0, 60.0],  # zero width
    [30.0, 30.0, 60.0, 30.0],  # zero height
    [50.0, 30.0, 20.0, 60.0],  # inverted
    [np.nan, 30.0, 60.0, 60.0],  # NaN
    [30.0, 30.0, np.inf, 60.0],  # inf
    [200.0, 10.0, 260.0, 80.0],  # fully right of the 160-px image
    [-80.0, -90.0, -10.0, -5.0],  # fully above-left
    [10.5, 10.0, 10.5, 40.0],  # zero width at a fractional position
])
def test_bad_boxes_are_invalid_and_zero(box):
    img = _gradient_image()
    boxes = np.array([[10.0, 10.0, 50.0, 90.0], box, [60.0, 20.0, 100.0, 110.0]])
    batch, valid = crop_and_resize(img, boxes, out_hw=(32, 16))
    assert valid.tolist() == [True, False, True]
    assert not batch[1].any()
    assert np.isfinite(batch).all()
    assert batch[0].any() and batch[2].any()


def test_crops_accept_strided_views():
    img = _gradient_image()
    boxes = np.array([[10.0, 10.0, 50.0, 90.0]])
    flipped, valid = crop_and_resize(img[..., ::-1], boxes, out_hw=(32, 16))  # negative-stride view
    ref, _ = crop_and_resize(np.ascontiguousarray(img[..., ::-1]), boxes, out_hw=(32, 16))
    assert valid.all()
    np.testing.assert_array_equal(flipped, ref)


def test_crops_empty_and_shape_errors():
    img = _gradient_image()
    batch, valid = crop_and_resize(img, np.zeros((0, 4)), out_hw=(32, 16))
    assert batch.shape == (0, 3, 32, 16) and valid.shape == (0,)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        crop_and_resize(img, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="uint8"):
        crop_and_resize(img.astype(np.float32), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="std"):
        CropPreprocessor((32, 16), std=(0.2, 0.0, 0.2))


def test_preprocessor_reuses_its_buffer_and_grows_once():
    img = _gradient_image()
    pre = CropPreprocessor((32, 16), capacity=4)
    boxes = np.array([[0, 0, 20, 40], [30, 30, 60, 90], [5, 5, 15, 15]], float)
    first, _ = pre(img, boxes)
    second, _ = pre(img, boxes[:2])
    assert np.shares_memory(first, second)  # no new allocation per frame
    big, valid = pre(img, np.tile(boxes, (3, 1)))  # 9 boxes > capacity 4: grows
    assert pre.capacity >= 9 and valid.all() and big.shape[0] == 9
    again, _ = pre(img, boxes)
    assert np.shares_memory(big, again)
    # results equal the one-shot function
    ref, _ = crop_and_resize(img, boxes, out_hw=(32, 16))
    np.testing.assert_array_equal(again, ref)


# ---------------------------------------------------------------- metadata

def _meta(**over) -> ModelMetadata:
    fields = dict(name="m", input_height=256, input_width=128, feature_dim=64, format="onnx", opset=17)
    fields.update(over)
    return ModelMetadata(**fields)


def test_metadata_round_trip(tmp_path):
    model = tmp_path / "reid.onnx"
    meta = _meta(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), max_batch=8, trained=False,
                 description="d", extra={"dataset": "x"})
    written = write_metadata(model, meta)
    assert written == tmp_path / "reid.onnx.json" == metadata_path(model)
    assert read_metadata(model) == meta


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"name": "m", "input_height": 256, "input_width": 128, "format": "onnx"}), "feature_dim"),
    (json.dumps({"name": "m", "input_height": -1, "input_width": 128, "feature_dim": 8, "format": "onnx"}),
     "input_height"),
    (json.dumps({"name": "m", "input_height": 256.0, "input_width": 128, "feature_dim": 8, "format": "onnx"}),
     "input_height"),
    (json.dumps({"name": "m", "input_height": 256, "input_width": 128, "feature_dim": 8, "format": "caffe"}),
     "format"),
    (json.dumps({"name": "m", "input_height": 256, "input_width": 128, "feature_dim": 8, "format": "onnx",
                 "mean": [0.5, 0.5]}), "mean"),
    (json.dumps({"name": "m", "input_height": 256, "input_width": 128, "feature_dim": 8, "format": "onnx",
                 "std": [0.5, 0.0, 0.5]}), "std"),
    (json.dumps({"name": "m", "input_height": 256, "input_width": 128, "feature_dim": 8, "format": "onnx",
                 "input_size": 3}), "input_size"),
    (json.dumps({"schema_version": 99, "name": "m"}), "schema_version"),
])
def test_metadata_errors_name_file_and_field(tmp_path, content, message):
    model = tmp_path / "bad.onnx"
    metadata_path(model).write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        read_metadata(model)
    assert "bad.onnx.json" in str(info.value)


def test_metadata_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.onnx.json"):
        read_metadata(tmp_path / "nothere.onnx")


# ---------------------------------------------------------------- backends

def test_l2_normalize_rows_handles_zero_and_nan():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [np.nan, 1.0]], np.float32)
    out = normalize_rows(x, out=x)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [0.0, 0.0]], atol=1e-7)


def test_tiny_export_writes_metadata_and_is_deterministic(tmp_path, tiny_onnx):
    meta = read_metadata(tiny_onnx)
    assert meta.name == "tiny-untrained" and meta.trained is False and "UNTRAINED" in meta.description
    assert (meta.input_height, meta.input_width, meta.feature_dim, meta.format) == (256, 128, 128, "onnx")
    other = export_tiny_model(tmp_path / "again.onnx", seed=0)
    batch = np.random.default_rng(1).normal(size=(3, 3, 256, 128)).astype(np.float32)
    a = OnnxRuntimeBackend(tiny_onnx, providers="cpu").embed(batch)
    b = OnnxRuntimeBackend(other, providers="cpu").embed(batch)
    np.testing.assert_array_equal(a, b)
    c = OnnxRuntimeBackend(export_tiny_model(tmp_path / "seed1.onnx", seed=1), providers="cpu").embed(batch)
    assert np.abs(a - c).max() > 1e-3


def test_load_embedder_onnx_shape_norm_and_mask(tiny_onnx):
    emb = load_embedder(tiny_onnx, device="cpu")
    assert emb.provider == "CPUExecutionProvider"
    assert emb.feature_dim == 128 and emb.name == "tiny-untrained"
    img = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 60, 150], [np.nan, 0, 5, 5], [100, 40, 180, 230], [400, 10, 500, 90]], float)
    feats, valid = emb.embed_with_mask(img, boxes)
    assert feats.shape == (4, 128) and feats.dtype == np.float32
    assert valid.tolist() == [True, False, True, False]
    np.testing.assert_allclose(np.linalg.norm(feats[valid], axis=1), 1.0, atol=1e-5)
    assert not feats[~valid].any() and np.isfinite(feats).all()
    # a valid box's feature does not depend on the other boxes in the batch
    alone = emb.embed(img, boxes[2:3])
    np.testing.assert_allclose(alone[0], feats[2], atol=1e-5)
    assert emb.embed(img, np.zeros((0, 4))).shape == (0, 128)


def test_torch_onnx_parity(tiny_onnx, tiny_pt):
    import torch

    img = np.random.default_rng(3).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    boxes = np.array([[0, 0, 100, 250], [150, 20, 230, 280], [300, 100, 399, 299]], float)
    onnx_feats = load_embedder(tiny_onnx, device="cpu").embed(img, boxes)
    ts = load_embedder(tiny_pt, device="cpu")
    assert ts.provider == "torch:cpu"
    ts_feats = ts.embed(img, boxes)
    batch, _ = crop_and_resize(img, boxes)
    with torch.no_grad():
        ref = build_tiny_model(seed=0)(torch.from_numpy(batch)).numpy()
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    for feats in (onnx_feats, ts_feats):
        assert (np.sum(feats * ref, axis=1) >= 0.999).all()


def test_batch_larger_than_max_batch(tiny_onnx):
    emb = load_embedder(tiny_onnx, device="cpu", max_batch=4)
    assert emb.max_batch == 4
    img = np.random.default_rng(5).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    x = np.arange(11) * 20.0
    boxes = np.stack([x, np.full(11, 10.0), x + 60.0, np.full(11, 190.0)], axis=1)
    feats = emb.embed(img, boxes)
    assert feats.shape == (11, 128)
    one_by_one = np.concatenate([emb.embed(img, boxes[i:i + 1]) for i in range(11)])
    np.testing.assert_allclose(feats, one_by_one, atol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's legacy ONNX exporter warns
def test_static_batch_onnx_is_padded(tmp_path):
    """A file exported with a fixed batch of 4 still serves 1..N crops (chunks padded)."""
    import torch

    path = tmp_path / "static.onnx"
    model = build_tiny_model(seed=2, feature_dim=16)
    torch.onnx.export(model, (torch.zeros(4, 3, 64, 32),), str(path), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["features"])
    backend = OnnxRuntimeBackend(path, providers="cpu", max_batch=32)
    assert backend.static_batch == 4 and backend.max_batch == 4
    batch = np.random.default_rng(0).normal(size=(6, 3, 64, 32)).astype(np.float32)
    out = backend.embed(batch)
    with torch.no_grad():
        ref = model(torch.from_numpy(batch)).numpy()
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_missing_model_and_bad_inputs(tmp_path, tiny_onnx):
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        load_embedder(tmp_path / "nope.onnx")
    with pytest.raises(FileNotFoundError, match="weights.engine"):
        TensorRTBackend(tmp_path / "weights.engine")
    model = tmp_path / "model.bin"
    model.write_bytes(b"x")
    write_metadata(model, _meta())
    with pytest.raises(ValueError, match="unsupported ReID model file"):
        load_embedder(model)
    copy = tmp_path / "copy.pt"
    copy.write_bytes(tiny_onnx.read_bytes())
    write_metadata(copy, read_metadata(tiny_onnx))  # says onnx, suffix says torchscript
    with pytest.raises(ValueError, match="format 'onnx'"):
        load_embedder(copy)
    wrong_dim = tmp_path / "wrong.onnx"
    wrong_dim.write_bytes(tiny_onnx.read_bytes())
    write_metadata(wrong_dim, _meta(feature_dim=64, input_height=256, input_width=128))
    with pytest.raises(ValueError, match="outputs 128 features but 64"):
        load_embedder(wrong_dim, device="cpu")
    emb = load_embedder(tiny_onnx, device="cpu")
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        emb.backend.embed(np.zeros((2, 256, 128), np.float32))


def test_tensorrt_backend_explains_what_is_missing(tmp_path):
    engine = tmp_path / "reid.engine"
    engine.write_bytes(b"not an engine")
    try:
        import tensorrt  # noqa: F401
        import torch
        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if has_gpu:
        pytest.skip("TensorRT and a GPU are present: the missing-dependency path cannot be reached")
    with pytest.raises(RuntimeError, match="tensorrt|CUDA GPU"):
        TensorRTBackend(engine)


def test_provider_resolution():
    cpu_only = ["AzureExecutionProvider", "CPUExecutionProvider"]
    assert resolve_ort_providers("auto", cpu_only) == ["CPUExecutionProvider"]
    gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_ort_providers("auto", gpu) == gpu
    assert resolve_ort_providers("cuda", gpu) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_ort_providers("cpu", gpu) == ["CPUExecutionProvider"]
    with pytest.raises(RuntimeError, match="CUDAExecutionProvider"):
        resolve_ort_providers("cuda", cpu_only)
    with pytest.raises(ValueError, match="'npu'"):
        resolve_ort_providers("npu", gpu)
    assert resolve_ort_providers(["CPUExecutionProvider"], cpu_only) == ["CPUExecutionProvider"]


def test_openvino_backend_matches_onnxruntime_and_is_the_cpu_auto_choice(tiny_onnx):
    """ONNX on the CPU: OpenVINO gives onnxruntime's features (cosine > 0.9999) and is what
    ``device: auto`` picks when onnxruntime has no GPU provider; ``cpu`` keeps onnxruntime."""
    import onnxruntime as ort

    ov_emb = load_embedder(tiny_onnx, device="openvino")
    ort_emb = load_embedder(tiny_onnx, device="cpu")
    assert ov_emb.provider == "OpenVINO:CPU" and ort_emb.provider == "CPUExecutionProvider"
    img = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 60, 150], [100, 40, 180, 230], [200, 20, 260, 200]], float)
    a, _ = ov_emb.embed_with_mask(img, boxes)
    b, _ = ort_emb.embed_with_mask(img, boxes)
    assert a.shape == b.shape == (3, 128)
    assert (a * b).sum(axis=1).min() > 0.9999
    gpu = [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in ort.get_available_providers()]
    auto = load_embedder(tiny_onnx, device="auto").provider
    assert auto in gpu if gpu else auto == "OpenVINO:CPU", (auto, gpu)
