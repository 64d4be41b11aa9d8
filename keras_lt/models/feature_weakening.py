"""Major feature weakening (MFW): mix major-class intermediate features.

Ye, Zhan and Chao, "Procrustean Training for Imbalanced Deep Learning",
ICCV 2021 (../shared/papers/major-feature-weakening.txt), Algorithm 1 and
eq. (4), (12). During training only, after an intermediate block g of the
network, every sample x_1 of the batch is paired with x_2 = the sample at the
same position of a random permutation of the batch, and its intermediate
feature is replaced by

    z~_1 = (1 - lambda_1) * g(x_1) + lambda_1 * g(x_2),
    lambda_1 = s(N_{y_1}) * Beta(alpha, alpha),
    s(N) = 0.5 * sigmoid((N - mu) / (beta * sigma)),              (eq. 12)

while the label stays y_1. Gradients flow through both g(x_1) and g(x_2)
(the paper's analysis, eq. 8-9, relies on the second path).

What we follow, detail by detail (paper sec. 3.2, 5.2):

* mu is the *geometric* mean of the raw class counts {N_c}, sigma their
  *standard deviation* -- of the raw counts, not of log counts (the paper:
  "mu and gamma are the geometric mean and standard deviation over
  {N_c}"). The paper does not say population or sample deviation; we take
  the population one (numpy's default, ddof=0).
* The sign is (N - mu): s increases with the class size, from ~0 (minor
  classes, little weakening) to 0.5 (major classes).
* beta (here `scale`, to keep it apart from the Beta distribution) is 2.0
  for long-tailed and 0.01 for step imbalance.
* With equal counts sigma = 0 and eq. 12 is 0/0; we use its limit for
  N = mu, s = 0.25 for every class.
* One Beta draw per sample, one permutation per batch (a permutation may
  leave a sample in place: that sample is then not mixed).
* Beta(alpha, alpha) is sampled from normal and uniform draws
  (`sample_beta`, Marsaglia-Tsang gammas) rather than `keras.random.beta`,
  whose TensorFlow kernel XLA cannot compile (TensorFlow on GPU compiles
  the step with XLA by default; TPUs always do).

For CIFAR-10-LT rho = 100 (5000 ... 50) and beta = 2 this gives s from 0.41
(5000 images) down to 0.23 (50 images); in the step setting with beta = 0.01
s is 0.5 for the major and ~0 for the minor half. Note that the paper's sec. 3
says of that same long-tailed set "s(N_1) ~ 0.5 and s(N_10) ~ 0", which eq. 12
at beta = 2 cannot give (on log counts neither: 0.34 .. 0.16); beta = 0.1 does
(0.50 .. 0.025). The default stays the printed beta = 2. On CIFAR-10-LT
(original pixels; benchmarks/RESULTS.md, `--mfw-beta 0.1`) 0.1 scored 3.35
and 3.45 points higher without DRW at seeds 0 and 1 (76.6 and 76.2 against
73.2 and 72.7), and with it level: +0.26 and -0.09 at seeds 0 and 1
(77.55 and 77.03 against 77.29 and 77.12).
"""

import math

import numpy as np

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.losses.long_tail_loss import prepare_labels
from keras_lt.losses.class_weights import validate_class_counts


