"""Image files read batch by batch with Pillow: large data sets without TensorFlow.

The counterpart of `make_tf_dataset(LabeledFiles)` for backends without
TensorFlow (JAX, PyTorch): a `keras.utils.PyDataset` whose batches are
decoded on the host by a thread pool (Pillow releases the GIL while it
decodes and resizes), with the same order as every other path
(`epoch_order`, shuffled or class-balanced, seeded by seed and epoch; see
`ArrayDataset`) and per-image random draws seeded by (seed, epoch,
position), so a batch is a pure function of the seed and the epoch.

Augmentation ("inaturalist", the ImageNet recipe of the reference code):
training: random resized crop (area 8 % .. 100 %, aspect 3/4 .. 4/3;
Szegedy et al. 2015, torchvision's RandomResizedCrop, 10 tries then the
centre crop) to `image_size`, flip with probability 1/2; evaluation:
shorter side to image_size / 0.875, centre crop. Without augmentation,
images are resized to `image_size`.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from keras_lt.data.array_dataset import ArrayDataset
from keras_lt.data.arrays import LabeledFiles

AREA = (0.08, 1.0)
ASPECT = (3 / 4, 4 / 3)
CENTER_CROP_FRACTION = 0.875


def random_resized_box(width, height, rng, area=AREA, aspect=ASPECT, tries=10):
    """(left, top, right, bottom) of a random crop, as torchvision's RandomResizedCrop."""
    total = width * height
    log_ratio = (math.log(aspect[0]), math.log(aspect[1]))
    for _ in range(tries):
        target = total * rng.uniform(*area)
        ratio = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * ratio)))
        h = int(round(math.sqrt(target / ratio)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return left, top, left + w, top + h
    # Fallback: the centre crop, aspect ratio clamped to the range.
    ratio = width / height
    if ratio < aspect[0]:
        w, h = width, int(round(width / aspect[0]))
    elif ratio > aspect[1]:
        w, h = int(round(height * aspect[1])), height
    else:
        w, h = width, height
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def center_box(width, height, size, fraction=CENTER_CROP_FRACTION):
    """Box of the centre crop `size` after scaling the shorter side to max(size) / fraction."""
    scale = (max(size) / fraction) / min(width, height)
    h, w = size[0] / scale, size[1] / scale
    left, top = (width - w) / 2, (height - h) / 2
    return left, top, left + w, top + h


class FileDataset(ArrayDataset):
    """Batches of image files decoded with Pillow in a thread pool.

    Args:
        files: a `LabeledFiles` (e.g. `list_inaturalist2018(...)`).
        batch_size: samples per batch.
        training: shuffle (or balance) and augment; False: one ordered pass.
        augment: "inaturalist" (resize-crop-flip, see the module) or None.
        image_size: `(height, width)` of the output images.
        shuffle, balanced, seed, epoch, drop_remainder: as `ArrayDataset`.
        dtype: "float32" (values in [0, 255]) or "uint8".
        threads: decoding threads.

    Example:
        >>> train = FileDataset(list_inaturalist2018(root), batch_size=512, seed=0)
        >>> model.fit(train, epochs=90, shuffle=False)
    """

    def __init__(
        self,
        files,
        batch_size=128,
        training=True,
        augment="inaturalist",
        image_size=(224, 224),
        shuffle=True,
        balanced=False,
        seed=0,
        epoch=0,
        dtype="float32",
        drop_remainder=False,
        threads=8,
    ):
        if not isinstance(files, LabeledFiles):
            raise ValueError("`files` must be a LabeledFiles (paths and labels).")
        if augment not in (None, "inaturalist"):
            raise ValueError(f"`augment` must be 'inaturalist' or None. Received: {augment!r}")
        if balanced and not training:
            raise ValueError("`balanced=True` is for training datasets only.")
        super().__init__(
            files.paths,
            files.y,
            batch_size=batch_size,
            shuffle=shuffle and training,
            balanced=balanced,
            seed=seed,
            epoch=epoch,
            dtype=dtype,
            drop_remainder=drop_remainder,
        )
        self.training = bool(training)
        self.augment = augment
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.threads = int(threads)
        self._pool = None

    def read(self, path, position):
        """One image as uint8 `[H, W, 3]`, augmented with the draws of `position`."""
        from PIL import Image

        height, width = self.image_size
        with Image.open(path) as image:
            image = image.convert("RGB")
            if self.augment == "inaturalist" and self.training:
                rng = np.random.default_rng([int(self.seed), self.epoch, int(position)])
                box = random_resized_box(image.width, image.height, rng)
                image = image.resize((width, height), Image.BILINEAR, box=box)
                if rng.uniform() < 0.5:
                    image = image.transpose(Image.FLIP_LEFT_RIGHT)
            elif self.augment == "inaturalist":
                box = center_box(image.width, image.height, self.image_size)
                image = image.resize((width, height), Image.BILINEAR, box=box)
            elif image.size != (width, height):
                image = image.resize((width, height), Image.BILINEAR)
            return np.asarray(image, dtype=np.uint8)

    def __getitem__(self, index):
        idx, positions = self.batch_indices(index)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads)
        images = list(self._pool.map(self.read, self.x[idx], positions))
        x = np.stack(images)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return x, self.y[idx].astype(np.int32)
