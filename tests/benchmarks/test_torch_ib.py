"""benchmarks/torch_ib.py: the PyTorch IB reference loop's schedule, weights and loss."""

import numpy as np
import pytest

from . import ROOT, load_benchmark, load_file, test_torch_ldam_drw


reference = load_benchmark("torch_ib")
# The reference scripts' adjust_learning_rate, transcribed by hand, and the rates
# keras_lt's recipe optimizer applies: both live with keras_lt's IB schedule test.
schedule_test = load_file(ROOT / "tests" / "training" / "test_ib_schedule.py",
                          "keras_lt_tests_ib_schedule")
COUNTS = np.array([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50], dtype=float)


def test_learning_rate_is_the_reference_codes_over_200_epochs():
    for epoch in range(200):
        assert reference.ib_learning_rate(epoch, 0.1, 5, (160, 180), 100) == pytest.approx(
            schedule_test.ib_cifar_reference_lr(epoch)), epoch


def test_shortened_schedule_is_the_keras_lt_recipes_epoch_by_epoch():
    from keras_lt.training.config import TrainConfig

    config = TrainConfig(dataset="cifar10", method="ib", epochs=40)
    keras_rates = schedule_test.rates_per_epoch(config)
    warmup, milestones = reference.scaled(5, 40), (reference.scaled(160, 40),
                                                   reference.scaled(180, 40))
    torch_rates = [reference.ib_learning_rate(e, 0.1, warmup, milestones,
                                              reference.scaled(100, 40)) for e in range(40)]
    np.testing.assert_allclose(torch_rates, keras_rates, rtol=1e-6)
    assert config.resolve().phase_epoch == reference.scaled(100, 40) == 20


def test_class_weights_are_inverse_frequency_summing_to_c():
    weights = reference.ib_class_weights(COUNTS)
    assert weights.sum() == pytest.approx(10.0)
    np.testing.assert_allclose(weights * COUNTS, np.full(10, weights[0] * 5000))


def test_ib_loss_is_the_papers_formula():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (6, 4))
    targets = np.array([0, 1, 2, 3, 3, 1])
    norms = rng.uniform(1, 20, 6)
    weights = np.array([0.2, 0.5, 1.3, 2.0])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    ce = -np.log(p[np.arange(6), targets])
    influence = np.abs(p - np.eye(4)[targets]).sum(1) * norms
    expected = np.mean(weights[targets] * ce * 1000.0 / (influence + 1e-3))
    value = reference.ib_loss(torch.tensor(logits), torch.tensor(targets), torch.tensor(norms),
                              torch.tensor(weights), 1000.0)
    assert float(value) == pytest.approx(expected, rel=1e-9)


def test_ib_loss_differentiates_through_the_factor():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([[2.0, 0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    norms = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([0])
    loss = reference.ib_loss(logits, targets, norms, torch.ones(3, dtype=torch.float64), 10.0)
    loss.backward()
    # d/dn [CE * alpha / (g n + eps)] = -CE * alpha * g / (g n + eps)^2 (not zero: not detached).
    p = torch.softmax(logits.detach(), 1)[0]
    g = 2 * (1 - p[0])
    ce = -torch.log(p[0])
    assert float(norms.grad) == pytest.approx(float(-ce * 10.0 * g / (g * 3.0 + 1e-3) ** 2))


def test_a_short_run_switches_phase_and_follows_the_schedule(tmp_path):
    pytest.importorskip("torch")
    data = str(test_torch_ldam_drw._tiny_cifar(tmp_path / "cifar"))
    result = reference.main(["--data-dir", data, "--epochs", "4", "--ratio", "2",
                             "--batch-size", "64", "--threads", "1", "--ib-epoch", "2"])
    # 160 and 180 of 200 both land on epoch 3, the last of 4 (kept inside the run,
    # as the recipe does): 0.1 x 0.0001 x the IB phase's 0.01 there.
    assert [r["lr"] for r in result["history"]] == pytest.approx([0.1, 0.1, 1e-3, 1e-7])
    # Tested every epoch of the IB phase, and at the end.
    assert ["test_acc" in r for r in result["history"]] == [False, False, True, True]
    assert result["ib_epoch"] == 2 and result["alpha"] == 1000.0
    # alpha = 1000 makes the IB phase's loss far larger than cross-entropy's.
    assert result["history"][2]["loss"] > 10 * result["history"][1]["loss"]
