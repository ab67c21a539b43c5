"""GANs for synthetic persons (reid_training.gan): tiny runs of each kind, resume/EMA reload,
loss and gradient-penalty hand cases, LSRO targets, Frechet distance against closed forms."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reid_training.gan import (EMA, GAN_KINDS, Discriminator, Encoder, GANConfig, GANTrainer, Generator,
                               d_loss, frechet_distance, frechet_from_features, g_loss, generate_images,
                               gradient_penalty, kl_divergence, load_generator)
from reid_training.gan.generate import GENERATED_PID
from reid_training.gan.images import PersonImageDataset
from reid_training.gan.lsro import GENERATED_LABEL, GeneratedAwareLoss, MixedLoader, lsro_targets, soft_cross_entropy

SMALL = (64, 32)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """These networks are tiny: intra-op threads only add synchronisation, which on a shared
    2-core machine made this file 5x slower. Restored for the other test files."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n: int = 16, seed: int = 0) -> PersonImageDataset:
    g = torch.Generator().manual_seed(seed)
    return PersonImageDataset.from_tensor(torch.rand(n, 3, *SMALL, generator=g) * 2 - 1)


def _cfg(kind: str, **kw) -> GANConfig:
    base = dict(kind=kind, image_size=SMALL, nz=16, ngf=8, ndf=8, batch_size=8, epochs=1, ema=True,
                sample_count=4, tensorboard=False, n_critic=2 if kind == "wgan-gp" else None)
    base.update(kw)
    return GANConfig(**base)


@pytest.mark.parametrize("size", [(128, 64), (256, 128)])
def test_shapes_person_sizes_with_sn_and_attention(size):
    torch.manual_seed(0)
    g = Generator(nz=16, ngf=8, image_size=size, self_attention=True, spectral_norm=True)
    d = Discriminator(ndf=8, image_size=size, norm="none", spectral_norm=True, self_attention=True)
    e = Encoder(nz=16, nef=8, image_size=size)
    with torch.no_grad():
        x = g(torch.randn(2, 16))
    assert x.shape == (2, 3, *size) and float(x.abs().max()) <= 1.0
    logit, feat = d(x, return_features=True)
    assert logit.shape == (2,) and feat.shape[0] == 2 and feat.shape[2] == 16  # mid-level 16x8 map
    mu, logvar = e(x)
    assert mu.shape == logvar.shape == (2, 16)
    with pytest.raises(ValueError, match="image_size"):
        Generator(image_size=(100, 50))


@pytest.mark.parametrize("kind", GAN_KINDS)
def test_tiny_run_each_kind_finite_and_reloads(kind, tmp_path):
    kw = {"spectral_norm": True, "self_attention": True} if kind == "dcgan" else {}
    trainer = GANTrainer(_cfg(kind, **kw), _data(), tmp_path, progress=False)
    history = trainer.train()
    rec = history[-1]
    assert rec["epoch"] == 1 and rec["step"] >= 1
    keys = {"dcgan": {"d_loss", "g_loss"}, "vaegan": {"d_loss", "g_loss", "kl", "recon"},
            "wgan-gp": {"d_loss", "g_loss", "gp", "w_dist"}}[kind]
    assert keys <= set(rec) and all(np.isfinite(rec[k]) for k in keys)
    assert (tmp_path / "samples" / "epoch_001.png").is_file()
    assert json.loads((tmp_path / "history.json").read_text())[-1]["step"] == rec["step"]
    # The checkpoint's EMA generator reproduces the trainer's fixed-noise samples exactly.
    g, cfg = load_generator(tmp_path / "last.pt", use_ema=True)
    assert cfg.kind == kind
    with torch.no_grad():
        again = g(trainer.fixed_noise)
    assert again.shape == (4, 3, *SMALL)
    assert torch.equal(again, trainer.sample(trainer.fixed_noise))
    # EMA differs from the live weights after training (it is an average, not a copy).
    live, _ = load_generator(tmp_path / "last.pt", use_ema=False)
    assert not torch.equal(live(trainer.fixed_noise), again)


