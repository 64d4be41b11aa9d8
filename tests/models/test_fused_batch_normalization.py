"""FusedBatchNormalization: Keras's batch norm, one fused op on TensorFlow.

Expected values are the batch-norm formulas written in numpy (Ioffe & Szegedy
2015, with Keras's momentum convention and biased batch variance) and Keras's
own `BatchNormalization` on the same weights.
"""

import os

import keras
import numpy as np
import pytest

from keras_lt.models import FusedBatchNormalization
from keras_lt.models import resnet32

MOMENTUM = 0.9
EPSILON = 1e-5


def numpy_batch_norm(x, gamma, beta):
    mean = x.mean(axis=(0, 1, 2))
    var = x.var(axis=(0, 1, 2))  # biased, as Keras keeps
    return gamma * (x - mean) / np.sqrt(var + EPSILON) + beta, mean, var


def make_pair(channels=6, seed=0):
    rng = np.random.default_rng(seed)
    gamma = rng.uniform(0.5, 1.5, channels).astype("float32")
    beta = rng.normal(size=channels).astype("float32")
    mean0 = rng.normal(size=channels).astype("float32")
    var0 = rng.uniform(0.5, 2.0, channels).astype("float32")
    layers = []
    for cls in (FusedBatchNormalization, keras.layers.BatchNormalization):
        layer = cls(momentum=MOMENTUM, epsilon=EPSILON)
        layer.build((None, 5, 7, channels))
        layer.set_weights([gamma, beta, mean0, var0])
        layers.append(layer)
    return layers, (gamma, beta, mean0, var0)


def test_training_output_and_moving_statistics_match_the_formula():
    (fused, _), (gamma, beta, mean0, var0) = make_pair()
    x = np.random.default_rng(1).normal(2.0, 3.0, (4, 5, 7, 6)).astype("float32")
    expected, mean, var = numpy_batch_norm(x, gamma, beta)
    y = keras.ops.convert_to_numpy(fused(x, training=True))
    np.testing.assert_allclose(y, expected, atol=2e-5)
    np.testing.assert_allclose(
        fused.moving_mean.numpy(), MOMENTUM * mean0 + (1 - MOMENTUM) * mean, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        fused.moving_variance.numpy(), MOMENTUM * var0 + (1 - MOMENTUM) * var, rtol=1e-5
    )


def test_inference_uses_the_moving_statistics():
    (fused, _), (gamma, beta, mean0, var0) = make_pair()
    x = np.random.default_rng(2).normal(size=(3, 5, 7, 6)).astype("float32")
    expected = gamma * (x - mean0) / np.sqrt(var0 + EPSILON) + beta
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fused(x, training=False)), expected, atol=1e-5
    )
    np.testing.assert_array_equal(fused.moving_mean.numpy(), mean0)  # not updated


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="GradientTape")
def test_gradients_equal_keras_batch_normalization():
    import tensorflow as tf

    (fused, reference), _ = make_pair()
    x = tf.constant(np.random.default_rng(3).normal(size=(4, 5, 7, 6)).astype("float32"))
    upstream = tf.constant(np.random.default_rng(4).normal(size=(4, 5, 7, 6)).astype("float32"))
    grads = []
    for layer in (fused, reference):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * upstream)
        grads.append(tape.gradient(loss, [x, layer.gamma.value, layer.beta.value]))
    for got, want in zip(*grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)


def test_falls_back_to_keras_where_the_fused_op_does_not_apply():
    # 2-D input: the fused op is 4-D only; the result must still be batch norm.
    layer = FusedBatchNormalization(momentum=MOMENTUM, epsilon=EPSILON)
    x = np.random.default_rng(5).normal(1.0, 2.0, (32, 3)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + EPSILON)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    # A frozen layer normalises with its moving statistics even in training.
    frozen = FusedBatchNormalization(momentum=MOMENTUM, epsilon=EPSILON)
    frozen.build((None, 2, 2, 3))
    frozen.trainable = False
    x4 = np.random.default_rng(6).normal(5.0, 1.0, (2, 2, 2, 3)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(frozen(x4, training=True)), x4 / np.sqrt(1 + EPSILON), rtol=1e-6
    )


def test_mixed_precision_output_dtype_and_values():
    (fused, _), (gamma, beta, _, _) = make_pair()
    half = FusedBatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, dtype="mixed_float16")
    half.build((None, 5, 7, 6))
    half.set_weights(fused.get_weights())
    x = np.random.default_rng(7).normal(size=(4, 5, 7, 6)).astype("float16")
    y = half(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    expected, _, _ = numpy_batch_norm(x.astype("float32"), gamma, beta)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y).astype("float32"), expected, atol=1e-2)
    assert half.moving_mean.dtype == "float32"


