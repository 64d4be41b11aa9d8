"""Tiny trained-looking classifiers and their numpy forward passes."""

import numpy as np

import keras

COUNTS = np.array([40, 12, 3])


def data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = np.arange(n) % 3
    return x, y.astype("int32")


def randomize(model, seed=1):
    """Random weights with clearly different class-vector norms."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        value = rng.normal(size=v.shape) * (1.0 + np.arange(v.shape[-1]) if len(v.shape) else 1.0)
        v.assign(value.astype("float32"))
    return model


def functional_model():
    inputs = keras.Input((5,))
    h = keras.layers.Dense(4, activation="relu", name="body")(inputs)
    outputs = keras.layers.Dense(3, name="head")(h)
    return randomize(keras.Model(inputs, outputs))


def long_tail_model():
    from keras_lt.models import LongTailModel

    backbone = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4, activation="relu", name="body")]
    )
    model = LongTailModel(backbone, keras.layers.Dense(3, name="head"))
    model.build((None, 5))
    return randomize(model)


def numpy_parts(model):
    """(W1, b1, W2, b2) as float64 arrays."""
    body = model.get_layer("body") if hasattr(model, "get_layer") and not hasattr(
        model, "backbone") else model.backbone.get_layer("body")
    head = model.head if hasattr(model, "head") else model.get_layer("head")
    w1, b1 = (np.asarray(keras.ops.convert_to_numpy(v), np.float64) for v in body.weights)
    w2, b2 = (np.asarray(keras.ops.convert_to_numpy(v), np.float64) for v in head.weights)
    return w1, b1, w2, b2


def features_np(model, x):
    w1, b1, _, _ = numpy_parts(model)
    return np.maximum(x.astype(np.float64) @ w1 + b1, 0.0)
