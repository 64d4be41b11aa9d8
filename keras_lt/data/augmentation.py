"""On-device augmentation layers for the in-memory input path.

The papers' augmentation (He et al. 2016, followed by all five papers):
zero-pad p pixels on each side, crop a random window of the original size,
flip horizontally with probability 1/2; p = 4 on CIFAR (32x32), p = 8 on
Tiny-ImageNet (64x64). Each image draws its own offset:

    out[b, i, j] = pad(x)[b, i + dy_b, j + dx_b],  dy_b, dx_b ~ U{0 .. 2p}

Keras's `RandomCrop` draws one offset per batch, hence `RandomPadCrop`.
The layers run in the model (on the accelerator, any backend) and only in
training; at inference they pass images through (cast to float). Put them
before any normalisation: the padding is black, as in the reference code,
which pads the raw image.

Example:
    >>> augment = cifar_augmentation(seed=0)
    >>> inputs = keras.Input((32, 32, 3))
    >>> x = augment(inputs)  # then Rescaling / Normalization and the backbone
"""

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.checks import whole_number


@keras_lt_export("RandomPadCrop")
class RandomPadCrop(keras.layers.Layer):
    """Zero-pads `pad` pixels and crops a random window, per image (training only).

    out[b] = pad(x[b])[dy_b : dy_b + h, dx_b : dx_b + w], dy_b, dx_b ~ U{0 .. 2p},
    (h, w) = `size` or the input size. At inference: identity when `size` is
    the input size, else the centre crop of the padded image.

    Args:
        pad: pixels of zero padding on each side (4 for CIFAR, 8 for
            Tiny-ImageNet).
        size: `(height, width)` of the crop; None keeps the input size.
        fill_value: value of the padding (0, black, as in the papers).
        seed: seed of the crop offsets.

    Input: `[B, H, W, C]` images (any dtype; cast to the layer's dtype).
    Paper: He et al., CVPR 2016 (CIFAR augmentation), used by all five papers.
    """

    def __init__(self, pad=4, size=None, fill_value=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        pad = whole_number(pad, "pad")
        if size is not None:
            size = (int(size), int(size)) if isinstance(size, int) else tuple(int(s) for s in size)
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"`size` must be (height, width). Received: size={size!r}")
        self.pad = int(pad)
        self.size = size
        self.fill_value = float(fill_value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = False

    def _crop_size(self, height, width):
        if height is None or width is None:
            raise ValueError("RandomPadCrop needs a known image height and width.")
        h, w = self.size or (height, width)
        if h > height + 2 * self.pad or w > width + 2 * self.pad:
            raise ValueError(
                f"Crop {h}x{w} is larger than the padded image "
                f"{height + 2 * self.pad}x{width + 2 * self.pad}."
            )
        return h, w

    def call(self, inputs, training=None):
        x = ops.cast(inputs, self.compute_dtype)
        height, width = x.shape[1], x.shape[2]
        h, w = self._crop_size(height, width)
        if not training and (h, w) == (height, width):
            return x
        p = self.pad
        if p:
            x = ops.pad(
                x, [[0, 0], [p, p], [p, p], [0, 0]], constant_values=self.fill_value
            )
        max_dy, max_dx = height + 2 * p - h, width + 2 * p - w
        if not training:
            return x[:, max_dy // 2 : max_dy // 2 + h, max_dx // 2 : max_dx // 2 + w, :]
        batch = ops.shape(x)[0]
        u = keras.random.uniform((batch, 2), seed=self.seed_generator)
        # dy ~ U{0 .. max_dy}, dx ~ U{0 .. max_dx} (floor of a scaled uniform).
        limits = ops.convert_to_tensor([[max_dy + 1, max_dx + 1]], dtype=u.dtype)
        offsets = ops.minimum(
            ops.cast(ops.floor(u * limits), "int32"),
            ops.convert_to_tensor([[max_dy, max_dx]], dtype="int32"),
        )
        dy, dx = offsets[:, :1], offsets[:, 1:]
        rows = dy + ops.arange(h, dtype=dy.dtype)[None, :]
        cols = dx + ops.arange(w, dtype=dx.dtype)[None, :]
        x = ops.take_along_axis(x, rows[:, :, None, None], axis=1)
        return ops.take_along_axis(x, cols[:, None, :, None], axis=2)

    def compute_output_shape(self, input_shape):
        h, w = self.size or (input_shape[1], input_shape[2])
        return (input_shape[0], h, w, input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update(
            {"pad": self.pad, "size": self.size, "fill_value": self.fill_value, "seed": self.seed}
        )
        return config


@keras_lt_export("TrainingOnlyRandomFlip")
class TrainingOnlyRandomFlip(keras.layers.RandomFlip):
    """`keras.layers.RandomFlip` that flips only when called with `training=True`.

    Keras's layer defaults to `training=True`, so `model(x)` on a functional
    model that holds it flips half the images while `RandomPadCrop` (and
    `predict`) leave them alone; here both default to inference.
    """

    def call(self, data, training=None):
        return super().call(data, training=bool(training))


def pad_crop_flip(pad, size=None, flip=True, seed=None, name="augmentation"):
    """`keras.Sequential([RandomPadCrop(pad, size), TrainingOnlyRandomFlip("horizontal")])`."""
    layers = [RandomPadCrop(pad=pad, size=size, seed=seed, name=f"{name}_pad_crop")]
    if flip:
        layers.append(
            TrainingOnlyRandomFlip(
                "horizontal", seed=None if seed is None else seed + 1, name=f"{name}_flip"
            )
        )
    return keras.Sequential(layers, name=name)


def cifar_augmentation(pad=4, size=None, flip=True, seed=None):
    """CIFAR augmentation: pad 4, random 32x32 crop, random horizontal flip.

    Active only in training (the model passes `training=True` in `fit`).
    Paper: He et al., CVPR 2016; the recipe of all five papers.
    """
    return pad_crop_flip(pad, size, flip, seed, name="cifar_augmentation")


def tiny_imagenet_augmentation(pad=8, size=None, flip=True, seed=None):
    """Tiny-ImageNet augmentation: pad 8, random 64x64 crop, random flip.

    As in the CDT and MFW papers' Tiny-ImageNet setup (ResNet-18, 64x64).
    """
    return pad_crop_flip(pad, size, flip, seed, name="tiny_imagenet_augmentation")
