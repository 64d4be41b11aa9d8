"""`LongTailHyperModel`: the KerasTuner HyperModel base shared by every method.

KerasTuner's convention (keras_tuner/engine/hypermodel.py): a HyperModel
validates its fixed arguments in `__init__`, builds and compiles a model in
`build(hp)`, and trains it in `fit(hp, model, ...)`, where the schedule knobs
are tuned. Here:

    __init__   the training split (class counts, input shape, normalisation),
               a `TrainConfig` template (dataset, backbone, epochs, batch size,
               schedule), the search space (the paper's by default;
               `search_space={"beta": [0.99, 0.999]}` replaces a list)
    build(hp)  the method's hyper-parameters -> a `TrainConfig` -> the model
               (`keras_lt.training.experiment.build_model`), the method's loss
               (`Method.build_loss`), the papers' SGD schedule, and the
               `BalancedAccuracy` / few-shot `ShotGroupAccuracy` metrics
    fit(hp, model, train, validation_data=val)
               the schedule knobs (DRW start, IB phase start, ...) become the
               method's phase callbacks (`Method.build_callbacks`); trains for
               the configured epochs and returns the *last* epoch's metrics
               (the retrain is judged at its last epoch too, METHODS.md)

The objective is `val_balanced_accuracy` (maximised) on a balanced validation
split held out from the training set (CDT supplement B.6); see
`keras_lt.tuning.search`. A hyper-parameter is pinned by a one-value list in
`search_space` (what `run_search(fixed=...)` does), or with KerasTuner's
`hp.Fixed(name, value)` in the tuner's `hyperparameters` where it is not
conditional.

Every hyper-parameter name that is a `TrainConfig` field (beta, gamma,
max_margin, scale, alpha, drw_epoch, phase_epoch) goes into the trial's
config as it is, so the best trial's values retrain with `keras-lt train`
unchanged.
"""

import dataclasses
import json
import os
import socket
import time
import types

import numpy as np

from keras_lt.atomic_write import atomic_write_text
from keras_lt.tuning.dependency import import_keras_tuner

kt = import_keras_tuner()
import keras  # noqa: E402  (after KerasTuner's own clear import error)

OBJECTIVE = "val_balanced_accuracy"
FEW_SHOT = "val_few_shot_accuracy"
TRIAL_INFO_FILE = "trial_info.json"


def search_objective():
    """`keras_tuner.Objective("val_balanced_accuracy", direction="max")`."""
    return kt.Objective(OBJECTIVE, direction="max")


# ------------------------------------------------------------ value checks


def _number(name, v):
    """`v` as a float; a string (e.g. "abc" from --values beta=abc) is refused by name."""
    if isinstance(v, (str, bytes, bool)) or not isinstance(v, (int, float, np.number)):
        raise ValueError(f"`{name}` values must be numbers, got {v!r}.")
    return float(v)


def _check_unit_interval(name, values):
    for v in values:
        if not 0.0 <= _number(name, v) < 1.0:
            raise ValueError(f"`{name}` values must lie in [0, 1), got {v!r}.")


def _check_non_negative(name, values):
    for v in values:
        if not _number(name, v) >= 0.0:
            raise ValueError(f"`{name}` values must be >= 0, got {v!r}.")


def _check_positive(name, values):
    for v in values:
        if not _number(name, v) > 0.0:
            raise ValueError(f"`{name}` values must be > 0, got {v!r}.")


VALUE_CHECKS = {
    "beta": _check_unit_interval,
    "gamma": _check_non_negative,
    "max_margin": _check_positive,
    "scale": _check_positive,
    "alpha": _check_positive,
    "tau": _check_non_negative,
}


