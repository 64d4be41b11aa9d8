"""`PhaseSwitch`: change a loss attribute, or the loss itself, from given epochs."""

import warnings

import numpy as np

import keras

from keras_lt.callbacks.loss_state import assign_if_changed
from keras_lt.callbacks.loss_state import compiled_losses
from keras_lt.callbacks.loss_state import loss_state_variable
from keras_lt.callbacks.loss_state import refresh_step_functions
from keras_lt.callbacks.loss_state import replace_loss
from keras_lt.callbacks.loss_state import variable_value
from keras_lt.checks import whole_number

LOSS = "loss"


def _shown(value):
    """A float32 value as typed (0.1, not 0.10000000149011612), for the log line."""
    array = np.asarray(value, dtype=np.float64)
    return np.vectorize(lambda v: float(f"{v:.7g}"), otypes=[float])(array).tolist()


def _target_name(target):
    return target if isinstance(target, str) else f"variable {target.path!r}"


def _check_target(target):
    if isinstance(target, str) or isinstance(target, keras.Variable):
        return target
    raise ValueError(
        "A PhaseSwitch target must be a loss attribute name (e.g. 'ib_active', "
        "'gamma', 'class_weights'), 'loss' (swap the compiled loss) or a "
        f"keras.Variable, got {target!r}."
    )


