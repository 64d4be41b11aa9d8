"""Small data, tiny backbones and numpy references shared by the model tests."""

import numpy as np

import keras

from keras_lt.models import cifar_resnet

COUNTS = [24, 12, 6, 3]  # a small long-tailed training split, 4 classes


def long_tailed_images(counts=COUNTS, shape=(8, 8, 3), seed=0):
    """Gaussian images whose mean depends on the class; class 0 is the largest."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts).astype("int32")
    x = rng.normal(size=(y.size,) + tuple(shape)).astype("float32")
    x += (y[:, None, None, None] / len(counts)).astype("float32")
    order = rng.permutation(y.size)
    return x[order], y[order]


def tiny_resnet(input_shape=(8, 8, 3)):
    """ResNet-8 (one block per stage), 4/8/8 filters: the real blocks, tiny."""
    return cifar_resnet(8, input_shape, widths=(4, 8, 8), name="tiny_resnet")


def dense_backbone(dim, width=8, seed=0):
    """A BatchNorm-free Sequential of named blocks on flat inputs."""
    init = keras.initializers.GlorotUniform(seed=seed)
    return keras.Sequential(
        [
            keras.Input((dim,)),
            keras.layers.Dense(width, activation="relu", kernel_initializer=init, name="stem"),
            keras.layers.Dense(width, activation="relu", kernel_initializer=init, name="stage1"),
            keras.layers.Dense(width, activation="tanh", kernel_initializer=init, name="stage2"),
            keras.layers.Activation("linear", name="pool"),
        ],
        name="dense_backbone",
    )


def np_log_softmax(z):
    z = np.asarray(z, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def np_cross_entropy(z, y):
    """Per-sample -log softmax(z)_y."""
    return -np_log_softmax(z)[np.arange(len(y)), np.asarray(y)]


def np_ib_loss(z, h, y, class_weights, alpha=1000.0, epsilon=1e-3):
    """Per-sample influence-balanced loss (Park et al. 2021, eq. 5-6):
    alpha * w_y * CE(z, y) / (||softmax(z) - onehot(y)||_1 * ||h||_1 + eps)."""
    z = np.asarray(z, np.float64)
    h = np.asarray(h, np.float64).reshape(len(z), -1)
    p = np.exp(np_log_softmax(z))
    onehot = np.eye(z.shape[1])[np.asarray(y)]
    factor = np.abs(p - onehot).sum(axis=1) * np.abs(h).sum(axis=1)
    return alpha * np.asarray(class_weights)[y] * np_cross_entropy(z, y) / (factor + epsilon)
