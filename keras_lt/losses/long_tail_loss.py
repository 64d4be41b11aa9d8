"""`LongTailLoss`: the base class of every keras_lt loss.

It holds what the long-tail losses share:

* the training split's class counts, validated once, as a numpy array
  (`class_counts`, or `None` for a loss that needs no counts) and the number
  of classes `num_classes`;
* the state that a callback changes mid-training (DRW's class weights, CDT's
  gamma, IB's phase switch) as non-trainable float32 `keras.Variable`
  attributes created in `__init__` with an explicit name and listed by
  `state_variables`. The losses read them with `keras.ops` at call time, so
  an `assign` reaches an already traced step without recompiling (on JAX only
  when the model tracks them, which `LongTailModel` does: CONTRIBUTING.md);
* the input checks and casts (`_prepare`): integer labels of shape `[B]` or
  `[B, 1]`, logits of shape `[B, C]` computed in float32 whatever their dtype
  (float16 and bfloat16 logits are up-cast, never the reverse), the class
  dimension checked against the counts, labels checked to lie in `[0, C)`;
* a warning, once per loss, when `y_pred` comes from a softmax or sigmoid:
  every keras_lt loss takes logits. Keras tags such outputs on TensorFlow and
  PyTorch, not on JAX, where `LongTailModel.compile` still checks its head.

Label range checks, by execution mode:

* eager (TensorFlow eager, JAX or NumPy outside `jit`, PyTorch): a concrete
  check that raises `ValueError` naming `y_true`;
* a TensorFlow graph (`tf.function` without XLA): `tf.debugging` assertions
  that raise `InvalidArgumentError` when the step runs;
* under `jax.jit` or TensorFlow XLA (`jit_compile=True`, the default of
  `model.fit` on TensorFlow when XLA is available) no check can raise (XLA
  drops assertions). There a sample with an out-of-range label gets a NaN
  loss instead of a silently wrong value (XLA clamps out-of-range gathers),
  so the problem shows up as a NaN loss (see `keras.callbacks.TerminateOnNaN`).

Labels are not converted to the loss dtype (Keras's `Loss.__call__` converts
them to float): they stay integers, so class ids are exact for any number of
classes, whatever `dtype` is.
"""

import warnings

import numpy as np

import keras
from keras import ops

from keras_lt.losses.class_weights import validate_class_counts
from keras_lt.checks import whole_number

try:  # Keras's own reduction, so that every Keras reduction behaves as usual.
    from keras.src.losses.loss import reduce_weighted_values
except ImportError:  # pragma: no cover - very old or very new Keras
    reduce_weighted_values = None

try:
    from keras.src.backend import get_keras_mask as _get_keras_mask
except ImportError:  # pragma: no cover

    def _get_keras_mask(x):
        return getattr(x, "_keras_mask", None)


# -----------------------------------------------------------------------------
# Shared numerics (float32, stable for logits up to +-1e4).
# -----------------------------------------------------------------------------


def softmax_cross_entropy(onehot, logits):
    """Per-sample `-log softmax(logits)_y` for one-hot `onehot`, shape [B].

    A -inf logit (a masked-out class) outside the label's class adds nothing,
    as in Keras's `sparse_categorical_crossentropy` (`0 * -inf` would be NaN).
    """
    log_probs = ops.log_softmax(logits, axis=-1)
    picked = ops.where(onehot > 0.5, log_probs, ops.zeros_like(log_probs))
    return -ops.sum(onehot * picked, axis=-1)


def log_one_minus_softmax_prob(onehot, logits):
    """Per-sample `log(1 - p_y)`, p = softmax(logits), computed in log space.

    log(1 - p_y) = logsumexp_{c != y} z_c - logsumexp_c z_c. It stays finite
    (and so does its gradient) when p_y rounds to 1, which is where
    `log(1 - p_y)` and `(1 - p_y) ** gamma` for gamma < 1 break down. With a
    single class it is about -1e30: the modulator is exp(gamma * that) = 0 for
    gamma > 0 and exactly 1 for gamma = 0.
    """
    masked = ops.where(onehot > 0.5, ops.cast(-1e30, logits.dtype), logits)
    return ops.logsumexp(masked, axis=-1) - ops.logsumexp(logits, axis=-1)


def focal_modulator(log_one_minus_p, gamma):
    """`(1 - p) ** gamma` as exp(gamma * log(1 - p)); exactly 1 for gamma = 0."""
    return ops.exp(gamma * log_one_minus_p)