def _log_gamma(shape, concentration, seed, rounds=8):
    """log of Gamma(concentration, 1) samples, from normal and uniform draws only.

    Marsaglia and Tsang (2000): for k >= 1, with d = k - 1/3 and c = 1/sqrt(9d),
    draw x ~ N(0, 1), u ~ U(0, 1), v = (1 + c x)^3 and accept d v when v > 0
    and log u < x^2 / 2 + d - d v + d log v (acceptance >= 95%). `rounds`
    proposals are drawn at once and the first accepted is kept (all rejected:
    probability < 0.05^8 ~ 4e-11; d, the mode, is used). For k < 1,
    Gamma(k) = Gamma(k + 1) * U^(1/k), taken in log space.

    Keras's own `keras.random.beta`/`gamma` use TensorFlow's
    StatelessRandomGamma, which XLA cannot compile (TF with jit_compile,
    TPUs); normal, uniform and arithmetic compile everywhere.
    """
    k = float(concentration)
    boost = k < 1.0
    d = (k + 1.0 if boost else k) - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    draws = (rounds,) + tuple(shape)
    x = keras.random.normal(draws, dtype="float32", seed=seed)
    u = keras.random.uniform(draws, minval=1e-12, maxval=1.0, dtype="float32", seed=seed)
    v = (1.0 + c * x) ** 3
    safe_v = ops.maximum(v, 1e-30)
    accepted = ops.logical_and(
        v > 0.0, ops.log(u) < 0.5 * x * x + d - d * safe_v + d * ops.log(safe_v)
    )
    first = ops.argmax(ops.cast(accepted, "int32"), axis=0)  # first accepted round
    log_value = ops.log(d * safe_v)
    log_value = ops.squeeze(
        ops.take_along_axis(log_value, ops.expand_dims(first, 0), axis=0), axis=0
    )
    any_accepted = ops.any(accepted, axis=0)
    log_value = ops.where(any_accepted, log_value, math.log(d))
    if boost:
        w = keras.random.uniform(tuple(shape), minval=1e-12, maxval=1.0, dtype="float32",
                                 seed=seed)
        log_value = log_value + ops.log(w) / k
    return log_value


def sample_beta(shape, alpha, beta, seed):
    """Beta(alpha, beta) samples as X / (X + Y), X ~ Gamma(alpha), Y ~ Gamma(beta).

    Computed as sigmoid(log X - log Y), finite even when both gammas are tiny
    (small alpha). Uses only normal / uniform draws, so it compiles under XLA
    on every backend (see `_log_gamma`).
    """
    return ops.sigmoid(_log_gamma(shape, alpha, seed) - _log_gamma(shape, beta, seed))


def mfw_class_weights(class_counts, scale=2.0):
    """The MFW weight function s(N_c) of eq. (12), per class, as a numpy array.

    s(N) = 0.5 * sigmoid((N - mu) / (scale * sigma)), mu = geometric mean and
    sigma = population standard deviation of the counts; 0.25 everywhere when
    all counts are equal.

    Args:
        class_counts: per-class training counts.
        scale: the paper's beta (2.0 long-tailed, 0.01 step), > 0.

    Returns:
        float64 array `[C]` with values in (0, 0.5).
    """
    counts = validate_class_counts(class_counts).astype(np.float64)
    scale = float(scale)
    if not scale > 0.0:
        raise ValueError(f"`scale` must be > 0, got {scale}.")
    mu = np.exp(np.mean(np.log(counts)))
    sigma = np.std(counts)
    if sigma == 0.0:
        return np.full(counts.shape, 0.25)
    a = (counts - mu) / (scale * sigma)
    # sigmoid(a) = (1 + tanh(a / 2)) / 2 never overflows.
    return 0.5 * (0.5 * (1.0 + np.tanh(0.5 * a)))


