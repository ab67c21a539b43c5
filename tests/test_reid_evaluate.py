"""reid_training.evaluate CLI: JSON last line, models (default, ONNX with metadata, training
checkpoint), MOT sequences as data, clear errors."""
from __future__ import annotations

import json
import sys
import types

import cv2
import numpy as np
import pytest

from reid_training import evaluate
from reid_training.data.synthetic import generate_synthetic_persons

KEYS = ("rank1", "rank5", "rank10", "mAP", "rank1_rerank", "mAP_rerank", "queries", "gallery", "model")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate_synthetic_persons(tmp_path_factory.mktemp("eval") / "persons", num_ids=16,
                                      images_per_id_per_cam=2, cameras=3, height=64, width=32, seed=5)


def _run(capsys, argv):
    code = evaluate.main(argv + ["--no-progress", "--workers", "0"])
    out = capsys.readouterr()
    return code, out.out, out.err


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_default_model_prints_table_and_json(data, tmp_path, capsys):
    code, out, err = _run(capsys, ["--data", str(data), "--cmc-plot", str(tmp_path / "cmc.png")])
    assert code == 0, err
    result = _last_json(out)
    for key in KEYS:
        assert key in result
    for key in ("rank1", "rank5", "rank10", "mAP", "rank1_rerank", "mAP_rerank"):
        assert 0.0 <= result[key] <= 1.0
    assert result["rank1"] <= result["rank5"] <= result["rank10"]
    assert result["queries"] == 8 * 3 and result["gallery"] == 8 * 3
    assert "rank-1" in out and "re-ranked" in out
    assert cv2.imread(str(tmp_path / "cmc.png")) is not None


def test_onnx_model_with_metadata_and_options(data, tmp_path, capsys):
    from reid_tracker_ros.embedding import export_tiny_model

    model = export_tiny_model(tmp_path / "tiny.onnx", seed=3)
    code, out, err = _run(capsys, ["--data", str(data), "--model", str(model), "--metric", "euclidean",
                                   "--no-rerank", "--flip", "--max-queries", "5", "--batch", "7"])
    assert code == 0, err
    result = _last_json(out)
    assert result["model"] == "tiny-untrained" and result["metric"] == "euclidean" and result["flip"] is True
    assert result["queries"] == 5 and result["rank1_rerank"] is None and result["mAP_rerank"] is None
    assert result["feature_dim"] == 128


class _MeanColour:
    """Stand-in for a trained network: per-channel means of the upper and lower body."""

    reid_meta = {"input_height": 32, "input_width": 16, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                 "name": "mean-colour"}

    def to(self, device):
        return self

    def eval(self):
        return self

    def __call__(self, x):
        return x.reshape(x.shape[0], 3, 2, -1).mean(dim=3).reshape(x.shape[0], -1)


def test_training_checkpoint_goes_through_build_from_checkpoint(data, tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"checkpoint")
    seen = []
    fake = types.ModuleType("reid_training.models")
    fake.build_from_checkpoint = lambda path: seen.append(path) or _MeanColour()
    monkeypatch.setitem(sys.modules, "reid_training.models", fake)
    code, out, err = _run(capsys, ["--data", str(data), "--model", str(ckpt)])
    assert code == 0, err
    result = _last_json(out)
    assert seen == [str(ckpt)] and result["model"] == "mean-colour" and result["feature_dim"] == 6
    assert "input 32x16" in out
    # the training code is missing: a clear error instead of a traceback
    monkeypatch.setitem(sys.modules, "reid_training.models", None)
    code, out, err = _run(capsys, ["--data", str(data), "--model", str(ckpt)])
    assert code == 2 and "build_from_checkpoint" in err and "export" in err


def test_mot_sequence_as_data(tmp_path, capsys):
    from reid_tracker_ros.mot.synthetic import generate_sequence

    seq = generate_sequence(tmp_path, name="EVAL-MOT", frames=40, width=480, height=270, n_people=6, seed=1, fps=5)
    code, out, err = _run(capsys, ["--data", str(seq)])
    assert code == 0, err
    result = _last_json(out)
    assert result["queries"] > 0 and result["gallery"] > result["queries"]
    assert "MOT sequence" in out


def test_clear_errors(data, tmp_path, capsys):
    code, _, err = _run(capsys, ["--data", str(tmp_path / "missing")])
    assert code == 2 and "dataset folder not found" in err and "missing" in err
    (tmp_path / "flat").mkdir()
    code, _, err = _run(capsys, ["--data", str(tmp_path / "flat")])
    assert code == 2 and "bounding_box_test" in err
    code, _, err = _run(capsys, ["--data", str(data), "--model", str(tmp_path / "nope.onnx")])
    assert code == 2 and "model file not found" in err
    bare = tmp_path / "bare.onnx"
    bare.write_bytes(b"x")
    code, _, err = _run(capsys, ["--data", str(data), "--model", str(bare)])
    assert code == 2 and "bare.onnx.json" in err
    code, _, err = _run(capsys, ["--data", str(data), "--model", "none"])
    assert code == 2 and "none" in err


def test_rerank_is_skipped_above_the_size_limit(data, capsys):
    code, out, err = _run(capsys, ["--data", str(data), "--rerank-max", "10", "--max-queries", "4"])
    assert code == 0, err
    result = _last_json(out)
    assert result["rank1_rerank"] is None and "re-ranking skipped" in result["rerank_note"]
    assert np.isfinite(result["rank1"])
