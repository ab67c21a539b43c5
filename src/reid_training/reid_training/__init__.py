"""reid_training: offline ReID and GAN training (torch; never imports ROS).

Layout (torchreid-style): ``data`` (dataset readers, synthetic persons, MOT crops, samplers),
``models`` (backbones, BNNeck, GeM), ``losses``, ``engine`` (training loop, inference),
``metrics`` (CMC/mAP, re-ranking), ``export`` (ONNX/TorchScript/TensorRT with the metadata the
embedder reads), ``continual`` and ``adapt_camera`` (unsupervised adaptation), ``gan``. It
builds on ``reid_tracker_ros``'s pure cores (crops, tracker, offline MOT loop), never the other
way round.
"""

__version__ = "0.1.0"