def validate_class_weights(class_weights, num_classes=None, name="class_weights"):
    """Returns `class_weights` as a 1-D float64 numpy array, or raises ValueError.

    The weights must be a non-empty 1-D sequence of finite, non-negative
    numbers, one per class (`num_classes` of them when it is given).
    """
    try:
        weights = np.asarray(class_weights, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`{name}` must be a sequence of non-negative numbers, got "
            f"{class_weights!r}."
        ) from error
    if weights.ndim != 1 or weights.size == 0:
        raise ValueError(
            f"`{name}` must be a non-empty 1-D sequence with one weight per "
            f"class, got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(
            f"`{name}` must hold finite, non-negative numbers, got "
            f"{weights.tolist()}."
        )
    if num_classes is not None and weights.size != num_classes:
        raise ValueError(
            f"`{name}` has {weights.size} entries but there are {num_classes} "
            "classes (one weight per class)."
        )
    return weights


def resolve_class_weights(class_weights, num_classes=None):
    """`(weights, num_classes)` for a loss's optional `class_weights` argument.

    `(None, num_classes)` when `class_weights` is None; otherwise the weights
    validated by `validate_class_weights` (against `num_classes` when given)
    and their length, which then fixes the number of classes.
    """
    if class_weights is None:
        return None, num_classes
    weights = validate_class_weights(class_weights, num_classes)
    return weights, weights.size


def validate_choice(value, choices, name):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}.")
    return value


def _to_list(array):
    return None if array is None else np.asarray(array).tolist()


# -----------------------------------------------------------------------------
# Concreteness of a tensor, per backend.
# -----------------------------------------------------------------------------


