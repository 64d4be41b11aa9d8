"""One training run from a `TrainConfig`, and the evaluation of a saved model.

    train(config) -> (model, report, run_dir)

loads the data (`keras_lt.data.load_long_tailed`), builds the model
(`keras_lt.models.build_model`) and the papers' optimizer
(`keras_lt.schedules.sgd_optimizer`), compiles the method's loss with a
`BalancedAccuracy` metric, trains with Keras's progress bar, a checkpoint every
epoch (`keras_lt.callbacks.ResumableCheckpoint`) and the method's phase
callbacks, evaluates on the balanced test split (`keras_lt.evaluation`) and
writes, under `<output_dir>/<run name>/` (by default
`<dataset>-<imbalance><ratio>-<method>-e<epochs>-s<seed>`, e.g.
cifar10-exp100-ldam-drw-e200-s0):

    model.keras          the trained model (loads with keras.saving.load_model)
    config.json          the resolved TrainConfig that produced it
    classes.json         class names and training counts (for `evaluate`)
    report.json, *.png   the evaluation report and its plots
    history.csv          the per-epoch logs, one row per finished epoch (kept on --resume)
    history.json, .png   the same for all epochs of the run, and their plot
    checkpoint/          the last epoch's full training state (--resume)

The per-epoch `val_*` numbers shown during training are measured on the
balanced test split, for monitoring only: nothing is selected on them (the
tuning works on a validation split held out from the training set).

    evaluate(model_path, data_dir=...) -> report

reloads a saved model and reports on another copy of the data.
"""

import contextlib
import json
import os
import sys
import time
import warnings

import numpy as np

from keras_lt.atomic_write import atomic_write_text
from keras_lt.training.config import RUN_SETTINGS, TrainConfig
from keras_lt.training.history import (HISTORY_CSV, best_epoch, history_logger, last_epoch,
                                       plot_history, read_history)
from keras_lt.training.methods import get_method
from keras_lt.training.strategy import distribution

CHECKPOINT_DIR = "checkpoint"
MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
CLASSES_FILE = "classes.json"
HISTORY_FILE = "history.json"
HISTORY_PLOT = "history.png"
# What `evaluate` reads: the test split (iNaturalist's and Tiny-ImageNet's val)
# or the training split.
EVALUATION_SPLITS = ("test", "train")

# ImageNet channel statistics in [0, 255], for data read lazily from files
# (iNaturalist), where the training set's own statistics are not at hand.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
# Which augmentation of keras_lt.data each dataset uses.
AUGMENTATIONS = {
    "cifar10": "cifar",
    "cifar100": "cifar",
    "tiny_imagenet": "tiny_imagenet",
    "inaturalist2018": "inaturalist",
    "digits": "digits",
}


def _log(config, message):
    if config.verbose:
        print(message, flush=True)


# ---------------------------------------------------------------- data


def load_data(config, **options):
    """The `keras_lt.data.LongTailedData` of a resolved config.

    `options` are further arguments of `keras_lt.data.load_long_tailed`: the
    hyper-parameter search (`keras_lt.tuning.load_search_data`) passes
    `with_test=False` and `validation_per_class=K`, so its training split is
    made by this same call.
    """
    from keras_lt.data import load_long_tailed

    imbalance = None if config.imbalance == "natural" else config.imbalance
    return load_long_tailed(
        config.dataset,
        data_dir=config.data_dir,
        imbalance=imbalance,
        ratio=config.ratio if config.ratio is not None else 1.0,
        minority_fraction=config.minority_fraction,
        seed=config.seed,
        **options,
    )


def _is_arrays(split):
    from keras_lt.data import LabeledArrays

    return isinstance(split, LabeledArrays)


def _drop_remainder(config):
    # Under MultiWorkerMirroredStrategy a last, smaller batch is split unevenly
    # between the workers and the step fails ("Incompatible shapes"); every
    # step must see full batches there.
    return config.strategy == "multiworker"


def steps_per_epoch(config, data):
    """Batches per epoch: one pass over the training split (full batches only
    under the multi-worker strategy)."""
    from keras_lt.data import num_batches

    return num_batches(len(data.train), config.batch_size, _drop_remainder(config))


