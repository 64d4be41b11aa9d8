"""Major feature weakening: the weight function, lambda's law per class, where and when it mixes."""

import numpy as np
import pytest
from scipy import stats

import keras

from keras_lt.models import LongTailModel, MajorFeatureWeakening, mfw_class_weights
from keras_lt.models.feature_weakening import _log_gamma, sample_beta


def paper_weights(counts, scale):
    """Eq. (12) of Ye, Zhan, Chao 2021, written out: s(N) = 0.5 sigmoid((N - mu) / (scale sigma)),
    mu the geometric mean, sigma the (population) standard deviation of the counts."""
    n = np.asarray(counts, dtype=np.float64)
    mu = np.prod(n) ** (1.0 / n.size)
    sigma = np.sqrt(np.mean((n - n.mean()) ** 2))
    return 0.5 / (1.0 + np.exp(-(n - mu) / (scale * sigma)))


def recover_mixing(mixed):
    """From out = mix(I): lambda_n and partner_n of every row (NaN where the partner is itself)."""
    size = mixed.shape[0]
    lam = 1.0 - np.diag(mixed)
    off = mixed - np.diag(np.diag(mixed))
    partner = np.where(lam > 0, off.argmax(axis=1), np.arange(size))
    moved = partner != np.arange(size)
    # Each row is a convex combination of exactly its own and its partner's one-hot vectors.
    rebuilt = np.eye(size) * (1.0 - lam)[:, None]
    rebuilt[np.arange(size), partner] += lam
    np.testing.assert_allclose(mixed, rebuilt, atol=1e-6)
    return np.where(moved, lam, np.nan), partner


@pytest.mark.parametrize("scale", [2.0, 0.01])
def test_weight_function_is_eq_12(scale):
    for counts in ([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50], [5000] * 5 + [50] * 5):
        np.testing.assert_allclose(
            mfw_class_weights(counts, scale), paper_weights(counts, scale), rtol=1e-10, atol=1e-12
        )
    weights = mfw_class_weights([5000] * 5 + [50] * 5, 0.01)
    np.testing.assert_allclose(weights, [0.5] * 5 + [0.0] * 5, atol=1e-6)  # step: 0.5 / ~0
    np.testing.assert_allclose(mfw_class_weights([7, 7, 7], scale), 0.25)  # the 0/0 limit


@pytest.mark.parametrize("k", [0.2, 0.7, 1.0, 2.0, 5.0])
def test_gamma_sampler_matches_the_gamma_law(k):
    draws = np.exp(keras.ops.convert_to_numpy(
        _log_gamma((20000,), k, keras.random.SeedGenerator(0))
    ).astype(np.float64))
    assert stats.kstest(draws, stats.gamma(k).cdf).pvalue > 1e-3


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (2.0, 2.0), (5.0, 0.7)])
def test_beta_sampler_matches_the_beta_law(a, b):
    draws = keras.ops.convert_to_numpy(
        sample_beta((20000,), a, b, keras.random.SeedGenerator(0))
    ).astype(np.float64)
    assert stats.kstest(draws, stats.beta(a, b).cdf).pvalue > 1e-3
    # Small alpha: mass piles up at 0 and 1 (where float32 rounds), still finite.
    small = keras.ops.convert_to_numpy(sample_beta((20000,), 0.05, 0.05, keras.random.SeedGenerator(1)))
    assert np.all(np.isfinite(small)) and np.all((small >= 0) & (small <= 1))


def test_weakening_compiles_with_xla():
    """TensorFlow compiles the step with XLA on GPUs and TPUs: the sampling must compile."""
    import tensorflow as tf

    layer = MajorFeatureWeakening([30, 10, 3], alpha=2.0, seed=0)
    x = np.random.default_rng(0).normal(size=(8, 4, 4, 2)).astype("float32")
    y = np.array([0, 0, 0, 1, 1, 2, 0, 1], "int32")
    mixed = tf.function(lambda x, y: layer(x, labels=y, training=True), jit_compile=True)(x, y)
    assert mixed.shape == x.shape and np.all(np.isfinite(mixed.numpy()))
    assert not np.allclose(mixed.numpy(), x)


def test_lambda_law_per_class():
    """lambda = s(N_y) * Beta(alpha, alpha), a random permutation partner, per class."""
    counts, alpha, scale = [1000, 100, 10], 2.0, 2.0
    s = paper_weights(counts, scale)
    layer = MajorFeatureWeakening(counts, alpha=alpha, scale=scale, seed=11)
    labels = np.repeat(np.arange(3), 100).astype("int32")
    eye = np.eye(labels.size, dtype="float32")
    lams = {c: [] for c in range(3)}
    partners = []
    for _ in range(12):
        mixed = keras.ops.convert_to_numpy(layer(eye, labels=labels, training=True))
        lam, partner = recover_mixing(mixed.astype(np.float64))
        partners.append(partner)
        for c in range(3):
            lams[c].extend(lam[labels == c][~np.isnan(lam[labels == c])])
    for partner in partners:  # a permutation of the batch
        assert sorted(partner) == list(range(labels.size))
    assert any(not np.array_equal(partners[0], p) for p in partners[1:])
    beta_mean, beta_var = 0.5, 1.0 / (4.0 * (2.0 * alpha + 1.0))
    for c in range(3):
        values = np.asarray(lams[c])
        assert values.size > 1000
        assert values.max() <= s[c] + 1e-6
        assert abs(values.mean() - s[c] * beta_mean) < 4 * s[c] * np.sqrt(beta_var / values.size)
        assert abs(values.var() / s[c] ** 2 - beta_var) < 0.15 * beta_var
        assert stats.kstest(values / s[c], stats.beta(alpha, alpha).cdf).pvalue > 1e-3
    # Major classes are weakened more.
    means = [np.mean(lams[c]) for c in range(3)]
    assert means[0] > means[1] > means[2]