def _concrete_value(x):
    """`x` as a numpy array when its value is known now, else None."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly() or not hasattr(x, "numpy"):
            return None
        return x.numpy()
    if backend == "jax":
        import jax

        if isinstance(x, jax.core.Tracer):
            return None
        return np.asarray(x)
    try:
        return ops.convert_to_numpy(x)
    except Exception:  # a symbolic tensor (e.g. torch.compile tracing)
        return None


def _in_tf_graph():
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.executing_eagerly()


def prepare_labels(y_true, num_classes, batch_size=None, name="y_true"):
    """`(labels, valid)`: class ids `[B]` or `[B, 1]` as int32 `[B]`, and the mask
    of those in `[0, num_classes)`.

    Rejects one-hot labels and a number of labels other than `batch_size`
    (when both are static). Where the values are known now (eager), also
    non-integer values and labels outside `[0, num_classes)`, checked once and
    before the int32 cast (a huge int64 label cannot wrap into range); in a
    TensorFlow graph the range is asserted; under jit nothing can raise, and
    out-of-range labels are set to 0 with `valid` False (module docstring).
    """
    labels = ops.convert_to_tensor(y_true)
    rank = len(labels.shape)
    if rank > 2 or (rank == 2 and labels.shape[-1] not in (1, None)):
        raise ValueError(
            f"`{name}` must hold integer class ids of shape [batch] or "
            f"[batch, 1], got shape {tuple(labels.shape)} (one-hot labels? "
            "pass their argmax)."
        )
    labels = ops.reshape(labels, (-1,))
    static_labels = labels.shape[0]
    if batch_size is not None and static_labels is not None and static_labels != batch_size:
        raise ValueError(
            f"`{name}` holds {static_labels} labels for a batch of {batch_size} "
            "(one label per sample)."
        )
    value = _concrete_value(labels)
    if value is not None:
        if np.issubdtype(value.dtype, np.floating) and not np.all(value == np.round(value)):
            raise ValueError(
                f"`{name}` must hold integer class ids, got non-integer values "
                f"{np.unique(value[value != np.round(value)])[:10].tolist()}."
            )
        if isinstance(num_classes, int):
            bad = value[(value < 0) | (value >= num_classes)]
            if bad.size:
                raise ValueError(
                    f"`{name}` holds labels outside [0, {num_classes}): "
                    f"{np.unique(bad)[:10].tolist()}."
                )
    labels = ops.cast(labels, "int32")
    if value is None and _in_tf_graph():
        import tensorflow as tf

        checks = [
            tf.debugging.assert_non_negative(
                labels, message=f"`{name}` holds negative labels."
            ),
            tf.debugging.assert_less(
                labels,
                tf.cast(num_classes, labels.dtype),
                message=f"`{name}` holds labels >= the number of classes.",
            ),
        ]
        with tf.control_dependencies(checks):
            labels = tf.identity(labels)
    valid = ops.logical_and(
        ops.greater_equal(labels, 0),
        ops.less(labels, ops.cast(num_classes, "int32")),
    )
    labels = ops.where(valid, labels, ops.zeros_like(labels))
    return labels, valid


# -----------------------------------------------------------------------------
# Probabilities passed where logits are expected.
# -----------------------------------------------------------------------------


def produced_by_activation(y_pred):
    """True when Keras tagged `y_pred` as a softmax or sigmoid output.

    `keras.activations.softmax` and `sigmoid` (so Dense and Activation layers
    with them, and on TensorFlow also `keras.ops.softmax` / `sigmoid`) keep
    their input on the output as `_keras_logits` where the tensor type allows
    it (TensorFlow and PyTorch tensors; not JAX arrays), the tag Keras's own
    cross-entropy reads.
    """
    return getattr(y_pred, "_keras_logits", None) is not None


def warn_not_logits(loss, source, stacklevel=2):
    """Warns, once per loss, that `loss` is given probabilities instead of logits.

    `source` says where the probabilities come from ("`y_pred`", "the head").
    """
    if getattr(loss, "_warned_not_logits", False):
        return
    loss._warned_not_logits = True
    warnings.warn(
        f"{type(loss).__name__} takes logits, but {source} comes from a "
        "softmax or sigmoid activation: the loss would treat probabilities as "
        "logits and the rare classes would train poorly. Give the last layer "
        "no activation (e.g. `Dense(num_classes)`) and apply "
        "`keras.ops.softmax` to the model's outputs where you need "
        "probabilities.",
        stacklevel=stacklevel + 1,
    )


# -----------------------------------------------------------------------------
# The base class.
# -----------------------------------------------------------------------------


class LongTailLoss(keras.losses.Loss):
    """Base class of the keras_lt losses: counts, state variables, checks.

    Subclasses implement `compute(labels, logits)` on prepared tensors
    (`labels` int32 `[B]` in range, `logits` float32 `[B, C]`) and return
    the per-sample loss `[B]`; `call` does the checks around it.

    Args:
        class_counts: optional per-class training counts (validated with
            `validate_class_counts`); fixes `num_classes`.
        num_classes: optional number of classes when there are no counts.
        reduction: a Keras reduction: `"sum_over_batch_size"` (default),
            `"sum"`, `"mean"`, `"mean_with_sample_weight"`, `"none"` or None.
        name: the loss name.
        dtype: dtype of the returned loss (default `keras.backend.floatx()`).
            The computation itself always runs in float32.

    Attributes:
        class_counts: int64 numpy array `[C]`, or None.
        num_classes: int, or None when unknown until the first call.
        state_variables: the non-trainable `keras.Variable`s that callbacks
            may `assign` mid-training.
        requires_features: False; True on losses that need the penultimate
            features, passed as `y_pred = {"logits": z, "features": h}`.
    """

    requires_features = False
    requires_counts = False

    def __init__(
        self,
        class_counts=None,
        num_classes=None,
        reduction="sum_over_batch_size",
        name=None,
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if class_counts is None and self.requires_counts:
            raise ValueError(
                f"{type(self).__name__} needs `class_counts`, the per-class "
                "sample counts of the training split."
            )
        self._dtype_config = dtype if dtype is None or isinstance(dtype, str) else (
            getattr(dtype, "name", None)
        )
        if class_counts is not None:
            self.class_counts = validate_class_counts(class_counts)
            if num_classes is not None and (
                whole_number(num_classes, "num_classes", minimum=1) != self.class_counts.size
            ):
                raise ValueError(
                    f"`num_classes`={num_classes} differs from the "
                    f"{self.class_counts.size} entries of `class_counts`."
                )
            self.num_classes = int(self.class_counts.size)
        else:
            self.class_counts = None
            self.num_classes = (
                None if num_classes is None else whole_number(num_classes, "num_classes", minimum=1)
            )
        self._state_variable_names = []

    # -- state ----------------------------------------------------------------

    def _add_state_variable(self, attribute, initial_value):
        """Creates a non-trainable float32 variable stored as `self.<attribute>`."""
        value = np.asarray(initial_value, dtype="float32")
        variable = keras.Variable(
            initializer=value,
            shape=value.shape,
            dtype="float32",
            trainable=False,
            autocast=False,  # stays float32 under mixed precision
            name=attribute,
        )
        setattr(self, attribute, variable)
        self._state_variable_names.append(attribute)
        return variable

    def _add_class_weights(self, weights=None):
        """Creates the state variable `class_weights` `[C]`: `weights`, or ones.

        `weights` must already be validated (`resolve_class_weights`) or
        computed from the counts (`effective_number_weights`, ...); None gives
        all ones (the plain loss until a callback such as DRW assigns
        weights). Needs `num_classes`.
        """
        if weights is None:
            weights = np.ones(self.num_classes)
        return self._add_state_variable("class_weights", weights)

    @property
    def state_variables(self):
        """The non-trainable `keras.Variable`s a callback may change mid-training."""
        return [getattr(self, name) for name in self._state_variable_names]

    # -- calling --------------------------------------------------------------

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Same as keras.losses.Loss.__call__, except that the labels keep their
        # integer dtype and the predictions are not cast down to `self.dtype`.
        in_mask = None
        if not isinstance(y_pred, dict):
            in_mask = _get_keras_mask(y_pred)
        logits = y_pred.get("logits") if isinstance(y_pred, dict) else y_pred
        if produced_by_activation(logits):
            warn_not_logits(self, "`y_pred`")
        with keras.name_scope(self.name):
            y_true = ops.convert_to_tensor(y_true)
            y_pred = keras.tree.map_structure(ops.convert_to_tensor, y_pred)
            losses = self.call(y_true, y_pred)
            out_mask = _get_keras_mask(losses)
            if in_mask is not None and out_mask is not None:
                mask = in_mask & out_mask
            else:
                mask = in_mask if in_mask is not None else out_mask
            if reduce_weighted_values is None:  # pragma: no cover
                return super().__call__(y_true, y_pred, sample_weight)
            return reduce_weighted_values(
                losses,
                sample_weight=sample_weight,
                mask=mask,
                reduction=self.reduction,
                dtype=self.dtype,
            )

    def call(self, y_true, y_pred):
        labels, logits, valid = self._prepare(y_true, y_pred)
        return self._finish(self.compute(labels, logits), valid)

    def compute(self, labels, logits):
        raise NotImplementedError

    # -- checks and casts -----------------------------------------------------

    def _prepare(self, y_true, y_pred):
        """Checks and casts the inputs.

        Returns `(labels, logits, valid)`: int32 labels `[B]` (out-of-range
        labels replaced by 0, so that no gather reads out of bounds), float32
        logits `[B, C]`, and the boolean `[B]` mask of in-range labels (all
        True unless under `jit`, where no check can raise).
        """
        if isinstance(y_pred, dict):
            raise ValueError(
                f"{type(self).__name__} takes the logits tensor as `y_pred`, got "
                f"a dict with keys {sorted(y_pred)}."
            )
        logits = ops.cast(ops.convert_to_tensor(y_pred), "float32")
        if len(logits.shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects logits `y_pred` of shape "
                f"[batch, num_classes], got shape {tuple(logits.shape)}."
            )
        static_classes = logits.shape[-1]
        if (
            self.num_classes is not None
            and static_classes is not None
            and static_classes != self.num_classes
        ):
            raise ValueError(
                f"The logits `y_pred` have {static_classes} classes (last "
                f"dimension) but {type(self).__name__} was built for "
                f"{self.num_classes} classes (the length of `class_counts` or "
                "`class_weights`)."
            )
        num_classes = self.num_classes or static_classes
        if num_classes is None:
            num_classes = ops.shape(logits)[-1]
        labels, valid = prepare_labels(y_true, num_classes, batch_size=logits.shape[0])
        return labels, logits, valid
    @staticmethod
    def _finish(values, valid):
        """NaN for samples whose label is out of range (only possible under jit)."""
        return ops.where(valid, values, ops.cast(float("nan"), values.dtype))

    # -- weighting ------------------------------------------------------------

    @staticmethod
    def _apply_class_weights(values, labels, class_weights, normalize_by_weights):
        """`w_y * values`, optionally divided by the batch mean of `w_y`.

        With `normalize_by_weights`, the per-sample value is
        `w_y * values * B / sum_batch(w_y)`: the weights are renormalised to
        average 1 over the batch, so that the default `"sum_over_batch_size"`
        reduction returns `sum(w_y * values) / sum(w_y)`, the weighted mean of
        PyTorch's `F.cross_entropy(weight=w)`. A batch whose weights are all 0
        gives 0.
        """
        weights = ops.take(ops.convert_to_tensor(class_weights), labels, axis=0)
        values = values * weights
        if normalize_by_weights:
            values = ops.divide_no_nan(values, ops.mean(weights))
        return values

    # -- config ---------------------------------------------------------------

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name, "dtype": self._dtype_config}

    def __repr__(self):
        config = self.get_config()
        shown = ", ".join(
            f"{key}={value!r}"
            for key, value in config.items()
            if key not in ("reduction", "name", "dtype")
        )
        return f"{type(self).__name__}({shown})"
