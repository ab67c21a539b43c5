"""Checkpoints are loaded with torch.load(weights_only=True): a file that carries a pickled
object is refused with an error naming it, and the object's code never runs; our own
checkpoints (with numpy numbers and paths in their extras) still load."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reid_training.gan.trainer import load_generator
from reid_training.models import ModelConfig, ReIDModel
from reid_training.models.reid_model import build_from_checkpoint, load_checkpoint, load_pretrained


class _Payload:
    """Unpickling this creates ``marker`` (open(marker, 'w')): proof that code ran on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _small_model() -> ReIDModel:
    return ReIDModel(ModelConfig(backbone="mobilenetv2", blocks=4, width_mult=0.35, feature_dim=32, num_classes=4,
                                 input_height=64, input_width=32))


def test_a_checkpoint_with_a_pickled_object_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code_ran"
    model = _small_model()
    evil = {"model": model.state_dict(), "model_config": model.config.to_dict(), "extra": {"x": _Payload(marker)}}
    path = tmp_path / "evil.pt"
    torch.save(evil, path)
    assert not marker.exists()
    for load in (load_checkpoint, build_from_checkpoint, lambda p: load_pretrained(_small_model(), p)):
        with pytest.raises(ValueError, match=r"evil\.pt.*refused") as err:
            load(path)
        assert "pickled" in str(err.value)
    gan = tmp_path / "evil_gan.pt"
    torch.save({"format": "reid_training.gan/1", "payload": _Payload(marker)}, gan)
    with pytest.raises(ValueError, match=r"evil_gan\.pt.*refused"):
        load_generator(gan)
    assert not marker.exists(), "loading ran the pickled object's code"


def test_checkpoints_the_code_writes_still_load(tmp_path):
    from reid_training.engine.trainer import save_checkpoint

    model = _small_model()
    history = {"loss": [np.float32(1.5), np.float64(0.75)], "step": [np.int64(3)]}
    path = save_checkpoint(tmp_path / "ckpt.pt", model, epoch=2, iteration=7, history=history,
                           extra={"data": tmp_path / "market", "ids": np.arange(3)})
    state = load_checkpoint(path)
    assert state["history"] == {"loss": [1.5, 0.75], "step": [3]}
    assert state["extra"] == {"data": str(tmp_path / "market"), "ids": [0, 1, 2]}
    restored = build_from_checkpoint(path)
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value), key
