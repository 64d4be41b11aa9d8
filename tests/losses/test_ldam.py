"""LDAMLoss against a numpy version of Cao et al. (2019), eq. (13)."""

import numpy as np
import pytest
import tensorflow as tf

import keras_lt.losses as L


def np_cross_entropy(logits, labels):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]


def np_ldam(logits, labels, counts, max_margin=0.5, scale=30.0, weights=None, by_weights=True):
    """Delta_c = K / n_c^(1/4), max Delta = max_margin; CE(s (z - Delta_y onehot(y)), y)."""
    counts = np.asarray(counts, np.float64)
    margins = counts ** -0.25
    margins = margins * max_margin / margins.max()
    z = np.array(logits, np.float64)
    rows = np.arange(len(labels))
    z[rows, labels] -= margins[labels]
    ce = np_cross_entropy(scale * z, labels)
    w = np.ones(len(counts)) if weights is None else np.asarray(weights, np.float64)
    wy = w[labels]
    return (wy * ce).sum() / (wy.sum() if by_weights else len(labels))


def random_case(seed, num_classes=7, batch=16):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 10**6, size=num_classes)
    logits = rng.uniform(-1, 1, size=(batch, num_classes)).astype("float32")  # cosines
    labels = rng.integers(0, num_classes, size=batch)
    weights = rng.uniform(0.1, 3.0, size=num_classes)
    return counts, logits, labels, weights


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_numpy_formula(seed):
    counts, logits, labels, _ = random_case(seed)
    loss = L.LDAMLoss(counts, max_margin=0.5, scale=30.0)
    np.testing.assert_allclose(
        float(loss(labels, logits)), np_ldam(logits, labels, counts), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("by_weights", [True, False])
def test_weighted_matches_numpy(by_weights):
    counts, logits, labels, weights = random_case(3)
    loss = L.LDAMLoss(counts, max_margin=0.3, scale=10.0, class_weights=weights,
                      normalize_by_weights=by_weights)
    expected = np_ldam(logits, labels, counts, 0.3, 10.0, weights, by_weights)
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5, atol=1e-5)


def test_margins_follow_quarter_power():
    counts = np.array([10000, 625, 16, 1])
    margins = L.ldam_margins(counts, 0.5)
    # n^-1/4 = 0.1, 0.2, 0.5, 1  -> scaled so that the max is 0.5
    np.testing.assert_allclose(margins, [0.05, 0.1, 0.25, 0.5])
    loss = L.LDAMLoss(counts)
    np.testing.assert_allclose(loss.margins, margins)


def test_vanishing_margin_is_cross_entropy_of_scaled_logits():
    counts, logits, labels, _ = random_case(4)
    for max_margin in (0.0, 1e-9):
        loss = L.LDAMLoss(counts, max_margin=max_margin, scale=16.0)
        expected = np_cross_entropy(16.0 * logits, labels).mean()
        np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5, atol=1e-5)


def test_margin_only_on_true_class():
    # Both margins are 0.5; only the true class's logit loses it:
    # z = [0.5, 0] becomes [0, 0] (not [0, -0.5]).
    loss = L.LDAMLoss([1, 1], max_margin=0.5, scale=1.0, reduction="none")
    values = loss(np.array([0]), np.array([[0.5, 0.0]], "float32")).numpy()
    np.testing.assert_allclose(values, np_cross_entropy([[0.0, 0.0]], [0]), rtol=1e-6)


def test_class_weights_variable_defaults_to_ones_and_switches_without_retrace():
    counts, logits, labels, weights = random_case(5)
    loss = L.LDAMLoss(counts, normalize_by_weights=False)
    np.testing.assert_array_equal(loss.class_weights.numpy(), np.ones(len(counts)))
    assert loss.state_variables == [loss.class_weights]
    assert not loss.class_weights.trainable
    step = tf.function(lambda y, z: loss(y, z))
    before = float(step(labels, logits))
    np.testing.assert_allclose(before, np_ldam(logits, labels, counts, by_weights=False), rtol=1e-5)
    loss.class_weights.assign(weights.astype("float32"))
    after = float(step(labels, logits))
    np.testing.assert_allclose(
        after, np_ldam(logits, labels, counts, weights=weights, by_weights=False), rtol=1e-5
    )
    assert step.experimental_get_tracing_count() == 1


def test_zero_weight_batch_gives_zero():
    loss = L.LDAMLoss([10, 10], class_weights=[0.0, 1.0])
    assert float(loss(np.array([0, 0]), np.zeros((2, 2), "float32"))) == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scale": 0.0}, "scale"),
        ({"scale": -1.0}, "scale"),
        ({"max_margin": -0.1}, "max_margin"),
        ({"class_weights": [1.0, 2.0]}, "class_weights"),
        ({"class_weights": [1.0, -2.0, 1.0]}, "class_weights"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.LDAMLoss([10, 5, 1], **kwargs)
