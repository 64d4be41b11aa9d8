"""Class-weight functions against numpy versions of their formulas."""

import numpy as np
import pytest

import keras_lt.losses as L


def test_effective_number_weights():
    counts = np.array([5000, 500, 50, 5, 1])
    for beta in (0.9, 0.99, 0.999, 0.9999):
        w = (1 - beta) / (1 - beta ** counts.astype(np.float64))
        np.testing.assert_allclose(
            L.effective_number_weights(counts, beta), w / w.sum() * 5, rtol=1e-10
        )


def test_effective_number_limits():
    counts = [10**6, 1000, 1]
    np.testing.assert_array_equal(L.effective_number_weights(counts, 0.0), np.ones(3))
    # beta -> 1 tends to inverse frequency.
    inverse = np.array([1e-6, 1e-3, 1.0])
    np.testing.assert_allclose(
        L.effective_number_weights([1000, 10, 1], 1 - 1e-12),
        np.array([1e-3, 1e-1, 1.0]) / np.sum([1e-3, 1e-1, 1.0]) * 3,  # (1/n) normalised to sum C
        rtol=1e-6,
    )
    assert np.all(np.isfinite(L.effective_number_weights(counts, 0.9999)))
    np.testing.assert_allclose(L.inverse_frequency_weights(counts), inverse / inverse.sum() * 3)


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0, 2.0])
def test_inverse_frequency_weights(power):
    counts = np.array([400, 100, 25, 4])
    w = counts.astype(np.float64) ** -power
    np.testing.assert_allclose(
        L.inverse_frequency_weights(counts, power), w / w.sum() * 4, rtol=1e-12
    )


def test_normalize_weights_sums_to_count():
    np.testing.assert_allclose(L.normalize_weights([1.0, 3.0]), [0.5, 1.5])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: L.effective_number_weights([10, 1], beta=1.0), "beta"),
        (lambda: L.effective_number_weights([10, 1], beta=-0.5), "beta"),
        (lambda: L.effective_number_weights([], beta=0.9), "class_counts"),
        (lambda: L.effective_number_weights([10, 0], beta=0.9), "class_counts"),
        (lambda: L.inverse_frequency_weights([10, 1.5]), "class_counts"),
        (lambda: L.inverse_frequency_weights([10, 1], power=-1), "power"),
        # Infinite or non-numeric hyper-parameters, named in the message.
        (lambda: L.inverse_frequency_weights([10, 1], power=np.inf), "`power` must be a finite"),
        (lambda: L.effective_number_weights([10, 1], beta=None), "`beta` must be a number"),
        (lambda: L.effective_number_weights([10, 1], beta="0.9"), "`beta` must be a number"),
        (lambda: L.LDAMLoss([10, 1], scale=np.inf), "`scale` must be a finite"),
        (lambda: L.LDAMLoss([10, 1], max_margin=np.inf), "`max_margin` must be a finite"),
        (lambda: L.LDAMLoss([10, 1], scale=[30]), "`scale` must be a number"),
        (lambda: L.CDTLoss([10, 1], gamma=np.inf), "`gamma` must be a finite"),
        (lambda: L.FocalLoss(gamma=np.inf), "`gamma` must be a finite"),
        (lambda: L.IBLoss([10, 1], alpha=np.inf), "`alpha` must be a finite"),
        (lambda: L.IBLoss([10, 1], epsilon=np.inf), "`epsilon` must be a finite"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
