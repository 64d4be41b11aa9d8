"""A small convolutional backbone for tiny images (the embedded digits job).

The papers' ResNets expect 32x32 images or larger; scikit-learn's 8x8 digits
need something smaller and fast on a CPU. Same shape as `cifar_resnet`: a
`keras.Sequential` of named blocks "stem", "stage1", "stage2", "pool", so
that `LongTailModel` can weaken features after "stage1" (MFW) and
`extract_features` returns the pooled feature h.
"""

import keras


def _conv_block(filters, strides, name):
    return keras.Sequential(
        [
            keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                                kernel_initializer="he_normal", name=f"{name}_conv"),
            keras.layers.BatchNormalization(name=f"{name}_bn"),
            keras.layers.ReLU(name=f"{name}_relu"),
        ],
        name=name,
    )


def small_cnn(input_shape=(8, 8, 1), widths=(32, 64), name="small_cnn"):
    """stem (3x3, widths[0]) -> stage1 (3x3) -> stage2 (3x3, stride 2) -> average pool.

    Args:
        input_shape: `(height, width, channels)`.
        widths: filters of the stem/stage1 and of stage2.
        name: model name.

    Returns:
        `keras.Sequential` mapping images to features `[B, widths[-1]]`.
    """
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape), name="image"),
            _conv_block(widths[0], 1, "stem"),
            _conv_block(widths[0], 1, "stage1"),
            _conv_block(widths[1], 2, "stage2"),
            keras.layers.GlobalAveragePooling2D(name="pool"),
        ],
        name=name,
    )
