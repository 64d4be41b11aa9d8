"""Balanced (mean per-class) accuracy as a Keras metric, usable in `compile`.

    acc_c = sum_{i: y_i = c} w_i [argmax_j z_ij = c] / sum_{i: y_i = c} w_i
    balanced accuracy = mean of acc_c over the classes seen so far (sum w > 0)

On a balanced test set it equals plain accuracy; on an imbalanced validation
split it is the number the long-tailed papers optimise ("average per-class
accuracy", Ye et al., "Identifying and Compensating for Feature Deviation in
Imbalanced Deep Learning", 2020, sec. 1). `ShotGroupAccuracy` restricts the
mean to the many-, medium- or few-shot classes.

Written with `keras.ops` only, so it runs on the TensorFlow, JAX and PyTorch
backends; the state is two per-class vectors, so results over several batches
are exact (not an average of per-batch values).
"""

import keras
import numpy as np
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.checks import whole_number
from keras_lt.evaluation.shot_groups import SHOT_GROUPS, shot_groups
from keras_lt.losses.class_weights import validate_class_counts
from keras_lt.losses.long_tail_loss import prepare_labels


@keras_lt_export("BalancedAccuracy")
class BalancedAccuracy(keras.metrics.Metric):
    """Mean over classes of the per-class accuracy (recall).

    acc_c = correct_c / total_c, accumulated over all `update_state` calls;
    result = mean of acc_c over classes with total_c > 0 (0.0 before any
    sample, like Keras's own mean metrics).

    Args:
        num_classes: number of classes C.
        name: metric name (the key in the `fit` logs).
        dtype: dtype of the accumulators and the result.

    `update_state(y_true, y_pred, sample_weight=None)`: `y_true` integer class
    ids of shape [B] or [B, 1]; `y_pred` logits or probabilities [B, C] (the
    argmax is the prediction); `sample_weight` [B], a weight per sample.
    Labels outside [0, C) raise a ValueError (eager) or fail an assertion
    (TensorFlow graph); under jit, where nothing can raise, they are left out
    of the counts. In `compile`, Keras 3 passes sample
    weights only to `weighted_metrics=[...]`, not to `metrics=[...]`.

    Example:
        >>> m = BalancedAccuracy(3)
        >>> m.update_state([0, 0, 0, 1], [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]])
        >>> float(m.result())  # (2/3 + 1/1) / 2
        0.8333...
        >>> model.compile(loss=..., metrics=[BalancedAccuracy(10)])  # doctest: +SKIP

    Ye et al., "Identifying and Compensating for Feature Deviation in
    Imbalanced Deep Learning", 2020 (average per-class accuracy).
    """

    def __init__(self, num_classes, name="balanced_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = whole_number(num_classes, "num_classes", minimum=1)
        self._class_mask = np.ones(self.num_classes, dtype=np.float32)
        self.correct = self.add_variable(
            shape=(self.num_classes,), initializer="zeros", name="correct"
        )
        self.total = self.add_variable(
            shape=(self.num_classes,), initializer="zeros", name="total"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_pred.shape) != 2 or y_pred.shape[-1] not in (self.num_classes, None):
            raise ValueError(
                f"`y_pred` must be scores of shape [batch, {self.num_classes}], "
                f"got shape {tuple(y_pred.shape)}."
            )
        # One-hot, non-integer, out-of-range labels and a label count other than
        # the batch raise (eager) or assert (TensorFlow graph), as in the losses.
        y_true, valid = prepare_labels(y_true, self.num_classes, batch_size=y_pred.shape[0])
        y_pred = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        true_one_hot = ops.one_hot(y_true, self.num_classes, dtype=self.dtype)
        hit = ops.cast(ops.equal(y_true, y_pred), self.dtype)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, self.dtype), (-1,))
            weight = ops.broadcast_to(weight, ops.shape(hit))
        else:
            weight = ops.ones_like(hit)
        weight = weight * ops.cast(valid, self.dtype)  # under jit: bad labels count nowhere
        total = ops.sum(true_one_hot * weight[:, None], axis=0)
        correct = ops.sum(true_one_hot * (hit * weight)[:, None], axis=0)
        self.total.assign_add(total)
        self.correct.assign_add(correct)

    def result(self):
        mask = ops.convert_to_tensor(self._class_mask, dtype=self.dtype)
        present = ops.cast(ops.greater(self.total, 0.0), self.dtype) * mask
        recall = ops.divide_no_nan(self.correct, self.total)
        return ops.divide_no_nan(ops.sum(recall * present), ops.sum(present))

    def reset_state(self):
        for variable in (self.correct, self.total):
            variable.assign(ops.zeros((self.num_classes,), dtype=self.dtype))

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype}


@keras_lt_export("ShotGroupAccuracy")
class ShotGroupAccuracy(BalancedAccuracy):
    """Mean per-class accuracy over the many-, medium- or few-shot classes.

    acc_G = mean of acc_c over the classes c of G seen so far, with
    G = {c : n_c > many} ("many"), {c : few <= n_c <= many} ("medium") or
    {c : n_c < few} ("few"), n_c the training count (see `shot_groups`).

    Args:
        train_counts: per-class training sample counts, shape [C].
        group: "many", "medium" or "few".
        many, few: the group thresholds (defaults 100 and 20).
        name: metric name, default "{group}_shot_accuracy".
        dtype: dtype of the accumulators and the result.

    Example:
        >>> model.compile(..., metrics=[ShotGroupAccuracy(counts, "few")])  # doctest: +SKIP

    Liu et al., "Large-Scale Long-Tailed Recognition in an Open World", 2019
    (the many/medium/few split).
    """

    def __init__(self, train_counts, group="few", many=100, few=20, name=None, dtype=None):
        counts = validate_class_counts(train_counts, name="train_counts")
        if group not in SHOT_GROUPS:
            raise ValueError(f"`group` must be one of {SHOT_GROUPS}, got {group!r}.")
        classes = shot_groups(counts, many=many, few=few)[group]
        if classes.size == 0:
            raise ValueError(
                f"No class is {group}-shot with thresholds many={many}, few={few} "
                f"(training counts range {counts.min()}..{counts.max()})."
            )
        super().__init__(counts.size, name=name or f"{group}_shot_accuracy", dtype=dtype)
        self.train_counts = counts.tolist()
        self.group = group
        self.many = many
        self.few = few
        self._class_mask = np.zeros(counts.size, dtype=np.float32)
        self._class_mask[classes] = 1.0

    def get_config(self):
        return {
            "train_counts": self.train_counts,
            "group": self.group,
            "many": self.many,
            "few": self.few,
            "name": self.name,
            "dtype": self.dtype,
        }
