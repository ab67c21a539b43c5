"""Domain randomisation for ReID training (shapes, ranges, determinism, each augmentation really
acts) and the worst-case choice of the re-ranking defaults."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from reid_training.data import build_transforms, make_train_loader
from reid_training.data.domain_randomization import PRESETS, STANDARD, DomainRandomization, randomize
from reid_training.metrics import (RERANK_DEFAULTS, compute_distance, k_reciprocal_parts, k_reciprocal_rerank)
from reid_training.rerank_tune import best_setting, sweep

OFF = DomainRandomization(**{f.name: 0.0 for f in dataclasses.fields(DomainRandomization)
                             if f.name.startswith("p_")})


def _crop(seed: int = 0, h: int = 96, w: int = 48) -> np.ndarray:
    """A person-like test crop: textured background, a coloured torso and legs in the centre."""
    rng = np.random.default_rng(seed)
    img = rng.integers(40, 200, (h, w, 3), dtype=np.uint8)
    img[h // 5:h // 2, w // 3:2 * w // 3] = (200, 40, 40)
    img[h // 2:h - 4, w // 3:2 * w // 3] = (30, 30, 160)
    return img


def test_output_shape_dtype_and_range_for_many_draws():
    img = _crop()
    rng = np.random.default_rng(1)
    outs = [randomize(img, rng) for _ in range(60)]
    for out in outs:
        assert out.shape == img.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    # the draws differ from the input and from each other
    assert sum(not np.array_equal(o, img) for o in outs) >= 50
    assert len({o.tobytes() for o in outs}) >= 50


def test_deterministic_with_a_seed():
    img = _crop()
    a = [randomize(img, np.random.default_rng(7)) for _ in range(3)]
    assert all(np.array_equal(a[0], x) for x in a)
    b = randomize(img, np.random.default_rng(8))
    assert not np.array_equal(a[0], b)


def test_all_probabilities_zero_is_identity_and_input_is_not_modified():
    img = _crop()
    keep = img.copy()
    np.testing.assert_array_equal(randomize(img, np.random.default_rng(0), OFF), img)
    randomize(img, np.random.default_rng(0), STANDARD)
    np.testing.assert_array_equal(img, keep)


@pytest.mark.parametrize("name", ["p_geometry", "p_resolution", "p_color", "p_cast", "p_grey", "p_blur",
                                  "p_noise", "p_jpeg", "p_background", "p_occluder"])
def test_each_augmentation_acts_alone(name):
    img = _crop()
    cfg = dataclasses.replace(OFF, **{name: 1.0})
    outs = [randomize(img, np.random.default_rng(s), cfg) for s in range(5)]
    changed = [float(np.abs(o.astype(np.int16) - img).mean()) for o in outs]
    assert max(changed) > 1.0, (name, changed)
    if name == "p_grey":
        for o in outs:
            assert (np.abs(o[..., 0].astype(np.int16) - o[..., 1]) <= 1).all()
    if name == "p_background":  # the central band (the person) survives
        for o in outs:
            c = img.shape[1] // 2
            np.testing.assert_array_equal(o[:, c - 2:c + 2], img[:, c - 2:c + 2])


def test_bad_configuration_and_input_are_named():
    with pytest.raises(ValueError, match="p_blur"):
        DomainRandomization(p_blur=1.5)
    with pytest.raises(ValueError, match="scale"):
        DomainRandomization(scale=(1.2, 0.8))
    with pytest.raises(ValueError, match="resolution"):
        DomainRandomization(resolution=(0.0, 0.5))
    with pytest.raises(ValueError, match="uint8"):
        randomize(np.zeros((8, 4, 3), np.float32), np.random.default_rng(0))
    assert PRESETS["off"] is None and PRESETS["standard"] is STANDARD


def test_transform_with_randomizer_gives_normalised_tensors_and_repeats_with_a_seed():
    img = _crop(h=200, w=90)
    t1 = build_transforms(64, 32, True, seed=3, randomizer=STANDARD)
    t2 = build_transforms(64, 32, True, seed=3, randomizer=STANDARD)
    xs1 = [t1(img) for _ in range(4)]
    xs2 = [t2(img) for _ in range(4)]
    for a, b in zip(xs1, xs2):
        assert tuple(a.shape) == (3, 64, 32) and str(a.dtype) == "torch.float32"
        assert bool(a.isfinite().all())
        assert np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(xs1[0].numpy(), xs1[1].numpy())
    # the eval transform never randomises
    ev = build_transforms(64, 32, False, randomizer=STANDARD)
    assert ev.randomizer is None and np.array_equal(ev(img).numpy(), ev(img).numpy())


def test_train_loader_with_domain_randomization(tmp_path):
    import cv2

    folder = tmp_path / "bounding_box_train"
    folder.mkdir()
    for pid in range(1, 5):
        for k in range(4):
            cv2.imwrite(str(folder / f"{pid:04d}_c{k % 2 + 1}s1_{k:06d}_00.jpg"), _crop(pid * 10 + k))
    from reid_training.data import read_market_folder

    records = read_market_folder(folder, "train")
    loader = make_train_loader(records, p=2, k=4, height=64, width=32, workers=0, seed=0, randomizer=STANDARD)
    images, pids, *_ = next(iter(loader))
    assert tuple(images.shape) == (8, 3, 64, 32) and bool(images.isfinite().all())
    assert len(set(pids.tolist())) == 2


def test_train_cli_accepts_domain_randomization():
    from reid_training.train import build_parser

    args = build_parser().parse_args(["--data", "x", "--domain-randomization", "standard"])
    assert PRESETS[args.domain_randomization] is STANDARD
    assert build_parser().parse_args(["--data", "x"]).domain_randomization == "off"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--data", "x", "--domain-randomization", "wild"])


def _clusters(seed: int, ids: int = 12, per_id: int = 4, dim: int = 16, spread: float = 0.35):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(ids, dim))
    feats = np.repeat(centres, per_id, axis=0) + spread * rng.normal(size=(ids * per_id, dim))
    pids = np.repeat(np.arange(ids), per_id)
    cams = np.tile(np.arange(per_id) % 2, ids)
    q = np.arange(0, ids * per_id, per_id)  # one query per identity
    g = np.setdiff1d(np.arange(ids * per_id), q)
    return {"qf": feats[q].astype(np.float32), "gf": feats[g].astype(np.float32), "qp": pids[q], "gp": pids[g],
            "qc": cams[q], "gc": cams[g]}


def test_rerank_parts_mix_to_the_reranked_distance():
    f = _clusters(0)
    d = (compute_distance(f["qf"], f["gf"], "cosine"), compute_distance(f["qf"], f["qf"], "cosine"),
         compute_distance(f["gf"], f["gf"], "cosine"))
    jac, orig = k_reciprocal_parts(*d, 5, 2)
    np.testing.assert_allclose(k_reciprocal_rerank(*d, 5, 2, 0.4), 0.6 * jac + 0.4 * orig, atol=1e-6)
    # the API defaults are the one set of defaults
    from reid_training import evaluate

    args = evaluate.parse_args(["--data", "x"])
    assert (args.k1, args.k2, args.lambda_value) == (RERANK_DEFAULTS.k1, RERANK_DEFAULTS.k2,
                                                      RERANK_DEFAULTS.lambda_value)


def test_sweep_scores_worst_case_and_best_setting_maximises_it():
    pairs = [_clusters(1), _clusters(2, spread=0.6)]
    rows = sweep(pairs, k1s=(2, 6, 20), k2s=(1, 3), lambdas=(0.3, 1.0))
    assert len(rows) == 3 * 2 * 2 - 2  # k2 > k1 skipped (k1 2, k2 3)
    for r in rows:
        assert len(r["d_rank1"]) == 2 and r["worst_d_rank1"] == min(r["d_rank1"])
        if r["lambda"] == 1.0:  # lambda 1 keeps the plain order: nothing changes
            assert r["d_rank1"] == [0.0, 0.0]
    best = best_setting(rows)
    assert best["worst_d_rank1"] == max(r["worst_d_rank1"] for r in rows)
    assert best["worst_d_rank1"] >= 0.0  # lambda 1 is in the grid, so the worst case is never below 0
    json.dumps(rows)
    with pytest.raises(ValueError, match="empty"):
        best_setting([])
