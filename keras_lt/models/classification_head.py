"""Classification heads: plain dense (optionally prior-initialised bias) or cosine."""

import math

import keras

from keras_lt.checks import whole_number
from keras_lt.models.normalized_dense import NormalizedDense

HEAD_KINDS = ("dense", "cosine")


def prior_bias_value(num_classes):
    """-log((1 - pi) / pi) with pi = 1 / C: the bias of the sigmoid / focal losses.

    Cui et al. 2019 (class-balanced loss), sec. 4.3 / Lin et al. 2017 (focal
    loss): starting every class at probability pi = 1/C under a sigmoid keeps
    the one-vs-all loss of the C - 1 negatives from swamping the first steps.
    Equals -log(C - 1).
    """
    num_classes = int(num_classes)
    if num_classes < 2:
        raise ValueError(
            f"A prior bias needs at least 2 classes (pi = 1/C < 1), got {num_classes}."
        )
    pi = 1.0 / num_classes
    return -math.log((1.0 - pi) / pi)


def classification_head(
    num_classes,
    kind="dense",
    prior_bias=False,
    kernel_initializer="he_normal",
    name="head",
):
    """The last layer, mapping penultimate features h to logits z.

    Args:
        num_classes: number of classes C (>= 1; >= 2 with `prior_bias`).
        kind: "dense" (z = W h + b) or "cosine" (`NormalizedDense`, for LDAM:
            z_c = cos(h, w_c), no bias).
        prior_bias: dense only: initialise the bias to -log((1 - pi) / pi),
            pi = 1/C (class-balanced sigmoid / focal losses). Keep weight decay
            off that bias: `LongTailModel.no_weight_decay_variables` names it.
        kernel_initializer: dense kernel initializer ("he_normal", as the
            reference CIFAR ResNet's `_weights_init`, kaiming normal).
        name: layer name ("head").

    Returns:
        a `keras.layers.Dense` or `NormalizedDense` layer.
    """
    num_classes = whole_number(num_classes, "num_classes", minimum=1)
    if kind not in HEAD_KINDS:
        raise ValueError(f"`kind` must be one of {list(HEAD_KINDS)}, got {kind!r}.")
    num_classes = int(num_classes)
    if kind == "cosine":
        if prior_bias:
            raise ValueError(
                "`prior_bias=True` needs a dense head: the cosine head has no bias."
            )
        return NormalizedDense(num_classes, name=name)
    bias_initializer = "zeros"
    if prior_bias:
        bias_initializer = keras.initializers.Constant(prior_bias_value(num_classes))
    return keras.layers.Dense(
        num_classes,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        name=name,
    )
