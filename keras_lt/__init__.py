"""keras_lt: Keras 3 tools for long-tailed (class-imbalanced) classification.

    import keras_lt
    model = keras_lt.models.build_model("resnet32", num_classes=10, head="cosine")
    model.compile(optimizer="sgd", loss=keras_lt.LDAMLoss(counts),
                  metrics=[keras_lt.BalancedAccuracy(10)])
    model.fit(x, y, callbacks=[keras_lt.callbacks.DeferredReweighting(counts, start_epoch=160)])

Areas: `losses`, `models`, `callbacks`, `schedules`, `calibration`, `data`,
`evaluation`; `training` (the recipes' code path) and `tuning` (KerasTuner, an
extra) load on first use. CONTRIBUTING.md has the map.
"""

__version__ = "0.1.0"

from keras_lt import callbacks
from keras_lt import calibration
from keras_lt import data
from keras_lt import evaluation
from keras_lt import losses
from keras_lt import models
from keras_lt import schedules
from keras_lt.evaluation import BalancedAccuracy
from keras_lt.evaluation import ShotGroupAccuracy
from keras_lt.evaluation import evaluate_model
from keras_lt.evaluation import evaluation_report
from keras_lt.data import load_long_tailed
from keras_lt.losses import CDTLoss
from keras_lt.losses import ClassBalancedLoss
from keras_lt.losses import FocalLoss
from keras_lt.losses import IBLoss
from keras_lt.losses import LDAMLoss
from keras_lt.losses import WeightedCrossEntropy
from keras_lt.losses import effective_number_weights
from keras_lt.losses import inverse_frequency_weights
from keras_lt.models import LongTailModel
from keras_lt.models import build_model

__all__ = [
    # areas
    "callbacks", "calibration", "data", "evaluation", "losses", "models", "schedules",
    # losses (DESIGN.md's public names) and their weightings
    "CDTLoss", "ClassBalancedLoss", "FocalLoss", "IBLoss", "LDAMLoss", "WeightedCrossEntropy",
    "effective_number_weights", "inverse_frequency_weights",
    # models, data, evaluation
    "LongTailModel", "build_model", "load_long_tailed",
    "BalancedAccuracy", "ShotGroupAccuracy", "evaluate_model", "evaluation_report",
]


_LAZY_AREAS = ("training", "tuning")  # heavier or optional: imported on first access


def __getattr__(name):
    if name in _LAZY_AREAS:
        import importlib

        return importlib.import_module(f"keras_lt.{name}")
    raise AttributeError(f"module 'keras_lt' has no attribute {name!r}")
