"""LDAM: label-distribution-aware margin loss (Cao et al., NeurIPS 2019)."""

import numpy as np

from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.losses.class_weights import validate_non_negative
from keras_lt.losses.class_weights import validate_positive
from keras_lt.losses.long_tail_loss import LongTailLoss
from keras_lt.losses.long_tail_loss import _to_list
from keras_lt.losses.long_tail_loss import softmax_cross_entropy
from keras_lt.losses.long_tail_loss import resolve_class_weights


def ldam_margins(class_counts, max_margin=0.5):
    """Per-class margins Delta_c = K / n_c^(1/4), K chosen so max_c Delta_c = max_margin.

    `class_counts` must already be validated (positive integers).
    """
    margins = 1.0 / np.sqrt(np.sqrt(np.asarray(class_counts, dtype=np.float64)))
    return margins * (max_margin / margins.max())


@keras_lt_export("LDAMLoss")
class LDAMLoss(LongTailLoss):
    """Label-distribution-aware margin (LDAM) loss, for integer labels.

    A class-dependent margin is taken off the logit of the true class, then
    all logits are scaled by `scale` and fed to softmax cross-entropy:

        Delta_c = K / n_c^(1/4),  K such that max_c Delta_c = max_margin
        loss_i  = w_{y_i} * CE(s * (z_i - Delta_{y_i} * onehot(y_i)), y_i)

    The logits `z` are meant to come from a cosine classifier (features and
    class vectors L2-normalised, z_c = cos(h, w_c) in [-1, 1], no bias:
    `keras_lt.models.NormalizedDense`); the loss itself takes whatever logits
    it is given, and `LongTailModel.compile` warns when its head is another
    layer and `scale` is not 1.

    Class weights (DRW): `w` lives in the non-trainable float32 variable
    `class_weights` (shape `[C]`), all ones when `class_weights=None`, so that
    deferred re-weighting can switch it on later with
    `loss.class_weights.assign(weights)` without recompiling.

    Averaging a weighted batch: as in the reference code
    (`F.cross_entropy(s * output, target, weight=w)`), the default
    `normalize_by_weights=True` divides by the sum of the weights in the
    batch. The per-sample value is `w_{y_i} CE_i * B / sum_b w_{y_b}`, so that
    the default reduction `"sum_over_batch_size"`/`"mean"` gives
    `sum_i w_{y_i} CE_i / sum_i w_{y_i}`; `"sum"` gives B times that;
    `"none"` gives the per-sample values (their mean is the weighted mean);
    `sample_weight` multiplies the per-sample values and does not enter the
    normaliser. `normalize_by_weights=False` averages by the batch size:
    `sum_i w_{y_i} CE_i / B`. With unit weights both are the plain mean.

    Args:
        class_counts: per-class training counts `[C]` (positive integers).
        max_margin: the largest margin (the rarest class), >= 0. The paper's
            reference code uses 0.5. 0 gives CE of the scaled logits.
        scale: the logit scale s > 0 (30 in the reference code).
        class_weights: optional initial per-class weights `[C]`; None = ones.
        normalize_by_weights: weighted mean (default, reference) or mean over
            the batch size; see above.
        reduction: a Keras reduction, default `"sum_over_batch_size"`.
        name: the loss name.
        dtype: dtype of the returned loss; computed in float32.

    Example:

    ```python
    counts = [5000, 2000, 500, 50]
    model.compile(optimizer="sgd", loss=keras_lt.LDAMLoss(counts))
    ```

    Reference: Cao, Wei, Gaidon, Arechiga, Ma, "Learning Imbalanced Datasets
    with Label-Distribution-Aware Margin Loss", NeurIPS 2019, eq. (13).
    """

    requires_counts = True

    def __init__(
        self,
        class_counts,
        max_margin=0.5,
        scale=30.0,
        class_weights=None,
        normalize_by_weights=True,
        reduction="sum_over_batch_size",
        name="ldam_loss",
        dtype=None,
    ):
        super().__init__(
            class_counts=class_counts, reduction=reduction, name=name, dtype=dtype
        )
        self.max_margin = validate_non_negative(max_margin, "max_margin")
        self.scale = validate_positive(scale, "scale")
        self.normalize_by_weights = bool(normalize_by_weights)
        self._initial_class_weights, _ = resolve_class_weights(
            class_weights, self.num_classes
        )
        self.margins = ldam_margins(self.class_counts, self.max_margin)
        self._add_class_weights(self._initial_class_weights)

    def compute(self, labels, logits):
        onehot = ops.one_hot(labels, self.num_classes, dtype="float32")
        margins = ops.convert_to_tensor(self.margins.astype("float32"))
        margin_logits = self.scale * (logits - onehot * margins[None, :])
        ce = softmax_cross_entropy(onehot, margin_logits)
        return self._apply_class_weights(
            ce, labels, self.class_weights, self.normalize_by_weights
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "class_counts": _to_list(self.class_counts),
                "max_margin": self.max_margin,
                "scale": self.scale,
                "class_weights": _to_list(self._initial_class_weights),
                "normalize_by_weights": self.normalize_by_weights,
            }
        )
        return config