@keras_lt_export("MajorFeatureWeakening")
class MajorFeatureWeakening(keras.layers.Layer):
    """Mixes each sample's feature with a permuted partner's, major classes most.

    In training (`training=True` and labels given):

        out[i] = (1 - lam_i) * x[i] + lam_i * x[perm[i]],
        lam_i = s(N_{y_i}) * Beta(alpha, alpha),   perm a random permutation,

    s from `mfw_class_weights`. Otherwise the input passes through unchanged:
    evaluation and prediction never weaken features. The randomness comes
    from the layer's `keras.random.SeedGenerator` (its state is tracked by
    the model, saved with the weights, and passed through the jitted step on
    JAX).

    `LongTailModel` applies the layer after the backbone block named `after`
    ("stage1", the first residual stage of the CIFAR ResNets, is "after the
    second group of convolutions", the paper's default).

    Args:
        class_counts: per-class training counts N_c.
        alpha: Beta(alpha, alpha) parameter, > 0 (tuned on a held-out split
            in the paper; 2.0 in its illustrative experiment).
        scale: the paper's beta in eq. 12: 2.0 long-tailed, 0.01 step.
        after: name of the backbone block after which to mix.
        seed: int seed of the permutation and Beta draws (None: drawn from
            Python's `random`, which `keras.utils.set_random_seed` seeds).

    Example:
        >>> features = np.ones((4, 8, 8, 16), "float32")  # a batch after stage 1
        >>> y = np.array([0, 0, 1, 2])
        >>> mfw = MajorFeatureWeakening([5000, 500, 50], alpha=2.0, scale=2.0)
        >>> mixed = mfw(features, labels=y, training=True)
        >>> tuple(mixed.shape)
        (4, 8, 8, 16)

    Paper: Ye, Zhan, Chao, "Procrustean Training for Imbalanced Deep
    Learning", ICCV 2021, Algorithm 1 and eq. (12).
    """

    def __init__(
        self,
        class_counts,
        alpha=2.0,
        scale=2.0,
        after="stage1",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        counts = validate_class_counts(class_counts)
        alpha = float(alpha)
        if not alpha > 0.0:
            raise ValueError(f"`alpha` must be > 0, got {alpha}.")
        if not isinstance(after, str) or not after:
            raise ValueError(
                f"`after` must be the name of a backbone block, got {after!r}."
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"`seed` must be an int or None, got {seed!r}.")
        self.class_counts = counts.tolist()
        self.alpha = alpha
        self.scale = float(scale)
        self.after = after
        self.seed = seed
        self.class_weights = mfw_class_weights(counts, self.scale)
        self.seed_generator = keras.random.SeedGenerator(seed, name="mfw_seed")
        self.supports_masking = False

    @property
    def num_classes(self):
        return len(self.class_counts)

    def sample_mixing(self, labels, batch_size):
        """Draws `(lam, perm)` for a batch: lam `[B]` float32, perm `[B]` int32."""
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        # A uniformly random permutation: the order of i.i.d. uniform keys.
        perm = ops.cast(
            ops.argsort(keras.random.uniform((batch_size,), seed=self.seed_generator)),
            "int32",
        )
        draws = sample_beta((batch_size,), self.alpha, self.alpha, self.seed_generator)
        weights = ops.convert_to_tensor(self.class_weights, dtype="float32")
        return ops.take(weights, labels, axis=0) * draws, perm

    def call(self, inputs, labels=None, training=None):
        if not training or labels is None:
            return inputs
        if len(labels.shape) == 2 and labels.shape[-1] not in (None, 1):
            raise ValueError(
                "MajorFeatureWeakening needs integer class labels of shape [B] "
                f"or [B, 1]; got labels of shape {labels.shape} (one-hot?)."
            )
        # Out-of-range labels would gather another class's weight (or, on a GPU,
        # garbage): refused as the losses refuse them (eager / TF graph).
        labels, _ = prepare_labels(labels, self.num_classes, batch_size=inputs.shape[0],
                                   name="labels")
        batch_size = ops.shape(inputs)[0]
        lam, perm = self.sample_mixing(labels, batch_size)
        lam = ops.cast(lam, inputs.dtype)
        lam = ops.reshape(lam, (-1,) + (1,) * (len(inputs.shape) - 1))
        partner = ops.take(inputs, perm, axis=0)
        return inputs + lam * (partner - inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    # The seed generator's state is not one of Keras's saved layer variables;
    # save it too so that a resumed run continues the same random stream.
    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["seed_state"] = self.seed_generator.state

    def load_own_variables(self, store):
        keys = list(store.keys())
        own = {k: store[k] for k in keys if k != "seed_state"}
        super().load_own_variables(own)
        if "seed_state" in keys:
            self.seed_generator.state.assign(np.asarray(store["seed_state"]))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "class_counts": list(self.class_counts),
                "alpha": self.alpha,
                "scale": self.scale,
                "after": self.after,
                "seed": self.seed,
            }
        )
        return config
