"""Where a trained classifier's penultimate features h and linear head are.

Shared by the post-hoc calibrations: they re-use h = f(x), the input of the
last dense layer, and the head's class vectors w_c (the columns of the Dense
kernel, shape [D, C]).

* A `LongTailModel` (or any model with `extract_features(x)` and a `head`
  attribute): h = `model.extract_features(x)`, the head is `model.head`.
* A functional or Sequential `keras.Model` whose last layer is a `Dense`:
  h = the input of that layer (a feature-extractor sub-model is built from
  the model's own layers, sharing their weights).
* Otherwise pass the head and a feature-extractor model explicitly.
"""

import keras

from keras_lt.api_export import keras_lt_export
from keras_lt.models.output_activation import output_activation


def find_head(model, head=None):
    """The linear head: `head`, else `model.head`, else the model's last layer."""
    if head is None:
        head = getattr(model, "head", None)
        if not isinstance(head, keras.layers.Layer):
            layers = getattr(model, "layers", None) or []
            head = layers[-1] if layers else None
    if head is None:
        raise ValueError(
            f"Cannot find the classification head of {type(model).__name__}: pass "
            "`head=` (the last Dense layer)."
        )
    if not isinstance(head, keras.layers.Dense):
        raise ValueError(
            f"The head must be a keras.layers.Dense (a linear map h @ W + b), got "
            f"{type(head).__name__} '{head.name}'. A normalised (cosine) head has "
            "unit class vectors already, so tau-normalisation would change nothing; "
            "use the class-size rule (class_size_calibrated_model) instead."
        )
    if output_activation(head) != "linear":
        raise ValueError(
            f"The head '{head.name}' has activation {head.activation!r}: the "
            "calibrations need the raw logits (a linear head)."
        )
    if not head.built:
        raise ValueError(f"The head '{head.name}' is not built: train or build the model first.")
    return head


def check_raw_logits(model):
    """Raises ValueError when `model` visibly ends in a softmax or another activation.

    The calibrations rescale logits; probabilities rescaled per class are not
    the paper's rule. Checks `model.head` (else the last layer) with
    `output_activation`: a Softmax layer, or any layer (Dense, Activation,
    Conv, ...) whose `activation` is not linear, also at the end of a
    Sequential head.
    """
    last = getattr(model, "head", None)
    if not isinstance(last, keras.layers.Layer):
        layers = getattr(model, "layers", None) or []
        last = layers[-1] if layers else None
    name = output_activation(last)
    if name not in (None, "linear"):
        raise ValueError(
            f"The model ends in a {name} ('{last.name}'): the calibrations need the raw "
            "logits. Calibrate the model without its final activation."
        )


def output_width(model):
    """The number of classes `model` scores (its head's units), or None if unknown."""
    head = getattr(model, "head", None)
    units = getattr(head, "units", None)
    if units is None:
        try:
            units = model.output_shape[-1]
        except (AttributeError, ValueError, TypeError, IndexError):
            units = None
    return None if units is None else int(units)


def feature_extractor(model, head=None):
    """A callable layer mapping x to h, for `model` (see the module docstring)."""
    if hasattr(model, "extract_features"):
        return ExtractFeatures(model)
    head = find_head(model, head)
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            f"{type(model).__name__} has no `extract_features` and is not a "
            "functional/Sequential model: pass a feature-extractor model (x -> h)."
        )
    try:
        features = head.input
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"Cannot take the input of the head '{head.name}' (called more than "
            "once?): pass a feature-extractor model (x -> h)."
        ) from error
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        inputs = inputs[0]
    return keras.Model(inputs, features, name=f"{model.name}_features")


@keras_lt_export("ExtractFeatures")
class ExtractFeatures(keras.layers.Layer):
    """Layer wrapper of `model.extract_features(x)` (inference mode)."""

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model

    def call(self, x):
        return self.model.extract_features(x, training=False)

    def get_config(self):
        config = super().get_config()
        config["model"] = keras.saving.serialize_keras_object(self.model)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)


def features_of(extractor, x):
    """Calls `extractor` (a layer or model) on `x` in inference mode."""
    if isinstance(extractor, ExtractFeatures):
        return extractor(x)
    return extractor(x, training=False)
