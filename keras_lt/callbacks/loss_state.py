"""Finding and changing a compiled loss's state from a callback.

Shared by `DeferredReweighting`, `PhaseSwitch` and `ResumableCheckpoint`.

How a change reaches the compiled training step (CONTRIBUTING.md):

* The losses keep mid-training state in non-trainable `keras.Variable`s
  (`loss.state_variables`: `class_weights`, `gamma`, `ib_active`), read with
  `keras.ops` when the step runs. On TensorFlow and PyTorch an
  `assign` is seen by the next step of an already traced function.
* On JAX the step is a pure function of the model's state. A variable that
  the model tracks (`LongTailModel` tracks its loss's state variables) is part
  of that state, which the fit loop fetches right after `on_epoch_begin`, so
  an assignment made there reaches the step. A variable the model does not
  track (a plain `keras.Model` compiled with a keras_lt loss) is read once,
  when the step is traced, and baked in as a constant: after changing it we
  rebuild the step (`model.make_train_function(force=True)`, and the test
  function), so the next step is traced again with the new value. That costs
  one re-trace per change (a handful per run).

`replace_loss` swaps the compiled loss object itself (a new phase with a
different loss class), keeping the optimizer object and its state.
"""

import numpy as np

import keras

try:
    from keras.src.saving.serialization_lib import SerializableDict
except ImportError:  # pragma: no cover - other Keras versions
    SerializableDict = None
try:
    from keras.src.utils.tracking import DotNotTrackScope
except ImportError:  # pragma: no cover - other Keras versions
    import contextlib

    DotNotTrackScope = contextlib.nullcontext


def compiled_losses(model, loss=None):
    """The loss objects a callback acts on: `loss` if given, else `model.loss`.

    `model.loss` is what was passed to `compile` (Keras 3 keeps it as given;
    the wrapper it builds around it is `model._compile_loss`). A list or dict
    of losses (several outputs) is flattened. Strings and plain functions hold
    no state and are skipped.
    """
    if loss is None:
        loss = getattr(model, "loss", None) if model is not None else None
    if loss is None:
        return []
    flat = keras.tree.flatten(loss) if isinstance(loss, (list, tuple, dict)) else [loss]
    return [item for item in flat if item is not None and not isinstance(item, str)]


def loss_state_variable(loss, attribute):
    """`loss.<attribute>` if it is a `keras.Variable`, else None."""
    variable = getattr(loss, attribute, None)
    return variable if isinstance(variable, keras.Variable) else None


def find_state_variables(model, attribute, loss=None):
    """The `(loss, variable)` pairs of the compiled losses that have `attribute`."""
    pairs = []
    for item in compiled_losses(model, loss):
        variable = loss_state_variable(item, attribute)
        if variable is not None:
            pairs.append((item, variable))
    return pairs


def variable_value(variable):
    return np.array(keras.ops.convert_to_numpy(variable.value))


def assign_if_changed(variable, value):
    """Assigns `value` (cast to the variable's dtype); returns whether it changed."""
    value = np.asarray(value, dtype=keras.backend.standardize_dtype(variable.dtype))
    if tuple(value.shape) != tuple(variable.shape):
        raise ValueError(
            f"Cannot assign a value of shape {value.shape} to the loss state "
            f"variable `{variable.path}` of shape {tuple(variable.shape)}."
        )
    if np.array_equal(variable_value(variable), value):
        return False
    variable.assign(value)
    return True


def model_tracks(model, variable):
    """Whether `variable` is part of the model's state on every backend."""
    tracked = list(model.trainable_variables) + list(model.non_trainable_variables)
    return any(v is variable for v in tracked)


def refresh_step_functions(model, changed_variables):
    """Rebuilds the compiled steps when a changed variable is baked into them.

    Only JAX bakes a variable that the model does not track into the traced
    step as a constant; the other backends read it at run time.
    """
    if model is None or keras.backend.backend() != "jax":
        return False
    if all(model_tracks(model, v) for v in changed_variables):
        return False
    rebuild_step_functions(model)
    return True


def rebuild_step_functions(model):
    model.make_train_function(force=True)
    # Evaluation traces its own step (the validation loss uses the loss too).
    model.test_function = None


def replace_loss(model, loss):
    """Recompiles `model` with a new `loss`, keeping everything else.

    Kept: the optimizer *object* (so its variables: iterations, momentum
    buffers, the learning-rate schedule's position), the compiled metrics and
    the loss tracker (so the epoch's logs go on), `loss_weights`,
    `run_eagerly`, `jit_compile` and `steps_per_execution`. The train step is
    rebuilt at once, because Keras's fit loop calls `model.train_function`
    directly and `compile` resets it. Works from `on_epoch_begin`, also on
    JAX (the fit loop fetches the state after that hook).

    Returns the new loss.
    """
    optimizer = model.optimizer
    compile_metrics = getattr(model, "_compile_metrics", None)
    loss_tracker = getattr(model, "_loss_tracker", None)
    old_config = getattr(model, "_compile_config", None)
    config = dict(getattr(old_config, "config", {}) or {})
    model.compile(
        optimizer=optimizer,
        loss=loss,
        loss_weights=config.get("loss_weights"),
        run_eagerly=model.run_eagerly,
        steps_per_execution=getattr(model, "steps_per_execution", 1),
        jit_compile=model.jit_compile,
    )
    # `compile` made a fresh (unbuilt) loss tracker; keep the one the fit
    # loop and the JAX state already know, and the compiled metrics. Set them
    # without Keras's attribute tracking, as `compile` itself does (tracked,
    # the tracker would be listed twice in `model.metrics`).
    with DotNotTrackScope():
        model._compile_metrics = compile_metrics
        if loss_tracker is not None:
            model._loss_tracker = loss_tracker
        if SerializableDict is not None and config:
            config["loss"] = loss
            config["optimizer"] = optimizer
            model._compile_config = SerializableDict(**config)
    rebuild_step_functions(model)
    return loss
