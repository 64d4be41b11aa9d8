"""FocalLoss (softmax focal, integer labels) against a numpy version of Lin et al."""

import numpy as np
import pytest
import tensorflow as tf

import keras_lt.losses as L


def np_log_softmax(z):
    z = np.asarray(z, np.float64)
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def np_focal(logits, labels, gamma, weights=None, by_weights=False):
    """-w_y (1 - p_y)^gamma log p_y, averaged by B (or by sum w_y)."""
    log_py = np_log_softmax(logits)[np.arange(len(labels)), labels]
    values = (1.0 - np.exp(log_py)) ** gamma * -log_py
    w = np.ones(len(labels)) if weights is None else np.asarray(weights)[labels]
    return (w * values).sum() / (w.sum() if by_weights else len(labels))


def random_case(seed, num_classes=5, batch=24):
    rng = np.random.default_rng(seed)
    logits = (2 * rng.normal(size=(batch, num_classes))).astype("float32")
    labels = rng.integers(0, num_classes, size=batch)
    weights = rng.uniform(0.1, 3.0, size=num_classes)
    return logits, labels, weights


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_matches_numpy_formula(gamma):
    logits, labels, _ = random_case(int(gamma * 10))
    loss = L.FocalLoss(gamma=gamma)
    np.testing.assert_allclose(
        float(loss(labels, logits)), np_focal(logits, labels, gamma), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("by_weights", [False, True])
def test_class_weights_match_numpy(by_weights):
    logits, labels, weights = random_case(1)
    loss = L.FocalLoss(gamma=2.0, class_weights=weights, normalize_by_weights=by_weights)
    np.testing.assert_allclose(
        float(loss(labels, logits)),
        np_focal(logits, labels, 2.0, weights, by_weights),
        rtol=1e-5,
        atol=1e-6,
    )


def test_gamma_zero_is_cross_entropy():
    logits, labels, _ = random_case(2)
    expected = -np_log_softmax(logits)[np.arange(len(labels)), labels].mean()
    np.testing.assert_allclose(float(L.FocalLoss(gamma=0.0)(labels, logits)), expected, rtol=1e-5)


def test_confident_sample_has_zero_loss_and_gamma_zero_keeps_it_finite():
    # p_y rounds to 1 in float32: (1 - p_y)^gamma must be 0 (gamma > 0) or 1
    # (gamma = 0), never NaN.
    # -log p_y = log(1 + e^-100 + e^-200) is 0 in float32, so the loss is 0.
    logits = np.array([[100.0, -100.0, 0.0]], "float32")
    for gamma in (0.0, 0.5, 2.0):
        value = float(L.FocalLoss(gamma=gamma)(np.array([0]), logits))
        assert value == pytest.approx(0.0, abs=1e-6)


def test_state_variables():
    assert L.FocalLoss().state_variables == []
    assert L.FocalLoss().class_weights is None
    loss = L.FocalLoss(num_classes=4)
    np.testing.assert_array_equal(loss.class_weights.numpy(), np.ones(4))
    assert loss.state_variables == [loss.class_weights]


def test_weights_switch_without_retrace():
    logits, labels, weights = random_case(3)
    loss = L.FocalLoss(gamma=1.0, num_classes=5)
    step = tf.function(lambda y, z: loss(y, z))
    np.testing.assert_allclose(float(step(labels, logits)), np_focal(logits, labels, 1.0), rtol=1e-5)
    loss.class_weights.assign(weights.astype("float32"))
    np.testing.assert_allclose(
        float(step(labels, logits)), np_focal(logits, labels, 1.0, weights), rtol=1e-5
    )
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": -1.0}, "gamma"),
        ({"class_weights": [1.0, float("nan")]}, "class_weights"),
        ({"class_weights": [1.0, 2.0], "num_classes": 3}, "class_weights"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.FocalLoss(**kwargs)