class PhaseSwitch(keras.callbacks.Callback):
    """Sets loss state (or swaps the loss) as a function of the epoch.

    Three ways to say what changes when:

    * one target from one epoch: `PhaseSwitch("ib_active", 1.0, start_epoch=100)`
      (IB's second phase, Park et al.: plain CE for epochs 0-99, IB from 100
      of 200); the target may also be the variable itself,
      `PhaseSwitch(loss.ib_active, 1.0, start_epoch=100)`;
    * a piecewise-constant schedule `{epoch: {target: value, ...}}`:
      `PhaseSwitch(schedule={0: {"gamma": 0.0}, 45: {"gamma": 0.1}})`
      (CDT on iNaturalist, Ye et al. 2020 suppl. A.4: gamma 0 for the first
      45 of 90 epochs, then the chosen gamma);
    * a callable `value(epoch)` for one target, or `schedule(epoch) ->
      {target: value}`: `PhaseSwitch("gamma", lambda e: 0.1 * min(1, e / 10))`.

    A target is a loss attribute name (a `keras.Variable` attribute of the
    compiled loss: `ib_active`, `gamma`, `class_weights`, any
    `state_variables` entry), a `keras.Variable`, or `"loss"`: the value is
    then a loss object that replaces the compiled loss from that epoch
    (`replace_loss`: same optimizer object and state, metrics kept, the step
    rebuilt), e.g. `PhaseSwitch("loss", IBLoss(counts), start_epoch=100)`.
    Attribute names are looked up on the loss in force at that epoch (after a
    swap, on the new loss), or on `loss` if given; in a schedule that swaps
    losses, an attribute applies while a loss that has it is in force.

    Stateless resume: at every `on_epoch_begin(epoch)` the callback computes
    the whole state for `epoch` (the latest schedule entry at or before it,
    else the initial value) and applies what differs. A run resumed at any
    epoch therefore starts with the state an uninterrupted run has there. The
    initial values are `initial_value` (single-target form), an entry at epoch
    0, or else the values the targets hold when the callback first meets the
    model (`set_model`, before training and before a checkpoint is restored;
    for a loss swapped in later, when it is first used). The change reaches
    the compiled step on every backend (on JAX the step is re-traced when the
    model does not track the variable; see `keras_lt.callbacks.loss_state`).

    Args:
        attribute: a target (single-target form).
        value: its value from `start_epoch`, or a callable `value(epoch)`
            (then `start_epoch` is not used).
        start_epoch: 0-based epoch of the switch (single-target form).
        schedule: `{epoch: {target: value}}`, or a callable
            `schedule(epoch) -> {target: value}`; instead of the three above.
        initial_value: the target's value before `start_epoch`.
        loss: optional loss object (or list) whose attributes change, instead
            of `model.loss`.
        verbose: 1 prints a line on each change.

    Example (IB, two phases):

    ```python
    loss = keras_lt.IBLoss(counts, start_active=False)
    model.compile(optimizer=keras_lt.schedules.sgd_optimizer(steps), loss=loss)
    model.fit(data, epochs=200, callbacks=[
        keras_lt.callbacks.PhaseSwitch("ib_active", 1.0, start_epoch=100)])
    ```

    Papers: Park et al., "Influence-Balanced Loss for Imbalanced Visual
    Classification", ICCV 2021, sec. 5 (phase switch at epoch 100 of 200);
    Ye et al., "Identifying and Compensating for Feature Deviation in
    Imbalanced Deep Learning", 2020, suppl. A.4 (gamma schedule).
    """

    LOSS = LOSS

    def __init__(
        self,
        attribute=None,
        value=None,
        start_epoch=None,
        schedule=None,
        initial_value=None,
        loss=None,
        verbose=0,
    ):
        super().__init__()
        self.loss = loss
        self.verbose = verbose
        self._initial = {}  # key -> initial value (numpy array or loss object)
        self._callable = None
        self._entries = []  # sorted [(epoch, [(target, value), ...])]
        if schedule is not None:
            if attribute is not None or value is not None or start_epoch is not None:
                raise ValueError(
                    "Pass either `schedule` or `attribute`/`value`/`start_epoch`, not both."
                )
            if initial_value is not None:
                raise ValueError(
                    "`initial_value` goes with `attribute`; with `schedule`, give "
                    "the initial values as an entry at epoch 0."
                )
            if callable(schedule):
                self._callable = schedule
            elif isinstance(schedule, dict):
                for epoch, changes in schedule.items():
                    epoch = whole_number(epoch, "schedule epoch")
                    if not isinstance(changes, dict) or not changes:
                        raise ValueError(
                            "Each schedule entry must be a non-empty dict "
                            f"{{target: value}}, got {changes!r} at epoch {epoch}."
                        )
                    pairs = [(_check_target(t), v) for t, v in changes.items()]
                    for t, v in pairs:
                        self._as_value(t, v)  # a bad value fails here, not mid-training
                    self._entries.append((epoch, pairs))
                self._entries.sort(key=lambda entry: entry[0])
            else:
                raise ValueError(
                    "`schedule` must be a dict {epoch: {target: value}} or a "
                    f"callable epoch -> {{target: value}}, got {schedule!r}."
                )
        else:
            if attribute is None or value is None:
                raise ValueError(
                    "PhaseSwitch needs `attribute` and `value` (with `start_epoch`, "
                    "or a callable `value(epoch)`), or a `schedule`."
                )
            target = _check_target(attribute)
            swaps_loss = isinstance(target, str) and target == LOSS
            if callable(value) and not swaps_loss:
                if start_epoch is not None:
                    raise ValueError(
                        "With a callable `value(epoch)` the schedule is the callable: "
                        "leave `start_epoch` out."
                    )
                self._callable = lambda epoch: {target: value(epoch)}
                self._single_target = target
            else:
                if start_epoch is None:
                    raise ValueError("`start_epoch` is required with a constant `value`.")
                self._as_value(target, value)  # a bad value fails here, not mid-training
                self._entries = [(whole_number(start_epoch, "start_epoch"), [(target, value)])]
            if initial_value is not None:
                self._initial[self._key(target, None)] = self._as_value(target, initial_value)
        self._all_targets = []
        for _, pairs in self._entries:
            for target, _ in pairs:
                if not any(self._same(target, t) for t in self._all_targets):
                    self._all_targets.append(target)

    # -- helpers --------------------------------------------------------------

    @staticmethod
    def _same(a, b):
        return a is b if not isinstance(a, str) or not isinstance(b, str) else a == b

    @staticmethod
    def _key(target, loss):
        if isinstance(target, str):
            if target == LOSS:
                return ("loss",)
            return ("attr", target, id(loss) if loss is not None else None)
        return ("var", id(target))

    @staticmethod
    def _as_value(target, value):
        """`value` as a float32 array, or a ValueError naming the target."""
        if isinstance(target, str) and target == LOSS or value is None:
            return value  # None: the target's initial value (`state_at`)
        try:
            array = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"PhaseSwitch: the value for `{_target_name(target)}` must be a number or "
                f"an array of numbers, got {value!r}."
            ) from error
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"PhaseSwitch: the value for `{_target_name(target)}` must be finite, "
                f"got {array.tolist()}."
            )
        return array

    def _active_losses(self):
        return compiled_losses(self.model, self.loss)

    def _swaps_loss(self, desired):
        """Whether this callback swaps the loss: then an attribute may be absent."""
        targets = list(self._all_targets) + [t for t, _ in desired]
        return any(isinstance(t, str) and t == LOSS for t in targets)

    def _variables_for(self, target, required=True):
        """[(key, variable)] for an attribute name or a variable target."""
        if not isinstance(target, str):
            return [(self._key(target, None), target)]
        found = []
        for item in self._active_losses():
            variable = loss_state_variable(item, target)
            if variable is not None:
                found.append((self._key(target, item), variable))
        if not found and required:
            raise ValueError(
                f"PhaseSwitch: no compiled loss has a `{target}` variable "
                f"(losses: {[type(x).__name__ for x in self._active_losses()]}). "
                "Targets are keras.Variable attributes of the loss, e.g. "
                "`ib_active` (IBLoss), `gamma` (CDTLoss), `class_weights`."
            )
        return found

    def _initial_for(self, key, target, current):
        if key not in self._initial:
            general = self._key(target, None)
            if key != general and general in self._initial:
                return self._initial[general]
            self._initial[key] = current
        return self._initial[key]

    def state_at(self, epoch):
        """`[(target, value)]` in force during `epoch`; None means the initial value."""
        if self._callable is not None:
            changes = self._callable(epoch) or {}
            return [(_check_target(t), v) for t, v in changes.items()]
        state = []
        for target in self._all_targets:
            chosen = None
            for start, pairs in self._entries:
                if start > epoch:
                    break
                for t, v in pairs:
                    if self._same(t, target):
                        chosen = v
            state.append((target, chosen))
        return state

    def describe(self):
        """`{epoch: {target: value}}` of a fixed schedule, for printing; None for a callable."""
        if self._callable is not None:
            return None

        def shown(target, value):
            if isinstance(target, str) and target == LOSS:
                return type(value).__name__
            return np.asarray(value).tolist()

        return {epoch: {_target_name(t): shown(t, v) for t, v in pairs}
                for epoch, pairs in self._entries}

    def _capture_initial_values(self):
        """Records the targets' values as the callback first sees the model."""
        if self.model is None or not getattr(self.model, "compiled", False):
            return
        targets = list(self._all_targets)
        if self._callable is not None and hasattr(self, "_single_target"):
            targets.append(self._single_target)
        for target in targets:
            if isinstance(target, str) and target == LOSS:
                self._initial.setdefault(("loss",), self.model.loss)
                continue
            try:
                pairs = self._variables_for(target)
            except ValueError:
                continue  # an attribute of a loss swapped in later
            for key, variable in pairs:
                self._initial_for(key, target, variable_value(variable))

    # -- callback -------------------------------------------------------------

    def set_model(self, model):
        super().set_model(model)
        self._capture_initial_values()

    def on_train_begin(self, logs=None):
        epochs = (self.params or {}).get("epochs")
        late = [epoch for epoch, _ in self._entries if epochs is not None and epoch >= epochs]
        if late:
            warnings.warn(
                f"PhaseSwitch: the switch at epoch {late[0]} is at or after the end of this "
                f"fit (epochs 0..{epochs - 1}, 0-based): it never happens.",
                stacklevel=2,
            )

    def on_epoch_begin(self, epoch, logs=None):
        desired = self.state_at(epoch)
        # The loss object first, so that attributes go to the loss in force.
        for target, value in desired:
            if isinstance(target, str) and target == LOSS:
                wanted = value if value is not None else self._initial.get(("loss",))
                if wanted is None:
                    continue
                if self.model.loss is not wanted:
                    self._initial.setdefault(("loss",), self.model.loss)
                    replace_loss(self.model, wanted)
                    if self.verbose:
                        print(f"\nEpoch {epoch + 1}: PhaseSwitch set loss {type(wanted).__name__}.")
        changed = []
        required = not self._swaps_loss(desired)
        for target, value in desired:
            if isinstance(target, str) and target == LOSS:
                continue
            # With loss swaps, an attribute of one phase's loss is absent from
            # the others: it applies while a loss that has it is in force.
            for key, variable in self._variables_for(target, required=required):
                initial = self._initial_for(key, target, variable_value(variable))
                new = initial if value is None else self._as_value(target, value)
                try:
                    new = np.broadcast_to(new, variable.shape)
                except ValueError as error:
                    raise ValueError(
                        f"PhaseSwitch: the value for `{_target_name(target)}` has shape "
                        f"{np.shape(new)}; the variable has shape {tuple(variable.shape)}."
                    ) from error
                if assign_if_changed(variable, new):
                    changed.append(variable)
                    if self.verbose:
                        print(
                            f"\nEpoch {epoch + 1}: PhaseSwitch set {_target_name(target)} "
                            f"= {_shown(new)}."
                        )
        if changed:
            refresh_step_functions(self.model, changed)
