"""Softmax focal loss for integer labels (Lin et al., 2017)."""

from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.losses.class_weights import validate_non_negative
from keras_lt.losses.long_tail_loss import LongTailLoss
from keras_lt.losses.long_tail_loss import _to_list
from keras_lt.losses.long_tail_loss import focal_modulator
from keras_lt.losses.long_tail_loss import log_one_minus_softmax_prob
from keras_lt.losses.long_tail_loss import softmax_cross_entropy
from keras_lt.losses.long_tail_loss import resolve_class_weights


def softmax_focal_terms(onehot, logits, gamma):
    """Per-sample `(1 - p_y)^gamma * -log p_y`, p = softmax(z), modulator in log space."""
    ce = softmax_cross_entropy(onehot, logits)
    return focal_modulator(log_one_minus_softmax_prob(onehot, logits), gamma) * ce


@keras_lt_export("FocalLoss")
class FocalLoss(LongTailLoss):
    """Softmax focal loss for integer labels, with optional class weights.

        p = softmax(z),   loss_i = -w_{y_i} * (1 - p_{y_i})^gamma * log p_{y_i}

    The modulator is computed in log space, exp(gamma * log(1 - p_y)) with
    log(1 - p_y) = logsumexp_{c != y} z_c - logsumexp_c z_c, so the loss and
    its gradient stay finite for gamma in [0, 5] and logits up to +-1e4
    (`(1 - p) ** gamma` has an infinite derivative at p = 1 for gamma < 1).
    gamma = 0 is cross-entropy.

    This is the softmax (multi-class) focal loss used as a baseline by the
    LDAM-DRW and IB papers. Their reference code computes p as
    `exp(-weighted_CE)`, which is p_y only without class weights; here p_y is
    always the softmax probability and the weight multiplies the result.

    Class weights: the non-trainable float32 variable `class_weights` `[C]`
    exists when the number of classes is known (`class_weights` or
    `num_classes` given), so that deferred re-weighting can switch it on;
    without either, the loss is unweighted and has no state variable.
    Averaging: by default by the batch size (`normalize_by_weights=False`),
    like the reference `focal_loss(...).mean()`; True divides by the batch sum
    of the weights instead (see `WeightedCrossEntropy` for what each Keras
    reduction then means).

    Args:
        gamma: focusing exponent >= 0 (1.0 by default).
        class_weights: optional per-class weights `[C]`.
        num_classes: optional number of classes; with `class_weights=None` it
            creates a `class_weights` variable of ones.
        normalize_by_weights: False (default): average by batch size; True:
            by the batch sum of the class weights.
        reduction: a Keras reduction, default `"sum_over_batch_size"`.
        name: the loss name.
        dtype: dtype of the returned loss; computed in float32.

    Example:

    ```python
    model.compile(optimizer="sgd", loss=keras_lt.FocalLoss(gamma=2.0))
    ```

    Reference: Lin, Goyal, Girshick, He, Dollar, "Focal Loss for Dense Object
    Detection", ICCV 2017 / PAMI 2018; used for long-tailed classification by
    Cao et al. (NeurIPS 2019) and Park et al. (ICCV 2021).
    """

    def __init__(
        self,
        gamma=1.0,
        class_weights=None,
        num_classes=None,
        normalize_by_weights=False,
        reduction="sum_over_batch_size",
        name="focal_loss",
        dtype=None,
    ):
        weights, num_classes = resolve_class_weights(class_weights, num_classes)
        super().__init__(
            num_classes=num_classes, reduction=reduction, name=name, dtype=dtype
        )
        self.gamma = validate_non_negative(gamma, "gamma")
        self.normalize_by_weights = bool(normalize_by_weights)
        self._initial_class_weights = weights
        self.class_weights = None
        if self.num_classes is not None:
            self._add_class_weights(weights)

    def compute(self, labels, logits):
        num_classes = self.num_classes or logits.shape[-1] or ops.shape(logits)[-1]
        onehot = ops.one_hot(labels, num_classes, dtype="float32")
        values = softmax_focal_terms(onehot, logits, self.gamma)
        if self.class_weights is None:
            return values
        return self._apply_class_weights(
            values, labels, self.class_weights, self.normalize_by_weights
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "gamma": self.gamma,
                "class_weights": _to_list(self._initial_class_weights),
                "num_classes": self.num_classes,
                "normalize_by_weights": self.normalize_by_weights,
            }
        )
        return config
