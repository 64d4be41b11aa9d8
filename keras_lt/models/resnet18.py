"""ResNet-18 (Tiny-ImageNet, 64x64) as a Sequential of named blocks.

He et al. 2016, table 1: a stem, four stages of two basic blocks with 64,
128, 256 and 512 filters (stride 2 from the second stage), projection
(option B) shortcuts, global average pooling; 11.18M weights without the
head, 512-d features.

Stem: by default the torchvision one ("imagenet": 7x7 convolution with
stride 2, batch norm, ReLU, 3x3 max pooling with stride 2), which the
LDAM-DRW / CDT reference code takes for Tiny-ImageNet (torchvision's
`resnet18` with adaptive average pooling): a 64x64 image ends as 2x2 maps.
`stem="cifar"` gives the 3x3 stride-1 stem without pooling used by many
CIFAR-style ResNet-18s (16x the compute at 64x64).

Blocks: "stem", "stage1", ..., "stage4", "pool", so that `LongTailModel`
can split it for feature weakening (e.g. after "stage1").
"""

import keras

from keras_lt.models.basic_block import BasicBlock, batch_norm, conv3x3

STEMS = ("imagenet", "cifar")


def _stem(kind, filters=64, name="stem"):
    if kind == "cifar":
        layers = [conv3x3(filters, 1, f"{name}_conv"), batch_norm(f"{name}_bn"),
                  keras.layers.ReLU(name=f"{name}_relu")]
    else:
        layers = [
            keras.layers.ZeroPadding2D(3, name=f"{name}_conv_pad"),
            keras.layers.Conv2D(
                filters, 7, strides=2, use_bias=False, kernel_initializer="he_normal",
                name=f"{name}_conv",
            ),
            batch_norm(f"{name}_bn"),
            keras.layers.ReLU(name=f"{name}_relu"),
            # PyTorch pads max pooling with -inf; after a ReLU zeros are the same.
            keras.layers.ZeroPadding2D(1, name=f"{name}_pool_pad"),
            keras.layers.MaxPooling2D(3, strides=2, name=f"{name}_pool"),
        ]
    return keras.Sequential(layers, name=name)


def resnet18(input_shape=(64, 64, 3), stem="imagenet", widths=(64, 128, 256, 512), name="resnet18"):
    """ResNet-18 for 64x64 images (Tiny-ImageNet) as a Sequential of named blocks.

    Args:
        input_shape: `(height, width, channels)`, default (64, 64, 3).
        stem: "imagenet" (7x7/2 convolution + 3x3/2 max pooling, torchvision)
            or "cifar" (3x3/1 convolution, no pooling).
        widths: filters of the four stages (64, 128, 256, 512).
        name: model name.

    Returns:
        `keras.Sequential` with blocks "stem", "stage1" ... "stage4", "pool"
        mapping images to `[B, widths[-1]]` features.
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels), got {input_shape!r}."
        )
    if stem not in STEMS:
        raise ValueError(f"`stem` must be one of {list(STEMS)}, got {stem!r}.")
    widths = tuple(int(w) for w in widths)
    if not widths or min(widths) < 1:
        raise ValueError(f"`widths` must be positive integers, got {widths!r}.")
    layers = [keras.Input(shape=input_shape, name="image"), _stem(stem, widths[0])]
    for index, filters in enumerate(widths, start=1):
        strides = 1 if index == 1 else 2
        layers.append(
            keras.Sequential(
                [
                    BasicBlock(filters, strides=strides, shortcut="B",
                               name=f"stage{index}_block1"),
                    BasicBlock(filters, strides=1, shortcut="B",
                               name=f"stage{index}_block2"),
                ],
                name=f"stage{index}",
            )
        )
    layers.append(keras.layers.GlobalAveragePooling2D(name="pool"))
    return keras.Sequential(layers, name=name)
