"""The CIFAR ResNets (ResNet-20/32/44/56/110) as a Sequential of named blocks.

He et al. 2016, sec. 4.2: a 3x3 convolution with 16 filters, then three
stages of n basic blocks with 16, 32 and 64 filters (the 2nd and 3rd start
with stride 2), global average pooling; depth = 6n + 2. ResNet-32 (n = 5) is
the backbone of all five papers on CIFAR, with about 0.46M weights (464,154
trainable ones with a 10-class dense head).

The shortcut is option A (zero-padding identity, no weights), as in the
reference code of LDAM-DRW / IB / CDT / MFW (`resnet32` in
`models/resnet_cifar.py`), which is what gives the 0.46M count; option B
(1x1 projection) is available with `shortcut="B"`.

The backbone is a `keras.Sequential` whose layers are the blocks
"stem", "stage1", "stage2", "stage3", "pool"; each stage is itself a
Sequential of `BasicBlock`s "stage<k>_block<i>". `LongTailModel` splits it
after any named block for major feature weakening (default "stage1": after
"the second group of convolutions", Ye et al. 2021 sec. 5.2). Its output is
the 64-d penultimate feature h.
"""

import keras

from keras_lt.models.basic_block import BasicBlock, batch_norm, conv3x3

CIFAR_DEPTHS = (20, 32, 44, 56, 110)


def _stem(filters, name="stem"):
    return keras.Sequential(
        [
            conv3x3(filters, 1, f"{name}_conv"),
            batch_norm(f"{name}_bn"),
            keras.layers.ReLU(name=f"{name}_relu"),
        ],
        name=name,
    )


def _stage(index, filters, blocks, strides, shortcut):
    name = f"stage{index}"
    return keras.Sequential(
        [
            BasicBlock(
                filters,
                strides=strides if i == 0 else 1,
                shortcut=shortcut,
                name=f"{name}_block{i + 1}",
            )
            for i in range(blocks)
        ],
        name=name,
    )


def is_cifar_resnet_depth(depth):
    """Whether `depth` is a CIFAR ResNet's: 6n + 2 with n >= 1 (8, 14, 20, 32, ...)."""
    if isinstance(depth, (bool, str, bytes)):
        return False
    try:
        depth = float(depth)
    except (TypeError, ValueError):
        return False
    return depth.is_integer() and depth >= 8 and (depth - 2) % 6 == 0


def cifar_resnet(
    depth=32,
    input_shape=(32, 32, 3),
    widths=(16, 32, 64),
    shortcut="A",
    name=None,
):
    """A CIFAR ResNet of `depth` = 6n + 2 layers as a Sequential of named blocks.

    Args:
        depth: 6n + 2 for n >= 1 (20, 32, 44, 56, 110 are the paper's; 8 is a
            tiny one for tests).
        input_shape: `(height, width, channels)` of the images.
        widths: filters of the stem/first stage and of each stage, one per
            stage (default (16, 32, 64); the stem uses the first).
        shortcut: "A" (zero-padding identity, the reference) or "B"
            (projection).
        name: model name (default "resnet<depth>").

    Returns:
        `keras.Sequential` with blocks "stem", "stage1", ..., "pool", mapping
        images `[B, H, W, C]` to features `[B, widths[-1]]`.

    Example:
        >>> backbone = cifar_resnet(32)
        >>> [layer.name for layer in backbone.layers]
        ['stem', 'stage1', 'stage2', 'stage3', 'pool']
    """
    if not is_cifar_resnet_depth(depth):
        raise ValueError(
            f"`depth` must be 6n + 2 with n >= 1 (e.g. {list(CIFAR_DEPTHS)}), got {depth!r}."
        )
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels), got {input_shape!r}."
        )
    widths = tuple(int(w) for w in widths)
    if not widths or min(widths) < 1:
        raise ValueError(f"`widths` must be positive integers, got {widths!r}.")
    if shortcut not in ("A", "B"):
        raise ValueError(f"`shortcut` must be 'A' or 'B', got {shortcut!r}.")
    blocks = (int(depth) - 2) // 6
    layers = [keras.Input(shape=input_shape, name="image"), _stem(widths[0])]
    for index, filters in enumerate(widths, start=1):
        strides = 1 if index == 1 else 2
        layers.append(_stage(index, filters, blocks, strides, shortcut))
    layers.append(keras.layers.GlobalAveragePooling2D(name="pool"))
    return keras.Sequential(layers, name=name or f"resnet{int(depth)}")


def resnet20(input_shape=(32, 32, 3), **kwargs):
    return cifar_resnet(20, input_shape, **kwargs)


def resnet32(input_shape=(32, 32, 3), **kwargs):
    """ResNet-32 for CIFAR: 0.46M weights, 64-d features (the papers' backbone)."""
    return cifar_resnet(32, input_shape, **kwargs)


def resnet44(input_shape=(32, 32, 3), **kwargs):
    return cifar_resnet(44, input_shape, **kwargs)


def resnet56(input_shape=(32, 32, 3), **kwargs):
    return cifar_resnet(56, input_shape, **kwargs)


def resnet110(input_shape=(32, 32, 3), **kwargs):
    return cifar_resnet(110, input_shape, **kwargs)
