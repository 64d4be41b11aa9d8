"""Hyper-parameter search with KerasTuner, without peeking at the test set.

    run_search(TrainConfig("cifar10", epochs=200), method="ldam-drw",
               tuner="random", max_trials=20)        search, retrain, test
    keras-lt tune cifar10 --method ldam-drw --max-trials 20

HyperModels (the papers' search spaces by default, `search_space=` to change
them; a one-value list pins one): ClassBalancedHyperModel, LDAMHyperModel,
CDTHyperModel, IBHyperModel, MFWHyperModel, TauHyperModel (post-hoc);
`make_hypermodel(method, data, config)` picks one. The data of a search
come from `load_search_data` (the training split only, with a balanced
validation split held out from it). See `keras_lt.tuning.search` for the
protocol, `keras_lt.tuning.distributed` for KerasTuner's chief/worker mode.

KerasTuner is optional (the "tuning" extra): this package imports it only
when one of these names is used.
"""

import importlib

_EXPORTS = {
    "LongTailHyperModel": "keras_lt.tuning.base_hypermodel",
    "search_objective": "keras_lt.tuning.base_hypermodel",
    "ClassBalancedHyperModel": "keras_lt.tuning.class_balanced_hypermodel",
    "LDAMHyperModel": "keras_lt.tuning.ldam_hypermodel",
    "CDTHyperModel": "keras_lt.tuning.cdt_hypermodel",
    "IBHyperModel": "keras_lt.tuning.ib_hypermodel",
    "MFWHyperModel": "keras_lt.tuning.mfw_hypermodel",
    "TauHyperModel": "keras_lt.tuning.tau_hypermodel",
    "tune_tau": "keras_lt.tuning.tau_hypermodel",
    "HYPERMODELS": "keras_lt.tuning.hypermodels",
    "make_hypermodel": "keras_lt.tuning.hypermodels",
    "SearchData": "keras_lt.tuning.search_data",
    "load_search_data": "keras_lt.tuning.search_data",
    "run_search": "keras_lt.tuning.search",
    "make_tuner": "keras_lt.tuning.search",
    "retrain_best": "keras_lt.tuning.search",
    "SearchResult": "keras_lt.tuning.search",
    "read_trials": "keras_lt.tuning.trials_table",
    "best_trial": "keras_lt.tuning.trials_table",
    "write_trials_table": "keras_lt.tuning.trials_table",
    "plot_trials": "keras_lt.tuning.trials_table",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_lt.tuning' has no attribute {name!r}")


def __dir__():
    return __all__