def _as_choice_values(name, values):
    """A non-empty tuple of distinct plain Python values (KerasTuner `Choice`)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = [values]
    out = []
    for v in values:
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and v.is_integer() and name.endswith("_epoch"):
            v = int(v)
        if v not in out:
            out.append(v)
    if not out:
        raise ValueError(f"The search space of `{name}` is empty.")
    kinds = {type(v) for v in out}
    if kinds == {int, float}:
        out = [float(v) for v in out]
    elif len(kinds) > 1:
        raise ValueError(f"The values of `{name}` must share one type, got {out!r}.")
    return tuple(out)


def epochs_at(fractions, epochs):
    """Distinct epochs round(f * epochs) in [0, epochs - 1], ascending."""
    out = sorted({min(max(int(round(f * epochs)), 0), max(epochs - 1, 0)) for f in fractions})
    return tuple(out)


# ------------------------------------------------------------- the record


class TrialRecord(keras.callbacks.Callback):
    """Saves a trial's last-epoch weights where KerasTuner keeps its checkpoint.

    KerasTuner appends `SaveBestEpoch` to every trial's callbacks: it keeps
    the weights of the epoch with the best objective. The search reports the
    last epoch (as the retrain is judged), so `fit` puts this callback in its
    place: it saves the last epoch's weights at the same path
    (`tuner.load_model(trial)` then loads them) and writes `trial_info.json`
    next to them: which tuner ran the trial (KERASTUNER_TUNER_ID), on how
    many replicas (the trial's `tf.distribute` strategy), on which host and
    process, when, how long.
    """

    def __init__(self, filepath, extra=None):
        super().__init__()
        self.filepath = filepath
        self.extra = dict(extra or {})
        self.started = None

    def on_train_begin(self, logs=None):
        self.started = time.time()

    def on_train_end(self, logs=None):
        ended = time.time()
        self.model.save_weights(self.filepath)
        strategy = getattr(self.model, "distribute_strategy", None)
        info = {
            "tuner_id": os.environ.get("KERASTUNER_TUNER_ID", "tuner0"),
            "replicas": int(getattr(strategy, "num_replicas_in_sync", 1)),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self.started,
            "ended": ended,
            "seconds": round(ended - (self.started or ended), 3),
        }
        info.update(self.extra)
        path = os.path.join(os.path.dirname(self.filepath), TRIAL_INFO_FILE)
        atomic_write_text(path, json.dumps(info, indent=2, sort_keys=True))


def _is_keras_tuner_checkpoint(callback):
    return type(callback).__name__ == "SaveBestEpoch" and hasattr(callback, "filepath")


# ----------------------------------------------------------- the base class


class LongTailHyperModel(kt.HyperModel):
    """Base of the methods' HyperModels: fixed settings, a search space, a config per trial.

    Args:
        data: the training split the trials train on: a `SearchData`
            (`keras_lt.tuning.load_search_data`), or a `LabeledArrays` /
            `LabeledFiles`. Gives the class counts, the input shape and the
            normalisation statistics. Never the test split.
        config: a `keras_lt.training.config.TrainConfig` template: dataset,
            data_dir, imbalance, backbone, epochs, batch size, learning rate,
            seed... (default `TrainConfig(dataset=dataset)`). The method's
            tuned hyper-parameters must be left `None` in it (pin one with a
            one-value `search_space` entry instead).
        method: the `keras-lt train` method the trials run (default: the
            family's first, e.g. "ldam-drw"); must belong to this family.
        search_space: `{name: [values]}` replacing the default values of some
            hyper-parameters (names: `default_space()` keys).
        class_counts: per-class counts of `data` (default: counted from it).
        dataset, backbone, epochs, batch_size: shortcuts that override the
            same `config` fields.
        name, tunable: as `keras_tuner.HyperModel`.

    Subclasses set `methods`, `main_hyperparameter` and `default_space()`,
    and override `values(hp)` (conditional hyper-parameters),
    `method_for(values)` (when a hyper-parameter picks the method) or
    `build_model(...)`.
    """

    #: methods of keras_lt.training.methods.METHODS this HyperModel tunes.
    methods = ()
    #: the hyper-parameter on the x axis of the trials plot.
    main_hyperparameter = None

    def __init__(
        self,
        data,
        config=None,
        method=None,
        search_space=None,
        class_counts=None,
        dataset=None,
        backbone=None,
        epochs=None,
        batch_size=None,
        name=None,
        tunable=True,
    ):
        from keras_lt.data import LabeledArrays, LabeledFiles
        from keras_lt.losses.class_weights import validate_class_counts
        from keras_lt.training.config import TrainConfig
        from keras_lt.training.methods import ALL_HYPERPARAMETERS, get_method

        super().__init__(name=name or type(self).__name__, tunable=tunable)
        train = getattr(data, "train", data)
        if not isinstance(train, (LabeledArrays, LabeledFiles)):
            raise ValueError(
                "`data` must be a SearchData, LabeledArrays or LabeledFiles (the training "
                f"split the trials train on), got {type(data).__name__}."
            )
        if hasattr(data, "test"):
            raise ValueError(
                "`data` has a test split: a HyperModel only gets the training split "
                "(keras_lt.tuning.load_search_data), so the search cannot read the test set."
            )
        if class_counts is None:
            # SearchData holds its counts as an array; LabeledArrays/Files count
            # themselves (their `counts` is a method, not the counts).
            class_counts = train.counts() if data is train else data.counts
        counts = validate_class_counts(class_counts)
        if counts.size != train.num_classes:
            raise ValueError(
                f"{counts.size} class counts for a training split with {train.num_classes} classes."
            )
        self.train = train
        self.class_counts = counts
        self.num_classes = int(counts.size)

        if config is None:
            config = TrainConfig(dataset=dataset or "digits")
        if not isinstance(config, TrainConfig):
            raise ValueError(f"`config` must be a TrainConfig, got {type(config).__name__}.")
        overrides = {k: v for k, v in dict(dataset=dataset, backbone=backbone, epochs=epochs,
                                             batch_size=batch_size).items() if v is not None}
        method = method or (self.methods[0] if self.methods else config.method)
        get_method(method)
        if self.methods and method not in self.methods:
            raise ValueError(
                f"{type(self).__name__} tunes the methods {list(self.methods)}, not {method!r}."
            )
        template = dataclasses.replace(config, method=method, **overrides)
        self.method = method
        self._given = template  # as given: resolved again for a trial of another method
        self.config = template.resolve()  # validates the template, fills the recipe
        # The trials' template: the resolved recipe, with the method's knobs
        # (and the run name, which names the method) left to each trial.
        self.template = dataclasses.replace(self.config, run_name=config.run_name)
        for field in ALL_HYPERPARAMETERS:
            setattr(self.template, field, getattr(config, field))

        space = {k: _as_choice_values(k, v) for k, v in self.default_space().items()}
        for key, values in dict(search_space or {}).items():
            if key not in space:
                raise ValueError(
                    f"{type(self).__name__} tunes {', '.join(space)}; {key!r} is not one of "
                    "its hyper-parameters (`search_space`; --values/--fixed of keras-lt tune)."
                )
            values = _as_choice_values(key, values)
            if all(isinstance(v, float) for v in space[key]) and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                values = tuple(float(v) for v in values)  # 1000 -> 1000.0, as the default
            space[key] = values
        for key, values in space.items():
            if key in VALUE_CHECKS:
                VALUE_CHECKS[key](key, values)
            if getattr(config, key, None) is not None:
                raise ValueError(
                    f"`config.{key}` is set ({getattr(config, key)!r}) but {key} is tuned: "
                    f"leave it None and pin it with search_space={{{key!r}: [value]}} "
                    f"(keras-lt tune --fixed {key}=value)."
                )
        self.space = space
        self.check_space(space)

    # ------------------------------------------------------------ the space
    def default_space(self):
        """`{name: values}`: the paper's search space (subclasses)."""
        return {}

    def check_space(self, space):
        """Extra validation of the space (subclasses); raise ValueError."""
        from keras_lt.training.config import last_switch_epoch

        epochs = self.config.epochs
        last = last_switch_epoch(epochs)
        for key in ("drw_epoch", "phase_epoch"):
            for v in space.get(key, ()):
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= last:
                    raise ValueError(f"`{key}` values must be epochs in [0, {last}] of a "
                                     f"{epochs}-epoch run, got {v!r}.")

    def values(self, hp):
        """Registers the space in `hp` and returns this trial's `{name: value}`
        (inactive conditional hyper-parameters left out)."""
        return {key: hp.Choice(key, list(values)) for key, values in self.space.items()}

    def declare_hyperparameters(self, hp):
        # KerasTuner calls this before the first build: the whole space,
        # build-time and fit-time knobs alike, is known from the start.
        self.values(hp)

    def method_for(self, values):
        """The method a trial runs (a hyper-parameter may choose it)."""
        return self.method

    def trial_config(self, values):
        """The resolved `TrainConfig` of a trial (or of the retrain) with `values`."""
        fields = {f.name for f in dataclasses.fields(self.template)}
        updates = {k: v for k, v in values.items() if k in fields and v is not None}
        for key in ("drw_epoch", "phase_epoch"):
            if key in updates:
                updates[key] = int(updates[key])
        method = self.method_for(values)
        if method != self.method:
            # Another method (cb -> cb-focal) may have its own recipe settings
            # (config.METHOD_SETTINGS): resolve the given config for it.
            base = dataclasses.replace(self._given, run_name=self.template.run_name)
            return dataclasses.replace(base, method=method, **updates).resolve()
        return dataclasses.replace(self.template, method=method, **updates).resolve()

    # ------------------------------------------------------------- building
    def _view(self):
        # What keras_lt.training.experiment's builders read from a data set.
        return types.SimpleNamespace(train=self.train, counts=self.class_counts,
                                     num_classes=self.num_classes)

    @property
    def input_shape(self):
        from keras_lt.training import experiment

        return tuple(experiment.input_shape_of(self.config, self._view()))

    def steps_per_epoch(self, config):
        from keras_lt.data import num_batches

        steps = num_batches(len(self.train), config.batch_size)
        cap = getattr(config, "steps_per_epoch", None)  # a smoke-run cap, if the config has one
        return min(steps, cap) if cap else steps

    def build_model(self, config, method, values):
        """The uncompiled `LongTailModel` of a trial."""
        from keras_lt.training import experiment

        return experiment.build_model(config, method, self._view())

    def metrics(self, config):
        """`balanced_accuracy` and, when some class is few-shot, `few_shot_accuracy`."""
        from keras_lt.evaluation import BalancedAccuracy, ShotGroupAccuracy
        from keras_lt.evaluation.shot_groups import shot_groups

        out = [BalancedAccuracy(self.num_classes, name="balanced_accuracy")]
        groups = shot_groups(self.class_counts, many=config.shot_many, few=config.shot_few)
        if groups["few"].size:
            out.append(ShotGroupAccuracy(self.class_counts, "few", many=config.shot_many,
                                         few=config.shot_few, name="few_shot_accuracy"))
        return out

    def build(self, hp):
        import keras

        from keras_lt.training import experiment
        from keras_lt.training.methods import get_method

        values = self.values(hp)
        config = self.trial_config(values)
        method = get_method(config.method)
        # Every trial starts from the same initialisation and data order.
        keras.utils.set_random_seed(config.seed)
        model = self.build_model(config, method, values)
        model.compile(
            optimizer=experiment.build_optimizer(config, self.steps_per_epoch(config), model),
            loss=method.build_loss(config, self.class_counts),
            metrics=self.metrics(config),
        )
        return model

    # -------------------------------------------------------------- fitting
    def schedule_callbacks(self, config, method):
        """The phase switches of the trial's schedule knobs (DRW, IB, CDT)."""
        return method.build_callbacks(config, self.class_counts)

    def _datasets(self, config, method, x, y, validation_data):
        from keras_lt.data import LabeledArrays, LabeledFiles
        from keras_lt.training import experiment

        if isinstance(x, np.ndarray):
            x = LabeledArrays(x, y)
        if isinstance(validation_data, tuple):
            validation_data = LabeledArrays(*validation_data[:2])
        splits = (LabeledArrays, LabeledFiles)
        if isinstance(x, splits) and (validation_data is None
                                      or isinstance(validation_data, splits)):
            if validation_data is None:
                raise ValueError(
                    "The search needs `validation_data`: the balanced split held out from "
                    "the training set (SearchData.val)."
                )
            view = types.SimpleNamespace(train=x, test=validation_data)
            train, val = experiment.input_pipelines(config, method, view)
            return train, val, self.steps_per_epoch(config)
        return x, validation_data, None  # datasets built by the caller

    def fit(self, hp, model, *args, **kwargs):
        """Trains a trial; returns its last-epoch metrics and `seconds`.

        `args`/`kwargs` are those of `tuner.search(...)`: the training split
        (`LabeledArrays`/`LabeledFiles`, or arrays `x, y`) and
        `validation_data` (the held-out split), plus KerasTuner's callbacks.
        """
        from keras_lt.training.methods import get_method

        values = self.values(hp)
        config = self.trial_config(values)
        method = get_method(config.method)
        args = list(args)
        x = args.pop(0) if args else kwargs.pop("x", None)
        y = args.pop(0) if args else kwargs.pop("y", None)
        if args:
            raise ValueError(f"Unexpected positional arguments to fit: {args!r}.")
        validation_data = kwargs.pop("validation_data", None)
        epochs = kwargs.pop("epochs", None)
        if epochs is not None and epochs != config.epochs:
            raise ValueError(
                f"epochs={epochs} given to the search, but the HyperModel's schedule is for "
                f"{config.epochs} epochs: set the epochs in the HyperModel's config."
            )
        # One line per epoch (no progress bar) when the search is verbose.
        verbose = 2 if kwargs.pop("verbose", 0) else 0
        kwargs.pop("shuffle", None)
        callbacks = []
        for callback in kwargs.pop("callbacks", None) or []:
            if _is_keras_tuner_checkpoint(callback):
                callback = TrialRecord(callback.filepath, {"values": values})
            callbacks.append(callback)
        train, val, steps = self._datasets(config, method, x, y, validation_data)
        started = time.time()
        history = model.fit(
            train,
            validation_data=val,
            epochs=config.epochs,
            steps_per_epoch=steps,
            callbacks=self.schedule_callbacks(config, method) + callbacks,
            shuffle=False,
            verbose=verbose,
            **kwargs,
        )
        results = {k: float(v[-1]) for k, v in history.history.items() if len(v)}
        if OBJECTIVE not in results:
            raise ValueError(
                f"Training logged no {OBJECTIVE!r} (got {sorted(results)}); the search needs "
                "validation data."
            )
        results["seconds"] = time.time() - started
        return results
