"""CDT: class-dependent temperatures (Ye, Chen, Zhan, Chao, 2020)."""

import numpy as np

from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.losses.class_weights import validate_non_negative
from keras_lt.losses.long_tail_loss import LongTailLoss
from keras_lt.losses.long_tail_loss import _to_list
from keras_lt.losses.long_tail_loss import softmax_cross_entropy


@keras_lt_export("CDTLoss")
class CDTLoss(LongTailLoss):
    """Cross-entropy over logits divided by class-dependent temperatures.

        a_c = (n_max / n_c)^gamma,   loss_i = CE(z_i / a, y_i)

    (division per class: z_c / a_c). Minor classes get larger temperatures,
    forcing their training logits up to compensate for the feature deviation
    of their test data. Training only: predict with the raw logits. gamma = 0
    is plain cross-entropy (ERM).

    gamma lives in the non-trainable float32 scalar variable `gamma`, and the
    temperatures are computed from it at call time, a_c = exp(gamma *
    log(n_max / n_c)), so a callback can change it mid-training (the paper
    keeps gamma = 0 for the first half of training on iNaturalist) with
    `loss.gamma.assign(0.1)`, without recompiling. A batch is averaged by its
    size (no class weights).

    Args:
        class_counts: per-class training counts `[C]` (positive integers).
        gamma: the temperature exponent >= 0 (the paper's range: CIFAR-10
            [0, 0.4], CIFAR-100 and Tiny-ImageNet [0, 0.2], iNaturalist
            [0, 0.1]).
        reduction: a Keras reduction, default `"sum_over_batch_size"`.
        name: the loss name.
        dtype: dtype of the returned loss; computed in float32.

    Example:

    ```python
    loss = keras_lt.CDTLoss([5000, 500, 50], gamma=0.2)
    ```

    Reference: Ye, Chen, Zhan, Chao, "Identifying and Compensating for
    Feature Deviation in Imbalanced Deep Learning", arXiv:2001.01385, eq. (3).
    """

    requires_counts = True

    def __init__(
        self,
        class_counts,
        gamma=0.1,
        reduction="sum_over_batch_size",
        name="cdt_loss",
        dtype=None,
    ):
        super().__init__(
            class_counts=class_counts, reduction=reduction, name=name, dtype=dtype
        )
        self._initial_gamma = validate_non_negative(gamma, "gamma")
        counts = self.class_counts.astype(np.float64)
        # log(n_max / n_c) >= 0; constant, the counts never change.
        self.log_count_ratio = np.log(counts.max() / counts)
        self._add_state_variable("gamma", self._initial_gamma)

    def temperatures(self):
        """The current temperatures a_c = (n_max / n_c)^gamma, shape [C]."""
        gamma = ops.convert_to_tensor(self.gamma)
        log_ratio = ops.convert_to_tensor(self.log_count_ratio.astype("float32"))
        return ops.exp(gamma * log_ratio)

    def compute(self, labels, logits):
        onehot = ops.one_hot(labels, self.num_classes, dtype="float32")
        gamma = ops.convert_to_tensor(self.gamma)
        log_ratio = ops.convert_to_tensor(self.log_count_ratio.astype("float32"))
        scaled = logits * ops.exp(-gamma * log_ratio)[None, :]  # z_c / a_c
        return softmax_cross_entropy(onehot, scaled)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "class_counts": _to_list(self.class_counts),
                "gamma": self._initial_gamma,
            }
        )
        return config
