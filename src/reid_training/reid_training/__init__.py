"""reid_training: offline ReID and GAN training (torch; never imports ROS).

Planned layout (torchreid-style): ``data`` (dataset readers, samplers), ``models``
(backbones), ``losses``, ``engine`` (training loops), ``metrics`` (CMC/mAP, re-ranking),
``export`` (ONNX/TensorRT with model metadata for the embedder). Filled by later issues.
"""

__version__ = "0.1.0"
