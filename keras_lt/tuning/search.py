"""`run_search`: tune a method on a held-out split, retrain the best, test it once.

The protocol of the CDT supplement, B.6 (Ye et al., 2020):

    1. search   hold out K training samples per class (K = 3 on CIFAR, 10 on
                iNaturalist) as a balanced validation split; every trial trains
                on the rest and is scored by its balanced accuracy on that split
                (`val_balanced_accuracy`, maximised), at its last epoch
    2. [tau]    optionally, tau of the post-hoc rule z_c / N_c^tau, tuned on the
                same split with the best trial's model (`TauHyperModel`)
    3. retrain  the best configuration on the whole training set, exactly as
                `keras-lt train` would (`keras_lt.training.experiment.train`):
                the test split is loaded here for the first time, evaluated
                once, and the run is saved like a training run, with the
                trials table, its plot and `tuning.json` added

Keeping the test split out is structural: steps 1-2 only ever hold a
`SearchData` (`load_search_data` reads the source's training split, never
its test split, and a HyperModel refuses data that carries a test split);
the test split is loaded in step 3, after the oracle has closed the search.

The search is KerasTuner's (random, grid or Bayesian), in its project
folder `<directory>/<project_name>`:

    oracle.json, trial_*/          KerasTuner's state: `overwrite=False` resumes
                                   an interrupted search (finished trials are
                                   kept; the one in progress is run again)
    search_config.json             what was searched (checked on resume)
    trials.csv, trials.json,       the table of all trials and its plot
    trials.png
    search_end.json                written when the search is over

In KerasTuner's distributed mode (`keras_lt.tuning.distributed`) the
same call runs on the chief (oracle, then steps 2-3) and on each worker
(trials; then it waits for the chief and reads the best trial back). Each
trial can itself use several devices: `strategy="mirrored"` passes
keras_lt's `tf.distribute` strategy to the tuner (`distribution_strategy`).
"""

import dataclasses
import json
import os
import shutil
import time
import types

import numpy as np

from keras_lt.atomic_write import atomic_write_text
from keras_lt.checks import whole_number
from keras_lt.tuning import distributed
from keras_lt.tuning.atomic_save import install as install_atomic_save
from keras_lt.tuning.base_hypermodel import OBJECTIVE, kt, search_objective
from keras_lt.tuning.interrupted_trials import settle_interrupted_trials
from keras_lt.tuning.project_folder import (
    LEGACY_RECIPE_KEYS,
    SEARCH_CONFIG_FILE,
    check_legacy_search,
    default_project_name,
)
from keras_lt.tuning.search_data import load_search_data
from keras_lt.tuning.trials_table import (
    CSV_FILE,
    JSON_FILE,
    PLOT_FILE,
    best_trial,
    plot_trials,
    read_trials,
    write_trials_table,
)

TUNERS = ("random", "grid", "bayesian")
TUNING_FILE = "tuning.json"
TAU_DIR = "post_hoc_tau"


@dataclasses.dataclass
class SearchResult:
    """What `run_search` found (and, on the chief, what the retrain gave).

    Attributes:
        role: "standalone", "chief" or "worker".
        project_dir: the KerasTuner project folder.
        best_trial_id, best_values, best_score: the best trial (highest
            validation balanced accuracy; ties: the earliest trial).
        trials: the rows of the trials table.
        files: paths of trials.csv, trials.json, trials.png.
        tau: the tuned post-hoc tau, or None.
        run_dir, report, model: the retrained run (None without retrain, and
            on workers).
    """

    role: str
    project_dir: str
    best_trial_id: str
    best_values: dict
    best_score: float
    trials: list
    files: dict
    tau: float = None
    run_dir: str = None
    report: dict = None
    model: object = None


def _log(verbose, message):
    if verbose:
        print(message, flush=True)


class _TensorBoardOptional:
    """KerasTuner's TensorFlow `run_trial` imports tensorboard for every trial,
    even without a TensorBoard callback; tensorboard is not a dependency of
    TensorFlow 2.21, so look for the callback first."""

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        if any(type(c).__name__ == "TensorBoard" for c in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)


class RandomSearch(_TensorBoardOptional, kt.RandomSearch):
    """`keras_tuner.RandomSearch` (tensorboard optional)."""


class GridSearch(_TensorBoardOptional, kt.GridSearch):
    """`keras_tuner.GridSearch` (tensorboard optional)."""


class BayesianOptimization(_TensorBoardOptional, kt.BayesianOptimization):
    """`keras_tuner.BayesianOptimization` (tensorboard optional)."""


