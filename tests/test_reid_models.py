"""reid_training.models: every backbone, the head (pooling, BNNeck, eval feature), weight loading."""
from __future__ import annotations

import pytest
import torch

from reid_training.models import (BACKBONES, GeM, build_backbone, build_from_checkpoint, build_model,
                                  count_parameters, deep_sort_mobilenet_weights, load_mobilenet_imagenet,
                                  load_pretrained)

HW = (64, 32)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_every_backbone_trains_and_embeds(backbone):
    torch.manual_seed(0)
    model = build_model(backbone, num_classes=5, feature_dim=32, pooling="gem" if backbone == "resnet18" else "avg",
                        input_hw=HW)
    x = torch.randn(4, 3, *HW)
    model.train()
    logits, feat = model(x)
    assert logits.shape == (4, 5) and feat.shape == (4, 32)
    (logits.sum() + feat.sum()).backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if p.requires_grad and "bnneck.bias" not in n)
    model.eval()
    with torch.no_grad():
        out = model(x)
    assert out.shape == (4, 32) and torch.isfinite(out).all()


def test_cares18_adds_se_and_dense_skips_with_few_parameters():
    r18 = count_parameters(build_backbone("resnet18"))
    cares = build_backbone("cares18")
    extra = count_parameters(cares) / r18 - 1.0
    assert 0.0 < extra < 0.10  # "a small parameter increase"
    assert any(type(m).__name__ == "SqueezeExcite" for m in cares.modules())
    assert set(cares.skips) == {"0to2", "0to3", "1to3"}
    # skips start at zero (BN weight 0): the untrained network equals its plain SE-ResNet path
    assert all(float(s[-1].weight.detach().abs().sum()) == 0.0 for s in cares.skips.values())


def test_gem_with_p1_is_average_pooling():
    gem = GeM(p=1.0)
    x = torch.rand(2, 8, 4, 3)
    assert torch.allclose(gem(x), x.mean(dim=(2, 3)), atol=1e-6)
    assert (GeM(p=8.0)(x) > x.mean(dim=(2, 3))).all()  # larger p moves towards max pooling


def test_eval_feature_before_or_after_bnneck():
    torch.manual_seed(1)
    model = build_model("resnet18", num_classes=3, feature_dim=16, input_hw=HW)
    model.train()
    model(torch.randn(6, 3, *HW))  # BN statistics move away from their initial values
    model.eval()
    x = torch.randn(2, 3, *HW)
    with torch.no_grad():
        after = model(x)
        model.config.eval_feature = "before_bn"
        before = model(x)
    assert torch.allclose(before, model.pooled(x), atol=1e-6)
    assert torch.allclose(model.bnneck(before), after, atol=1e-5)


def test_mobilenet_imagenet_init_maps_every_tensor():
    path = deep_sort_mobilenet_weights()
    model = build_model("mobilenetv2", num_classes=2, input_hw=HW)
    n = load_mobilenet_imagenet(model.backbone, path)
    assert n == len(model.backbone.features.state_dict())
    src = torch.load(str(path), map_location="cpu", weights_only=True)
    assert torch.equal(model.backbone.features[0][0].weight, src["features.0.0.weight"])
    assert torch.equal(model.backbone.features[18][0].weight, src["features.18.0.weight"])
    truncated = build_model("mobilenetv2", input_hw=HW, blocks=14, imagenet_init=True)
    assert truncated.feature_dim == 96
    assert torch.equal(truncated.backbone.features[13].conv[0][0].weight, model.backbone.features[13].conv[0][0].weight)


def test_pretrained_and_checkpoint_roundtrip(tmp_path):
    torch.manual_seed(2)
    a = build_model("mobilenetv2", num_classes=4, input_hw=HW, blocks=8)
    torch.save({"model": a.state_dict(), "model_config": a.config.to_dict()}, tmp_path / "ckpt.pt")
    b = build_model("mobilenetv2", num_classes=7, input_hw=HW, blocks=8)  # other head size
    report = load_pretrained(b, tmp_path / "ckpt.pt")
    assert "classifier.weight" in report["skipped"] and "backbone.features.0.0.weight" in report["loaded"]
    assert torch.equal(a.backbone.features[0][0].weight, b.backbone.features[0][0].weight)
    c = build_from_checkpoint(tmp_path / "ckpt.pt")
    assert not c.training and c.config.num_classes == 4 and c.reid_meta["input_height"] == HW[0]
    torch.save({"something": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="no tensor matches"):
        load_pretrained(b, tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_pretrained(b, tmp_path / "missing.pt")


def test_bad_model_options_are_rejected():
    with pytest.raises(ValueError, match="unknown backbone"):
        build_model("resnet999")
    with pytest.raises(ValueError, match="pooling"):
        build_model("resnet18", pooling="max")
    with pytest.raises(ValueError, match="mobilenetv2 backbone only"):
        build_model("resnet18", imagenet_init=True)
    with pytest.raises(ValueError, match="multiple of the patch"):
        build_model("vit", input_hw=(60, 30))
