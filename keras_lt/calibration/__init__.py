"""Post-hoc calibration of a trained classifier (Ye et al. 2020 sec. 4.1, suppl. B).

    tau_normalized_model(model, tau)                     w_c / ||w_c||^tau
    class_size_calibrated_model(model, class_counts, tau) logits / N_c^tau
    NearestClassMean(model).fit(x, y)                    cosine to class means

Each returns a `keras.Model` whose `predict(x)` gives scores `[N, C]`.
"""

from keras_lt.calibration.class_size import ScaledLogitsClassifier
from keras_lt.calibration.class_size import class_size_calibrated_model
from keras_lt.calibration.features import ExtractFeatures
from keras_lt.calibration.features import feature_extractor
from keras_lt.calibration.features import find_head
from keras_lt.calibration.nearest_class_mean import NearestClassMean
from keras_lt.calibration.tau_normalization import LinearHeadClassifier
from keras_lt.calibration.tau_normalization import tau_normalized_model

__all__ = [
    "ExtractFeatures",
    "LinearHeadClassifier",
    "NearestClassMean",
    "ScaledLogitsClassifier",
    "class_size_calibrated_model",
    "feature_extractor",
    "find_head",
    "tau_normalized_model",
]
