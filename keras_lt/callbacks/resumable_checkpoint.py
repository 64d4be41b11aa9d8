"""`ResumableCheckpoint`: exact resume of a killed `fit`, written atomically.

Why not `keras.callbacks.BackupAndRestore`. It saves `model.save_weights`
(layer weights and optimizer variables, `iterations` included) and the epoch,
which is most of it, but:

* not the random state: the `SeedGenerator` states of `Dropout` and other
  random layers are not in `save_weights` files (a `SeedGenerator` is not a
  saveable), and neither are NumPy's, Python's or Keras's global generators.
  A resumed run then draws different dropout masks (or augmentations) than
  the uninterrupted run and ends elsewhere;
* not the loss state (`class_weights`, `gamma`, `ib_active`) of a model that
  does not track it;
* it writes the weights file in place: a SIGKILL during the write leaves a
  corrupt file (its `double_checkpoint` keeps a second copy, but the copy is
  also made in place).

What this callback saves at the end of every epoch, in one `.npz` file
written to a temporary name, flushed, fsync'ed and then `os.replace`d over
the previous one (an atomic rename: a kill at any point leaves either the
old or the new complete checkpoint):

* the next epoch to run;
* every model variable, by position: `model.trainable_variables` and
  `model.non_trainable_variables` (BatchNorm statistics, the `SeedGenerator`
  states of random layers);
* every optimizer variable (`iterations`, so the learning-rate schedule
  resumes at the right step; momentum buffers; ...);
* the state variables of the compiled losses (`loss.state_variables`, also
  when a `LongTailModel` tracks them), by loss name and attribute, restored
  into the losses compiled at resume that match;
* the random state: NumPy's global generator, Python's `random`, Keras's
  global `SeedGenerator` when one exists, PyTorch's on the torch backend.

`on_train_begin` restores all of it and sets the epoch at which `fit`
continues (as `BackupAndRestore` does, through `model._initial_epoch`).
Phase callbacks (`DeferredReweighting`, `PhaseSwitch`) derive their state
from the epoch, so they are exact on resume whatever order the callbacks
are in.

What it cannot restore, and what the run must do instead: the order of the
data. Keras's array adapters and an unseeded `tf.data` shuffle draw a new
order per epoch from generators that live outside this checkpoint; feed a
deterministic order per epoch (shuffle seeded by `seed + epoch`, as the
in-memory pipelines of `keras_lt.data` do, or no shuffling). Set
`keras.utils.set_random_seed(seed)` before building the model, in both the
first and the resumed run, so that the variables are created in the same
order with the same initial values. Resume happens at epoch boundaries: the
epoch during which the run was killed is run again from its beginning.
"""

import glob
import json
import os
import random
import warnings

import numpy as np

import keras

from keras_lt.callbacks.loss_state import assign_if_changed
from keras_lt.callbacks.loss_state import compiled_losses
from keras_lt.callbacks.loss_state import refresh_step_functions

FORMAT_VERSION = 1


def _keras_global_seed_generator(create=False):
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
    except ImportError:  # pragma: no cover - other Keras versions
        return None
    generator = global_state.get_global_attribute("global_seed_generator")
    if generator is None and create:
        generator = seed_generator.global_seed_generator()
    return generator


def _values(variables):
    return [np.array(keras.ops.convert_to_numpy(v.value)) for v in variables]


def _loss_state_entries(model):
    """[(loss name, attribute, variable)] of the compiled losses' state variables."""
    entries = []
    for loss in compiled_losses(model):
        names = getattr(loss, "_state_variable_names", None)
        if names is None:  # another Loss that lists `state_variables`
            names = [
                a for a in vars(loss)
                if any(getattr(loss, a) is v for v in getattr(loss, "state_variables", []) or [])
            ]
        for attribute in names:
            variable = getattr(loss, attribute, None)
            if isinstance(variable, keras.Variable):
                entries.append((getattr(loss, "name", type(loss).__name__), attribute, variable))
    return entries


def _non_trainable_model_variables(model):
    """`model.non_trainable_variables` less the loss state (saved on its own).

    A model that tracks its loss's state variables (`LongTailModel`) lists
    those of the loss compiled *now*; after a loss swap that is another set
    than at the start of a resumed run. The loss state is saved and matched
    by loss name and attribute instead.
    """
    loss_state = {id(v) for _, _, v in _loss_state_entries(model)}
    return [v for v in model.non_trainable_variables if id(v) not in loss_state]


def _check_format(path, meta):
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format {meta.get('format')}, expected {FORMAT_VERSION}."
        )


_NOT_JSON = object()