def test_resume_equals_uninterrupted_run(tmp_path):
    cfg = _cfg("dcgan", epochs=2)
    a = GANTrainer(cfg, _data(), tmp_path / "a", progress=False)
    a.train(1)
    a.save_checkpoint(tmp_path / "epoch1.pt")
    a.train(2)
    b = GANTrainer(cfg, _data(), tmp_path / "b", progress=False)
    b.load_checkpoint(tmp_path / "epoch1.pt")
    assert b.epoch == 1
    b.train(2)
    untimed = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert b.step == a.step and untimed(b.history) == untimed(a.history)
    assert torch.equal(a.sample(a.fixed_noise), b.sample(b.fixed_noise))
    with pytest.raises(ValueError, match="ngf"):
        GANTrainer(_cfg("dcgan", ngf=4), _data(), tmp_path / "c", progress=False).load_checkpoint(tmp_path / "epoch1.pt")


def test_config_validation():
    with pytest.raises(ValueError, match="kind"):
        GANConfig(kind="stylegan").resolved()
    with pytest.raises(ValueError, match="gp_weight"):
        GANConfig(kind="dcgan", loss="wgan").resolved()
    c = GANConfig(kind="wgan-gp").resolved()
    assert (c.loss, c.n_critic, c.gp_weight, c.beta1, c.beta2) == ("wgan", 5, 10.0, 0.0, 0.9)
    assert GANConfig(kind="wgan-gp").d_norm == "instance"  # no BatchNorm under a gradient penalty


def test_adversarial_losses_hand_values():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # hinge: relu(1-r) = [0, .5] -> .25 ; relu(1+f) = [0, 1] -> .5
    assert d_loss("hinge", real, fake).item() == pytest.approx(0.75)
    assert g_loss("hinge", fake).item() == pytest.approx(1.0)
    assert d_loss("wgan", real, fake).item() == pytest.approx(-1.0 - 1.25)
    sp = lambda v: np.log1p(np.exp(v))  # noqa: E731
    assert d_loss("ns", real, fake).item() == pytest.approx((sp(-2) + sp(-0.5)) / 2 + (sp(-2) + sp(0)) / 2, rel=1e-6)
    assert g_loss("ns", fake).item() == pytest.approx((sp(2) + sp(0)) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="adversarial loss"):
        d_loss("lsgan", real, fake)


def test_gradient_penalty_hand_cases():
    # Linear critic f(x) = <w, x>: the gradient is w everywhere, so GP = (||w|| - 1)^2 = (3 - 1)^2.
    w = torch.zeros(1, 3, 4, 2)
    w[0, 0, 0, 0], w[0, 1, 2, 1] = 2.0, 2.0 * np.sqrt(5.0) / 2.0  # ||w||^2 = 4 + 5 = 9
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.randn(5, 3, 4, 2), torch.randn(5, 3, 4, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(4.0, rel=1e-5)
    # f(x) = ||x||^2 / 2 has gradient x; with real == fake the interpolate is x itself.
    x = torch.zeros(2, 1, 2, 2)
    x[0, 0, 0, 0], x[1, 0, 1, 1] = 3.0, 0.5
    quad = lambda v: 0.5 * (v ** 2).flatten(1).sum(1)  # noqa: E731
    assert gradient_penalty(quad, x, x).item() == pytest.approx(((3 - 1) ** 2 + (0.5 - 1) ** 2) / 2)
    # It is differentiable w.r.t. the critic's parameters (double backprop).
    d = Discriminator(ndf=4, image_size=SMALL, norm="instance")
    gp = gradient_penalty(d, torch.randn(2, 3, *SMALL), torch.randn(2, 3, *SMALL))
    gp.backward()
    first_conv = d.trunk.stages[0][0].weight
    assert first_conv.grad is not None and float(first_conv.grad.abs().sum()) > 0


def test_kl_divergence_standard_normal_is_zero_and_hand_case():
    assert kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)).item() == pytest.approx(0.0)
    # KL(N(1, e^0) || N(0,1)) per dim = 0.5 * mu^2 = 0.5; two dims -> 1.0
    assert kl_divergence(torch.ones(1, 2), torch.zeros(1, 2)).item() == pytest.approx(1.0)


