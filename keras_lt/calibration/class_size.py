"""The class-size rule: logits divided by N_c^tau (Ye et al. 2020, eq. 5)."""

import numpy as np

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.calibration.constant_weight import add_constant_weight
from keras_lt.calibration.features import check_raw_logits, output_width
from keras_lt.calibration.tau_normalization import _validate_tau
from keras_lt.losses.class_weights import validate_class_counts


@keras_lt_export("ScaledLogitsClassifier")
class ScaledLogitsClassifier(keras.Model):
    """Scores `model(x) * scale`: a trained model's logits, rescaled per class.

    Returned by `class_size_calibrated_model`. The wrapped model's weights are
    shared (not copied); `scale` is a constant `[C]`.

    Args:
        model: the trained classifier (returns logits `[B, C]`).
        scale: per-class multipliers `[C]`.
    """

    def __init__(self, model, scale, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.scale = add_constant_weight(self, "scale", scale, 1, "1-D [C]")
        self.built = True  # all weights exist; the wrapped model is built

    def call(self, x):
        logits = self.model(x, training=False)
        width = logits.shape[-1]
        if width is not None and width != self.scale.shape[0]:
            raise ValueError(
                f"The model scores {width} classes but {self.scale.shape[0]} scales "
                "(class counts) were given."
            )
        return ops.cast(logits, self.scale.dtype) * self.scale

    def get_config(self):
        return {
            "name": self.name,
            "model": keras.saving.serialize_keras_object(self.model),
            "scale": keras.ops.convert_to_numpy(self.scale).tolist(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)


def class_size_calibrated_model(model, class_counts, tau=1.0):
    """The classifier with logits divided by the class sizes: z_c / N_c^tau.

    Ye et al.'s post-hoc rule (eq. 5): y_hat = argmax_c w_c . h / N_c^tau
    (tau = 0: the original model). It shrinks the frequent classes' logits
    most, which favours the rare classes where the winning logits are
    positive (as with softmax-trained heads); where they are negative (e.g. a
    sigmoid-trained head with a prior bias) dividing moves them toward 0 and
    favours the frequent classes instead, so tune tau on a balanced split. It divides the model's logits, so it applies to any head,
    including LDAM's cosine head; with a bias-free head it is exactly eq. (5),
    with a biased head the bias is divided too. `class_counts` are the
    training split's counts (the ones the model was trained with).

    Args:
        model: a trained classifier returning logits `[B, C]`.
        class_counts: per-class training counts `[C]`.
        tau: the exponent (tuned on a balanced validation split; the paper
            reports gains for tau in about [0, 1.5]).

    Returns:
        A `ScaledLogitsClassifier` (a `keras.Model`): `predict(x)` gives the
        calibrated logits `[N, C]`.

    Example:

    >>> calibrated = class_size_calibrated_model(model, counts, tau=0.5)
    >>> scores = calibrated.predict(x_test)

    Paper: Ye et al., "Identifying and Compensating for Feature Deviation in
    Imbalanced Deep Learning", 2020, sec. 4.1, eq. (5), suppl. B.5.
    """
    counts = validate_class_counts(class_counts).astype(np.float64)
    check_raw_logits(model)
    width = output_width(model)
    if width is not None and width != len(counts):
        raise ValueError(
            f"`class_counts` has {len(counts)} entries but the model scores {width} classes."
        )
    tau = _validate_tau(tau)
    scale = counts ** (-tau)
    return ScaledLogitsClassifier(model, scale.astype("float32"), name=f"{model.name}_class_size")
