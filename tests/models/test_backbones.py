"""Backbones: block structure, parameter counts from the architecture arithmetic."""

import numpy as np
import pytest

import keras

from keras_lt.models import (
    BasicBlock,
    ZeroPadShortcut,
    build_backbone,
    build_model,
    cifar_resnet,
    resnet18,
    resnet50,
)


def conv(k, cin, cout):
    return k * k * cin * cout


def bn(c):  # trainable gamma and beta
    return 2 * c


def cifar_resnet_count(depth, widths=(16, 32, 64), num_classes=10):
    """Trainable weights of a CIFAR ResNet with option-A shortcuts and a dense head."""
    n = (depth - 2) // 6
    total = conv(3, 3, widths[0]) + bn(widths[0])
    cin = widths[0]
    for cout in widths:
        for _ in range(n):
            total += conv(3, cin, cout) + bn(cout) + conv(3, cout, cout) + bn(cout)
            cin = cout
    return total + widths[-1] * num_classes + num_classes


def trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def test_resnet32_has_about_046m_weights():
    model = build_model("resnet32", num_classes=10)
    expected = cifar_resnet_count(32)
    assert expected == 464_154  # the arithmetic itself: 0.46M
    assert trainable_count(model) == expected
    assert abs(trainable_count(model) - 0.46e6) < 0.01e6
    # Non-trainable: the batch-norm moving mean and variance of 31 BN layers.
    bn_channels = 16 + 5 * 2 * (16 + 32 + 64)
    assert sum(int(np.prod(v.shape)) for v in model.non_trainable_weights) == 2 * bn_channels


@pytest.mark.parametrize("depth", [20, 44])
def test_cifar_resnet_counts(depth):
    backbone = cifar_resnet(depth)
    assert trainable_count(backbone) == cifar_resnet_count(depth) - 650


def test_cifar_resnet_blocks_and_features():
    backbone = cifar_resnet(20)
    assert [layer.name for layer in backbone.layers] == [
        "stem", "stage1", "stage2", "stage3", "pool"
    ]
    assert [b.name for b in backbone.get_layer("stage2").layers] == [
        "stage2_block1", "stage2_block2", "stage2_block3"
    ]
    out = backbone(np.zeros((2, 32, 32, 3), "float32"))
    assert tuple(out.shape) == (2, 64)
    # Intermediate shapes: 32x32x16 -> 32x32x16 -> 16x16x32 -> 8x8x64.
    x = np.zeros((1, 32, 32, 3), "float32")
    shapes = []
    for block in backbone.layers[:-1]:
        x = block(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(32, 32, 16), (32, 32, 16), (16, 16, 32), (8, 8, 64)]


def test_zero_pad_shortcut_subsamples_and_pads_channels():
    x = np.arange(2 * 4 * 4 * 4, dtype="float32").reshape(2, 4, 4, 4)
    out = keras.ops.convert_to_numpy(ZeroPadShortcut(8, 2)(x))
    expected = np.zeros((2, 2, 2, 8), "float32")
    expected[..., 2:6] = x[:, 0::2, 0::2, :]  # planes // 4 = 2 zeros on each side
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("layer", [
    lambda: BasicBlock(8, strides=2, shortcut="A"),
    lambda: BasicBlock(8, strides=2, shortcut="B"),
    lambda: BasicBlock(4, strides=1),
    lambda: ZeroPadShortcut(8, 2),
])
def test_output_shape_is_declared_before_it_is_computed(layer):
    """compute_output_shape matches the call on an odd size: ceil(7 / 2) = 4."""
    x = np.zeros((2, 7, 7, 4), "float32")
    layer = layer()
    declared = layer.compute_output_shape((None, 7, 7, 4))
    assert tuple(layer(x).shape) == (2,) + tuple(declared)[1:]
    assert declared[1:] == ((4, 4, 8) if layer.strides == 2 else (7, 7, 4))


def test_strided_block_is_centred_like_pytorch():
    """A stride-2 3x3 conv padded (1, 1): output (i, j) is centred on input (2i, 2j)."""
    block = BasicBlock(4, strides=2, shortcut="A", name="b")
    block.build((None, 6, 6, 4))
    kernel = np.zeros((3, 3, 4, 4), "float32")
    kernel[1, 1] = np.eye(4)  # centre tap only: conv1 picks its centre pixel
    block.conv1.kernel.assign(kernel)
    x = np.random.default_rng(0).normal(size=(1, 6, 6, 4)).astype("float32")
    picked = keras.ops.convert_to_numpy(block.conv1(block.pad(x)))
    np.testing.assert_allclose(picked, x[:, 0::2, 0::2, :], rtol=1e-6)


def test_resnet18_counts_and_shape():
    backbone = resnet18()
    expected = conv(7, 3, 64) + bn(64)
    cin = 64
    for cout in (64, 128, 256, 512):
        for i in range(2):
            expected += conv(3, cin, cout) + bn(cout) + conv(3, cout, cout) + bn(cout)
            if i == 0 and cin != cout:  # option-B projection
                expected += conv(1, cin, cout) + bn(cout)
            cin = cout
    assert expected == 11_176_512  # torchvision resnet18 without its fc layer
    assert trainable_count(backbone) == expected
    assert [layer.name for layer in backbone.layers] == [
        "stem", "stage1", "stage2", "stage3", "stage4", "pool"
    ]
    assert tuple(backbone(np.zeros((1, 64, 64, 3), "float32")).shape) == (1, 512)
    assert tuple(resnet18(stem="cifar")(np.zeros((1, 64, 64, 3), "float32")).shape) == (1, 512)


def test_resnet50_is_keras_applications_split_into_blocks():
    backbone = resnet50(input_shape=(64, 64, 3))
    reference = keras.applications.ResNet50(
        include_top=False, weights=None, input_shape=(64, 64, 3)
    )
    assert trainable_count(backbone) == trainable_count(reference)
    assert [layer.name for layer in backbone.layers] == [
        "stem", "stage1", "stage2", "stage3", "stage4", "pool"
    ]
    assert tuple(backbone(np.zeros((1, 64, 64, 3), "float32")).shape) == (1, 2048)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: cifar_resnet(33), "6n \\+ 2"),
        (lambda: cifar_resnet(32, input_shape=(32, 32)), "input_shape"),
        (lambda: cifar_resnet(32, shortcut="C"), "shortcut"),
        (lambda: cifar_resnet(32, widths=(16, 0, 64)), "widths"),
        (lambda: resnet18(stem="big"), "stem"),
        (lambda: resnet50(weights="places"), "weights"),
        (lambda: resnet50(input_shape=(64, 64, 1)), "input_shape"),
        (lambda: build_backbone("vgg16"), "Unknown backbone"),
        (lambda: build_backbone("resnet34"), "Unknown backbone .resnet34.: use .*6n \\+ 2"),
        (lambda: cifar_resnet("20"), "depth"),
        (lambda: BasicBlock(8, strides=3), "strides"),
        (lambda: build_model("resnet8", num_classes=0), "num_classes"),
        (lambda: build_model("resnet8", head="arcface"), "head"),
    ],
)
def test_invalid_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