def test_resnet_trains_like_keras_batch_normalization_and_round_trips(tmp_path, monkeypatch):
    """Two SGD steps of ResNet-32 with the fused layer equal the same steps with
    Keras's layer (same initial weights); the saved model reloads as the fused class."""
    import importlib

    basic_block = importlib.import_module("keras_lt.models.basic_block")
    cifar_resnet = importlib.import_module("keras_lt.models.cifar_resnet")  # not the function

    # Seeded: unseeded random weights made the tolerance below fail now and then
    # (once on 2026-12-07, run after tests/benchmarks and test_readme); seeds 0-5 pass.
    keras.utils.set_random_seed(0)
    fused_model = resnet32(input_shape=(16, 16, 3))
    assert any(isinstance(layer, FusedBatchNormalization) for layer in fused_model._flatten_layers())

    def keras_batch_norm(name):
        return keras.layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, name=name)

    monkeypatch.setattr(basic_block, "batch_norm", keras_batch_norm)
    monkeypatch.setattr(cifar_resnet, "batch_norm", keras_batch_norm)
    reference = resnet32(input_shape=(16, 16, 3))
    monkeypatch.undo()
    assert not any(
        isinstance(layer, FusedBatchNormalization) for layer in reference._flatten_layers()
    )
    initial = fused_model.get_weights()
    reference.set_weights(initial)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(8, 16, 16, 3)).astype("float32")
    y = rng.normal(size=(8, 64)).astype("float32")
    for model in (fused_model, reference):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        for _ in range(2):
            model.train_on_batch(x, y)
    # Each variable's change over the two steps, compared as a whole (relative
    # norm of the difference). At batch 8, float32 rounding through 31 batch
    # norms moves some variables' steps by up to ~2 %, depending on the random
    # weights (seeds 0-11, 2026-12-05: max 0.00005-0.018, median up to 0.0015);
    # Keras's own layer with and without XLA differs as much (seed 1: max 0.009),
    # so the former per-entry 1e-4 was flaky. A systematic error moves them all.
    errors = []
    for w0, got, want in zip(initial, fused_model.get_weights(), reference.get_weights()):
        step_fused, step_keras = got - w0, want - w0
        scale = max(np.linalg.norm(step_keras), 1e-6)
        errors.append(np.linalg.norm(step_fused - step_keras) / scale)
    assert np.median(errors) < 1e-2 and max(errors) < 5e-2, (np.median(errors), max(errors))

    path = os.path.join(tmp_path, "fused.keras")
    fused_model.save(path)
    loaded = keras.saving.load_model(path)
    assert any(isinstance(layer, FusedBatchNormalization) for layer in loaded._flatten_layers())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), fused_model.predict(x, verbose=0),
                               atol=1e-5)


MIRRORED_SCRIPT = """
import os
os.environ["KERAS_BACKEND"] = "tensorflow"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from keras_lt.models import FusedBatchNormalization

rng = np.random.default_rng(0)
x = rng.normal(1.0, 2.0, (32, 6, 6, 3)).astype("float32")
y = rng.integers(0, 4, 32)

def run(bn_class, seed_weights=None):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = keras.Sequential([
            keras.Input((6, 6, 3)),
            keras.layers.Conv2D(5, 3, use_bias=False),
            bn_class(momentum=0.9, epsilon=1e-5),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4),
        ])
        if seed_weights is not None:
            model.set_weights(seed_weights)
        model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return model

keras.utils.set_random_seed(1)
start = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(5, 3, use_bias=False),
                          keras.layers.BatchNormalization(), keras.layers.GlobalAveragePooling2D(),
                          keras.layers.Dense(4)]).get_weights()
a = run(FusedBatchNormalization, start).get_weights()
b = run(keras.layers.BatchNormalization, start).get_weights()
for u, v in zip(a, b):
    np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)
assert not np.allclose(a[3], start[3])  # the moving mean was updated under the strategy
print("OK")
"""


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
def test_mirrored_strategy_matches_keras_batch_normalization():
    """Under MirroredStrategy on two logical CPUs (each replica normalises its
    half of the batch), training equals Keras's layer: weights and moving stats."""
    import subprocess
    import sys

    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr[-4000:]
