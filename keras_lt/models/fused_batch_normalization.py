"""Batch normalisation as one fused op on TensorFlow (Ioffe & Szegedy 2015).

    y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta
    moving_mean <- m * moving_mean + (1 - m) * mean_B
    moving_var  <- m * moving_var  + (1 - m) * var_B      (var_B biased, as Keras)

Keras 3's `BatchNormalization` computes this with `ops.moments` and
`ops.batch_normalization`: about ten element-wise ops forward and as many in
the gradient, each a pass over the activations. On TensorFlow on a CPU-only
machine Keras runs without XLA (`jit_compile="auto"`), so nothing fuses them;
ResNet-32 has 31 batch norms and they cost about a quarter of a training step
(benchmarks/RESULTS.md, "CPU speed"). This layer does the training-mode
forward pass with TensorFlow's `FusedBatchNormV3` (oneDNN on CPU) and its
fused gradient, and is Keras's layer everywhere else: other backends (JAX's
XLA fuses batch norm already), inference, masks, renorm, synchronized batch
norm, inputs that are not 4-D channels-last, no scale or no centre.

The result is Keras's: the same output and the same moving statistics (the
op's Bessel-corrected batch variance is turned back into the biased one Keras
keeps), so a model trained with it saves, loads and predicts like one built
with `keras.layers.BatchNormalization`.
"""

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export


@keras_lt_export("FusedBatchNormalization")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose TensorFlow training step is one fused op.

    Same arguments, weights, config and results as Keras's layer; only faster
    in training on the TensorFlow backend (about -26 % per ResNet-32 step on
    CPU). See the module docstring for when it falls back to Keras's code.
    """

    def _can_fuse(self, inputs, training, mask):
        return (
            keras.backend.backend() == "tensorflow"
            and bool(training)
            and self.trainable
            and mask is None
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and self.scale
            and self.center
            and not self.renorm
            and not getattr(self, "synchronized", False)
        )

    def call(self, inputs, training=None, mask=None):
        if not self._can_fuse(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = ops.cast(inputs, "float32")  # as Keras: statistics in float32
        y, batch_mean, batch_variance = tf.compat.v1.nn.fused_batch_norm(
            x,
            ops.cast(self.gamma, "float32"),
            ops.cast(self.beta, "float32"),
            epsilon=self.epsilon,
            is_training=True,
        )
        # The op returns the batch mean and the Bessel-corrected batch variance
        # (n / (n - 1) times the biased one that Keras keeps); C numbers each.
        count = ops.cast(ops.prod(ops.shape(x)[:-1]), "float32")
        batch_variance = batch_variance * (count - 1.0) / count
        momentum = self.momentum
        self.moving_mean.assign(
            self.moving_mean * momentum + batch_mean * (1.0 - momentum)
        )
        self.moving_variance.assign(
            self.moving_variance * momentum + batch_variance * (1.0 - momentum)
        )
        return ops.cast(y, self.compute_dtype)
