"""tau-normalisation of the classifier head (Kang et al. 2020; Ye et al. 2020 eq. 4)."""

import numpy as np

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.calibration.constant_weight import add_constant_weight
from keras_lt.calibration.features import feature_extractor
from keras_lt.calibration.features import features_of
from keras_lt.calibration.features import find_head


def _validate_tau(tau):
    tau = float(tau)
    if not np.isfinite(tau):
        raise ValueError(f"`tau` must be a finite number, got {tau}.")
    return tau


@keras_lt_export("LinearHeadClassifier")
class LinearHeadClassifier(keras.Model):
    """Scores `features(x) @ kernel + bias`: a trained model's features, a new head.

    Returned by `tau_normalized_model`. `predict`, `__call__` and `evaluate`
    behave as on any Keras model; the features extractor's weights are
    shared with the original model (not copied), the kernel and bias are
    constants (non-trainable).

    Args:
        features: a layer or model mapping x to h `[B, D]`.
        kernel: `[D, C]` class vectors (columns).
        bias: optional `[C]`.
    """

    def __init__(self, features, kernel, bias=None, **kwargs):
        super().__init__(**kwargs)
        self.features = features
        self.kernel = add_constant_weight(self, "kernel", kernel, 2, "[D, C]")
        self.bias = None
        if bias is not None:
            classes = self.kernel.shape[1]
            bias = np.asarray(bias, dtype="float32")
            if bias.shape != (classes,):
                raise ValueError(f"`bias` must have shape ({classes},), got {bias.shape}.")
            self.bias = add_constant_weight(self, "bias", bias)
        self.built = True  # all weights exist; the features model is built

    def call(self, x):
        h = ops.cast(features_of(self.features, x), self.kernel.dtype)
        logits = ops.matmul(h, self.kernel)
        if self.bias is not None:
            logits = logits + self.bias
        return logits

    def get_config(self):
        # Shapes only: the values are weights, saved with the model's weights.
        return {
            "name": self.name,
            "features": keras.saving.serialize_keras_object(self.features),
            "kernel_shape": list(self.kernel.shape),
            "use_bias": self.bias is not None,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        shape = tuple(config.pop("kernel_shape"))
        use_bias = config.pop("use_bias")
        features = keras.saving.deserialize_keras_object(config.pop("features"))
        return cls(
            features, np.zeros(shape, "float32"),
            np.zeros(shape[1], "float32") if use_bias else None, **config,
        )


def tau_normalized_model(model, tau=1.0, head=None, features=None, keep_bias=False):
    """The classifier with its class vectors rescaled: w_c / ||w_c||_2^tau.

        z_c(x) = w_c . h(x) / ||w_c||_2^tau        (+ b_c with keep_bias=True)

    tau = 0 gives the original head (without its bias, unless `keep_bias`);
    tau = 1 makes every class vector unit-norm, removing the larger norms
    that the frequent classes' vectors grow under imbalance. The formula has
    no bias (Ye et al. eq. 4; Kang et al.'s tau-normalisation also drops it),
    so by default the bias is dropped; `keep_bias=True` keeps it unchanged.

    Args:
        model: a trained classifier: a `LongTailModel` (features from
            `extract_features`, head `model.head`) or a functional /
            Sequential model whose last layer is a linear `Dense`.
        tau: the exponent (tuned in [0, 1] on a balanced validation split).
        head: the Dense head, when it cannot be found as above.
        features: a feature-extractor model (x -> h), when it cannot be
            derived from `model`.
        keep_bias: keep the head's bias (default False, as in the formula).

    Returns:
        A `LinearHeadClassifier` (a `keras.Model`): `predict(x)` gives the
        calibrated logits `[N, C]`.

    Example:

    >>> calibrated = tau_normalized_model(model, tau=1.0)
    >>> scores = calibrated.predict(x_test)

    Papers: Kang et al., "Decoupling Representation and Classifier for
    Long-Tailed Recognition", ICLR 2020; Ye et al., "Identifying and
    Compensating for Feature Deviation in Imbalanced Deep Learning", 2020,
    sec. 4.1, eq. (4).
    """
    tau = _validate_tau(tau)
    head = find_head(model, head)
    kernel = np.asarray(keras.ops.convert_to_numpy(head.kernel), dtype=np.float64)
    norms = np.linalg.norm(kernel, axis=0)
    if np.any(norms == 0):
        raise ValueError(
            f"Class vectors {np.flatnonzero(norms == 0).tolist()} of the head have "
            "zero norm: cannot normalise them."
        )
    scaled = kernel / norms[None, :] ** tau
    bias = None
    if keep_bias and getattr(head, "bias", None) is not None:
        bias = keras.ops.convert_to_numpy(head.bias)
    extractor = features if features is not None else feature_extractor(model, head)
    return LinearHeadClassifier(
        extractor, scaled.astype("float32"), bias, name=f"{model.name}_tau_normalized"
    )
