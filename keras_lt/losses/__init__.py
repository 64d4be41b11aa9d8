"""Losses for long-tailed classification: integer labels, logits, keras.ops only.

Every loss is a `keras.losses.Loss` subclass of `LongTailLoss`: state that a
callback changes mid-training is a non-trainable `keras.Variable` listed by
`loss.state_variables` (see CONTRIBUTING.md).
"""

from keras_lt.losses.cdt import CDTLoss
from keras_lt.losses.class_balanced import ClassBalancedLoss
from keras_lt.losses.class_weights import effective_number_weights
from keras_lt.losses.class_weights import inverse_frequency_weights
from keras_lt.losses.class_weights import normalize_weights
from keras_lt.losses.class_weights import validate_beta
from keras_lt.losses.class_weights import validate_class_counts
from keras_lt.losses.class_weights import validate_non_negative
from keras_lt.losses.class_weights import validate_positive
from keras_lt.losses.focal import FocalLoss
from keras_lt.losses.influence_balanced import IBLoss
from keras_lt.losses.ldam import LDAMLoss
from keras_lt.losses.ldam import ldam_margins
from keras_lt.losses.long_tail_loss import LongTailLoss
from keras_lt.losses.weighted_cross_entropy import WeightedCrossEntropy

__all__ = [
    "CDTLoss",
    "ClassBalancedLoss",
    "FocalLoss",
    "IBLoss",
    "LDAMLoss",
    "LongTailLoss",
    "WeightedCrossEntropy",
    "effective_number_weights",
    "inverse_frequency_weights",
    "ldam_margins",
    "normalize_weights",
    "validate_beta",
    "validate_class_counts",
    "validate_non_negative",
    "validate_positive",
]
