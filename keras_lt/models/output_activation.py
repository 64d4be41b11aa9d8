"""`output_activation`: the activation a layer's output visibly ends in.

Every keras_lt loss and calibration works on logits, so a model whose last
layer applies a softmax (or any other activation) is a mistake they check
for. Used by `LongTailModel.compile` (a warning for a softmax or sigmoid head
under a keras_lt loss) and by the calibrations (an error for any activation).
"""

import keras


def output_activation(layer):
    """The name of the activation ending `layer`'s output, or None if none is visible.

    Looks through nested `keras.Sequential`s to the last layer: a
    `keras.layers.Softmax` gives "softmax"; a layer with an `activation`
    (Dense, Activation, Conv...) gives that function's name ("linear" for
    none); any other layer gives None.
    """
    while isinstance(layer, keras.Sequential) and layer.layers:
        layer = layer.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", type(activation).__name__)