def feeds_tf_data(config):
    """Whether in-memory arrays go to `fit` as a `tf.data.Dataset` (TensorFlow
    backend) rather than as an `ArrayDataset` (JAX, PyTorch).

    Keras hands a `PyDataset` to TensorFlow through `Dataset.from_generator`
    and builds a new iterator every epoch; destroying the last one waits for
    its generator thread, which needs the GIL that the main thread holds, and
    CPU runs of the recipe stood still for seconds (up to ~30 s) at some epoch
    starts. An endless dataset of tf.data ops keeps one iterator for the whole
    run (benchmarks/epoch_starts.py measures both).
    The multi-worker strategy keeps the `ArrayDataset`, whose sharding its
    test covers.
    """
    import keras

    return keras.backend.backend() == "tensorflow" and config.strategy != "multiworker"


def input_pipelines(config, method, data, initial_epoch=0, tf_data=None):
    """(train dataset, test dataset) for `fit`, starting at `initial_epoch`.

    Arrays: the batches of `epoch_order(y, e, seed)`, augmented in the model;
    as an `ArrayDataset`, or (`tf_data`, default `feeds_tf_data(config)`) as
    an endless `tf.data.Dataset` of the same batches (give `fit` the
    `steps_per_epoch`). Files (iNaturalist): tf.data, augmented on the host.
    """
    from keras_lt.data import ArrayDataset, make_tf_dataset

    balanced = method.sampler == "class_balanced"
    test_batch = max(config.batch_size, 256)
    if tf_data is None:
        tf_data = feeds_tf_data(config)
    if _is_arrays(data.train) and not tf_data:
        train = ArrayDataset(
            data.train, batch_size=config.batch_size, balanced=balanced, seed=config.seed,
            epoch=initial_epoch, drop_remainder=_drop_remainder(config),
        )
        test = ArrayDataset(data.test, batch_size=test_batch, shuffle=False)
    elif _is_arrays(data.train):  # the same batches, augmented in the model
        train = make_tf_dataset(
            data.train, batch_size=config.batch_size, training=True, balanced=balanced,
            seed=config.seed, epoch=initial_epoch, drop_remainder=_drop_remainder(config),
        )
        test = make_tf_dataset(data.test, batch_size=test_batch, training=False)
    else:  # files read lazily (iNaturalist)
        size = (config.image_size, config.image_size)
        train = make_tf_dataset(
            data.train, batch_size=config.batch_size, training=True,
            augment=AUGMENTATIONS[config.dataset], balanced=balanced, seed=config.seed,
            epoch=initial_epoch, image_size=size, drop_remainder=_drop_remainder(config),
        )
        test = make_tf_dataset(
            data.test, batch_size=config.batch_size, training=False,
            augment=AUGMENTATIONS[config.dataset], image_size=size,
        )
    return train, test


# ---------------------------------------------------------------- model


def _input_layers(config, data):
    """Training-only augmentation, then per-channel normalisation (always)."""
    import keras

    from keras_lt.data import pad_crop_flip

    d = config.defaults
    layers = []
    if _is_arrays(data.train):
        x = data.train.x
        kind = AUGMENTATIONS[config.dataset]
        if kind != "inaturalist" and d.pad:
            # Digits are not mirror-symmetric: pad and crop only.
            layers.append(pad_crop_flip(d.pad, flip=kind != "digits", seed=config.seed))
        axes = tuple(range(x.ndim - 1))
        mean = x.mean(axis=axes, dtype=np.float64)
        std = x.std(axis=axes, dtype=np.float64)
    else:
        mean, std = np.asarray(IMAGENET_MEAN), np.asarray(IMAGENET_STD)
    std = np.maximum(std, 1e-3)
    layers.append(
        keras.layers.Normalization(
            mean=mean.tolist(), variance=(std**2).tolist(), name="normalize"
        )
    )
    return keras.Sequential(layers, name="input_layers")


def input_shape_of(config, data):
    if _is_arrays(data.train):
        return tuple(data.train.x.shape[1:])
    return (config.image_size, config.image_size, 3)


def build_model(config, method, data):
    """The `LongTailModel` of a resolved config, for `data`."""
    from keras_lt import models
    from keras_lt.training.small_cnn import small_cnn

    shape = input_shape_of(config, data)
    backbone = small_cnn(shape) if config.backbone == "small_cnn" else config.backbone
    weakening = None
    if method.feature_weakening:
        weakening = dict(class_counts=data.counts, alpha=config.alpha, scale=config.mfw_beta,
                         after=config.mfw_layer)
    return models.build_model(
        backbone,
        num_classes=data.num_classes,
        input_shape=shape,
        head=method.head,
        feature_weakening=weakening,
        augmentation=_input_layers(config, data),
        seed=config.seed,
        name=f"{config.dataset}_{config.method.replace('-', '_')}",
    )


