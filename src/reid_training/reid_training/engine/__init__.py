"""Training engine: the :class:`Trainer` loop, checkpoints, feature extraction and evaluation."""
from .inference import evaluate_features, evaluate_model, extract_features
from .trainer import (TrainConfig, Trainer, load_checkpoint, model_from_checkpoint, plot_history, save_checkpoint,
                      set_seed, unpack_batch)

__all__ = ["TrainConfig", "Trainer", "evaluate_features", "evaluate_model", "extract_features", "load_checkpoint",
           "model_from_checkpoint", "plot_history", "save_checkpoint", "set_seed", "unpack_batch"]