def _plain(value):
    """`value` in JSON types (shapes as lists of int / None), or `_NOT_JSON`.

    Keras keeps `build`'s argument as given: a `tf.TensorShape` or numpy ints
    are not JSON.
    """
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, dict):
        plain = {str(key): _plain(item) for key, item in value.items()}
        parts = plain.values()
    else:
        try:
            plain = [_plain(item) for item in value]  # lists, tuples, TensorShape
        except TypeError:
            return _NOT_JSON
        parts = plain
    return _NOT_JSON if any(part is _NOT_JSON for part in parts) else plain


class ResumableCheckpoint(keras.callbacks.Callback):
    """Saves the full training state every epoch; resumes a killed `fit` exactly.

    Put it in the `callbacks` of `fit` in the first run and in the resumed
    one (same model-building code, same seed): the second `fit` restores the
    model, optimizer, loss and random state of the last completed epoch and
    continues with the next, so that it ends where an uninterrupted run ends.
    See the module docstring for what is saved and why `BackupAndRestore`
    is not enough.

    Args:
        directory: folder of the checkpoint (created if needed). Use one
            folder per run.
        filename: checkpoint file name inside it ("checkpoint.npz").
        restore: restore from an existing checkpoint at `on_train_begin`
            (True). False starts afresh and overwrites it.
        delete_on_train_end: delete the checkpoint when `fit` completes
            (False: it stays, and running the same `fit` again is a no-op
            resume of a finished run, which is what a re-launched job wants).
        verbose: 1 prints a line when restoring.

    Example:

    ```python
    keras.utils.set_random_seed(0)
    model = build_model(); model.compile(...)
    model.fit(train_data, epochs=200, callbacks=[
        keras_lt.callbacks.ResumableCheckpoint("runs/ldam-drw/ckpt"),
        keras_lt.callbacks.DeferredReweighting(counts, start_epoch=160)])
    # killed at epoch 123? Run the same script again: it continues at 123.
    ```
    """

    def __init__(
        self,
        directory,
        filename="checkpoint.npz",
        restore=True,
        delete_on_train_end=False,
        verbose=0,
    ):
        super().__init__()
        if not directory:
            raise ValueError("`directory` must be a non-empty path.")
        if not filename.endswith(".npz"):
            raise ValueError(f"`filename` must end in .npz, got {filename!r}.")
        self.directory = os.fspath(directory)
        self.filename = filename
        self.restore_on_train_begin = bool(restore)
        self.delete_on_train_end = bool(delete_on_train_end)
        self.verbose = verbose
        self.restored_epoch = None

    @property
    def path(self):
        return os.path.join(self.directory, self.filename)

    # -- callback -------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.restored_epoch = None
        for stale in glob.glob(glob.escape(self.path) + ".tmp-*"):
            try:
                os.remove(stale)
            except OSError:
                pass
        if self.restore_on_train_begin and os.path.exists(self.path):
            epoch = self.restore(self.model)
            self.model._initial_epoch = epoch
            self.restored_epoch = epoch
            if self.verbose:
                print(f"ResumableCheckpoint: resuming at epoch {epoch + 1} from {self.path}.")

    def on_epoch_end(self, epoch, logs=None):
        self.save(self.model, epoch + 1)

    def on_train_end(self, logs=None):
        # `_initial_epoch` is read once per fit; clear it so that a later fit
        # of the same model object starts where its caller says.
        if self.restored_epoch is not None:
            self.model._initial_epoch = None
        if self.delete_on_train_end and os.path.exists(self.path):
            os.remove(self.path)

    # -- save -----------------------------------------------------------------

    def save(self, model, next_epoch):
        """Writes the checkpoint atomically; `next_epoch` is the epoch to resume at."""
        os.makedirs(self.directory, exist_ok=True)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        arrays = {}
        meta = {
            "format": FORMAT_VERSION,
            "epoch": int(next_epoch),
            "backend": keras.backend.backend(),
            "keras_version": keras.__version__,
        }
        if model.built:  # so that an unbuilt model can be built again to restore into
            build_config = _plain(model.get_build_config())
            if build_config is not _NOT_JSON:
                meta["build_config"] = build_config
        groups = {
            "trainable": list(model.trainable_variables),
            "non_trainable": _non_trainable_model_variables(model),
            "optimizer": list(model.optimizer.variables) if model.optimizer is not None else [],
        }
        for group, variables in groups.items():
            meta[f"{group}_paths"] = [v.path for v in variables]
            for i, value in enumerate(_values(variables)):
                arrays[f"{group}/{i}"] = value
        loss_entries = _loss_state_entries(model)
        meta["loss_state"] = [[name, attribute] for name, attribute, _ in loss_entries]
        for i, value in enumerate(_values([v for _, _, v in loss_entries])):
            arrays[f"loss_state/{i}"] = value
        # Random state.
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        arrays["numpy_rng/keys"] = np.asarray(keys)
        meta["numpy_rng"] = [kind, int(pos), int(has_gauss), float(cached)]
        version, internal, gauss = random.getstate()
        meta["python_rng"] = [version, list(internal), gauss]
        generator = _keras_global_seed_generator()
        if generator is not None:
            arrays["keras_rng/state"] = _values([generator.state])[0]
        if keras.backend.backend() == "torch":
            import torch

            arrays["torch_rng/state"] = torch.get_rng_state().numpy()
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

        tmp = f"{self.path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        try:  # make the rename itself durable
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:  # pragma: no cover - e.g. Windows
            pass

    # -- restore --------------------------------------------------------------

    def saved_epoch(self):
        """The epoch the checkpoint resumes at (the epochs it holds), or None
        without a checkpoint. Reads its metadata only."""
        if not os.path.exists(self.path):
            return None
        with np.load(self.path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode("utf-8")) if "meta" in data else {}
        _check_format(self.path, meta)  # as `restore` refuses it
        return int(meta["epoch"])

    def restore(self, model):
        """Restores the state saved in the checkpoint; returns the epoch to resume at."""
        with np.load(self.path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        _check_format(self.path, meta)
        if not model.built and meta.get("build_config"):
            # A subclassed model is built at its first call, after on_train_begin
            # on TensorFlow without a distribution strategy: build it as saved.
            model.build_from_config(meta["build_config"])
        if not model.built:
            raise ValueError(
                "ResumableCheckpoint: the model must be built before it is restored "
                "(call it on a batch, or `model.build(input_shape)`, before fit)."
            )
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)

        self._restore_group(model.trainable_variables, arrays, meta, "trainable", strict=True)
        self._restore_group(
            _non_trainable_model_variables(model), arrays, meta, "non_trainable", strict=False
        )
        if model.optimizer is not None:
            self._restore_group(model.optimizer.variables, arrays, meta, "optimizer", strict=True)

        # Loss state, for the losses compiled now that match by name and attribute.
        entries = _loss_state_entries(model)
        changed = []
        for i, (name, attribute) in enumerate(meta.get("loss_state", [])):
            for loss_name, loss_attribute, variable in entries:
                value = arrays[f"loss_state/{i}"]
                if (loss_name, loss_attribute) == (name, attribute) and tuple(
                    value.shape
                ) == tuple(variable.shape):
                    if assign_if_changed(variable, value):
                        changed.append(variable)
        if changed:
            refresh_step_functions(model, changed)

        # Random state.
        kind, pos, has_gauss, cached = meta["numpy_rng"]
        np.random.set_state((kind, arrays["numpy_rng/keys"], pos, has_gauss, cached))
        version, internal, gauss = meta["python_rng"]
        random.setstate((version, tuple(internal), gauss))
        if "keras_rng/state" in arrays:
            generator = _keras_global_seed_generator(create=True)
            if generator is not None:
                generator.state.assign(arrays["keras_rng/state"])
        if "torch_rng/state" in arrays and keras.backend.backend() == "torch":
            import torch

            torch.set_rng_state(torch.from_numpy(arrays["torch_rng/state"]))
        return int(meta["epoch"])

    def _restore_group(self, variables, arrays, meta, group, strict):
        variables = list(variables)
        paths = meta[f"{group}_paths"]
        saved = [arrays[f"{group}/{i}"] for i in range(len(paths))]
        if len(saved) == len(variables):
            pairs = list(zip(variables, saved))
        elif strict:
            raise ValueError(
                f"ResumableCheckpoint: {self.path} holds {len(saved)} {group} "
                f"variables but the model has {len(variables)}. Resume with the "
                "same model-building code and compile arguments as the first run."
            )
        else:
            # The set changed (e.g. a model that tracks its loss's state after a
            # loss swap): match by path where the path is unique on both sides.
            by_path = {}
            for path, value in zip(paths, saved):
                by_path.setdefault(path, []).append(value)
            counts = {}
            for v in variables:
                counts[v.path] = counts.get(v.path, 0) + 1
            pairs, missing = [], []
            for v in variables:
                values = by_path.get(v.path, [])
                if len(values) == 1 and counts[v.path] == 1:
                    pairs.append((v, values[0]))
                else:
                    missing.append(v.path)
            if missing:
                warnings.warn(
                    f"ResumableCheckpoint: {len(missing)} {group} variables not "
                    f"restored (no unique match in the checkpoint): {missing[:10]}",
                    stacklevel=2,
                )
        for variable, value in pairs:
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"ResumableCheckpoint: shape mismatch for {group} variable "
                    f"`{variable.path}`: checkpoint {value.shape}, model "
                    f"{tuple(variable.shape)}. Resume with the same model."
                )
            variable.assign(value)
