"""reid_training engine, CLI, continual clustering and video pooling on tiny generated data."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reid_training.continual import adapt, constrained_merge, dbscan_precomputed, pseudo_labels
from reid_training.engine import TrainConfig, Trainer, load_checkpoint, model_from_checkpoint
from reid_training.losses import ReIDLoss
from reid_training.models import build_model
from reid_training.video import pool_tracklets, temporal_pool

H, W = 64, 32


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from reid_training.data.synthetic import generate_synthetic_persons

    return generate_synthetic_persons(tmp_path_factory.mktemp("synth") / "persons", num_ids=8,
                                      images_per_id_per_cam=2, cameras=2, height=H, width=W, seed=3, workers=1)


def _loader(records, p=2, k=2):
    from reid_training.data import make_train_loader

    return make_train_loader(records, p, k, H, W, workers=0, seed=0)


def test_trainer_checkpoint_resume_and_outputs(tiny_data, tmp_path):
    from reid_training.data import load_dataset

    ds = load_dataset(tiny_data)
    torch.manual_seed(0)
    model = build_model("mobilenetv2", ds.num_train_pids, input_hw=(H, W), blocks=6)
    crit = ReIDLoss(ds.num_train_pids, model.feature_dim, center_weight=0.0005)
    cfg = TrainConfig(epochs=100, max_iters=3, warmup_iters=1, out_dir=str(tmp_path / "run"), progress=False)
    history = Trainer(model, crit, _loader(ds), cfg).fit()
    assert len(history["loss"]) == 3 and all(np.isfinite(history["loss"]))
    assert set(history["parts"][0]) == {"ce", "triplet", "center"}
    assert (tmp_path / "run" / "loss_curve.png").stat().st_size > 0
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["iteration"] == 3 and "optimizer" in state
    # resume: continues from iteration 3 up to the new budget, keeps the history
    model2 = build_model("mobilenetv2", ds.num_train_pids, input_hw=(H, W), blocks=6)
    crit2 = ReIDLoss(ds.num_train_pids, model2.feature_dim, center_weight=0.0005)
    cfg2 = TrainConfig(epochs=100, max_iters=5, warmup_iters=1, out_dir=str(tmp_path / "run"), progress=False,
                       resume=str(tmp_path / "run" / "checkpoint.pt"), tensorboard=False)
    history2 = Trainer(model2, crit2, _loader(ds), cfg2).fit()
    assert history2["iter"] == [1, 2, 3, 4, 5]
    rebuilt, _ = model_from_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert not rebuilt.training and rebuilt.config.blocks == 6


def test_cli_trains_evaluates_and_exports(tiny_data, tmp_path, capsys):
    from reid_training.train import main

    out = tmp_path / "cli"
    code = main(["--data", str(tiny_data), "--backbone", "resnet18", "--feature-dim", "16", "--height", str(H),
                 "--width", str(W), "--bs", "4", "--instance", "2", "--max-iters", "2", "--warmup-iters", "1",
                 "--workers", "0", "--no-progress", "--out", str(out), "--ckpt", str(out / "model.pt"),
                 "--export", str(out / "model.onnx")])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["iterations"] == 2 and report["backbone"] == "resnet18"
    for key in ("rank1", "mAP", "rank1_rerank", "mAP_rerank"):
        assert 0.0 <= report["source"][key] <= 1.0
    assert report["export"]["parity_min_cos"] >= 0.999 and (out / "model.onnx.json").is_file()
    assert (out / "model.pt").is_file()


def test_cli_rejects_bad_inputs(tmp_path):
    from reid_training.train import main

    with pytest.raises(FileNotFoundError):
        main(["--data", str(tmp_path / "nowhere"), "--no-progress"])


def test_dbscan_on_a_hand_made_distance_matrix():
    # points on a line: {0, 0.1, 0.2} dense, {5, 5.1, 5.2, 5.3} dense, 9 alone, 0.35 border of the first
    x = np.array([0.0, 0.1, 0.2, 5.0, 5.1, 5.2, 5.3, 9.0, 0.35])
    dist = np.abs(x[:, None] - x[None])
    labels = dbscan_precomputed(dist, eps=0.15, min_samples=3)
    assert labels[7] == -1
    assert labels[0] == labels[1] == labels[2] == labels[8] != labels[3]
    assert labels[3] == labels[4] == labels[5] == labels[6]
    assert (dbscan_precomputed(dist, eps=0.15, min_samples=10) == -1).all()
    with pytest.raises(ValueError, match="square"):
        dbscan_precomputed(np.zeros((2, 3)), 0.5)


def test_constrained_merge_never_joins_cannot_link_pairs():
    # a-b close, b-c close, but a and c co-occur: single linkage alone would chain all three
    dist = np.array([[0.0, 0.1, 0.3], [0.1, 0.0, 0.2], [0.3, 0.2, 0.0]])
    cannot = np.zeros((3, 3), bool)
    cannot[0, 2] = True
    labels = constrained_merge(dist, eps=0.5, cannot_link=cannot)
    assert labels[0] == labels[1] != labels[2]
    assert len(set(constrained_merge(dist, eps=0.5))) == 1
    assert len(set(constrained_merge(dist, eps=0.05))) == 3


def test_pseudo_labels_recover_well_separated_identities_and_adapt_runs():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 16))
    feats = np.concatenate([c + 0.05 * rng.normal(size=(6, 16)) for c in centers]).astype(np.float32)
    truth = np.repeat(np.arange(3), 6)
    labels = pseudo_labels(feats, eps=0.6, min_samples=3, k1=6, k2=3)
    assert (labels >= 0).all() and len(set(labels)) == 3
    assert all(len(set(labels[truth == t])) == 1 for t in range(3))
    seen = {}

    def train_on(model, records, n):
        seen["n"], seen["records"] = n, records

    reports = adapt(None, [f"img{i}.jpg" for i in range(len(feats))], train_on, lambda m, p: feats, eps=0.6,
                    rounds=1, min_samples=3, k1=6, k2=3, log=lambda s: None)
    assert seen["n"] == 3 and len(seen["records"]) == 18 and reports[-1].clusters == 3


def test_temporal_pooling():
    frames = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    mean = temporal_pool(frames, "mean")
    assert np.allclose(mean, np.array([3.0, 1.0]) / np.sqrt(10.0))
    assert np.allclose(temporal_pool(frames, "max"), np.array([1.0, 1.0]) / np.sqrt(2.0))
    quality = temporal_pool(frames, "quality", tau=0.1)
    assert quality[0] > mean[0]  # the atypical frame is down-weighted
    pooled, ids = pool_tracklets(np.vstack([frames, -frames]), np.array([7] * 4 + [3] * 4))
    assert list(ids) == [3, 7] and np.allclose(pooled[1], mean) and np.allclose(pooled[0], -mean)
    with pytest.raises(ValueError, match="unknown temporal pooling"):
        temporal_pool(frames, "median")


def test_camera_adaptation_merges_tracklets_and_reads_sources(tmp_path):
    import cv2

    from reid_training.adapt_camera import iter_frames, merge_tracklets

    rng = np.random.default_rng(1)
    people = rng.normal(size=(3, 32))
    # 9 tracklets: person 0 three times, person 1 three times, person 2 three times
    owner = np.repeat(np.arange(3), 3)
    feats = people[owner] + 0.05 * rng.normal(size=(9, 32))
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    labels = merge_tracklets(feats, np.zeros((9, 9), bool), eps=0.7, k1=4, k2=2)
    assert all(len(set(labels[owner == p])) == 1 for p in range(3)) and len(set(labels)) == 3
    cannot = np.zeros((9, 9), bool)
    cannot[0, 1] = cannot[1, 0] = True  # seen together: must stay apart
    split = merge_tracklets(feats, cannot, eps=0.7, k1=4, k2=2)
    assert split[0] != split[1]
    for k in range(3):
        cv2.imwrite(str(tmp_path / f"{k:03d}.png"), np.full((8, 8, 3), 40 * k, np.uint8))
    frames = list(iter_frames(tmp_path, stride=2))
    assert [i for i, _ in frames] == [0, 2] and frames[1][1].shape == (8, 8, 3)
    with pytest.raises(FileNotFoundError):
        list(iter_frames(tmp_path / "missing.avi"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="expected a video"):
        list(iter_frames(tmp_path / "notes.txt"))
