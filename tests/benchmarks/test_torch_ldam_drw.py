"""benchmarks/torch_ldam_drw.py: the PyTorch LDAM-DRW reference loop's schedule and loss."""

import numpy as np
import pytest

from . import load_benchmark

reference = load_benchmark("torch_ldam_drw")


def _reference_code_lr(epoch, base=0.1):
    # kaidic/LDAM-DRW adjust_learning_rate, with its 1-based epoch.
    epoch = epoch + 1
    if epoch <= 5:
        return base * epoch / 5
    if epoch > 180:
        return base * 0.0001
    if epoch > 160:
        return base * 0.01
    return base


def test_learning_rate_is_the_reference_codes_over_200_epochs():
    for epoch in range(200):
        assert reference.learning_rate(epoch, 0.1, 5, (160, 180)) == pytest.approx(
            _reference_code_lr(epoch))


def test_shortened_schedule_matches_the_keras_lt_recipe():
    from keras_lt.training.config import TrainConfig

    config = TrainConfig(dataset="cifar10", method="ldam-drw", epochs=40).resolve()
    assert reference.scaled(5, 40) == config.warmup_epochs == 1
    assert (reference.scaled(160, 40), reference.scaled(180, 40)) == tuple(config.milestones) \
        == (32, 36)
    assert reference.scaled(160, 40) == config.drw_epoch


def test_drw_weights():
    counts = np.array([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50], dtype=float)
    weights = reference.drw_weights(counts, 0.9999)
    assert weights.sum() == pytest.approx(10.0)
    # w_c proportional to 1 / E_{n_c}, E_n = (1 - beta^n) / (1 - beta) (Cui et al.).
    assert weights[0] / weights[9] == pytest.approx((1 - 0.9999 ** 50) / (1 - 0.9999 ** 5000))
    np.testing.assert_allclose(reference.drw_weights(counts, 0.0), np.ones(10))


def test_ldam_loss_is_the_weighted_mean_of_the_margin_cross_entropy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits = rng.uniform(-1, 1, (6, 4))
    targets = np.array([0, 1, 2, 3, 3, 1])
    margins = np.array([0.1, 0.2, 0.3, 0.5])
    weights = np.array([0.5, 1.0, 1.5, 1.0])
    z = 30.0 * (logits - np.eye(4)[targets] * margins[targets][:, None])
    ce = -(z[np.arange(6), targets] - np.log(np.exp(z).sum(1)))
    expected = (weights[targets] * ce).sum() / weights[targets].sum()
    value = reference.ldam_loss(torch.tensor(logits), torch.tensor(targets), torch.tensor(margins),
                                30.0, torch.tensor(weights))
    assert float(value) == pytest.approx(expected, rel=1e-6)


def _tiny_cifar(root):
    """train/ and test/ folders of 10 classes of 32x32 PNGs (20 and 4 per class)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, per_class in (("train", 20), ("test", 4)):
        for c in range(10):
            folder = root / split / f"class_{c}"
            folder.mkdir(parents=True)
            colour = rng.integers(0, 256, size=3)
            for k in range(per_class):
                pixels = np.clip(colour + rng.normal(0, 40, (32, 32, 3)), 0, 255)
                Image.fromarray(pixels.astype("uint8")).save(folder / f"{k}.png")
    return root


def test_a_resumed_run_ends_where_an_uninterrupted_one_ends(tmp_path):
    torch = pytest.importorskip("torch")
    data = str(_tiny_cifar(tmp_path / "cifar"))
    # 4 epochs (warm-up 0, milestones at 3 and 4, DRW from 3) on 10 classes of 20 ... 10.
    common = ["--data-dir", data, "--epochs", "4", "--ratio", "2", "--batch-size", "64",
              "--threads", "1", "--channels-last"]
    straight = reference.main(common + ["--checkpoint", str(tmp_path / "a.pt")])
    assert reference.main(common + ["--checkpoint", str(tmp_path / "b.pt"),
                                    "--stop-after-epoch", "2"]) is None
    assert torch.load(tmp_path / "b.pt", weights_only=False)["epoch"] == 2
    resumed = reference.main(common + ["--checkpoint", str(tmp_path / "b.pt"), "--resume"])

    assert resumed["resumed"] and not straight["resumed"]
    assert [r["epoch"] for r in resumed["history"]] == [1, 2, 3, 4]
    for a, b in zip(straight["history"], resumed["history"]):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)
        assert a["train_acc"] == b["train_acc"]
    assert straight["last_per_class"] == resumed["last_per_class"]
    a = torch.load(tmp_path / "a.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b.pt", weights_only=False)["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-6, atol=1e-7, msg=name)


def test_resume_refuses_a_checkpoint_of_other_settings(tmp_path):
    pytest.importorskip("torch")
    data = str(_tiny_cifar(tmp_path / "cifar"))
    common = ["--data-dir", data, "--ratio", "2", "--batch-size", "64", "--threads", "1",
              "--checkpoint", str(tmp_path / "c.pt")]
    reference.main(common + ["--epochs", "4", "--stop-after-epoch", "1"])
    with pytest.raises(SystemExit, match="other settings"):
        reference.main(common + ["--epochs", "8", "--resume"])


def test_resume_needs_a_checkpoint_file():
    with pytest.raises(SystemExit):
        reference.parse_args(["--data-dir", "x", "--resume"])
