"""ClassBalancedLoss against numpy versions of Cui et al. (2019), eqs. (8), (11), (13)."""

import numpy as np
import pytest
import tensorflow as tf

import keras_lt.losses as L


def np_cb_weights(counts, beta):
    """w_c = 1 / E_{n_c}, E_n = (1 - beta^n) / (1 - beta), normalised to sum to C."""
    counts = np.asarray(counts, np.float64)
    if beta == 0:
        return np.ones(len(counts))
    w = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return w / w.sum() * len(counts)


def np_log_softmax(z):
    z = np.asarray(z, np.float64)
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def np_log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def np_per_sample(logits, labels, loss_type, gamma):
    z = np.asarray(logits, np.float64)
    rows = np.arange(len(labels))
    if loss_type == "softmax":
        return -np_log_softmax(z)[rows, labels]
    onehot = np.zeros_like(z)
    onehot[rows, labels] = 1.0
    zt = np.where(onehot == 1, z, -z)          # z_i^t
    log_pt = np_log_sigmoid(zt)                # log p_i^t
    terms = -log_pt
    if loss_type == "focal":
        terms = (1.0 - np.exp(log_pt)) ** gamma * terms
    return terms.sum(axis=1)


def np_cb(logits, labels, counts, beta, loss_type, gamma, by_weights=False):
    w = np_cb_weights(counts, beta)[labels]
    values = w * np_per_sample(logits, labels, loss_type, gamma)
    return values.sum() / (w.sum() if by_weights else len(labels))


def random_case(seed, num_classes=6, batch=20):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 10**6, size=num_classes)
    logits = (3 * rng.normal(size=(batch, num_classes))).astype("float32")
    labels = rng.integers(0, num_classes, size=batch)
    return counts, logits, labels


@pytest.mark.parametrize("loss_type", ["softmax", "sigmoid", "focal"])
@pytest.mark.parametrize("beta, gamma, seed", [(0.9999, 1.0, 0), (0.99, 0.5, 1), (0.9, 2.0, 2)])
def test_matches_numpy_formula(loss_type, beta, gamma, seed):
    counts, logits, labels = random_case(seed)
    loss = L.ClassBalancedLoss(counts, beta=beta, loss_type=loss_type, gamma=gamma)
    expected = np_cb(logits, labels, counts, beta, loss_type, gamma)
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5, atol=1e-5)


def test_weights_variable_holds_effective_number_weights():
    counts = [5000, 2000, 500, 50, 5]
    loss = L.ClassBalancedLoss(counts, beta=0.999)
    np.testing.assert_allclose(loss.class_weights.numpy(), np_cb_weights(counts, 0.999), rtol=1e-6)
    np.testing.assert_allclose(loss.class_weights.numpy().sum(), 5.0, rtol=1e-6)
    assert loss.state_variables == [loss.class_weights]


@pytest.mark.parametrize("loss_type", ["softmax", "sigmoid", "focal"])
def test_beta_zero_is_the_plain_loss(loss_type):
    counts, logits, labels = random_case(3)
    loss = L.ClassBalancedLoss(counts, beta=0.0, loss_type=loss_type, gamma=2.0)
    expected = np_per_sample(logits, labels, loss_type, 2.0).mean()
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5, atol=1e-5)


def test_beta_zero_softmax_is_cross_entropy():
    counts, logits, labels = random_case(4)
    loss = L.ClassBalancedLoss(counts, beta=0.0, loss_type="softmax")
    expected = -np_log_softmax(logits)[np.arange(len(labels)), labels].mean()
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5)


def test_focal_gamma_zero_is_sigmoid():
    counts, logits, labels = random_case(5)
    focal = L.ClassBalancedLoss(counts, beta=0.99, loss_type="focal", gamma=0.0)
    expected = np_cb(logits, labels, counts, 0.99, "sigmoid", 0.0)
    np.testing.assert_allclose(float(focal(labels, logits)), expected, rtol=1e-5)


def test_averaged_by_batch_size_not_weight_sum():
    # The reference divides by B (number of positive labels), not sum(w_y).
    _, logits, labels = random_case(6)
    counts = [5000, 1000, 200, 40, 8, 1]
    by_batch = L.ClassBalancedLoss(counts, beta=0.9999)
    by_weights = L.ClassBalancedLoss(counts, beta=0.9999, normalize_by_weights=True)
    np.testing.assert_allclose(
        float(by_weights(labels, logits)),
        np_cb(logits, labels, counts, 0.9999, "softmax", 1.0, by_weights=True),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        float(by_batch(labels, logits)),
        np_cb(logits, labels, counts, 0.9999, "softmax", 1.0, by_weights=False),
        rtol=1e-5,
    )
    assert not np.isclose(float(by_batch(labels, logits)), float(by_weights(labels, logits)))


def test_weights_switch_without_retrace():
    counts, logits, labels = random_case(7)
    loss = L.ClassBalancedLoss(counts, beta=0.9, loss_type="focal")
    step = tf.function(lambda y, z: loss(y, z))
    step(labels, logits)
    loss.class_weights.assign(np.ones(len(counts), "float32"))
    np.testing.assert_allclose(
        float(step(labels, logits)), np_cb(logits, labels, counts, 0.0, "focal", 1.0), rtol=1e-5
    )
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta": 1.0}, "beta"),
        ({"beta": -0.1}, "beta"),
        ({"gamma": -0.5}, "gamma"),
        ({"loss_type": "hinge"}, "loss_type"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.ClassBalancedLoss([10, 5, 1], **kwargs)
