"""`output_activation`: the activation a layer's output visibly ends in.

Every keras_lt loss and calibration works on logits, so a model whose last
layer applies a softmax (or any other activation) is a mistake they check
for. Used by `LongTailModel.compile` (a warning for a softmax or sigmoid head
under a keras_lt loss, and `last_layer` for LDAM's cosine head) and by the
calibrations (an error for any activation).
"""

import keras


def last_layer(layer):
    """The layer that makes `layer`'s output, looking through nested `keras.Sequential`s
    and single-output functional models."""
    while isinstance(layer, keras.Model):
        if isinstance(layer, keras.Sequential):
            if not layer.layers:
                break
            layer = layer.layers[-1]
            continue
        outputs = getattr(layer, "outputs", None)  # functional; a subclassed model has none
        if not outputs or len(outputs) != 1:
            break
        history = getattr(outputs[0], "_keras_history", None)
        if history is None:
            break
        layer = history.operation
    return layer


def output_activation(layer):
    """The name of the activation ending `layer`'s output, or None if none is visible.

    Looks through nested `keras.Sequential`s and functional models to the
    last layer (`last_layer`). A `keras.layers.Softmax` gives "softmax". A
    layer with an `activation` attribute (Dense, Activation, Conv, ...) gives
    its name: "linear" when it
    is None or `linear` (Keras then applies none), the string itself when it
    is a string, the name of the layer's own activation when it is a layer
    (`Dense(activation=keras.layers.Softmax())`), else the function's
    `__name__`. Any other layer gives None.
    """
    layer = last_layer(layer)
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if not hasattr(layer, "activation"):
        return None
    activation = layer.activation
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    if isinstance(activation, keras.layers.Layer):
        return output_activation(activation)
    name = getattr(activation, "__name__", None)
    if name is None:  # e.g. functools.partial(keras.activations.softmax, axis=-1)
        name = getattr(getattr(activation, "func", None), "__name__", None)
    return name or type(activation).__name__
