"""IB: influence-balanced loss (Park, Lim, Jeon, Choi, ICCV 2021)."""

import numpy as np

from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.losses.class_weights import effective_number_weights
from keras_lt.losses.class_weights import inverse_frequency_weights
from keras_lt.losses.class_weights import validate_beta
from keras_lt.losses.class_weights import validate_non_negative
from keras_lt.losses.class_weights import validate_positive
from keras_lt.losses.focal import softmax_focal_terms
from keras_lt.losses.long_tail_loss import LongTailLoss
from keras_lt.losses.long_tail_loss import _to_list
from keras_lt.losses.long_tail_loss import focal_modulator
from keras_lt.losses.long_tail_loss import softmax_cross_entropy
from keras_lt.losses.long_tail_loss import validate_choice

WEIGHTINGS = ("inverse_frequency", "effective_number", "none")
BASE_LOSSES = ("cross_entropy", "focal")
FOCAL_PROBABILITIES = ("softmax", "class_weighted")


def ib_class_weights(class_counts, weighting="inverse_frequency", beta=0.9999):
    """The IB class weights before `alpha`, normalised to sum to C."""
    if weighting == "inverse_frequency":
        return inverse_frequency_weights(class_counts, 1.0)
    if weighting == "effective_number":
        return effective_number_weights(class_counts, beta)
    return np.ones(len(class_counts))


def class_weighted_focal_terms(ce, weights, gamma):
    """Per-sample `(1 - q)^gamma * CE` with q = exp(-w_y CE) = p_y^{w_y}.

    The IB reference code's focal term: its q is taken from the class-weighted
    cross-entropy. log(1 - q) = log(-expm1(-w_y CE)), with w_y CE clipped at
    1e-30 so that the log and its gradient stay finite when p_y rounds to 1.
    """
    weighted_ce = ops.maximum(weights * ce, 1e-30)
    return focal_modulator(ops.log(-ops.expm1(-weighted_ce)), gamma) * ce


