"""The residual basic block of the CIFAR ResNets and ResNet-18 (He et al. 2016).

    out = relu(bn2(conv3x3(relu(bn1(conv3x3_s(x))))) + shortcut(x))

Shortcuts when the shape changes (stride > 1 or more filters):

* option "A" (the CIFAR ResNets, He et al. sec. 4.2, and the LDAM / CB / IB
  / CDT reference `resnet32`): an identity that subsamples every other
  pixel and zero-pads the new channels, half on each side; no weights.
* option "B" (ResNet-18 on ImageNet-like inputs): a 1x1 convolution with the
  stride followed by batch normalisation.

Details that match the PyTorch reference code: convolutions have no bias and
start from He (kaiming) normal weights; batch normalisation uses momentum 0.9
(PyTorch's 0.1) and epsilon 1e-5 (as `FusedBatchNormalization`, Keras's
layer run as one fused op on TensorFlow); a strided 3x3 convolution pads one pixel on
every side (PyTorch's `padding=1`) rather than Keras's asymmetric "same", so
output pixel i is centred on input pixel 2i, the pixel the shortcut keeps.
"""

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.checks import whole_number
from keras_lt.models.fused_batch_normalization import FusedBatchNormalization

SHORTCUTS = ("A", "B")
BN_MOMENTUM = 0.9  # PyTorch's BatchNorm2d momentum 0.1
BN_EPSILON = 1e-5  # PyTorch's default


def conv3x3(filters, strides, name):
    """3x3 convolution padded by one pixel on each side, no bias (PyTorch's)."""
    return keras.layers.Conv2D(
        filters,
        3,
        strides=strides,
        padding="same" if strides == 1 else "valid",
        use_bias=False,
        kernel_initializer="he_normal",
        name=name,
    )


def batch_norm(name):
    """Batch norm with PyTorch's momentum and epsilon; one fused op on TensorFlow."""
    return FusedBatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def strided_output_shape(input_shape, strides, filters):
    """[B, ceil(H / strides), ceil(W / strides), filters] ("same" padding)."""

    def reduce(n):
        return None if n is None else -(-n // strides)

    return (input_shape[0], reduce(input_shape[1]), reduce(input_shape[2]), filters)


@keras_lt_export("ZeroPadShortcut")
class ZeroPadShortcut(keras.layers.Layer):
    """Option-A shortcut: x[:, ::s, ::s, :] with the channels zero-padded to `filters`.

    The extra channels are split between both sides, as the reference's
    `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`.
    """

    def __init__(self, filters, strides=2, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.strides = int(strides)

    def call(self, inputs):
        x = inputs
        if self.strides > 1:
            x = x[:, :: self.strides, :: self.strides, :]
        extra = self.filters - inputs.shape[-1]
        if extra < 0:
            raise ValueError(
                f"ZeroPadShortcut cannot reduce {inputs.shape[-1]} channels to "
                f"{self.filters}."
            )
        if extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])
        return x

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "strides": self.strides})
        return config


@keras_lt_export("BasicBlock")
class BasicBlock(keras.layers.Layer):
    """Residual basic block: two 3x3 convolutions, batch norm, identity shortcut.

    Args:
        filters: output channels.
        strides: stride of the first convolution (1 or 2).
        shortcut: "A" (zero-padding identity, no weights) or "B" (1x1
            convolution + batch norm) when the shape changes.
        name: the block name; its layers are named `<name>_conv1`, ...

    Paper: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.
    """

    def __init__(self, filters, strides=1, shortcut="A", **kwargs):
        super().__init__(**kwargs)
        filters = whole_number(filters, "filters", minimum=1)
        if strides not in (1, 2):
            raise ValueError(f"`strides` must be 1 or 2, got {strides!r}.")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"`shortcut` must be one of {list(SHORTCUTS)}, got {shortcut!r}.")
        self.filters = int(filters)
        self.strides = int(strides)
        self.shortcut = shortcut
        name = self.name
        self.pad = (
            keras.layers.ZeroPadding2D(1, name=f"{name}_pad") if self.strides > 1 else None
        )
        self.conv1 = conv3x3(self.filters, self.strides, f"{name}_conv1")
        self.bn1 = batch_norm(f"{name}_bn1")
        self.conv2 = conv3x3(self.filters, 1, f"{name}_conv2")
        self.bn2 = batch_norm(f"{name}_bn2")
        self.projection = None
        self.projection_bn = None
        self.zero_pad_shortcut = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        changes_shape = self.strides > 1 or input_shape[-1] != self.filters
        shape = input_shape
        if self.pad is not None:
            self.pad.build(shape)
            shape = self.pad.compute_output_shape(shape)
        self.conv1.build(shape)
        shape = self.conv1.compute_output_shape(shape)
        self.bn1.build(shape)
        self.conv2.build(shape)
        self.bn2.build(shape)
        if changes_shape and self.shortcut == "A":
            self.zero_pad_shortcut = ZeroPadShortcut(
                self.filters, self.strides, name=f"{self.name}_shortcut"
            )
            self.zero_pad_shortcut.build(input_shape)
        elif changes_shape:
            self.projection = keras.layers.Conv2D(
                self.filters,
                1,
                strides=self.strides,
                use_bias=False,
                kernel_initializer="he_normal",
                name=f"{self.name}_shortcut_conv",
            )
            self.projection.build(input_shape)
            self.projection_bn = batch_norm(f"{self.name}_shortcut_bn")
            self.projection_bn.build(self.projection.compute_output_shape(input_shape))

    def call(self, inputs, training=None):
        x = inputs if self.pad is None else self.pad(inputs)
        x = self.conv1(x)
        x = ops.relu(self.bn1(x, training=training))
        x = self.bn2(self.conv2(x), training=training)
        if self.zero_pad_shortcut is not None:
            shortcut = self.zero_pad_shortcut(inputs)
        elif self.projection is not None:
            shortcut = self.projection_bn(self.projection(inputs), training=training)
        else:
            shortcut = inputs
        return ops.relu(x + shortcut)

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"filters": self.filters, "strides": self.strides, "shortcut": self.shortcut}
        )
        return config
