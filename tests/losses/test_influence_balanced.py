"""IBLoss against a numpy version of Park et al. (2021), eqs. (4)-(6)."""

import numpy as np
import pytest
import tensorflow as tf

import keras_lt.losses as L


def np_softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_weights(counts, weighting, beta=0.9999):
    counts = np.asarray(counts, np.float64)
    if weighting == "inverse_frequency":
        w = 1.0 / counts
    elif weighting == "effective_number":
        w = (1.0 - beta) / (1.0 - beta**counts)
    else:
        w = np.ones_like(counts)
    return w / w.sum() * len(counts)


def np_ib_per_sample(logits, features, labels, counts, alpha=1000.0, eps=1e-3,
                     weighting="inverse_frequency", beta=0.9999, base="cross_entropy", gamma=1.0,
                     focal_probability="softmax"):
    """alpha * w_y * L / (||softmax(z) - onehot||_1 * ||h||_1 + eps).

    L is CE or (1 - q)^gamma CE, q = p_y or, as the reference code's
    ib_focal_loss does on F.cross_entropy(weight=w), q = exp(-w_y CE).
    """
    p = np_softmax(logits)
    rows = np.arange(len(labels))
    onehot = np.zeros_like(p)
    onehot[rows, labels] = 1.0
    ce = -np.log(p[rows, labels])
    w = np_weights(counts, weighting, beta)[labels]
    q = p[rows, labels] if focal_probability == "softmax" else np.exp(-w * ce)
    base_loss = ce if base == "cross_entropy" else (1 - q) ** gamma * ce
    factor = np.abs(p - onehot).sum(axis=1) * np.abs(np.asarray(features, np.float64)).sum(axis=1)
    return alpha * w * base_loss / (factor + eps)


def random_case(seed, num_classes=5, batch=16, dim=8):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 10**6, size=num_classes)
    logits = (2 * rng.normal(size=(batch, num_classes))).astype("float32")
    features = np.abs(rng.normal(size=(batch, dim))).astype("float32")  # post-ReLU
    labels = rng.integers(0, num_classes, size=batch)
    return counts, logits, features, labels


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"weighting": "effective_number", "beta": 0.999},
        {"weighting": "none"},
        {"base_loss": "focal", "gamma": 1.0},
        {"base_loss": "focal", "gamma": 2.5, "alpha": 100.0, "epsilon": 0.01},
        {"base_loss": "focal", "gamma": 1.0, "focal_probability": "class_weighted"},
        {"base_loss": "focal", "gamma": 0.5, "focal_probability": "class_weighted",
         "weighting": "effective_number", "beta": 0.999},
    ],
)
def test_matches_numpy_formula(kwargs):
    counts, logits, features, labels = random_case(len(kwargs))
    loss = L.IBLoss(counts, **kwargs)
    np_kwargs = {"base": kwargs.get("base_loss", "cross_entropy"), "eps": kwargs.get("epsilon", 1e-3)}
    np_kwargs.update({k: v for k, v in kwargs.items() if k in ("alpha", "weighting", "beta", "gamma", "focal_probability")})
    expected = np_ib_per_sample(logits, features, labels, counts, **np_kwargs).mean()
    value = float(loss(labels, {"logits": logits, "features": features}))
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_inactive_is_plain_cross_entropy_and_switch_needs_no_retrace():
    counts, logits, features, labels = random_case(7)
    loss = L.IBLoss(counts, start_active=False)
    assert loss.state_variables == [loss.class_weights, loss.ib_active]
    assert float(loss.ib_active.numpy()) == 0.0
    step = tf.function(lambda y, z, h: loss(y, {"logits": z, "features": h}))
    ce = -np.log(np_softmax(logits)[np.arange(len(labels)), labels]).mean()
    np.testing.assert_allclose(float(step(labels, logits, features)), ce, rtol=1e-5)
    loss.ib_active.assign(1.0)
    expected = np_ib_per_sample(logits, features, labels, counts).mean()
    np.testing.assert_allclose(float(step(labels, logits, features)), expected, rtol=1e-5)
    loss.class_weights.assign(np.ones(5, "float32"))
    expected = np_ib_per_sample(logits, features, labels, counts, weighting="none").mean()
    np.testing.assert_allclose(float(step(labels, logits, features)), expected, rtol=1e-5)
    assert step.experimental_get_tracing_count() == 1


def test_focal_with_gamma_zero_is_cross_entropy_variant():
    counts, logits, features, labels = random_case(8)
    y_pred = {"logits": logits, "features": features}
    focal = L.IBLoss(counts, base_loss="focal", gamma=0.0)
    # (1 - p_y)^0 = 1: the cross-entropy IB loss, from the numpy formula.
    expected = np_ib_per_sample(logits, features, labels, counts).mean()
    np.testing.assert_allclose(float(focal(labels, y_pred)), expected, rtol=1e-5)


