"""Class-balanced loss (Cui et al., CVPR 2019): softmax, sigmoid or focal."""

from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.losses.class_weights import effective_number_weights
from keras_lt.losses.class_weights import validate_beta
from keras_lt.losses.class_weights import validate_non_negative
from keras_lt.losses.long_tail_loss import LongTailLoss
from keras_lt.losses.long_tail_loss import _to_list
from keras_lt.losses.long_tail_loss import softmax_cross_entropy
from keras_lt.losses.long_tail_loss import validate_choice

LOSS_TYPES = ("softmax", "sigmoid", "focal")


def sigmoid_terms(onehot, logits, gamma=None):
    """Per-class one-vs-all terms `[B, C]`: BCE, or focal-modulated BCE.

    With sign s_c = 2 [c == y] - 1 and p_t = sigmoid(s_c z_c):
    BCE = -log p_t = softplus(-s_c z_c), and log(1 - p_t) = -softplus(s_c z_c),
    so the focal modulator (1 - p_t)^gamma = exp(-gamma softplus(s_c z_c)) is
    computed in log space: finite, with finite gradients, for any gamma >= 0
    and logits up to +-1e4 (the naive power has an infinite derivative at
    p_t = 1 for gamma < 1). This equals the reference code's
    exp(-gamma y z - gamma log1p(exp(-z))) with y in {0, 1}, without its
    overflow of exp(-z) for very negative z.
    """
    signed = (2.0 * onehot - 1.0) * logits
    bce = ops.softplus(-signed)
    if gamma is None:
        return bce
    return ops.exp(-gamma * ops.softplus(signed)) * bce


@keras_lt_export("ClassBalancedLoss")
class ClassBalancedLoss(LongTailLoss):
    """Class-balanced loss: re-weighting by the inverse effective number.

    Class weights from the effective number of samples, normalised to sum C:

        E_n = (1 - beta^n) / (1 - beta),   w_c = C * (1/E_{n_c}) / sum_k 1/E_{n_k}

    and, per sample, with s_c = 2 [c == y] - 1 and p_t,c = sigmoid(s_c z_c):

        softmax:  w_y * CE(z, y)
        sigmoid:  w_y * sum_c -log p_t,c                        (BCE one-vs-all)
        focal:    w_y * sum_c (1 - p_t,c)^gamma * -log p_t,c    (sigmoid focal)

    The focal modulator is computed in log space (see `sigmoid_terms`).

    Averaging: like the reference TensorFlow code, a batch is averaged by its
    size, not by the sum of its weights: the softmax loss is
    `tf.losses.softmax_cross_entropy(weights=w_y)` (sum over non-zero weights,
    i.e. B), and the sigmoid and focal losses sum over samples and classes and
    divide by `reduce_sum(one_hot_labels)`, the number of positive labels,
    which is B for single-label data. So the default reduction
    `"sum_over_batch_size"` gives `sum_i loss_i / B` for all three types. (The
    popular PyTorch port instead averages the sigmoid loss over B * C entries,
    a factor C smaller.) `normalize_by_weights=True` divides by the batch sum
    of `w_y` instead (see `WeightedCrossEntropy`).

    With sigmoid or focal, initialise the classifier bias to
    `-log((1 - pi) / pi)`, pi = 1/C, and keep weight decay off it (the
    paper's recipe; the model's job, not the loss's).

    The weights live in the non-trainable float32 variable `class_weights`
    `[C]`, read at call time (a callback may `assign` it).

    Args:
        class_counts: per-class training counts `[C]` (positive integers).
        beta: in [0, 1); 0 gives unit weights (the plain loss), beta -> 1
            inverse frequency. The paper searches {0.9, 0.99, 0.999, 0.9999}.
        loss_type: `"softmax"`, `"sigmoid"` or `"focal"`.
        gamma: focal exponent >= 0 (used by `"focal"`); the paper searches
            {0.5, 1, 2}.
        normalize_by_weights: False (default, the reference): average by the
            batch size; True: by the batch sum of the weights.
        reduction: a Keras reduction, default `"sum_over_batch_size"`.
        name: the loss name.
        dtype: dtype of the returned loss; computed in float32.

    Example:

    ```python
    loss = keras_lt.ClassBalancedLoss([5000, 500, 50], beta=0.9999,
                                      loss_type="focal", gamma=1.0)
    ```

    Reference: Cui, Jia, Lin, Song, Belongie, "Class-Balanced Loss Based on
    Effective Number of Samples", CVPR 2019, eqs. (8), (11) and (13).
    """

    requires_counts = True

    def __init__(
        self,
        class_counts,
        beta=0.9999,
        loss_type="softmax",
        gamma=1.0,
        normalize_by_weights=False,
        reduction="sum_over_batch_size",
        name="class_balanced_loss",
        dtype=None,
    ):
        super().__init__(
            class_counts=class_counts, reduction=reduction, name=name, dtype=dtype
        )
        self.beta = validate_beta(beta)
        self.loss_type = validate_choice(loss_type, LOSS_TYPES, "loss_type")
        self.gamma = validate_non_negative(gamma, "gamma")
        self.normalize_by_weights = bool(normalize_by_weights)
        self._add_class_weights(effective_number_weights(self.class_counts, self.beta))

    def compute(self, labels, logits):
        onehot = ops.one_hot(labels, self.num_classes, dtype="float32")
        if self.loss_type == "softmax":
            values = softmax_cross_entropy(onehot, logits)
        else:
            gamma = self.gamma if self.loss_type == "focal" else None
            values = ops.sum(sigmoid_terms(onehot, logits, gamma), axis=-1)
        return self._apply_class_weights(
            values, labels, self.class_weights, self.normalize_by_weights
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "class_counts": _to_list(self.class_counts),
                "beta": self.beta,
                "loss_type": self.loss_type,
                "gamma": self.gamma,
                "normalize_by_weights": self.normalize_by_weights,
            }
        )
        return config