def test_ema_hand_case():
    m = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        m.weight.fill_(0.0)
    ema = EMA(m, decay=0.9, warmup=False)
    with torch.no_grad():
        m.weight.fill_(1.0)
    ema.update(m)
    ema.update(m)
    assert ema.shadow.weight.item() == pytest.approx(1 - 0.9 ** 2)  # 0 -> 0.1 -> 0.19
    assert not ema.shadow.weight.requires_grad


def test_lsro_targets_and_loss():
    labels = torch.tensor([0, 2, GENERATED_LABEL, 1])
    t = lsro_targets(labels, num_classes=4)
    expected = torch.tensor([[1, 0, 0, 0], [0, 0, 1, 0], [0.25, 0.25, 0.25, 0.25], [0, 1, 0, 0]], dtype=torch.float32)
    assert torch.allclose(t, expected)
    ts = lsro_targets(labels, num_classes=4, epsilon=0.2)
    assert torch.allclose(ts[0], torch.tensor([0.85, 0.05, 0.05, 0.05])) and torch.allclose(ts[2], expected[2])
    assert torch.allclose(ts.sum(1), torch.ones(4))
    with pytest.raises(ValueError, match="real labels"):
        lsro_targets(torch.tensor([4]), num_classes=4)
    # On a generated image the LSRO loss is the mean negative log-probability over the K classes.
    logits = torch.randn(4, 4, generator=torch.Generator().manual_seed(1))
    lsro = soft_cross_entropy(logits[2:3], t[2:3])
    assert lsro.item() == pytest.approx(-torch.log_softmax(logits[2], 0).mean().item(), rel=1e-6)


def test_generated_aware_loss_modes():
    from reid_training.losses import ReIDLoss

    g = torch.Generator().manual_seed(0)
    feats, pids = torch.randn(8, 6, generator=g), torch.tensor([0, 0, 1, 1, 2, 2, GENERATED_LABEL, GENERATED_LABEL])
    # Without generated images it is exactly the library ReIDLoss (same weights, same centers).
    torch.manual_seed(3)
    ours = GeneratedAwareLoss(3, 6, mode="none", epsilon=0.1, center_weight=0.01)
    torch.manual_seed(3)
    ref = ReIDLoss(3, 6, epsilon=0.1, center_weight=0.01)
    logits = torch.randn(6, 3, generator=g)
    assert ours(logits, feats[:6], pids[:6])[0].item() == pytest.approx(ref(logits, feats[:6], pids[:6])[0].item(), rel=1e-5)
    with pytest.raises(ValueError, match="generated"):
        ours(torch.randn(8, 3), feats, pids)
    # LSRO: K outputs, generated rows uniform; extra: K+1 outputs, generated rows labelled K.
    lsro = GeneratedAwareLoss(3, 6, mode="lsro")
    total, parts = lsro(torch.randn(8, 3, generator=g), feats, pids)
    assert torch.isfinite(total) and "ce_generated" in parts
    extra = GeneratedAwareLoss(3, 6, mode="extra", epsilon=0.0)
    assert torch.allclose(extra.targets(pids)[6], torch.tensor([0.0, 0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="outputs"):
        extra(torch.randn(8, 3), feats, pids)


def test_mixed_loader_appends_generated_batches():
    real = [(torch.zeros(4, 3, 8, 4), torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]))] * 3
    gen = [(torch.ones(2, 3, 8, 4), torch.full((2,), GENERATED_LABEL), torch.zeros(2, dtype=torch.long))] * 2
    loader = MixedLoader(real, gen)
    batches = list(loader)
    assert len(loader) == len(batches) == 3  # the real loader sets the budget; generated cycles
    images, pids, camids = batches[2]
    assert images.shape[0] == 6 and pids.tolist() == [0, 0, 1, 1, -1, -1] and camids.shape == (6,)


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    # Diagonal covariances commute: d^2 = |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = 1.0 + 4.0 + (1 - 3) ** 2 + (2 - 1) ** 2 + 0.0
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)
    # S1 = I, S2 any SPD: d^2 = sum_i (1 - sqrt(lambda_i))^2.
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    lam = np.array([0.5, 1.0, 2.0, 9.0])
    s2 = q @ np.diag(lam) @ q.T
    assert frechet_distance(np.zeros(4), np.eye(4), np.zeros(4), s2) == pytest.approx(((1 - np.sqrt(lam)) ** 2).sum(), rel=1e-9)
    # Symmetric and zero on identical distributions.
    assert frechet_distance(mu1, s2[:3, :3], mu1, s2[:3, :3]) == pytest.approx(0.0, abs=1e-9)
    # From samples it approaches the closed form (1-D: (m1-m2)^2 + (s1-s2)^2).
    x, y = rng.normal(0.0, 1.0, (20000, 1)), rng.normal(2.0, 3.0, (20000, 1))
    assert frechet_from_features(x, y) == pytest.approx(4.0 + 4.0, rel=0.05)
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_generate_images_market_layout(tmp_path):
    from reid_training.data import read_market_folder

    torch.manual_seed(0)
    g = Generator(nz=16, ngf=8, image_size=SMALL)
    paths = generate_images(g, 7, tmp_path, seed=3, batch_size=4, output_size=(128, 64), progress=False)
    assert len(paths) == 7 and len(set(paths)) == 7
    records = read_market_folder(tmp_path / "bounding_box_train", split="train")
    assert len(records) == 7 and {r.pid for r in records} == {GENERATED_PID}
    from PIL import Image

    with Image.open(paths[0]) as im:
        assert im.size == (64, 128)
    assert json.loads((tmp_path / "generated.json").read_text())["count"] == 7


