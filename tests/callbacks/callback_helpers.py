"""Shared pieces of the callback tests: tiny data, frozen models, numpy formulas."""

import os
import subprocess
import sys

import numpy as np

import keras

COUNTS = np.array([6, 4, 2])  # long-tailed toy training split, C = 3


def toy_data(seed=0):
    """12 samples, 4 features, labels with counts COUNTS, in a fixed order."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(int(COUNTS.sum()), 4)).astype("float32")
    y = np.repeat(np.arange(COUNTS.size), COUNTS).astype("int32")
    order = rng.permutation(len(y))
    return x[order], y[order]


def frozen_linear_model(seed=0):
    """Dense(3) whose weights a zero learning rate keeps fixed: known logits."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(COUNTS.size, name="head")(inputs)
    return keras.Model(inputs, outputs)


def logits_of(model, x):
    kernel, bias = (keras.ops.convert_to_numpy(v) for v in model.get_layer("head").weights)
    return x.astype(np.float64) @ kernel + bias


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def cross_entropy(z, y):
    return -log_softmax(z)[np.arange(len(y)), y]


def effective_number_weights_np(counts, beta):
    """Cui et al. eq. (3)-(4): w_c = 1 / E_{n_c}, normalised to sum to C."""
    counts = np.asarray(counts, np.float64)
    effective = (1.0 - beta**counts) / (1.0 - beta)
    w = 1.0 / effective
    return w * counts.size / w.sum()


def epoch_loss(per_batch_losses):
    """Keras's epoch loss: batch losses averaged with batch-size weights."""
    values, sizes = zip(*per_batch_losses)
    return float(np.average(values, weights=sizes))


def weighted_ce_epoch_loss(z, y, weights, batch_size):
    """WeightedCrossEntropy (weighted batch mean, reference) over fixed batches."""
    out = []
    for start in range(0, len(y), batch_size):
        zb, yb = z[start : start + batch_size], y[start : start + batch_size]
        w = weights[yb]
        out.append(((w * cross_entropy(zb, yb)).sum() / w.sum(), len(yb)))
    return epoch_loss(out)


def cdt_epoch_loss(z, y, counts, gamma, batch_size):
    """CDT (Ye et al. eq. 3): CE over z_c / a_c, a_c = (n_max / n_c)^gamma."""
    a = (counts.max() / counts.astype(np.float64)) ** gamma
    out = []
    for start in range(0, len(y), batch_size):
        zb, yb = z[start : start + batch_size], y[start : start + batch_size]
        out.append((cross_entropy(zb / a, yb).mean(), len(yb)))
    return epoch_loss(out)


class RecordVariable(keras.callbacks.Callback):
    """Records a variable's value at each epoch begin (list it last)."""

    def __init__(self, get_variable):
        super().__init__()
        self.get_variable = get_variable
        self.values = []

    def on_epoch_begin(self, epoch, logs=None):
        self.values.append(np.array(keras.ops.convert_to_numpy(self.get_variable().value)))


def run_backend_script(script, backend="jax", timeout=300, args=()):
    """Runs `script` (Python source) in a subprocess with KERAS_BACKEND=backend."""
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.abspath(__file__)), env.get("PYTHONPATH", "")]
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
