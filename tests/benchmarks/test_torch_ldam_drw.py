"""benchmarks/torch_ldam_drw.py: the PyTorch LDAM-DRW reference loop's schedule and loss."""

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(
            "keras_lt_benchmarks_torch_ldam_drw", ROOT / "benchmarks" / "torch_ldam_drw.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


reference = _load()


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
