"""Training runs, the code path of `keras-lt train` and of every recipe.

    config      TrainConfig: every setting of a run, the recipes' defaults
    methods     the method table (loss, head, callbacks of each method)
    experiment  train(config) / evaluate: data, model, fit, report, saving
    history, strategy, small_cnn, demo

Submodules load on first access (`keras_lt.training.experiment.train`).
"""

import importlib

_SUBMODULES = ("config", "demo", "experiment", "history", "methods", "small_cnn", "strategy")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
