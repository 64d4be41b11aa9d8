"""WeightedCrossEntropy against numpy, including both ways to average a batch."""

import numpy as np
import pytest
import tensorflow as tf

import keras_lt.losses as L


def np_weighted_ce(logits, labels, weights, by_weights):
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    ce = -(z[np.arange(len(labels)), labels] - np.log(np.exp(z).sum(axis=1)))
    w = np.asarray(weights, np.float64)[labels]
    return (w * ce).sum() / (w.sum() if by_weights else len(labels))


def random_case(seed, num_classes=6, batch=32):
    rng = np.random.default_rng(seed)
    logits = (3 * rng.normal(size=(batch, num_classes))).astype("float32")
    labels = rng.integers(0, num_classes, size=batch)
    weights = rng.uniform(0.05, 4.0, size=num_classes)
    return logits, labels, weights


@pytest.mark.parametrize("by_weights", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_numpy_formula(by_weights, seed):
    logits, labels, weights = random_case(seed)
    loss = L.WeightedCrossEntropy(weights, normalize_by_weights=by_weights)
    np.testing.assert_allclose(
        float(loss(labels, logits)),
        np_weighted_ce(logits, labels, weights, by_weights),
        rtol=1e-5,
    )


def test_weighted_mean_reductions():
    # Per-sample values w_y CE B / sum(w_y): "none" averages to the weighted
    # mean, "sum" is B times it.
    logits, labels, weights = random_case(2)
    expected = np_weighted_ce(logits, labels, weights, True)
    none = L.WeightedCrossEntropy(weights, reduction="none")(labels, logits).numpy()
    assert none.shape == (len(labels),)
    np.testing.assert_allclose(none.mean(), expected, rtol=1e-5)
    total = float(L.WeightedCrossEntropy(weights, reduction="sum")(labels, logits))
    np.testing.assert_allclose(total, len(labels) * expected, rtol=1e-5)


def test_unit_weights_is_cross_entropy():
    logits, labels, _ = random_case(3)
    expected = np_weighted_ce(logits, labels, np.ones(6), False)
    for by_weights in (True, False):
        loss = L.WeightedCrossEntropy(num_classes=6, normalize_by_weights=by_weights)
        np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5)


def test_drw_switch_without_retrace():
    logits, labels, weights = random_case(4)
    counts = [5000, 2000, 800, 300, 100, 50]
    loss = L.WeightedCrossEntropy(num_classes=6)
    step = tf.function(lambda y, z: loss(y, z))
    step(labels, logits)
    cb = L.effective_number_weights(counts, 0.9999)
    loss.class_weights.assign(cb.astype("float32"))
    np.testing.assert_allclose(
        float(step(labels, logits)), np_weighted_ce(logits, labels, cb, True), rtol=1e-5
    )
    assert step.experimental_get_tracing_count() == 1


def test_config_keeps_weights_as_list():
    config = L.WeightedCrossEntropy([1.0, 2.0], normalize_by_weights=False).get_config()
    assert config["class_weights"] == [1.0, 2.0]
    assert config["num_classes"] == 2 and config["normalize_by_weights"] is False


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "class_weights"),
        ({"class_weights": []}, "class_weights"),
        ({"class_weights": [1.0, -1.0]}, "class_weights"),
        ({"class_weights": [[1.0, 2.0]]}, "class_weights"),
        ({"class_weights": "abc"}, "class_weights"),
        ({"num_classes": 2.5}, "num_classes"),
        ({"num_classes": -3}, "num_classes"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.WeightedCrossEntropy(**kwargs)
