"""`LongTailModel`: backbone -> [feature weakening] -> head, with a step that sees h.

A plain Keras model hands its loss only `model(x)`. Two of the methods need
more: the influence-balanced loss needs the penultimate features h (the
head's input), and major feature weakening needs the labels inside the
forward pass (the mixing weight depends on the class size of y). So
`LongTailModel` runs the training forward pass itself:

    x -> [input layers: augmentation (training only), normalisation] -> backbone blocks up to `after`
      -> [MajorFeatureWeakening (training only)] -> remaining blocks -> h
      -> head -> z

and calls the compiled loss with `y_pred = {"logits": z, "features": h}` when
the loss's `requires_features` is True, with `z` otherwise. Everything else is
Keras's own step: sample weights, `loss_weights`, regularisation losses,
compiled metrics (on the logits), loss scaling for mixed precision, and
`tf.distribute`. `model(x)`, `predict` and `evaluate` use raw logits and
never weaken features; `extract_features(x)` returns h.

The shared computation is `_loss_and_logits` (forward pass `_forward` /
`_forward_train` + `compute_loss`, backend-agnostic, `keras.ops` only); the
per-backend gradient plumbing is in `backend_steps.py`.

Loss state. A loss's `state_variables` (class weights, IB's phase switch,
CDT's gamma) change mid-training through callbacks. The model lists them
among its own non-trainable variables (`variables`, hence
`non_trainable_variables`) while it is compiled with that loss, so on JAX
they are part of the state passed into the jitted step (a variable the model
did not track would be baked into the trace as a constant). Keras's JAX fit
loop reads that state at the first batch of each epoch, so assign in
`on_epoch_begin` (or before `fit`). They are also saved with the model's
weights and restored on loading when the loaded model is compiled with a loss
that has the same state variables (same number, same shapes, in order).

Keras's `load_model` compiles the model from its compile config before it
loads the variables, so a compiled reload gets the state at once. When the
model has no compiled loss yet (`load_model(..., compile=False)`, or
`load_weights` before `compile`), the saved values are kept and assigned when
the model is compiled; a compile with a loss whose state does not match warns
then. Until then they are also what `save` writes, so a load-and-save without
compiling keeps them.
"""

import warnings

import numpy as np

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.losses.ldam import LDAMLoss
from keras_lt.losses.long_tail_loss import LongTailLoss
from keras_lt.losses.long_tail_loss import warn_not_logits
from keras_lt.models.backend_steps import backend_steps
from keras_lt.models.feature_weakening import MajorFeatureWeakening
from keras_lt.models.normalized_dense import NormalizedDense
from keras_lt.models.output_activation import last_layer
from keras_lt.models.output_activation import output_activation

_LOSS_STATE_PREFIX = "loss_state_"


def _is_constant_nonzero_initializer(initializer):
    config = keras.initializers.serialize(initializer)
    if not isinstance(config, dict) or config.get("class_name") != "Constant":
        return False
    return float(config.get("config", {}).get("value", 0.0)) != 0.0


def _warn_ldam_head(loss, head):
    """Warns, once per loss, that an LDAM scale meant for cosine logits meets another head."""
    if getattr(loss, "_warned_head", False):
        return
    loss._warned_head = True
    warnings.warn(
        f"LDAMLoss multiplies the logits by scale={loss.scale:g}, which Cao et al. use with "
        f"cosine logits in [-1, 1] (a NormalizedDense head), but the head is a "
        f"{type(head).__name__}: scaled logits that are not cosines can saturate the "
        "softmax, and the margins (at most max_margin) are meant for cosines. Use "
        "`keras_lt.models.NormalizedDense(num_classes)` as the head "
        "(build_model(..., head='cosine')), or LDAMLoss(..., scale=1) to keep this head.",
        stacklevel=3,
    )


def _call_layer(layer, x, training):
    """`layer(x, training=training)`, or `layer(x)` when its call takes no `training`."""
    if getattr(layer, "_call_has_training_arg", True):
        return layer(x, training=training)
    return layer(x)


