"""Export (ONNX / TorchScript / TensorRT message) with parity checks, and the shipped default model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from reid_tracker_ros.embedding import load_embedder, read_metadata
from reid_tracker_ros.embedding.default_model import model_path_for, resolve_embedder, shipped_model_path
from reid_training.export import (ParityError, export_model, export_onnx, export_torchscript, parity_check,
                                  random_crops, tensorrt_available)
from reid_training.models import build_model

HW = (64, 32)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model("resnet18", num_classes=3, feature_dim=24, input_hw=HW)
    m.train()
    with torch.no_grad():
        for _ in range(3):  # move the BN statistics off their initial values, as training would
            m(torch.from_numpy(random_crops(8, HW, seed=5)))
    return m.eval()


def _torch_feats(m, batch):
    with torch.no_grad():
        f = m(torch.from_numpy(batch)).numpy()
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def test_onnx_export_parity_metadata_and_embedder(model, tmp_path):
    result = export_onnx(model, tmp_path / "m.onnx", name="test-reid", extra={"dataset": "toy"})
    assert result["parity_min_cos"] >= 0.999
    meta = read_metadata(tmp_path / "m.onnx")
    assert (meta.input_height, meta.input_width, meta.feature_dim, meta.format) == (64, 32, 24, "onnx")
    assert meta.name == "test-reid" and meta.trained and meta.extra["dataset"] == "toy"
    emb = load_embedder(tmp_path / "m.onnx", device="cpu")
    batch = random_crops(20, HW, seed=9)  # 20: another batch size than the export's (dynamic axis)
    got = emb.backend.embed(batch)
    assert np.allclose(got, _torch_feats(model, batch), atol=1e-4)


def test_torchscript_export_loads_in_the_torch_backend(model, tmp_path):
    result = export_model(model, tmp_path / "m.pt", name="test-reid")
    assert result["format"] == "torchscript" and result["parity_min_cos"] >= 0.999
    emb = load_embedder(tmp_path / "m.pt", device="cpu")
    batch = random_crops(3, HW, seed=4)
    assert np.allclose(emb.backend.embed(batch), _torch_feats(model, batch), atol=1e-4)


def test_parity_check_catches_a_wrong_export(model):
    with pytest.raises(ParityError, match="parity check failed"):
        parity_check(model, lambda x: np.random.default_rng(0).normal(size=(len(x), 24)), HW)
    with pytest.raises(ParityError, match="shape"):
        parity_check(model, lambda x: np.zeros((len(x), 5)), HW)


@pytest.mark.skipif(tensorrt_available()[0], reason="tensorrt and a GPU are present")
def test_tensorrt_export_without_tensorrt_says_why(model, tmp_path):
    with pytest.raises(RuntimeError, match="cannot build a TensorRT engine"):
        export_model(model, tmp_path / "m.engine")
    with pytest.raises(ValueError, match="cannot tell the export format"):
        export_model(model, tmp_path / "m.bin")


def test_default_model_is_the_shipped_trained_model():
    path = shipped_model_path()
    meta = read_metadata(path)
    assert meta.trained and meta.format == "onnx" and meta.name == "reid-mobilenetv2-dr2k"
    assert model_path_for("default") == path and model_path_for("none") is None
    emb = resolve_embedder("default", device="cpu")
    assert emb.feature_dim == meta.feature_dim and emb.name == meta.name
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    image[40:200, 20:80] = (200, 30, 30)  # a "red" person
    image[40:200, 200:260] = (30, 30, 200)  # a "blue" person
    boxes = np.array([[20, 40, 80, 200], [200, 40, 260, 200], [22, 42, 81, 199]], np.float64)
    feats = emb.embed(image, boxes)
    assert feats.shape == (3, meta.feature_dim)
    assert np.allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-4)
    # the same person under a slightly shifted box is closer than the other person
    assert feats[0] @ feats[2] > feats[0] @ feats[1]
