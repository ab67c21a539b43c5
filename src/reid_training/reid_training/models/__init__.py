"""ReID models: backbones (MobileNetV2 lite default, ResNet-18, CARes18, small ViT) + pooling/BNNeck head."""
from .backbones import (BACKBONES, CARes18, MobileNetV2Features, ResNet18Features, SmallViT, SqueezeExcite,
                        build_backbone, deep_sort_mobilenet_weights, load_mobilenet_imagenet)
from .reid_model import (GeM, ModelConfig, ReIDModel, build_from_checkpoint, build_model, count_parameters,
                         load_pretrained)

__all__ = ["BACKBONES", "CARes18", "GeM", "MobileNetV2Features", "ModelConfig", "ReIDModel", "ResNet18Features",
           "SmallViT", "SqueezeExcite", "build_backbone", "build_from_checkpoint", "build_model", "count_parameters",
           "deep_sort_mobilenet_weights", "load_mobilenet_imagenet", "load_pretrained"]