def build_optimizer(config, steps_per_epoch, model):
    from keras_lt.schedules import sgd_optimizer

    milestones, factors = config.learning_rate_schedule()
    optimizer = sgd_optimizer(
        steps_per_epoch,
        base_learning_rate=config.lr,
        warmup_epochs=config.warmup_epochs,
        milestones=milestones,
        factors=factors,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    if model.no_weight_decay_variables:
        optimizer.exclude_from_weight_decay(var_list=model.no_weight_decay_variables)
    return optimizer


def compile_model(config, method, model, counts, steps_per_epoch):
    """Compiles `model` with the method's loss; returns the loss."""
    from keras_lt.evaluation import BalancedAccuracy

    loss = method.build_loss(config, counts)
    model.compile(
        optimizer=build_optimizer(config, steps_per_epoch, model),
        loss=loss,
        metrics=[BalancedAccuracy(len(counts), name="bal_acc"), "accuracy"],
    )
    return loss


def compiled_model(config, method, data, scope=None):
    """The run's model, seeded with `config.seed`, built and compiled (under
    `scope`, a distribution scope, if given) exactly as `train` does."""
    import keras

    keras.utils.set_random_seed(config.seed)
    with scope if scope is not None else contextlib.nullcontext():
        model = build_model(config, method, data)
        compile_model(config, method, model, data.counts, steps_per_epoch(config, data))
    return model


def restore_checkpoint(model, checkpoint):
    """Loads a `ResumableCheckpoint`'s training state into a compiled model
    (weights, optimizer, loss state, RNG; the optimizer is built first so that
    its variables exist); returns the number of epochs it holds."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return checkpoint.restore(model)


# ---------------------------------------------------------------- dry run


def plan(config):
    """The full configuration of a run and the method's pieces, without training.

    Builds the loss and the phase callbacks on the class counts the data will
    have (from the imbalance profile; iNaturalist's come with its data), so a
    bad hyper-parameter fails here, not hours into training; a data source
    that cannot be had (no folder for Tiny-ImageNet, tensorflow-datasets
    missing for CIFAR) is said under "data_unavailable"; refuses what
    `train` refuses of a `--resume`, and says under "run_folder" what training
    would do with the run folder (a new run, a resume at which epoch, a
    finished or interrupted run replaced).
    """
    from keras_lt.callbacks import ResumableCheckpoint
    from keras_lt.data import imbalanced_counts
    from keras_lt.data.long_tailed import check_data_dir
    from keras_lt.data.tfds_source import DatasetUnavailableError

    config = config.resolve()
    method = get_method(config.method)
    try:  # names only: no image is read
        check_data_dir(config.dataset, config.data_dir)
        unavailable = None
    except DatasetUnavailableError as error:  # the configuration is still worth showing
        unavailable = str(error)
    checkpoint = ResumableCheckpoint(os.path.join(config.run_dir, CHECKPOINT_DIR), restore=False)
    check_legacy_run(config)  # train's refusals of a resume
    check_run_folder(config, checkpoint)
    d = config.defaults
    counts = None
    if config.dataset == "digits":  # embedded and small: read the real counts
        counts = load_data(config).counts
    elif config.imbalance != "natural" and d.n_max:
        counts = imbalanced_counts(d.n_max, d.num_classes, config.imbalance, config.ratio,
                                   config.minority_fraction)
    milestones, factors = config.learning_rate_schedule()
    pieces = {
        "head": method.head,
        "sampler": method.sampler,
        "feature_weakening": method.feature_weakening,
        "learning_rate": {
            "base": config.lr, "warmup_epochs": config.warmup_epochs,
            "milestones": milestones, "factors": factors,
        },
    }
    if counts is not None:
        loss = method.build_loss(config, counts)
        pieces["loss"] = {"class": type(loss).__name__, "config": loss.get_config()}
        pieces["callbacks"] = [
            {"class": type(c).__name__, "schedule": c.describe()} if hasattr(c, "describe")
            else {"class": type(c).__name__, "start_epoch": getattr(c, "start_epoch", None)}
            for c in method.build_callbacks(config, counts)
        ]
        pieces["class_counts"] = counts.tolist()
        pieces["num_train"] = int(counts.sum())
    else:
        pieces["loss"] = {"family": method.loss, "variant": method.loss_type or None,
                          "note": "built once the data gives the class counts"}
    plan = {"config": config.to_dict(), "method": pieces, "run_dir": config.run_dir,
            "run_folder": _run_folder_plan(config, checkpoint)}
    if unavailable:
        plan["data_unavailable"] = f"training would stop here: {unavailable}"
    return plan


def _run_folder_plan(config, checkpoint):
    """What `train` would do with the run folder, in words (the chief's view)."""
    from keras_lt.evaluation.report import REPORT_FILE

    epoch = checkpoint.saved_epoch()
    if config.resume:
        if epoch is None:
            return "--resume finds no checkpoint: trains afresh"
        if epoch >= config.epochs:
            return (f"the checkpoint holds all {_epochs(config.epochs)}: evaluates and saves the "
                    "run again")
        return f"resumes at epoch {epoch + 1} of {config.epochs} from {checkpoint.path}"
    if os.path.exists(os.path.join(config.run_dir, REPORT_FILE)):
        return ("trains afresh over the finished run there: its model, report and checkpoint "
                "are replaced (--resume keeps it)")
    if epoch is not None:
        return (f"trains afresh over the interrupted run there: its checkpoint ({epoch} epochs) "
                "is overwritten (--resume continues it)")
    return "a new run"


# ---------------------------------------------------------------- training


def _checkpoint_dir(config, dist):
    base = os.path.join(config.run_dir, CHECKPOINT_DIR)
    # Every worker keeps its own copy; the chief's is the one in the run folder.
    return base if dist.is_chief else os.path.join(base, f"worker-{dist.worker_index}")


def _changed_settings(config, saved_path):
    """The settings (not RUN_SETTINGS) in which `config` differs from the saved
    config.json, as "name: saved -> ours" strings; None when it cannot be read."""
    try:
        saved = TrainConfig.from_json(saved_path).resolve()
    except (OSError, TypeError, ValueError) as error:
        _log(config, f"--resume: cannot read {saved_path} ({error}); settings not compared.")
        return None
    ours, theirs = config.to_dict(), saved.to_dict()
    return [f"`{k}`: {theirs.get(k)!r} -> {ours[k]!r}" for k in sorted(ours)
            if k not in RUN_SETTINGS and ours[k] != theirs.get(k)]


def check_resume_config(config, saved_path):
    """Refuses to `--resume` a run folder whose config.json trains something else.

    A resumed run ends where an uninterrupted one ends only with the settings
    of the epochs already trained (imbalance, method, schedule, seed, ...).
    """
    changed = _changed_settings(config, saved_path)
    if changed:
        raise ValueError(
            f"--resume: the checkpoint in {os.path.dirname(saved_path)} was trained with other "
            f"settings ({', '.join(changed)}; a default may have changed since it started). "
            f"Resume with the run's own settings (--config {saved_path} --resume), or start a "
            "new run (another --run-name, or no --resume)."
        )


def check_run_folder(config, checkpoint):
    """Refuses a `--resume` onto `checkpoint` (this process's) when the run
    folder's config.json has other settings (`check_resume_config`). With
    `check_legacy_run`, which `train` calls before a strategy joins a cluster,
    this is all `train` refuses of a resume."""
    saved_config = os.path.join(config.run_dir, CONFIG_FILE)
    if config.resume and os.path.exists(checkpoint.path) and os.path.exists(saved_config):
        check_resume_config(config, saved_config)


def check_legacy_run(config):
    """Refuses a `--resume` that would start afresh beside a run of the same
    settings saved under the default folder name of earlier versions
    (`legacy_run_name`). Reads the chief's files only, so every worker of a
    multi-worker run decides alike, before the strategy joins the cluster."""
    from keras_lt.callbacks import ResumableCheckpoint

    if not config.resume or config.run_name != config.default_run_name():
        return  # nothing to resume, or a name the user chose
    legacy = os.path.join(config.output_dir, config.legacy_run_name())
    ours, theirs = (ResumableCheckpoint(os.path.join(folder, CHECKPOINT_DIR), restore=False).path
                    for folder in (config.run_dir, legacy))
    saved = os.path.join(legacy, CONFIG_FILE)
    if os.path.exists(ours) or not (os.path.exists(theirs) and os.path.exists(saved)):
        return
    if _changed_settings(config, saved) == []:
        from keras_lt.evaluation.report import REPORT_FILE

        if os.path.exists(os.path.join(legacy, REPORT_FILE)):
            raise ValueError(
                f"--resume: {legacy} holds a finished run of the same settings, saved under "
                "the default folder name of earlier versions: its report.json has the result "
                f"(keras-lt evaluate {legacy} reports it again). Without --resume a new run "
                f"trains into {config.run_dir}."
            )
        raise ValueError(
            f"--resume: {config.run_dir} has no checkpoint, but {legacy} holds one of the same "
            "settings, saved under the default folder name of earlier versions. Continue it "
            f"with --config {saved} --resume."
        )


def _epochs(n):
    return f"{n} epoch" + ("" if n == 1 else "s")


def _write_json(path, value):
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True, default=float) + "\n")


def train(config, overwrite_notice=True):
    """Trains, evaluates and saves one run; returns (model, report, run_dir).

    Training afresh over a finished or interrupted run says so on stderr,
    whatever `config.verbose`; `overwrite_notice=False` (the demo, which
    retrains its own folders on every call) keeps quiet about it.
    """
    import keras

    from keras_lt.callbacks import ResumableCheckpoint
    from keras_lt.data.long_tailed import check_data_dir
    from keras_lt.evaluation import evaluate_model, format_report, write_report
    from keras_lt.evaluation.report import REPORT_FILE

    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a TrainConfig, got {type(config).__name__}.")
    config = config.resolve()
    method = get_method(config.method)
    backend = keras.backend.backend()
    if config.backend != backend:
        raise ValueError(
            f"The config asks for the {config.backend!r} backend but Keras runs on "
            f"{backend!r}; set KERAS_BACKEND={config.backend} before starting."
        )
    # Folder names only, before a strategy joins a cluster (the loader checks it again).
    check_data_dir(config.dataset, config.data_dir)
    check_legacy_run(config)
    dist = distribution(config.strategy)
    run_dir = config.run_dir
    saved_config = os.path.join(run_dir, CONFIG_FILE)
    checkpoint = ResumableCheckpoint(_checkpoint_dir(config, dist), restore=False)
    check_run_folder(config, checkpoint)
    started = time.time()
    # Loaded (and its folder checked) before the run folder is made or written;
    # the method's loss and callbacks check their hyper-parameters on its counts.
    data = load_data(config)
    counts = data.counts
    method.build_loss(config, counts)  # checked only: the model's own is built in its scope
    callbacks = method.build_callbacks(config, counts, verbose=config.verbose)
    os.makedirs(run_dir, exist_ok=True)
    if not config.resume and dist.is_chief and overwrite_notice:
        # Said even with --quiet: a finished or interrupted run is about to be replaced.
        if os.path.exists(os.path.join(run_dir, REPORT_FILE)):
            print(f"keras-lt: training afresh over the finished run in {run_dir}: its model, "
                  "report and checkpoint will be replaced (--resume keeps it; --run-name "
                  "trains beside it).", file=sys.stderr, flush=True)
        elif os.path.exists(checkpoint.path):
            print(f"keras-lt: starting afresh; the checkpoint in {checkpoint.directory} will be "
                  "overwritten (--resume continues it; --run-name trains beside it).",
                  file=sys.stderr, flush=True)
    if dist.is_chief:
        config.to_json(saved_config)

    _log(config, f"{config.dataset} ({data.info['source']}): {len(data.train)} training "
                 f"images in {data.num_classes} classes, counts {_short(counts)}; "
                 f"{len(data.test)} test images.")

    steps = steps_per_epoch(config, data)
    model = compiled_model(config, method, data, dist.scope())
    initial_epoch = 0
    if config.resume and os.path.exists(checkpoint.path):
        initial_epoch = restore_checkpoint(model, checkpoint)
        if initial_epoch >= config.epochs:
            _log(config, f"{checkpoint.path} holds all {_epochs(config.epochs)}: nothing left to "
                         "train; evaluating and saving the run again.")
        else:
            _log(config, f"Resuming at epoch {initial_epoch + 1} of {config.epochs} from "
                         f"{checkpoint.path}.")
    elif config.resume:  # said even with --quiet, by every worker (each has its own)
        print(f"keras-lt: --resume: no checkpoint in {checkpoint.directory}; starting afresh.",
              file=sys.stderr, flush=True)
    train_data, test_data = input_pipelines(config, method, data, initial_epoch)
    dist.prepare(model, lambda: _sample_batch(train_data))

    history_csv = os.path.join(run_dir, HISTORY_CSV)
    if dist.is_chief:  # each epoch's logs, written before its checkpoint
        callbacks.append(history_logger(history_csv, initial_epoch))
    callbacks.append(checkpoint)
    # The test split's accuracy after each epoch, for monitoring only. Not under
    # the multi-worker strategy, whose steps need equal full batches everywhere.
    monitor = test_data if config.monitor and config.strategy != "multiworker" else None
    _log(config, f"Training {config.method} ({method.summary}) for {_epochs(config.epochs)}, "
                 f"{steps} steps each"
                 + ("; val_* = the balanced test split, shown for monitoring only (nothing "
                    "is selected on it)." if monitor is not None else "."))
    model.fit(
        train_data,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps,
        validation_data=monitor,
        callbacks=callbacks,
        shuffle=False,
        verbose=1 if config.verbose else 0,
    )

    report = evaluate_model(
        model,
        data.test.x if _is_arrays(data.test) else test_data,
        data.test.y if _is_arrays(data.test) else None,
        train_counts=counts,
        class_names=data.class_names,
        many=config.shot_many,
        few=config.shot_few,
        seed=config.seed,
        **_feature_deviation_inputs(data),
    )
    report["run"] = {
        "dataset": config.dataset, "method": config.method, "imbalance": config.imbalance,
        "ratio": config.ratio, "epochs": config.epochs, "backend": backend,
        "strategy": config.strategy, "source": data.info["source"],
        # This process's time from loading the data to here (compilation and the
        # final evaluation included); a resumed run's earlier epochs are not in it.
        "train_seconds": round(time.time() - started, 1),
        "resumed_at_epoch": initial_epoch,
    }
    if config.verbose:
        print(format_report(report))
    if dist.is_chief:
        write_report(report, run_dir)
        model.save(os.path.join(run_dir, MODEL_FILE))
        _write_json(os.path.join(run_dir, CLASSES_FILE), {
            "class_names": list(data.class_names), "train_counts": counts.tolist(),
            "input_shape": list(input_shape_of(config, data)),
        })
        run_history = read_history(history_csv)
        _write_json(os.path.join(run_dir, HISTORY_FILE), run_history)
        plot_history(run_history, os.path.join(run_dir, HISTORY_PLOT))
        best = best_epoch(run_history, "val_accuracy")
        if best is not None:  # the papers' code reports this epoch; the report is the last
            last = last_epoch(run_history, "val_accuracy")
            _log(config, f"Test monitor: best epoch {best[0]} at {100 * best[1]:.2f} % "
                         f"(last monitored epoch: {100 * last[1]:.2f} %).")
        _log(config, f"Saved {os.path.join(run_dir, MODEL_FILE)} with its report and config.")
    return model, report, run_dir


def _sample_batch(dataset):
    """One (x, y) batch of a training dataset, without moving its epoch on."""
    if hasattr(dataset, "__getitem__"):
        return dataset[0]
    return next(iter(dataset.take(1)))


def _feature_deviation_inputs(data):
    if _is_arrays(data.train):
        return {"train_x": data.train.x, "train_y": data.train.y}
    return {}


def _short(counts, head=3):
    counts = [int(c) for c in counts]
    if len(counts) <= 2 * head + 1:
        return str(counts)
    return f"[{', '.join(map(str, counts[:head]))}, ..., {', '.join(map(str, counts[-head:]))}]"


# ---------------------------------------------------------------- evaluate


def find_run(model_path):
    """(run folder, .keras file) of a saved run folder or of its .keras file."""
    path = os.fspath(model_path)
    if os.path.isdir(path):
        run_dir, model_file = path, os.path.join(path, MODEL_FILE)
    else:
        run_dir, model_file = os.path.dirname(path) or ".", path
    if not os.path.isfile(model_file):
        raise FileNotFoundError(
            f"No saved model at {model_file!r}: give a run folder written by "
            "`keras-lt train` (saved_models/<run name>/) or its .keras file."
        )
    return run_dir, model_file


def load_test_split(dataset, data_dir, split, class_names, input_shape):
    """The labelled evaluation data: `LabeledArrays`, or `LabeledFiles` (iNaturalist).

    `data_dir` is a copy of the dataset (train/ and test/ class folders, the
    tiny-imagenet-200 folder, the iNaturalist json files) or a plain image
    folder with one sub-folder per class; digits need none.
    """
    from keras_lt.data import (
        list_inaturalist2018,
        load_digits_split,
        load_image_folder,
        load_tiny_imagenet,
    )

    size = tuple(input_shape[:2])
    color = "grayscale" if input_shape[-1] == 1 else "rgb"
    if data_dir is None:
        if dataset == "digits":
            return load_digits_split()[1 if split == "test" else 0]
        raise ValueError(f"Evaluating a {dataset} model needs --data-dir.")
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise ValueError(f"Data folder {data_dir!r} does not exist or is not a directory.")
    if dataset == "inaturalist2018":
        return list_inaturalist2018(data_dir, "val" if split == "test" else split)
    if dataset == "tiny_imagenet" and os.path.isdir(os.path.join(data_dir, "val")):
        return load_tiny_imagenet(data_dir, "val" if split == "test" else split)
    for root in (data_dir, os.path.join(data_dir, dataset)):
        if os.path.isdir(os.path.join(root, split)):
            return load_image_folder(os.path.join(root, split), image_size=size,
                                     color_mode=color, class_names=class_names)
    # A plain image folder: one sub-folder per class.
    return load_image_folder(data_dir, image_size=size, color_mode=color,
                             class_names=class_names)


def evaluate(model_path, data_dir=None, dataset=None, split="test", output_dir=None,
             batch_size=256, verbose=1):
    """Reloads a saved run's model and reports on `data_dir`; returns the report."""
    import keras

    from keras_lt.evaluation import evaluate_model, format_report, write_report

    if split not in EVALUATION_SPLITS:
        raise ValueError(f"`split` must be one of {EVALUATION_SPLITS}, got {split!r}.")
    run_dir, model_file = find_run(model_path)
    config_path = os.path.join(run_dir, CONFIG_FILE)
    classes_path = os.path.join(run_dir, CLASSES_FILE)
    if not os.path.isfile(classes_path):
        raise FileNotFoundError(
            f"{classes_path!r} is missing: `evaluate` needs the class names and training "
            "counts that `keras-lt train` writes next to the model."
        )
    with open(classes_path) as f:
        classes = json.load(f)
    config = TrainConfig.from_json(config_path) if os.path.isfile(config_path) else None
    dataset = dataset or (config.dataset if config else None)
    if data_dir is None and config is not None and config.data_dir and dataset == config.dataset:
        data_dir = config.data_dir
    names = classes["class_names"]
    try:
        test = load_test_split(dataset, data_dir, split, names, classes["input_shape"])
    except ValueError as error:
        if data_dir is None or "are missing from" not in str(error):
            raise
        shown = ", ".join(map(str, names[:10])) + (", ..." if len(names) > 10 else "")
        raise ValueError(
            f"{data_dir!r} does not hold the classes of the model in {run_dir} (trained on "
            f"{config.dataset if config else 'a dataset'}, {len(names)} classes: {shown}): "
            f"{error}"
        ) from error
    if _is_arrays(test):
        x, y = test.x, test.y
    else:  # files read lazily, resized and centre-cropped as in training
        from keras_lt.data import make_tf_dataset

        x, y = make_tf_dataset(test, batch_size=batch_size, training=False,
                               augment=AUGMENTATIONS.get(dataset),
                               image_size=tuple(classes["input_shape"][:2])), None
    with warnings.catch_warnings():
        # Inference needs no loss; LongTailModel warns that it cannot restore
        # the saved loss state into an uncompiled model.
        warnings.filterwarnings("ignore", message="The saved model has .* loss state variables")
        model = keras.saving.load_model(model_file, compile=False)
    report = evaluate_model(
        model, x, y, train_counts=classes["train_counts"],
        class_names=classes["class_names"], batch_size=batch_size,
        many=config.shot_many if config else 100, few=config.shot_few if config else 20,
    )
    report["run"] = {"model": os.path.abspath(model_file), "data_dir": data_dir,
                     "dataset": dataset, "split": split}
    if output_dir is None:
        name = os.path.basename(os.path.normpath(data_dir)) if data_dir else dataset
        output_dir = os.path.join(run_dir, f"eval-{name}-{split}")
    write_report(report, output_dir)
    if verbose:
        print(format_report(report))
        print(f"Report written to {output_dir}", file=sys.stderr)
    return report
