"""L2 weight decay as regularisers (the coupled form, in the model).

The papers' "SGD, weight decay 2e-4" is PyTorch's coupled decay: wd * w is
added to the gradient before the momentum, i.e. the gradient of an L2
penalty (wd / 2) * ||w||^2 on every parameter. keras_lt's recipes apply it in
the optimizer (`keras_lt.schedules.TorchStyleSGD`, see its module
docstring), so the models carry no regulariser by default. For other
optimizers, `add_l2_weight_decay` gives the same coupled decay as
regularisers: an L2 term of coefficient wd / 2 on each trainable variable
(kernels, biases, batch-norm gamma and beta, as the reference's
`model.parameters()`). Use one form or the other, never both.

Keras's own `SGD(weight_decay=...)` is the decoupled form (w -= lr * wd * w
outside the momentum), a different regulariser with momentum.
"""

import keras

# Layer attribute of a weight -> the constructor argument that serialises it.
_REGULARIZER_ARGS = (
    ("kernel", "kernel_regularizer"),
    ("depthwise_kernel", "depthwise_regularizer"),
    ("bias", "bias_regularizer"),
    ("gamma", "gamma_regularizer"),
    ("beta", "beta_regularizer"),
)


def add_l2_weight_decay(model, weight_decay, exclude=()):
    """Adds L2 regularisers (wd / 2) ||w||^2 to the trainable variables of `model`.

    Args:
        model: a built model or layer.
        weight_decay: the (PyTorch-style, coupled) decay coefficient wd, >= 0
            (2e-4 in the papers); 0 does nothing.
        exclude: variables to leave undecayed (e.g.
            `LongTailModel.no_weight_decay_variables`, the prior bias).

    Returns:
        the number of variables that got a regulariser.

    The regulariser is also set on the owning layer's `*_regularizer`
    attribute where it has one, so that it is saved in the layer config.
    """
    weight_decay = float(weight_decay)
    if not weight_decay >= 0.0:
        raise ValueError(f"`weight_decay` must be >= 0, got {weight_decay}.")
    if weight_decay == 0.0:
        return 0
    if not model.built:
        raise ValueError("Build the model before adding weight decay to its variables.")
    excluded = {id(v) for v in exclude}
    owners = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for attribute, argument in _REGULARIZER_ARGS:
            variable = getattr(layer, attribute, None)
            if isinstance(variable, keras.Variable) and hasattr(layer, argument):
                owners[id(variable)] = (layer, argument)
    count = 0
    for variable in model.trainable_weights:
        if id(variable) in excluded:
            continue
        regularizer = keras.regularizers.L2(weight_decay / 2.0)
        variable.regularizer = regularizer
        if id(variable) in owners:
            layer, argument = owners[id(variable)]
            setattr(layer, argument, regularizer)
        count += 1
    return count