@keras_lt_export("LongTailModel")
class LongTailModel(backend_steps(), keras.Model):
    """A classifier for long-tailed data: backbone, optional feature weakening, head.

    Args:
        backbone: a layer or model mapping images to penultimate features h
            `[B, D]`. With `feature_weakening`, a `keras.Sequential` of named
            blocks (e.g. `cifar_resnet`: "stem", "stage1", ..., "pool").
        head: the last layer, mapping h to logits z `[B, C]`
            (`keras.layers.Dense`, `NormalizedDense`, or
            `classification_head(...)`).
        feature_weakening: optional `MajorFeatureWeakening`, applied in
            training after the backbone block named by its `after`.
        augmentation: optional layer (or Sequential) called on the inputs
            before the backbone with the `training` flag, in training and
            inference: random augmentation in it must act only when
            `training=True` (as Keras's and `keras_lt.data`'s do); a
            `Normalization` in it applies always.
        name, trainable, dtype: as for `keras.Model`.

    Contracts (CONTRIBUTING.md):
        * `model(x)`, `predict`, `evaluate`: raw logits, no weakening.
        * `model.extract_features(x)`: h.
        * a compiled loss with `requires_features = True` receives
          `y_pred = {"logits": z, "features": h}` in `fit` and `evaluate`;
          other losses receive z.

    Example:
        >>> backbone = keras_lt.models.cifar_resnet(32)
        >>> model = LongTailModel(backbone, keras.layers.Dense(10, name="head"))
        >>> model.compile(optimizer="sgd", loss=keras_lt.IBLoss(counts))
        >>> model.fit(x, y, epochs=2)
    """

    def __init__(
        self,
        backbone,
        head,
        feature_weakening=None,
        augmentation=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(backbone, keras.layers.Layer):
            raise ValueError(
                f"`backbone` must be a Keras layer or model, got {type(backbone).__name__}."
            )
        if not isinstance(head, keras.layers.Layer):
            raise ValueError(f"`head` must be a Keras layer, got {type(head).__name__}.")
        if augmentation is not None and not isinstance(augmentation, keras.layers.Layer):
            raise ValueError(
                "`augmentation` must be a Keras layer (active only in training) "
                f"or None, got {type(augmentation).__name__}."
            )
        self._split_index = None
        if feature_weakening is not None:
            if not isinstance(feature_weakening, MajorFeatureWeakening):
                raise ValueError(
                    "`feature_weakening` must be a MajorFeatureWeakening layer or "
                    f"None, got {type(feature_weakening).__name__}."
                )
            self._split_index = self._find_split(backbone, feature_weakening.after)
            units = getattr(head, "units", None)
            if units is not None and units != feature_weakening.num_classes:
                raise ValueError(
                    f"The head has {units} outputs but `feature_weakening` has "
                    f"counts for {feature_weakening.num_classes} classes."
                )
        self.backbone = backbone
        self.head = head
        self.feature_weakening = feature_weakening
        self.augmentation = augmentation

    @staticmethod
    def _find_split(backbone, after):
        blocks = getattr(backbone, "layers", None)
        if not isinstance(backbone, keras.Sequential) or not blocks:
            raise ValueError(
                "Feature weakening splits the backbone after a named block, so the "
                "backbone must be a keras.Sequential of named blocks (such as "
                f"cifar_resnet); got {type(backbone).__name__}."
            )
        names = [block.name for block in blocks]
        if after not in names:
            raise ValueError(
                f"`feature_weakening.after`={after!r} is not a block of the "
                f"backbone '{backbone.name}'; its blocks are {names}."
            )
        return names.index(after)

    def build(self, input_shape):
        """Builds every part with a symbolic forward pass on `input_shape`."""
        inputs = keras.tree.map_shape_structure(keras.KerasTensor, input_shape)
        self._forward(inputs, training=False)

    # -- forward passes (shared by every backend) ------------------------------

    def _forward(self, inputs, labels=None, training=False):
        """Returns `(logits, features)`; weakens features iff training with labels."""
        x = keras.tree.map_structure(
            lambda t: self.dtype_policy.convert_input(t, self.autocast, self.input_dtype),
            inputs,
        )
        if self.augmentation is not None:
            x = _call_layer(self.augmentation, x, training)
        if training and labels is not None and self.feature_weakening is not None:
            blocks = self.backbone.layers
            for block in blocks[: self._split_index + 1]:
                x = _call_layer(block, x, True)
            x = self.feature_weakening(x, labels=labels, training=True)
            for block in blocks[self._split_index + 1 :]:
                x = _call_layer(block, x, True)
            features = x
        else:
            features = _call_layer(self.backbone, x, training)
        logits = _call_layer(self.head, features, training)
        return logits, features

    def _forward_train(self, x, y):
        """The training forward pass: `(logits, features)`, with feature weakening."""
        return self._forward(x, labels=y, training=True)

    def call(self, inputs, training=None):
        """Raw logits; never weakens features."""
        return self._forward(inputs, training=bool(training))[0]

    def extract_features(self, x, training=False):
        """The penultimate features h (the head's input), without weakening.

        Runs eagerly on tensors / arrays; for a large array use
        `predict_features`.
        """
        return self._forward(x, training=training)[1]

    def predict_features(self, x, batch_size=None, verbose=0, steps=None):
        """h for a whole array or dataset, batched like `predict` (inference mode)."""
        layers = [self.backbone]
        if self.augmentation is not None:
            layers.insert(0, self.augmentation)
        if len(layers) == 1 and isinstance(self.backbone, keras.Model):
            feature_model = self.backbone
        else:
            feature_model = keras.Sequential(layers)
        return feature_model.predict(x, batch_size=batch_size, verbose=verbose, steps=steps)

    # -- loss ------------------------------------------------------------------

    def _compiled_losses(self):
        loss = getattr(self, "loss", None)
        if loss is None:
            return []
        return [item for item in keras.tree.flatten(loss) if item is not None]

    def _feature_loss(self):
        """The compiled loss if it needs the features, else None."""
        losses = self._compiled_losses()
        needs = [loss for loss in losses if getattr(loss, "requires_features", False)]
        if not needs:
            return None
        if len(losses) != 1:
            raise ValueError(
                "LongTailModel has a single output: compile it with a single loss "
                "when that loss needs the features (requires_features=True)."
            )
        return needs[0]

    def _loss_weight(self):
        weights = getattr(self._compile_loss, "_user_loss_weights", None)
        if weights is None:
            return None
        flat = keras.tree.flatten(weights)
        if len(flat) != 1:
            raise ValueError(f"LongTailModel has one output; got loss_weights={weights!r}.")
        return flat[0]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss: the compiled loss plus regularisation / added losses.

        `y_pred` is the logits, or `{"logits": z, "features": h}` (what the
        training and test steps pass). A loss with `requires_features` gets
        the dict (h is recomputed from `x`, without weakening, when only
        logits are given); any other loss gets the logits through Keras's
        own `compute_loss`.
        """
        if isinstance(y_pred, dict):
            logits, features = y_pred["logits"], y_pred.get("features")
        else:
            logits, features = y_pred, None
        loss_fn = self._feature_loss()
        if loss_fn is None:
            return super().compute_loss(x, y, logits, sample_weight, training=training)
        compile_loss = getattr(self, "_compile_loss", None)
        if compile_loss is not None and not compile_loss.built:
            # Keras's CompileLoss is bypassed here, so it would never be built,
            # and Keras re-traces the whole model (`_symbolic_build`) in every
            # train_on_batch / evaluate / predict call while it is not: IB's
            # step cost 175 ms instead of 13 ms on an H200 (RESULTS.md).
            compile_loss.build(y, logits)
        if features is None:
            features = self.extract_features(x, training=bool(training))
        value = loss_fn(y, {"logits": logits, "features": features}, sample_weight)
        value = ops.cast(value, keras.backend.floatx())
        weight = self._loss_weight()
        if weight is not None:
            value = value * ops.cast(weight, value.dtype)
        losses = [value] + [self._aggregate_additional_loss(loss) for loss in self.losses]
        return losses[0] if len(losses) == 1 else ops.sum(ops.stack(losses))

    def _loss_and_logits(self, x, y, sample_weight, training):
        """Shared by every backend: forward pass, then the total loss.

        Returns `(loss, logits)`. In training the forward pass weakens
        features (when configured); in evaluation it does not.
        """
        if not self.built:
            # Keras's TensorFlow trainer (without a distribution strategy) builds
            # a model at its first `self(x)` in the step; this step calls the
            # parts directly, so the model builds itself from the batch's shape
            # (else it stays unbuilt: no checkpoint restore, a warning on save).
            self.build(keras.tree.map_structure(lambda t: (None, *t.shape[1:]), x))
        if training:
            logits, features = self._forward_train(x, y)
        else:
            logits, features = self._forward(x, training=False)
        loss = self._compute_loss(
            x=x,
            y=y,
            y_pred={"logits": logits, "features": features},
            sample_weight=sample_weight,
            training=training,
        )
        return loss, logits

    # -- loss state tracked as model state ----------------------------------

    @property
    def loss_state_variables(self):
        """The `state_variables` of the compiled loss(es), non-trainable."""
        variables, seen = [], set()
        for loss in self._compiled_losses():
            for variable in getattr(loss, "state_variables", None) or ():
                if id(variable) in seen:
                    continue
                if variable.trainable:
                    raise ValueError(
                        f"Loss state variable '{variable.name}' of {type(loss).__name__} "
                        "is trainable; state variables must be non-trainable."
                    )
                seen.add(id(variable))
                variables.append(variable)
        return variables

    @property
    def variables(self):
        variables = super().variables
        seen = {id(v) for v in variables}
        return variables + [v for v in self.loss_state_variables if id(v) not in seen]

    def save_own_variables(self, store):
        super().save_own_variables(store)
        values = self.loss_state_variables
        if not values and self._pending_loss_state is not None:
            values = self._pending_loss_state  # loaded, not compiled yet: keep them
        for i, value in enumerate(values):
            store[f"{_LOSS_STATE_PREFIX}{i}"] = value

    def load_own_variables(self, store):
        keys = list(store.keys())
        super().load_own_variables(
            {k: store[k] for k in keys if not k.startswith(_LOSS_STATE_PREFIX)}
        )
        saved = [k for k in keys if k.startswith(_LOSS_STATE_PREFIX)]
        if not saved:
            return
        saved.sort(key=lambda k: int(k[len(_LOSS_STATE_PREFIX):]))
        # Copies: the store is closed once loading is done.
        values = [np.array(store[k]) for k in saved]
        if getattr(self, "loss", None) is None:
            # No compiled loss to restore into (`load_model(compile=False)`,
            # `load_weights` before `compile`): keep the values for `compile`.
            self._pending_loss_state = values
            return
        self._pending_loss_state = None
        self._restore_loss_state(values, stacklevel=3)

    def _restore_loss_state(self, values, stacklevel=2):
        """Assigns saved loss state to the compiled loss's state variables, or warns."""
        current = self.loss_state_variables
        if len(values) != len(current) or any(
            tuple(v.shape) != tuple(np.shape(s)) for v, s in zip(current, values)
        ):
            names = ", ".join(type(loss).__name__ for loss in self._compiled_losses())
            warnings.warn(
                f"The saved model has {len(values)} loss state variables "
                f"(shapes {[tuple(np.shape(s)) for s in values]}) but '{self.name}' is "
                f"compiled with a loss that has {len(current)} "
                f"(shapes {[tuple(v.shape) for v in current]}; {names or 'no loss'}); "
                "the loss state was not restored.",
                stacklevel=stacklevel + 1,
            )
            return
        for variable, value in zip(current, values):
            variable.assign(value)

    @property
    def _pending_loss_state(self):
        return self.__dict__.get("_lt_pending_loss_state")

    @_pending_loss_state.setter
    def _pending_loss_state(self, values):
        # Plain numpy arrays, kept out of Keras's attribute tracking.
        self.__dict__["_lt_pending_loss_state"] = None if values is None else tuple(values)

    def compile(self, *args, **kwargs):
        """`keras.Model.compile`, then a check of the head and any loss state loaded earlier.

        A keras_lt loss takes logits: a head ending in a softmax or sigmoid
        (`output_activation`) gets a warning, on every backend. So does an
        `LDAMLoss` with a scale s != 1 on a head other than `NormalizedDense`
        (its scale is meant for cosine logits in [-1, 1]).

        A model loaded with `compile=False` (or given `load_weights` before
        `compile`) holds the saved loss state until it is compiled; it goes
        into the new loss's state variables here when they match (same
        number and shapes), with a warning otherwise.
        """
        super().compile(*args, **kwargs)
        if output_activation(self.head) in ("softmax", "sigmoid"):
            for loss in self._compiled_losses():
                if isinstance(loss, LongTailLoss):
                    warn_not_logits(loss, "the head's output", stacklevel=2)
        elif not isinstance(last_layer(self.head), NormalizedDense):
            for loss in self._compiled_losses():
                if isinstance(loss, LDAMLoss) and loss.scale != 1:
                    _warn_ldam_head(loss, last_layer(self.head))
        pending = self._pending_loss_state
        if pending is not None and getattr(self, "loss", None) is not None:
            self._pending_loss_state = None
            self._restore_loss_state(pending, stacklevel=2)

    def compile_from_config(self, config):
        """As `keras.Model.compile_from_config` (which skips an overridden `compile`)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)  # as Keras: optimizer variables

    # -- weight decay ----------------------------------------------------------

    @property
    def no_weight_decay_variables(self):
        """Variables to keep out of weight decay: the prior-initialised head bias.

        Cui et al. 2019: with sigmoid / focal losses the last bias starts at
        -log((1 - pi) / pi) and gets no weight decay. Pass them to the
        optimizer: `optimizer.exclude_from_weight_decay(var_list=...)`
        (honoured by Keras optimizers and by `TorchStyleSGD`).
        """
        bias = getattr(self.head, "bias", None)
        initializer = getattr(self.head, "bias_initializer", None)
        if bias is not None and initializer is not None and (
            _is_constant_nonzero_initializer(initializer)
        ):
            return [bias]
        return []

    # -- serialisation ---------------------------------------------------------

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "head": keras.saving.serialize_keras_object(self.head),
            "feature_weakening": None
            if self.feature_weakening is None
            else keras.saving.serialize_keras_object(self.feature_weakening),
            "augmentation": None
            if self.augmentation is None
            else keras.saving.serialize_keras_object(self.augmentation),
        }
        config["dtype"] = keras.dtype_policies.serialize(self.dtype_policy)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("backbone", "head", "feature_weakening", "augmentation"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(
                    config[key], custom_objects=custom_objects
                )
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)