def test_cli_train_generate_fid_on_synthetic_persons(tmp_path, capsys):
    from reid_training.data.synthetic import generate_synthetic_persons
    from reid_training.gan.cli import main

    data = generate_synthetic_persons(tmp_path / "data", num_ids=4, images_per_id_per_cam=2, cameras=2, height=64,
                                      width=32, seed=0, workers=1)
    assert main(["train", "--data", str(data), "--size", "64x32", "--ngf", "8", "--ndf", "8", "--nz", "16",
                 "--bs", "4", "--epochs", "1", "--ema", "--out", str(tmp_path / "gan"), "--no-progress"]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert trained["epochs"] == 1 and np.isfinite(trained["g_loss"])
    assert main(["generate", "--ckpt", trained["checkpoint"], "--n", "5", "--out", str(tmp_path / "gen")]) == 0
    generated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert generated["count"] == 5 and generated["gan"] == "dcgan"
    assert main(["fid", "--real", str(data / "bounding_box_train"), "--fake", generated["folder"]]) == 0
    fid = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # No Inception weights here: FID is reported missing with the reason, never downloaded.
    assert fid["inception_fid"] is None and "inception_fid_note" in fid
    with pytest.raises(FileNotFoundError):
        load_generator(tmp_path / "missing.pt")


def test_frd_tracked_per_epoch_with_a_reid_feature_model(tmp_path):
    from reid_training.gan.frechet import reid_feature_fn

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, stride=4), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    fn = reid_feature_fn(net, (32, 16), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    feats = fn(torch.rand(5, 3, *SMALL) * 2 - 1)
    assert feats.shape == (5, 6) and torch.allclose(feats.norm(dim=1), torch.ones(5), atol=1e-5)
    data = _data()
    trainer = GANTrainer(_cfg("dcgan", epochs=2, frd_samples=8), data, tmp_path, feature_fn=fn,
                         frd_real=data.tensor(), progress=False)
    history = trainer.train()
    assert [r["epoch"] for r in history] == [1, 2] and all(np.isfinite(r["frd"]) and r["frd"] >= 0 for r in history)
    assert trainer.frechet_reid_distance() == pytest.approx(history[-1]["frd"])  # fixed noise: repeatable
