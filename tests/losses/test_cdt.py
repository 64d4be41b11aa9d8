"""CDTLoss against a numpy version of Ye et al. (2020), eq. (3)."""

import numpy as np
import pytest
import tensorflow as tf

import keras_lt.losses as L


def np_cdt(logits, labels, counts, gamma):
    """a_c = (n_max / n_c)^gamma; CE over z_c / a_c."""
    counts = np.asarray(counts, np.float64)
    a = (counts.max() / counts) ** gamma
    z = np.asarray(logits, np.float64) / a
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels].mean()


def random_case(seed, num_classes=8, batch=16):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 10**6, size=num_classes)
    logits = (3 * rng.normal(size=(batch, num_classes))).astype("float32")
    labels = rng.integers(0, num_classes, size=batch)
    return counts, logits, labels


@pytest.mark.parametrize("gamma, seed", [(0.1, 0), (0.3, 1), (0.05, 2)])
def test_matches_numpy_formula(gamma, seed):
    counts, logits, labels = random_case(seed)
    loss = L.CDTLoss(counts, gamma=gamma)
    np.testing.assert_allclose(
        float(loss(labels, logits)), np_cdt(logits, labels, counts, gamma), rtol=1e-5, atol=1e-6
    )


def test_gamma_zero_is_cross_entropy():
    counts, logits, labels = random_case(3)
    z = logits.astype(np.float64)
    ce = -(z[np.arange(len(labels)), labels] - np.log(np.exp(z).sum(axis=1))).mean()
    np.testing.assert_allclose(float(L.CDTLoss(counts, gamma=0.0)(labels, logits)), ce, rtol=1e-5)


def test_temperatures():
    loss = L.CDTLoss([1000, 100, 10], gamma=0.5)
    np.testing.assert_allclose(loss.temperatures(), [1.0, 10**0.5, 10.0], rtol=1e-6)


def test_gamma_variable_switches_without_retrace():
    counts, logits, labels = random_case(4)
    loss = L.CDTLoss(counts, gamma=0.0)
    assert loss.state_variables == [loss.gamma]
    assert tuple(loss.gamma.shape) == () and not loss.gamma.trainable
    step = tf.function(lambda y, z: loss(y, z))
    np.testing.assert_allclose(float(step(labels, logits)), np_cdt(logits, labels, counts, 0.0), rtol=1e-5)
    loss.gamma.assign(0.2)
    np.testing.assert_allclose(float(step(labels, logits)), np_cdt(logits, labels, counts, 0.2), rtol=1e-5)
    assert step.experimental_get_tracing_count() == 1
    assert loss.get_config()["gamma"] == 0.0  # the config keeps the constructor value


def test_negative_gamma_rejected():
    with pytest.raises(ValueError, match="gamma"):
        L.CDTLoss([10, 1], gamma=-0.1)
