"""`add_constant_weight`: a calibrated classifier's fixed per-class numbers.

The post-hoc calibrations wrap a trained model in a small `keras.Model` that
holds a few constant arrays (a rescaled head's kernel and bias, per-class
logit scales) as non-trainable float32 weights, so that they are saved with
the model's weights.
"""

import numpy as np

import keras


def add_constant_weight(layer, name, value, ndim=None, shape_text=None):
    """Adds `value` to `layer` as the non-trainable float32 weight `name`.

    Args:
        layer: the layer or model that owns the weight.
        name: the weight's name (also used in the error message).
        value: the array; converted to float32.
        ndim: optional required number of dimensions; ValueError otherwise,
            naming the expected shape `shape_text` (e.g. `"[D, C]"`).

    Returns:
        The new weight, initialised to `value`.
    """
    value = np.asarray(value, dtype="float32")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"`{name}` must be {shape_text}, got shape {value.shape}.")
    return layer.add_weight(
        shape=value.shape, initializer=keras.initializers.Constant(value),
        trainable=False, name=name,
    )