@keras_lt_export("IBLoss")
class IBLoss(LongTailLoss):
    """Influence-balanced (IB) loss; needs the penultimate features.

    Per sample, with p = softmax(z) and h the penultimate feature (the input
    of the last dense layer):

        IB(x)   = ||p - onehot(y)||_1 * ||h||_1        (= 2 (1 - p_y) ||h||_1)
        loss_i  = alpha * w_{y_i} * L(z_i, y_i) / (IB(x_i) + epsilon)

    L is cross-entropy (`base_loss="cross_entropy"`) or the focal loss
    (1 - q)^gamma CE (`base_loss="focal"`, the paper's IB + focal). IB(x) is
    the L1 norm of the gradient of the cross-entropy with respect to the last
    layer's weights (paper eq. 4); it is computed as 2 * sum_{c != y} p_c *
    ||h||_1, equal to the formula and accurate when p_y is close to 1.

    The focal q: the paper does not define it. By default
    (`focal_probability="softmax"`) q = p_y, as in `FocalLoss`. The reference
    code takes q = exp(-w_y CE) = p_y^{w_y}, the class weight inside
    (`focal_probability="class_weighted"`, the recipes' ib-focal): with
    inverse-frequency weights at ratio 100 (0.04 to 4.0) and p_y = 0.9, 1 - q
    is 0.004 for the largest class and 0.35 for the rarest, so the modulator
    re-weights the classes too.

    Class weights and alpha: we follow the reference code, as described in
    METHODS.md: `w` are normalised to sum to C (inverse frequency,
    `weighting="inverse_frequency"`, the paper's lambda; or effective-number
    weights with `beta`, the paper's IB + CB), then multiplied by `alpha`
    (1000 in the reference scripts). The paper writes lambda_k = alpha
    n_k^-1 / sum_k' n_k'^-1 (weights summing to alpha); that is the same loss
    with alpha_paper = C * alpha here.

    Gradient through the IB factor: the paper treats 1 / IB(x) as a
    re-weighting factor but does not say whether it is differentiated; the
    reference implementation does not detach it, so by default
    (`stop_factor_gradient=False`) the gradient flows through both
    ||p - onehot(y)||_1 and ||h||_1, as in the reference. With
    `stop_factor_gradient=True` the factor is a constant (stop_gradient) and
    the loss is a pure per-sample re-weighting of L.

    Two phases: the non-trainable float32 scalar variable `ib_active` selects
    plain unweighted cross-entropy (0, the paper's first phase, normal
    training) or the IB loss (1, the fine-tuning phase). A callback switches it
    with `loss.ib_active.assign(1.0)` without recompiling;
    `start_active=False` starts in the first phase. The class weights are the
    non-trainable float32 variable `class_weights` `[C]`.

    Feature interface: `requires_features = True`. `y_pred` must be the dict
    `{"logits": z, "features": h}`, z of shape `[B, C]`, h of shape `[B, ...]`
    (the L1 norm is taken over all non-batch axes, so a precomputed `[B, 1]`
    tensor of L1 norms works too). `LongTailModel.train_step` builds this dict;
    without it, call the loss on the dict yourself (see the example).

    Averaging: by the batch size, like the reference (`loss.mean()`), whatever
    the weights.

    Args:
        class_counts: per-class training counts `[C]` (positive integers).
        alpha: the scale of the class weights, > 0 (1000 in the reference).
        epsilon: added to IB(x) before inverting, > 0 (1e-3 in the paper).
        weighting: `"inverse_frequency"` (the paper's lambda),
            `"effective_number"` (IB + CB, with `beta`) or `"none"` (eq. 5,
            no class weights; alpha still scales the loss).
        beta: for `weighting="effective_number"`, in [0, 1).
        base_loss: `"cross_entropy"` or `"focal"` (IB + focal, with `gamma`).
        gamma: focal exponent >= 0 for `base_loss="focal"` (1 in the paper).
        focal_probability: the focal q for `base_loss="focal"`: `"softmax"`
            (p_y, default) or `"class_weighted"` (p_y^{w_y}, the reference
            code's).
        start_active: initial value of `ib_active`: True (default) = IB loss
            from the start; False = plain cross-entropy until a callback
            switches it (the paper's schedule switches at half of training).
        stop_factor_gradient: treat the IB factor as a constant (True) or
            differentiate through it like the reference code (False, default).
        reduction: a Keras reduction, default `"sum_over_batch_size"`.
        name: the loss name.
        dtype: dtype of the returned loss; computed in float32.

    Example:

    ```python
    loss = keras_lt.IBLoss([5000, 500, 50], start_active=False)
    features = backbone(x)                       # h, [B, D]
    logits = head(features)                      # z, [B, C]
    value = loss(y, {"logits": logits, "features": features})
    loss.ib_active.assign(1.0)                   # second phase
    ```

    Reference: Park, Lim, Jeon, Choi, "Influence-Balanced Loss for Imbalanced
    Visual Classification", ICCV 2021, eqs. (4)-(6) and Algorithm 1.
    """

    requires_features = True
    requires_counts = True

    def __init__(
        self,
        class_counts,
        alpha=1000.0,
        epsilon=1e-3,
        weighting="inverse_frequency",
        beta=0.9999,
        base_loss="cross_entropy",
        gamma=1.0,
        focal_probability="softmax",
        start_active=True,
        stop_factor_gradient=False,
        reduction="sum_over_batch_size",
        name="ib_loss",
        dtype=None,
    ):
        super().__init__(
            class_counts=class_counts, reduction=reduction, name=name, dtype=dtype
        )
        self.alpha = validate_positive(alpha, "alpha")
        self.epsilon = validate_positive(epsilon, "epsilon")
        self.weighting = validate_choice(weighting, WEIGHTINGS, "weighting")
        self.beta = validate_beta(beta)
        self.base_loss = validate_choice(base_loss, BASE_LOSSES, "base_loss")
        self.gamma = validate_non_negative(gamma, "gamma")
        self.focal_probability = validate_choice(
            focal_probability, FOCAL_PROBABILITIES, "focal_probability"
        )
        if self.focal_probability != "softmax" and self.base_loss != "focal":
            raise ValueError(
                f"`focal_probability={self.focal_probability!r}` applies to "
                f"`base_loss='focal'` only; this loss's is {self.base_loss!r}."
            )
        self.start_active = bool(start_active)
        self.stop_factor_gradient = bool(stop_factor_gradient)
        self._add_class_weights(
            ib_class_weights(self.class_counts, self.weighting, self.beta)
        )
        self._add_state_variable("ib_active", 1.0 if self.start_active else 0.0)

    def call(self, y_true, y_pred):
        if not isinstance(y_pred, dict) or set(y_pred) != {"logits", "features"}:
            got = (
                f"a dict with keys {sorted(y_pred)}"
                if isinstance(y_pred, dict)
                else f"{type(y_pred).__name__} of shape {tuple(getattr(y_pred, 'shape', ()))}"
            )
            raise ValueError(
                "IBLoss needs the penultimate features as well as the logits: "
                "pass `y_pred={'logits': z, 'features': h}` (z: [batch, "
                "num_classes] logits; h: [batch, ...] input of the last dense "
                f"layer). Got {got}. `keras_lt.LongTailModel` does this in its "
                "train_step; without it, call the loss on that dict yourself."
            )
        labels, logits, valid = self._prepare(y_true, y_pred["logits"])
        features = ops.cast(ops.convert_to_tensor(y_pred["features"]), "float32")
        if len(features.shape) < 1:
            raise ValueError("`y_pred['features']` must have a batch dimension.")
        if (
            features.shape[0] is not None
            and logits.shape[0] is not None
            and features.shape[0] != logits.shape[0]
        ):
            raise ValueError(
                f"`y_pred['features']` has batch size {features.shape[0]} but "
                f"the logits have {logits.shape[0]}."
            )
        return self._finish(self.compute_with_features(labels, logits, features), valid)

    def compute_with_features(self, labels, logits, features):
        onehot = ops.one_hot(labels, self.num_classes, dtype="float32")
        ce = softmax_cross_entropy(onehot, logits)
        weights = ops.take(ops.convert_to_tensor(self.class_weights), labels, axis=0)
        if self.base_loss == "cross_entropy":
            base = ce
        elif self.focal_probability == "softmax":
            base = softmax_focal_terms(onehot, logits, self.gamma)
        else:
            base = class_weighted_focal_terms(ce, weights, self.gamma)
        # ||softmax(z) - onehot(y)||_1 = 2 * sum_{c != y} p_c.
        probs = ops.softmax(logits, axis=-1)
        grad_norm = 2.0 * ops.sum(probs * (1.0 - onehot), axis=-1)
        feature_norm = ops.sum(
            ops.abs(ops.reshape(features, (ops.shape(features)[0], -1))), axis=-1
        )
        factor = grad_norm * feature_norm
        if self.stop_factor_gradient:
            factor = ops.stop_gradient(factor)
        ib = self.alpha * weights * base / (factor + self.epsilon)
        active = ops.convert_to_tensor(self.ib_active) > 0.5
        return ops.where(active, ib, ce)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "class_counts": _to_list(self.class_counts),
                "alpha": self.alpha,
                "epsilon": self.epsilon,
                "weighting": self.weighting,
                "beta": self.beta,
                "base_loss": self.base_loss,
                "gamma": self.gamma,
                "focal_probability": self.focal_probability,
                "start_active": self.start_active,
                "stop_factor_gradient": self.stop_factor_gradient,
            }
        )
        return config
