"""Heads (cosine, prior bias) and the L2 weight-decay helper."""

import numpy as np
import pytest

import keras

from keras_lt.models import (
    NormalizedDense,
    add_l2_weight_decay,
    build_model,
    classification_head,
)

from .helpers import dense_backbone


def test_normalized_dense_is_cosine_similarity():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(5, 6)).astype("float32")
    layer = NormalizedDense(3)
    layer.build((None, 6))
    w = rng.normal(size=(6, 3)).astype("float32") * np.array([0.1, 1.0, 7.0], "float32")
    layer.kernel.assign(w)
    out = keras.ops.convert_to_numpy(layer(h))
    expected = (h / np.linalg.norm(h, axis=1, keepdims=True)) @ (
        w / np.linalg.norm(w, axis=0, keepdims=True)
    )
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(out) <= 1.0 + 1e-6)
    assert len(layer.trainable_weights) == 1  # no bias


def test_normalized_dense_starts_with_unit_columns_like_the_reference():
    # LDAM's NormedLinear: uniform(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5), i.e.
    # every class vector (column) of the [64, C] kernel has norm 1.
    layer = NormalizedDense(10)
    layer.build((None, 64))
    w = keras.ops.convert_to_numpy(layer.kernel)
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), np.ones(10), rtol=1e-5)
    # Directions are uniform-cube draws, not all alike: a spread of cosines.
    cosines = (w.T @ w)[np.triu_indices(10, 1)]
    assert np.abs(cosines).max() < 0.6 and cosines.std() > 0.05


def test_normalized_dense_config_round_trip():
    layer = NormalizedDense(4, name="head")
    clone = NormalizedDense.from_config(layer.get_config())
    assert clone.units == 4 and clone.name == "head"
    with pytest.raises(ValueError, match="units"):
        NormalizedDense(0)


def test_prior_bias_starts_every_sigmoid_at_one_over_c():
    num_classes = 7
    model = build_model(dense_backbone(5), num_classes, input_shape=(5,), head="prior_bias")
    bias = keras.ops.convert_to_numpy(model.head.bias)
    np.testing.assert_allclose(bias, -np.log((1 - 1 / num_classes) / (1 / num_classes)), rtol=1e-6)
    np.testing.assert_allclose(1 / (1 + np.exp(-bias)), 1 / num_classes, rtol=1e-5)
    assert model.no_weight_decay_variables == [model.head.bias]
    plain = build_model(dense_backbone(5), num_classes, input_shape=(5,))
    assert plain.no_weight_decay_variables == []
    with pytest.raises(ValueError, match="cosine head has no bias"):
        classification_head(3, kind="cosine", prior_bias=True)
    with pytest.raises(ValueError, match="at least 2 classes"):
        classification_head(1, prior_bias=True)


def test_l2_weight_decay_is_wd_over_2_squared_norm_without_prior_bias():
    wd = 2e-4
    model = build_model(
        dense_backbone(5), 3, input_shape=(5,), head="prior_bias", weight_decay=wd
    )
    decayed = [v for v in model.trainable_weights if v is not model.head.bias]
    expected = sum(
        wd / 2 * np.sum(keras.ops.convert_to_numpy(v).astype(np.float64) ** 2) for v in decayed
    )
    total = sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
    np.testing.assert_allclose(total, expected, rtol=1e-5)
    assert len(model.losses) == len(decayed)
    # Saved in the layer configs: a rebuilt head keeps its regulariser.
    assert model.head.get_config()["kernel_regularizer"] is not None
    assert model.head.get_config()["bias_regularizer"] is None
    assert add_l2_weight_decay(model, 0.0) == 0
