"""`build_model`: the one-call model builder the recipes use."""

import re

import keras

from keras_lt.checks import whole_number
from keras_lt.models.cifar_resnet import cifar_resnet, is_cifar_resnet_depth
from keras_lt.models.classification_head import classification_head
from keras_lt.models.feature_weakening import MajorFeatureWeakening
from keras_lt.models.long_tail_model import LongTailModel
from keras_lt.models.resnet18 import resnet18
from keras_lt.models.resnet50 import resnet50
from keras_lt.models.weight_decay import add_l2_weight_decay

HEADS = ("dense", "cosine", "prior_bias")
DEFAULT_INPUT_SHAPES = {"resnet18": (64, 64, 3), "resnet50": (224, 224, 3)}


# The names `backbone_depth` knows, for error messages.
BACKBONE_NAMES = ("'resnet20', 'resnet32', 'resnet44', 'resnet56', 'resnet110' "
                  "(CIFAR: any depth 6n + 2), 'resnet18' or 'resnet50'")


def backbone_depth(name):
    """The depth of a backbone name `build_backbone` builds ("resnet32" -> 32),
    or a ValueError that lists the names."""
    match = re.fullmatch(r"resnet(\d+)", str(name))
    depth = int(match.group(1)) if match else None
    if depth not in (18, 50) and not is_cifar_resnet_depth(depth):
        raise ValueError(f"Unknown backbone {name!r}: use {BACKBONE_NAMES}.")
    return depth


def build_backbone(name, input_shape=None):
    """A backbone by name: "resnet<6n+2>" (CIFAR: 20, 32, 44, 56, 110, ...),
    "resnet18" (64x64) or "resnet50" (224x224, keras.applications)."""
    depth = backbone_depth(name)
    shape = tuple(input_shape) if input_shape is not None else None
    if depth == 18:
        return resnet18(shape or DEFAULT_INPUT_SHAPES["resnet18"])
    if depth == 50:
        return resnet50(shape or DEFAULT_INPUT_SHAPES["resnet50"])
    return cifar_resnet(depth, shape or (32, 32, 3))


def build_model(
    backbone="resnet32",
    num_classes=10,
    input_shape=None,
    head="dense",
    prior_bias=False,
    feature_weakening=None,
    augmentation=None,
    weight_decay=None,
    seed=None,
    name=None,
):
    """Builds a `LongTailModel`: backbone, optional weakening and augmentation, head.

    Args:
        backbone: a name for `build_backbone` ("resnet32", "resnet18",
            "resnet50", ...) or a Keras layer/model producing features.
        num_classes: number of classes C.
        input_shape: image shape; default (32, 32, 3) for the CIFAR ResNets,
            (64, 64, 3) for ResNet-18, (224, 224, 3) for ResNet-50.
        head: "dense", "cosine" (`NormalizedDense`, for LDAM) or "prior_bias"
            (dense with the bias at -log((1 - pi) / pi), pi = 1/C).
        prior_bias: same as `head="prior_bias"` with a dense head (for the
            class-balanced sigmoid / focal losses).
        feature_weakening: None, a `MajorFeatureWeakening` layer, or a dict
            of its arguments (`class_counts`, `alpha`, `scale`, `after`;
            `seed` defaults to `seed`).
        augmentation: optional layer called on the inputs with the `training`
            flag, in training and inference: `keras_lt.data`'s pad-crop-flip
            acts only in training; a `Normalization` inside it always.
        weight_decay: None (default; decay in the optimizer, e.g.
            `TorchStyleSGD(weight_decay=2e-4)`) or a coefficient wd for L2
            regularisers (wd / 2) ||w||^2 on every weight but the prior bias
            (the coupled form; see `weight_decay.py`). Not both.
        seed: seed of the feature weakening when given as a dict.
        name: model name (default "<backbone>_long_tail").

    Returns:
        a built `LongTailModel`. Keep `model.no_weight_decay_variables` out of
        the optimizer's decay: `optimizer.exclude_from_weight_decay(var_list=
        model.no_weight_decay_variables)`.

    Example:
        >>> model = build_model("resnet32", 10, head="cosine")
        >>> model = build_model("resnet32", 10, feature_weakening=dict(
        ...     class_counts=counts, alpha=2.0, scale=2.0, after="stage1"), seed=0)
    """
    num_classes = whole_number(num_classes, "num_classes", minimum=1)
    if head not in HEADS:
        raise ValueError(f"`head` must be one of {list(HEADS)}, got {head!r}.")
    if head == "prior_bias":
        head, prior_bias = "dense", True
    if isinstance(backbone, str):
        backbone_name = backbone
        backbone = build_backbone(backbone, input_shape)
    elif isinstance(backbone, keras.layers.Layer):
        backbone_name = backbone.name
    else:
        raise ValueError(
            f"`backbone` must be a name or a Keras layer, got {type(backbone).__name__}."
        )
    if input_shape is None:
        input_shape = getattr(backbone, "input_shape", None)
        if input_shape is None:
            raise ValueError("Give `input_shape` for a backbone without a known input.")
        input_shape = tuple(input_shape)[1:]
    input_shape = tuple(input_shape)
    if isinstance(feature_weakening, dict):
        arguments = dict(feature_weakening)
        arguments.setdefault("seed", seed)
        feature_weakening = MajorFeatureWeakening(name="feature_weakening", **arguments)
    elif feature_weakening is not None and not isinstance(
        feature_weakening, MajorFeatureWeakening
    ):
        raise ValueError(
            "`feature_weakening` must be None, a MajorFeatureWeakening layer or a "
            f"dict of its arguments, got {type(feature_weakening).__name__}."
        )
    model = LongTailModel(
        backbone=backbone,
        head=classification_head(int(num_classes), kind=head, prior_bias=prior_bias),
        feature_weakening=feature_weakening,
        augmentation=augmentation,
        name=name or f"{backbone_name}_long_tail",
    )
    model.build((None,) + input_shape)
    if weight_decay is not None:
        add_l2_weight_decay(model, weight_decay, exclude=model.no_weight_decay_variables)
    return model
