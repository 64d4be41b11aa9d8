"""Softmax cross-entropy with per-class weights (re-weighting, DRW phase 2)."""

from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.losses.long_tail_loss import LongTailLoss
from keras_lt.losses.long_tail_loss import _to_list
from keras_lt.losses.long_tail_loss import softmax_cross_entropy
from keras_lt.losses.long_tail_loss import resolve_class_weights


@keras_lt_export("WeightedCrossEntropy")
class WeightedCrossEntropy(LongTailLoss):
    """Softmax cross-entropy with per-class weights, for integer labels.

    Per sample:

        loss_i = w_{y_i} * CE(z_i, y_i),    CE(z, y) = -log softmax(z)_y

    and, with `normalize_by_weights=True` (the default), divided by the batch
    mean of the weights, `mean_b(w_{y_b})`. The default reduction
    `"sum_over_batch_size"` then returns

        sum_i w_{y_i} CE_i / sum_i w_{y_i}

    which is PyTorch's `F.cross_entropy(logits, y, weight=w)`, the weighted
    cross-entropy of the LDAM-DRW reference code (re-weighting, and the second
    phase of deferred re-weighting). With `normalize_by_weights=False` the
    batch is averaged by its size: `sum_i w_{y_i} CE_i / B`.

    What the Keras reductions mean with `normalize_by_weights=True`:
    `"sum_over_batch_size"`/`"mean"`: the weighted mean above; `"sum"`: B times
    the weighted mean; `"none"`: per-sample values whose mean is the weighted
    mean; `sample_weight` multiplies these per-sample values (it does not
    enter the normaliser `mean_b(w_{y_b})`).

    The weights live in the non-trainable float32 variable `class_weights`
    (shape `[C]`), read at call time: a callback such as DRW switches them with
    `loss.class_weights.assign(new_weights)` without recompiling.

    Args:
        class_weights: per-class weights `[C]` (e.g.
            `keras_lt.losses.effective_number_weights(counts, 0.9999)`), or
            None for all ones (plain cross-entropy until a callback assigns
            weights; then `num_classes` is required).
        num_classes: the number of classes when `class_weights` is None.
        normalize_by_weights: divide by the batch mean of the weights (default,
            the reference) or not (average by batch size).
        reduction: a Keras reduction, default `"sum_over_batch_size"`.
        name: the loss name.
        dtype: dtype of the returned loss; computed in float32.

    Example:

    ```python
    counts = [5000, 500, 50]
    loss = keras_lt.losses.WeightedCrossEntropy(num_classes=3)  # DRW phase 1
    # at the last learning-rate decay, a callback does:
    loss.class_weights.assign(keras_lt.losses.effective_number_weights(counts))
    ```

    Reference: Cao et al., "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss", NeurIPS 2019 (re-weighting and
    deferred re-weighting).
    """

    def __init__(
        self,
        class_weights=None,
        num_classes=None,
        normalize_by_weights=True,
        reduction="sum_over_batch_size",
        name="weighted_cross_entropy",
        dtype=None,
    ):
        if class_weights is None and num_classes is None:
            raise ValueError(
                "WeightedCrossEntropy needs `class_weights` or `num_classes` "
                "(the size of its `class_weights` variable)."
            )
        weights, num_classes = resolve_class_weights(class_weights, num_classes)
        super().__init__(
            num_classes=num_classes, reduction=reduction, name=name, dtype=dtype
        )
        self._initial_class_weights = weights
        self.normalize_by_weights = bool(normalize_by_weights)
        self._add_class_weights(weights)

    def compute(self, labels, logits):
        onehot = ops.one_hot(labels, self.num_classes, dtype="float32")
        ce = softmax_cross_entropy(onehot, logits)
        return self._apply_class_weights(
            ce, labels, self.class_weights, self.normalize_by_weights
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "class_weights": _to_list(self._initial_class_weights),
                "num_classes": self.num_classes,
                "normalize_by_weights": self.normalize_by_weights,
            }
        )
        return config
