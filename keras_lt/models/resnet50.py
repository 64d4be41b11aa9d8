"""ResNet-50 (iNaturalist, 224x224) from `keras.applications`, as named blocks.

`keras.applications.ResNet50(include_top=False)` is cut at the ends of its
stages into sub-models and re-assembled as a `keras.Sequential` with blocks
"stem" (7x7/2 convolution and max pooling), "stage1" ... "stage4" (the
conv2_x ... conv5_x groups of He et al. table 1) and "pool" (global average
pooling, 2048-d features), so that `LongTailModel` can split it for feature
weakening like the other backbones. The layers and weights are those of the
application model (shared, not copied).

`weights=None` (the default) starts from random weights; "imagenet" loads
the ImageNet weights through `keras.applications` (needs them downloaded or
cached in ~/.keras/models).
"""

import keras

# Last layer of each block in keras.applications.ResNet50.
_BLOCK_ENDS = (
    ("stem", "pool1_pool"),
    ("stage1", "conv2_block3_out"),
    ("stage2", "conv3_block4_out"),
    ("stage3", "conv4_block6_out"),
    ("stage4", "conv5_block3_out"),
)


def resnet50(input_shape=(224, 224, 3), weights=None, name="resnet50"):
    """ResNet-50 backbone: images `[B, H, W, 3]` to 2048-d features.

    Args:
        input_shape: `(height, width, 3)`, default (224, 224, 3).
        weights: None (random initialisation) or "imagenet".
        name: model name.

    Returns:
        `keras.Sequential` with blocks "stem", "stage1" ... "stage4", "pool".

    Note: `keras.applications.ResNet50` expects inputs preprocessed by
    `keras.applications.resnet.preprocess_input` (caffe style) when its
    ImageNet weights are used.
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, 3), got {input_shape!r}."
        )
    if weights not in (None, "imagenet"):
        raise ValueError(f"`weights` must be None or 'imagenet', got {weights!r}.")
    base = keras.applications.ResNet50(
        include_top=False, weights=weights, input_shape=input_shape, pooling=None
    )
    blocks = []
    start = base.input
    for block_name, end in _BLOCK_ENDS:
        output = base.get_layer(end).output
        blocks.append(keras.Model(start, output, name=block_name))
        start = output
    blocks.append(keras.layers.GlobalAveragePooling2D(name="pool"))
    return keras.Sequential(
        [keras.Input(shape=input_shape, name="image")] + blocks, name=name
    )