def make_tuner(hypermodel, tuner="random", max_trials=10, directory="tuning",
               project_name="search", overwrite=False, seed=1, hyperparameters=None,
               distribution_strategy=None, max_consecutive_failed_trials=3):
    """A KerasTuner tuner over `hypermodel`, maximising `val_balanced_accuracy`."""
    if tuner not in TUNERS:
        raise ValueError(f"Unknown tuner {tuner!r}; use one of {TUNERS}.")
    max_trials = whole_number(max_trials, "max_trials", minimum=1)
    install_atomic_save()  # a search killed while saving its state still resumes
    cls = {"random": RandomSearch, "grid": GridSearch, "bayesian": BayesianOptimization}[tuner]
    kt_tuner = cls(
        hypermodel,
        objective=search_objective(),
        max_trials=int(max_trials),
        # KerasTuner treats seed 0 as "no seed".
        seed=int(seed) if seed else 1,
        hyperparameters=hyperparameters,
        max_consecutive_failed_trials=max_consecutive_failed_trials,
        distribution_strategy=distribution_strategy,
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
    )
    # A trial killed as it ended is not run again; one killed as it started is run.
    settle_interrupted_trials(kt_tuner.oracle)
    return kt_tuner


def retrain_config(hypermodel, values, output_dir=None, run_name=None):
    """The retrain's `TrainConfig` for the trial `values`: saved in `output_dir`
    (default the config's) as `run_name` (default `<training run name>-tuned`)."""
    config = hypermodel.trial_config(values)
    return dataclasses.replace(
        config,
        output_dir=output_dir or config.output_dir,
        run_name=(run_name or hypermodel.template.run_name
                  or f"{config.default_run_name()}-tuned"),
    )


def pin_fixed(search_space, fixed):
    """`search_space` with each `fixed` entry as a one-value list.

    A one-value choice, not `hp.Fixed`: KerasTuner keeps an unconditional
    Fixed beside a conditional hyper-parameter of the same name (the focal
    gamma of the class-balanced loss) and samples the latter.
    """
    space = dict(search_space or {})
    for name, value in (fixed or {}).items():
        if name in space:
            raise ValueError(f"{name!r} is both searched ({list(space[name])}) and fixed ({value!r}).")
        space[name] = [value.item() if isinstance(value, np.generic) else value]
    return space


def _trial_strategy(name):
    """The `tf.distribute` strategy of each trial (keras_lt.training.strategy)."""
    if name in (None, "none"):
        return None
    if name == "multiworker":
        raise ValueError(
            "A search distributes over workers with KerasTuner's own mode (KERASTUNER_* "
            "variables); each trial can use the local devices with strategy='mirrored', "
            "not 'multiworker'."
        )
    from keras_lt.training.strategy import distribution

    return distribution(name).tf_strategy  # None on JAX: DataParallel is global


def _search_settings(hypermodel, data, tuner, fixed, method):
    """What a resumed search must share with the stored one: every setting of
    the trials' recipe (the resolved `TrainConfig` but the places, devices and
    verbosity of `RUN_SETTINGS`, and the tuned knobs), the split and the space."""
    from keras_lt.training.config import RUN_SETTINGS

    recipe = {k: v for k, v in hypermodel.config.to_dict().items()
              if k not in RUN_SETTINGS and k not in hypermodel.space}
    settings = {
        "method": method,
        "hypermodel": type(hypermodel).__name__,
        "config": recipe,
        "val_per_class": data.info["val_per_class"],
        "tuner": tuner, "space": {k: list(v) for k, v in hypermodel.space.items()},
        "fixed": dict(fixed or {}),
    }
    return json.loads(json.dumps(settings, default=str))  # as it reads back from the file


def _from_legacy(previous, settings):
    """An older search_config.json in today's layout, for the settings it has:
    the recipe keys it stored, and its space with the pins of `fixed` (stored
    apart then, one-value lists now)."""
    upgraded = {k: v for k, v in previous.items() if k not in LEGACY_RECIPE_KEYS + ("data_dir",)}
    upgraded["config"] = dict(settings["config"], **{
        k: previous[k] for k in LEGACY_RECIPE_KEYS if k in previous})
    space = dict(previous.get("space") or {})
    for name, value in (previous.get("fixed") or {}).items():
        if name in space:
            space[name] = [value]
    upgraded["space"] = space
    return upgraded


