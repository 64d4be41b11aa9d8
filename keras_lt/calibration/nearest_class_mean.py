"""Nearest-class-mean (NCM) classifier on L2-normalised penultimate features."""

import numpy as np

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.checks import whole_number
from keras_lt.calibration.features import ExtractFeatures
from keras_lt.calibration.features import feature_extractor as _extractor_for
from keras_lt.calibration.features import features_of
from keras_lt.calibration.features import output_width
from keras_lt.data.imbalance import check_labels

METRICS = ("cosine", "euclidean")
_EPS = 1e-12


def _l2_normalize_np(h):
    h = np.asarray(h, dtype=np.float64).reshape(len(h), -1)
    return h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), _EPS)


@keras_lt_export("NearestClassMean")
class NearestClassMean(keras.Model):
    """Classifies by the nearest class mean of L2-normalised features.

    `fit(x, y)` computes, for every class c, the mean of the training
    features h / ||h||_2 of that class, mu_c. The scores of a sample are

        cosine:     s_c(x) = <h / ||h||, mu_c / ||mu_c||>        (default)
        euclidean:  s_c(x) = -|| h / ||h|| - mu_c ||_2^2

    and the prediction is argmax_c s_c. The features are the penultimate
    ones, h (the input of the last dense layer): `model.extract_features(x)`
    for a `LongTailModel`, the input of the last `Dense` layer of a
    functional / Sequential model, or the output of `feature_extractor`.
    It is a `keras.Model`: `predict(x)`, `__call__` and `evaluate` return
    the scores `[N, C]` like any classifier (its own `fit` computes the
    means instead of training by gradients).

    Args:
        model: the trained classifier whose features to use.
        feature_extractor: a model mapping x to h, instead of `model`.
        metric: "cosine" (default) or "euclidean".
        num_classes: number of classes (default: the width of `model`'s
            head; with `feature_extractor`, max label + 1 in `fit`).

    Example:

    >>> ncm = NearestClassMean(model).fit(x_train, y_train)
    >>> scores = ncm.predict(x_test)             # [N, C]
    >>> ncm.save("ncm.keras")                    # keras.saving.load_model reads it back

    Papers: Ye et al., "Identifying and Compensating for Feature Deviation in
    Imbalanced Deep Learning", 2020, suppl. B (NCM post-processing, features
    L2-normalised); Kang et al., ICLR 2020 (NCM on normalised features).
    """

    def __init__(self, model=None, feature_extractor=None, metric="cosine",
                 num_classes=None, **kwargs):
        super().__init__(**kwargs)
        if (model is None) == (feature_extractor is None):
            raise ValueError("Pass exactly one of `model` and `feature_extractor`.")
        if metric not in METRICS:
            raise ValueError(f"`metric` must be one of {METRICS}, got {metric!r}.")
        self.metric = metric
        if num_classes is None and model is not None:
            num_classes = output_width(model)
        self.num_classes = (None if num_classes is None
                            else whole_number(num_classes, "num_classes", minimum=1))
        self.features = (
            _extractor_for(model) if model is not None else feature_extractor
        )
        self.class_means = None
        self.class_counts = None

    def _make_class_means(self, shape):
        if self.class_means is None or tuple(self.class_means.shape) != tuple(shape):
            self.class_means = self.add_weight(
                shape=tuple(shape), initializer="zeros", trainable=False, name="class_means"
            )

    # -- saving ----------------------------------------------------------------

    def get_config(self):
        if not isinstance(self.features, keras.layers.Layer):
            raise TypeError(
                "A NearestClassMean over a plain function cannot be saved: pass the "
                "feature extractor as a keras.Model (or build it from `model`)."
            )
        return {
            "name": self.name,
            "feature_extractor": keras.saving.serialize_keras_object(self.features),
            "metric": self.metric,
            "num_classes": self.num_classes,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["feature_extractor"] = keras.saving.deserialize_keras_object(
            config["feature_extractor"]
        )
        return cls(**config)

    def get_build_config(self):
        if self.class_means is None:
            return {}
        return {"class_means_shape": list(self.class_means.shape)}

    def build_from_config(self, config):
        """Re-creates the (fitted) class means so that `load_model` can fill them."""
        if config and "class_means_shape" in config:
            self._make_class_means(config["class_means_shape"])
            self.built = True

    # -- fitting ---------------------------------------------------------------

    def _batch_features(self, x):
        return keras.ops.convert_to_numpy(features_of(self.features, x))

    def _features_of_array(self, x, batch_size):
        model = getattr(self.features, "model", None)
        if isinstance(self.features, ExtractFeatures) and hasattr(model, "predict_features"):
            return model.predict_features(x, batch_size=batch_size, verbose=0)
        if isinstance(self.features, keras.Model):
            return self.features.predict(x, batch_size=batch_size, verbose=0)
        return np.concatenate(
            [self._batch_features(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        )

    def fit(self, x, y=None, batch_size=256, **unused):
        """Computes the class means from `(x, y)` arrays or a dataset of `(x, y)` batches.

        Returns `self`. Every class in `range(num_classes)` must appear.
        """
        if unused:
            raise TypeError(
                f"NearestClassMean.fit takes x, y and batch_size, got {sorted(unused)}: "
                "it computes class means, it does not train by gradients."
            )
        if y is not None:
            labels = check_labels(y, self.num_classes, name="y")
            features = self._features_of_array(x, batch_size)
        else:
            feats, labs = [], []
            for batch in x:
                xb, yb = batch[0], batch[1]
                feats.append(self._batch_features(xb))
                labs.append(check_labels(keras.ops.convert_to_numpy(yb), name="y"))
            features = np.concatenate(feats)
            labels = check_labels(np.concatenate(labs), self.num_classes)
        if len(features) != len(labels):
            raise ValueError(f"Got {len(features)} feature rows for {len(labels)} labels.")
        num_classes = self.num_classes or int(labels.max()) + 1
        normalized = _l2_normalize_np(features)
        counts = np.bincount(labels, minlength=num_classes)
        if np.any(counts == 0):
            raise ValueError(
                f"Classes {np.flatnonzero(counts == 0).tolist()} have no samples: "
                "cannot compute their means."
            )
        sums = np.zeros((num_classes, normalized.shape[1]))
        np.add.at(sums, labels, normalized)
        means = (sums / counts[:, None]).astype("float32")
        self._make_class_means(means.shape)
        self.class_means.assign(means)
        self.class_counts = counts
        self.num_classes = num_classes
        self.predict_function = None  # JAX bakes nothing in, but be explicit
        self.built = True
        return self

    # -- scoring ---------------------------------------------------------------

    def call(self, x):
        if self.class_means is None:
            raise ValueError("Call `fit(x, y)` first: the class means are not computed.")
        h = ops.cast(features_of(self.features, x), "float32")
        h = ops.reshape(h, (ops.shape(h)[0], -1))
        h = h / ops.maximum(ops.norm(h, axis=-1, keepdims=True), _EPS)
        means = ops.convert_to_tensor(self.class_means)
        if self.metric == "cosine":
            unit = means / ops.maximum(ops.norm(means, axis=-1, keepdims=True), _EPS)
            return ops.matmul(h, ops.transpose(unit))
        distances = (
            ops.sum(h * h, axis=-1, keepdims=True)
            - 2.0 * ops.matmul(h, ops.transpose(means))
            + ops.sum(means * means, axis=-1)[None, :]
        )
        return -distances