def test_class_weighted_focal_probability():
    # With every class weight 1, q = exp(-CE) = p_y: the two choices agree.
    counts, logits, features, labels = random_case(14)
    y_pred = {"logits": logits, "features": features}
    kwargs = {"base_loss": "focal", "gamma": 2.0, "weighting": "none"}
    np.testing.assert_allclose(
        float(L.IBLoss(counts, focal_probability="class_weighted", **kwargs)(labels, y_pred)),
        float(L.IBLoss(counts, **kwargs)(labels, y_pred)), rtol=1e-6)
    # CIFAR-10 at ratio 100, p_y = 0.9 for the largest and the rarest class:
    # weights 0.0402 and 4.0236 (1/n summed to 10), so 1 - q = 1 - 0.9^w is
    # 0.0042 and 0.3455, against 0.1 for both with q = p_y. Zero features give
    # IB(x) = 0, so the loss is alpha * w_y * (1 - q) * CE / epsilon.
    counts = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    logits = np.zeros((2, 10), "float32")
    logits[[0, 1], [0, 9]] = np.log(0.9 * 9 / 0.1)  # p_y = 0.9
    labels = np.array([0, 9])
    per_sample = L.IBLoss(counts, base_loss="focal", focal_probability="class_weighted",
                          reduction=None)
    value = per_sample(labels, {"logits": logits, "features": np.zeros((2, 4), "float32")})
    w = np.array([0.0402365, 4.023650])
    np.testing.assert_allclose(w, np_weights(counts, "inverse_frequency")[[0, 9]], rtol=1e-5)
    expected = 1000.0 * w * np.array([0.004230, 0.345530]) * -np.log(0.9) / 1e-3
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-4)


def test_features_of_any_rank_and_precomputed_norms():
    counts, logits, features, labels = random_case(9, dim=12)
    loss = L.IBLoss(counts)
    flat = float(loss(labels, {"logits": logits, "features": features}))
    image = float(loss(labels, {"logits": logits, "features": features.reshape(-1, 2, 2, 3)}))
    norms = np.abs(features).sum(axis=1, keepdims=True)
    precomputed = float(loss(labels, {"logits": logits, "features": norms}))
    np.testing.assert_allclose([image, precomputed], [flat, flat], rtol=1e-6)


def _gradients(loss, labels, logits, features):
    z = tf.constant(logits, tf.float64)
    h = tf.constant(features, tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([z, h])
        value = loss(labels, {"logits": z, "features": h})
    zero = tf.UnconnectedGradients.ZERO
    return (
        tape.gradient(value, z, unconnected_gradients=zero).numpy(),
        tape.gradient(value, h, unconnected_gradients=zero).numpy(),
    )


def test_gradient_flows_through_factor_by_default():
    # Reference behaviour: the IB factor is not detached. Central differences
    # of the numpy formula (float64) give the full gradient.
    counts, logits, features, labels = random_case(10, batch=4, num_classes=3, dim=3)
    logits, features = logits.astype(np.float64), features.astype(np.float64)
    grad_z, grad_h = _gradients(L.IBLoss(counts), labels, logits, features)

    def f(z, h):
        return np_ib_per_sample(z, h, labels, counts).mean()

    step = 1e-6
    num_z = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape):
        d = np.zeros_like(logits)
        d[idx] = step
        num_z[idx] = (f(logits + d, features) - f(logits - d, features)) / (2 * step)
    num_h = np.zeros_like(features)
    for idx in np.ndindex(*features.shape):
        d = np.zeros_like(features)
        d[idx] = step
        num_h[idx] = (f(logits, features + d) - f(logits, features - d)) / (2 * step)
    np.testing.assert_allclose(grad_z, num_z, rtol=1e-3, atol=1e-4 * np.abs(num_z).max())
    np.testing.assert_allclose(grad_h, num_h, rtol=1e-3, atol=1e-4 * np.abs(num_h).max())


def test_stop_factor_gradient_is_pure_reweighting():
    counts, logits, features, labels = random_case(11, batch=6)
    grad_z, grad_h = _gradients(L.IBLoss(counts, stop_factor_gradient=True), labels, logits, features)
    np.testing.assert_array_equal(grad_h, np.zeros_like(grad_h))
    p = np_softmax(logits)
    onehot = np.eye(5)[labels]
    factor = np.abs(p - onehot).sum(1) * np.abs(features.astype(np.float64)).sum(1)
    scale = 1000.0 * np_weights(counts, "inverse_frequency")[labels] / (factor + 1e-3)
    expected = scale[:, None] * (p - onehot) / len(labels)
    np.testing.assert_allclose(grad_z, expected, rtol=1e-5, atol=1e-8)


def test_bare_tensor_explains_the_dict():
    counts, logits, _, labels = random_case(12)
    with pytest.raises(ValueError, match=r"\{'logits': z, 'features': h\}"):
        L.IBLoss(counts)(labels, logits)
    with pytest.raises(ValueError, match="features"):
        L.IBLoss(counts)(labels, {"logits": logits})
    assert L.IBLoss.requires_features is True


def test_feature_batch_mismatch():
    counts, logits, features, labels = random_case(13)
    with pytest.raises(ValueError, match="batch size"):
        L.IBLoss(counts)(labels, {"logits": logits, "features": features[:3]})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": 0.0}, "alpha"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": -1e-3}, "epsilon"),
        ({"gamma": -1.0}, "gamma"),
        ({"beta": 1.0}, "beta"),
        ({"weighting": "sqrt"}, "weighting"),
        ({"base_loss": "ldam"}, "base_loss"),
        ({"base_loss": "focal", "focal_probability": "weighted"}, "focal_probability"),
        ({"focal_probability": "class_weighted"}, "base_loss='focal'` only"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.IBLoss([10, 5, 1], **kwargs)
