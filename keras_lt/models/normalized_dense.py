"""`NormalizedDense`: the cosine classifier of LDAM (normalised features and weights)."""

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.checks import whole_number


@keras_lt_export("UnitColumnUniform")
class UnitColumnUniform(keras.initializers.Initializer):
    """Uniform in [-1, 1], then every column scaled to unit L2 norm.

    The LDAM reference `NormedLinear`: `weight.uniform_(-1, 1).renorm_(2, 1,
    1e-5).mul_(1e5)`. The cosine ignores the norm of w_c, but its gradient is
    orthogonal to w_c and shrinks as 1 / ||w_c||, so each step turns w_c by
    about lr * g / ||w_c||^2: columns of norm ~4.6 (64 inputs, no scaling)
    would train the head ~20x slower than the reference.
    """

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        w = keras.random.uniform(shape, -1.0, 1.0, dtype=dtype, seed=self.seed)
        return w / ops.sqrt(ops.sum(ops.square(w), axis=0, keepdims=True))

    def get_config(self):
        return {"seed": self.seed}


@keras_lt_export("NormalizedDense")
class NormalizedDense(keras.layers.Layer):
    """Cosine-similarity dense layer: z_c = <h / ||h||, w_c / ||w_c||>, no bias.

    Both the input features h and every class vector w_c (a column of the
    kernel) are scaled to unit L2 norm, so the outputs lie in [-1, 1]. LDAM
    (Cao et al. 2019, sec. 3.2 "we normalize the logits ... by normalizing
    last hidden activation to l2 norm 1, and normalizing the weight vectors of
    the last fully-connected layer to l2 norm 1") multiplies them by a scale s
    inside the loss (`LDAMLoss(scale=30)`).

    The kernel starts as in the LDAM reference `NormedLinear`: uniform in
    [-1, 1], each column then scaled to unit norm (`UnitColumnUniform`; the
    scale does not change the output, but it sets how fast the head learns).

    Args:
        units: number of classes, a positive integer.
        epsilon: added under the norms to keep zero vectors finite.
        kernel_initializer: initializer of the `[features, units]` kernel.
        kernel_regularizer: optional regularizer of the kernel.

    Example:
        >>> head = NormalizedDense(10, name="head")
        >>> logits = head(features)     # cosines in [-1, 1]

    Paper: Cao et al., "Learning Imbalanced Datasets with Label-Distribution-
    Aware Margin Loss", NeurIPS 2019.
    """

    def __init__(
        self,
        units,
        epsilon=1e-12,
        kernel_initializer="unit_column_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        units = whole_number(units, "units", minimum=1)
        epsilon = float(epsilon)
        if not epsilon > 0.0:
            raise ValueError(f"`epsilon` must be > 0, got {epsilon}.")
        self.units = int(units)
        self.epsilon = epsilon
        if kernel_initializer == "unit_column_uniform":
            self._kernel_initializer_config = kernel_initializer
            kernel_initializer = UnitColumnUniform()
        elif kernel_initializer == "random_uniform_pm1":  # models saved before 2026-12-04
            self._kernel_initializer_config = kernel_initializer
            kernel_initializer = keras.initializers.RandomUniform(-1.0, 1.0)
        else:
            self._kernel_initializer_config = None
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError("NormalizedDense needs a known last input dimension.")
        self.kernel = self.add_weight(
            name="kernel",
            shape=(int(input_dim), self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )

    def call(self, inputs):
        # x / sqrt(sum x^2 + eps): the form of tf.math.l2_normalize.
        eps = ops.cast(self.epsilon, inputs.dtype)
        features = inputs * ops.rsqrt(
            ops.maximum(ops.sum(ops.square(inputs), axis=-1, keepdims=True), eps)
        )
        kernel = ops.cast(self.kernel, inputs.dtype)
        kernel = kernel * ops.rsqrt(
            ops.maximum(ops.sum(ops.square(kernel), axis=0, keepdims=True), eps)
        )
        return ops.matmul(features, kernel)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "epsilon": self.epsilon,
                "kernel_initializer": self._kernel_initializer_config
                or keras.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)
                if self.kernel_regularizer is not None
                else None,
            }
        )
        return config