def test_no_mixing_outside_training_and_seeded():
    counts = [50, 10, 2]
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 0])
    layer = MajorFeatureWeakening(counts, seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, labels=y, training=False)), x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, labels=None, training=True)), x)
    first = keras.ops.convert_to_numpy(MajorFeatureWeakening(counts, seed=3)(x, labels=y, training=True))
    again = keras.ops.convert_to_numpy(MajorFeatureWeakening(counts, seed=3)(x, labels=y, training=True))
    other = keras.ops.convert_to_numpy(MajorFeatureWeakening(counts, seed=4)(x, labels=y, training=True))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("bad", [3, -1])
def test_out_of_range_labels_are_refused(bad):
    # 3 failed deep in a gather; -1 was accepted (and a GPU gather would not raise).
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    layer = MajorFeatureWeakening([50, 10, 2], seed=3)
    with pytest.raises(ValueError, match=r"`labels` holds labels outside \[0, 3\)"):
        layer(x, labels=np.array([0, 1, bad, 2]), training=True)


def test_gradients_flow_through_the_sample_and_its_partner():
    # ye21 eq. 8-9: the mixed feature z_i = (1 - lam_i) g(x_i) + lam_i g(x_perm[i])
    # passes gradient to both. d/dx_k sum_i z_i . u_i
    #   = (1 - lam_k) u_k + sum_{i: perm[i] = k} lam_i u_i   (numpy, below).
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient taken with tf.GradientTape")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3)).astype("float32")
    u = rng.normal(size=(5, 3)).astype("float32")
    y = np.array([0, 1, 2, 0, 1])
    layer = MajorFeatureWeakening([50, 10, 2], seed=3)
    lam, perm = (keras.ops.convert_to_numpy(v) for v in layer.sample_mixing(y, 5))
    assert np.any(perm != np.arange(5)) and np.all(lam > 0)
    layer = MajorFeatureWeakening([50, 10, 2], seed=3)  # the same draws again
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, labels=y, training=True)
        objective = tf.reduce_sum(out * u)
    grad = tape.gradient(objective, xt).numpy()
    expected = (1.0 - lam)[:, None] * u
    for i in range(5):
        expected[perm[i]] += lam[i] * u[i]
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


class Probe(keras.layers.Layer):
    """An identity block that keeps (eagerly) what it was given."""

    def call(self, inputs):
        try:
            self.seen = keras.ops.convert_to_numpy(inputs)
        except Exception:  # symbolic (building)
            pass
        return inputs


def probe_model(after, counts, batch):
    blocks = [Probe(name=n) for n in ("stem", "stage1", "stage2", "pool")]
    backbone = keras.Sequential([keras.Input((batch,))] + blocks, name="probes")
    model = LongTailModel(
        backbone,
        keras.layers.Dense(len(counts), name="head"),
        feature_weakening=MajorFeatureWeakening(counts, alpha=2.0, scale=2.0, after=after, seed=1),
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=True,
    )
    return model, {b.name: b for b in blocks}


@pytest.mark.parametrize("after", ["stage1", "stem"])
def test_mixes_only_in_training_and_only_after_the_configured_block(after):
    counts = [40, 20, 5]
    labels = np.array([0] * 8 + [1] * 4 + [2] * 4, "int32")
    eye = np.eye(labels.size, dtype="float32")
    model, probes = probe_model(after, counts, labels.size)
    s = paper_weights(counts, 2.0)

    model.train_on_batch(eye, labels)
    names = ["stem", "stage1", "stage2", "pool"]
    split = names.index(after)
    for name in names[: split + 1]:
        np.testing.assert_array_equal(probes[name].seen, eye)  # before the split: untouched
    mixed = probes[names[split + 1]].seen
    assert not np.allclose(mixed, eye)
    lam, _ = recover_mixing(mixed.astype(np.float64))
    assert np.all(lam[~np.isnan(lam)] <= s[labels][~np.isnan(lam)] + 1e-6)
    for name in names[split + 1 :]:
        np.testing.assert_array_equal(probes[name].seen, mixed)  # mixed once, then carried

    for run in (
        lambda: model.test_on_batch(eye, labels),
        lambda: model.predict(eye, verbose=0),
        lambda: model(eye, training=True),
        lambda: model.extract_features(eye),
    ):
        run()
        for name in names:
            np.testing.assert_array_equal(probes[name].seen, eye)


def test_model_rejects_bad_weakening_setups():
    counts = [5, 3]
    with pytest.raises(ValueError, match="is not a block"):
        LongTailModel(
            keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="stem")]),
            keras.layers.Dense(2),
            feature_weakening=MajorFeatureWeakening(counts, after="stage9"),
        )
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    with pytest.raises(ValueError, match="keras.Sequential"):
        LongTailModel(functional, keras.layers.Dense(2),
                      feature_weakening=MajorFeatureWeakening(counts, after="dense"))
    with pytest.raises(ValueError, match="3 outputs"):
        LongTailModel(
            keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="stage1")]),
            keras.layers.Dense(3),
            feature_weakening=MajorFeatureWeakening(counts),
        )
    with pytest.raises(ValueError, match="alpha"):
        MajorFeatureWeakening(counts, alpha=0.0)
    with pytest.raises(ValueError, match="scale"):
        MajorFeatureWeakening(counts, scale=-1.0)
    with pytest.raises(ValueError, match="class_counts"):
        MajorFeatureWeakening([5, 0])