def _write_search_config(path, settings):
    atomic_write_text(path, json.dumps(settings, indent=2, sort_keys=True, default=str) + "\n")


def _check_resume(project_dir, settings, role):
    path = os.path.join(project_dir, SEARCH_CONFIG_FILE)
    if os.path.exists(path):
        with open(path) as f:
            previous = json.load(f)
        legacy = "config" not in previous
        if legacy:
            previous = _from_legacy(previous, settings)
        changed = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
        if isinstance(changed.get("config", (None,))[0], dict):  # name the recipe's settings
            old, new = changed.pop("config")
            changed.update({f"config.{k}": (old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
                            if old.get(k) != new.get(k)})
        if changed:
            details = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
            raise ValueError(
                f"{project_dir} holds a different search ({details}). Resume it with the "
                "same settings, or start afresh (overwrite=True / --overwrite, or another "
                "project name)."
            )
        if legacy and role != "worker":  # from now on, the whole recipe is compared
            _write_search_config(path, settings)
    elif role != "worker":
        os.makedirs(project_dir, exist_ok=True)
        _write_search_config(path, settings)


def write_results(project_dir, hypermodel, rows, method=None):
    """Writes trials.csv, trials.json and trials.png into `project_dir`."""
    main = hypermodel.main_hyperparameter
    order = list(hypermodel.space)
    files = write_trials_table(rows, project_dir, order=order, metadata={
        "method": method or hypermodel.method, "main_hyperparameter": main,
        "hyperparameters": order,
    })
    if main:
        color_by = "loss_type" if "loss_type" in hypermodel.space and len(
            hypermodel.space["loss_type"]) > 1 else None
        files["plot"] = plot_trials(
            rows, os.path.join(project_dir, PLOT_FILE), x=main, color_by=color_by,
            x_values=hypermodel.space.get(main),
            title=f"{hypermodel.config.dataset} {method or hypermodel.method}: "
                  f"val balanced accuracy vs {main}")
    return files


def predict_logits(model, split, config, method):
    """Logits and labels of `model` on a split (arrays, or files via tf.data)."""
    from keras_lt.data import LabeledArrays
    from keras_lt.training import experiment

    if isinstance(split, LabeledArrays):
        logits = model.predict(split.x.astype("float32"), batch_size=256, verbose=0)
        return np.asarray(logits), split.y
    _, dataset = experiment.input_pipelines(
        config, method, types.SimpleNamespace(train=split, test=split))
    logits, labels = [], []
    for x, y in dataset:
        logits.append(np.asarray(model.predict_on_batch(x)))
        labels.append(np.asarray(y))
    return np.concatenate(logits), np.concatenate(labels)


def tune_best_tau(tuner, hypermodel, best, data, project_dir, verbose=0):
    """Post-hoc tau on the validation split with the best trial's model."""
    from keras_lt.training.methods import get_method
    from keras_lt.tuning.tau_hypermodel import tune_tau

    import warnings

    trial = tuner.oracle.get_trial(best["trial_id"])
    with warnings.catch_warnings():  # the checkpoint's optimizer state is not needed here
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.load_model(trial)  # the trial's last-epoch weights
    config = hypermodel.trial_config(best["hyperparameters"])
    logits, labels = predict_logits(model, data.val, config, get_method(config.method))
    tau, tau_tuner = tune_tau(
        logits, labels, data.counts, directory=project_dir,
        project_name=f"tau-trial_{best['trial_id']}",
        many=config.shot_many, few=config.shot_few,
    )
    rows = read_trials(tau_tuner.project_dir)
    write_trials_table(rows, tau_tuner.project_dir, order=["tau"],
                       metadata={"method": "post-hoc tau", "main_hyperparameter": "tau",
                                 "on_trial": best["trial_id"]})
    plot_trials(rows, os.path.join(tau_tuner.project_dir, PLOT_FILE), x="tau",
                x_values=tau_tuner.hypermodel.taus,
                title=rf"post-hoc $z_c\,/\,N_c^{{\tau}}$ on trial {best['trial_id']}")
    _log(verbose, f"Post-hoc tau: {tau:g} (validation balanced accuracy "
                  f"{100 * best_trial(rows)['score']:.2f}%).")
    return tau, tau_tuner.project_dir


def retrain_best(hypermodel, values, output_dir=None, run_name=None, tau=None, verbose=1,
                 resume=False):
    """Retrains `values` on the whole training set, tests once, saves the run.

    `keras_lt.training.experiment.train` on the trial's `TrainConfig`: the
    full training split (the validation part included), the same recipe, the
    test split evaluated at the last epoch, the run saved under
    `<output_dir>/<run_name>/` with its config.json, report and model. With
    `tau`, the test logits are also calibrated (z_c / N_c^tau, N_c the full
    training counts) and reported under `post_hoc_tau/`. With `resume`, a
    retrain interrupted earlier continues from its checkpoint (one of other
    settings, e.g. another best trial, is started afresh).

    Returns `(model, report, run_dir, tau_report)`.
    """
    from keras_lt.training import experiment

    config = dataclasses.replace(retrain_config(hypermodel, values, output_dir, run_name),
                                 resume=False, verbose=verbose)
    saved = os.path.join(config.run_dir, experiment.CONFIG_FILE)
    if resume and os.path.exists(saved):
        try:
            experiment.check_resume_config(config, saved)
            config = dataclasses.replace(config, resume=True)
        except ValueError:
            _log(verbose, f"The retrain in {os.path.dirname(saved)} has other settings: "
                          "starting it afresh.")
    model, report, run_dir = experiment.train(config)
    tau_report = None
    if tau is not None:
        from keras_lt.calibration import class_size_calibrated_model
        from keras_lt.evaluation import evaluation_report, format_report, write_report
        from keras_lt.training.methods import get_method
        from keras_lt.tuning.tau_hypermodel import calibrate_logits

        # The retrain's own counts and test split (loaded again, in step 3).
        resolved = config.resolve()
        full = experiment.load_data(resolved)
        logits, labels = predict_logits(model, full.test, resolved, get_method(resolved.method))
        tau_report = evaluation_report(
            labels, calibrate_logits(logits, full.counts, tau), full.counts,
            class_names=full.class_names, many=resolved.shot_many, few=resolved.shot_few,
        )
        tau_report["run"] = {"post_hoc": "z_c / N_c^tau (keras_lt.calibration)", "tau": tau}
        tau_dir = os.path.join(run_dir, TAU_DIR)
        write_report(tau_report, tau_dir)
        class_size_calibrated_model(model, full.counts, tau).save(
            os.path.join(tau_dir, "model.keras"))
        if verbose:
            print(f"With post-hoc tau = {tau:g}:")
            print(format_report(tau_report))
    return model, report, run_dir, tau_report


def run_search(
    config,
    method=None,
    tuner="random",
    max_trials=10,
    val_per_class=None,
    directory="tuning",
    project_name=None,
    overwrite=False,
    search_space=None,
    fixed=None,
    post_hoc_tau=False,
    retrain=True,
    strategy=None,
    output_dir=None,
    run_name=None,
    wait_timeout=None,
    verbose=1,
):
    """Searches a method's hyper-parameters; on the chief, retrains and tests the best.

    Args:
        config: a `TrainConfig` template: dataset, data_dir, imbalance, ratio,
            backbone, epochs, batch size, seed... (the method's tuned
            hyper-parameters left None).
        method: the method (default `config.method`); "cb" tunes the
            class-balanced loss type too. See `keras_lt.tuning.hypermodels`.
        tuner: "random", "grid" or "bayesian".
        max_trials: number of trials (grid: at most the grid's size).
        val_per_class: K of the validation split (3; 10 on iNaturalist).
        directory, project_name: the KerasTuner project folder (default
            project `<dataset>-<imbalance><ratio>-<method>`, e.g.
            cifar10-exp100-cdt; see `keras_lt.tuning.project_folder`).
        overwrite: False (default) resumes a search found there; True
            starts afresh. Workers never overwrite.
        search_space: `{name: [values]}` replacing default value lists.
        fixed: `{name: value}` pinned (a one-value search space).
        post_hoc_tau: also tune tau of z_c / N_c^tau (CDT's N_c^tau).
        retrain: retrain the best configuration and test it (chief and
            standalone only).
        strategy: devices of each trial: None / "none" or "mirrored"
            (default: `config.strategy`).
        output_dir, run_name: where the retrained run is saved (default
            `config.output_dir` / `config.run_name`, or
            `<training run name>-tuned`, e.g. cifar10-exp100-cdt-e200-s0-tuned).
        wait_timeout: seconds a worker waits for the chief's end of search.
        verbose: 0 silent, 1 progress.

    Returns:
        `SearchResult`.
    """
    from keras_lt.tuning.hypermodels import make_hypermodel

    role = distributed.search_role()
    method = method or config.method
    if role == "worker" and overwrite:
        raise ValueError("Only the chief may start a distributed search afresh (overwrite).")
    started = time.time()
    resolved = config.resolve()
    if not project_name and role != "worker":  # before the (possibly long) data load
        check_legacy_search(directory, resolved, method, overwrite)
    project_name = project_name or default_project_name(resolved, method)
    project_dir = os.path.join(os.fspath(directory), project_name)
    data = load_search_data(config, val_per_class)
    hypermodel = make_hypermodel(method, data, config,
                                 search_space=pin_fixed(search_space, fixed))
    c = hypermodel.config
    if overwrite and os.path.isdir(project_dir):
        shutil.rmtree(project_dir)
    settings = _search_settings(hypermodel, data, tuner, fixed, method)
    _check_resume(project_dir, settings, role)
    if role == "chief":
        distributed.clear_search_end(project_dir)
    _log(verbose, f"Search ({role}): {method} on {c.dataset}, {len(data.train)} training and "
                  f"{len(data.val)} validation images ({data.info['val_per_class']} per class, "
                  f"held out from the training set); space "
                  f"{ {k: list(v) for k, v in hypermodel.space.items()} }; {tuner} search, "
                  f"{max_trials} trials, in {project_dir}.")
    kt_tuner = make_tuner(
        hypermodel, tuner=tuner, max_trials=max_trials, directory=directory,
        project_name=project_name, overwrite=False, seed=c.seed + 1,
        distribution_strategy=_trial_strategy(strategy if strategy is not None else c.strategy),
    )
    if role == "chief":
        distributed.serve_oracle(kt_tuner, verbose=verbose)
    else:
        kt_tuner.search(data.train, validation_data=data.val, verbose=verbose)

    if role == "worker":
        distributed.wait_for_search_end(project_dir, timeout=wait_timeout)
    rows = read_trials(project_dir)
    files = {"csv": os.path.join(project_dir, CSV_FILE),
             "json": os.path.join(project_dir, JSON_FILE)}
    if role == "worker":
        best = best_trial(rows)
    else:
        # search_end.json is written whatever happens: workers wait for it.
        try:
            best = best_trial(rows)
            files = write_results(project_dir, hypermodel, rows, method)
        except Exception as error:
            distributed.mark_search_end(project_dir, {
                "error": f"{type(error).__name__}: {error}", "num_trials": len(rows)})
            raise
        distributed.mark_search_end(project_dir, {
            "best_trial_id": best["trial_id"], "best_score": best["score"],
            "num_trials": len(rows), "seconds": round(time.time() - started, 1),
        })
    result = SearchResult(role=role, project_dir=project_dir, best_trial_id=best["trial_id"],
                          best_values=dict(best["hyperparameters"]), best_score=best["score"],
                          trials=rows, files=files)
    _log(verbose, f"Best trial {best['trial_id']} of {len(rows)}: {result.best_values}, "
                  f"{OBJECTIVE} {100 * best['score']:.2f}%. Table: {files['csv']}.")
    if role == "worker":
        return result

    tau_dir = None
    if post_hoc_tau:
        result.tau, tau_dir = tune_best_tau(kt_tuner, hypermodel, best, data, project_dir,
                                            verbose=verbose)
    if not retrain:
        return result
    # ---- the search is over: from here on the test split may be loaded.
    del data
    model, report, run_dir, tau_report = retrain_best(
        hypermodel, result.best_values, output_dir=output_dir, run_name=run_name,
        tau=result.tau, verbose=verbose, resume=not overwrite)
    for path in files.values():
        shutil.copy2(path, run_dir)
    summary = {
        "protocol": "CDT supplement B.6: tuned on a balanced split held out from the "
                    "training set, retrained on the whole training set, tested at its "
                    "last epoch (nothing selected on the test split)",
        "search": settings,
        "project_dir": os.path.abspath(project_dir),
        "num_trials": len(rows),
        "best_trial_id": best["trial_id"],
        "best_hyperparameters": result.best_values,
        "best_val_balanced_accuracy": best["score"],
        "post_hoc_tau": result.tau,
        "tau_search_dir": tau_dir,
        "test_balanced_accuracy": report.get("balanced_accuracy"),
        "test_balanced_accuracy_with_tau": (tau_report or {}).get("balanced_accuracy"),
    }
    with open(os.path.join(run_dir, TUNING_FILE), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True, default=str)
        f.write("\n")
    result.run_dir, result.report, result.model = run_dir, report, model
    _log(verbose, f"Retrained the best configuration; saved to {run_dir}.")
    return result
