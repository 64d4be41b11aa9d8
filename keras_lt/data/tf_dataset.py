"""The tf.data input path: arrays or image files, augmented on the host.

For the TensorFlow backend and for data that does not fit in memory
(iNaturalist 2018). The same sample order as `ArrayDataset`
(`epoch_order(y, e, seed)`, shuffled or class-balanced) and the papers'
augmentation, with stateless random ops seeded by (seed, epoch, position),
so the batches are a pure function of the seed and the epoch, however many
threads decode them:

- "cifar": zero-pad 4, random 32x32 crop, random flip (per image);
- "tiny_imagenet": zero-pad 8, random 64x64 crop, random flip;
- "inaturalist": random resized crop to `image_size` (area 8 % .. 100 %,
  aspect 3/4 .. 4/3, Szegedy et al. 2015, as torchvision's
  RandomResizedCrop in the reference code), random flip; for evaluation,
  resize the shorter side to image_size / 0.875 and take the centre crop.

A training dataset runs over epochs `epoch, epoch + 1, ...` without end:
fit it with `steps_per_epoch=num_batches(len(data), batch_size)` (Keras then
keeps one iterator across epochs) and, when resuming at epoch k, build it
with `epoch=k`.

Example:
    >>> ds = make_tf_dataset(train, batch_size=128, augment="cifar", seed=0)
    >>> model.fit(ds, epochs=200, steps_per_epoch=num_batches(len(train), 128))
"""

import math

import numpy as np

from keras_lt.checks import whole_number
from keras_lt.data.arrays import LabeledArrays, LabeledFiles
from keras_lt.data.imbalance import check_labels
from keras_lt.data.sampling import epoch_order

AUGMENTATIONS = {None: None, "cifar": 4, "tiny_imagenet": 8, "inaturalist": None}
CENTER_CROP_FRACTION = 0.875  # 224 / 256, the ImageNet evaluation crop.


def num_batches(num_samples, batch_size, drop_remainder=False):
    """Steps per epoch: ceil(N / B), or floor(N / B) with `drop_remainder`."""
    num_samples = whole_number(num_samples, "num_samples")
    batch_size = whole_number(batch_size, "batch_size", minimum=1)
    if drop_remainder:
        return num_samples // batch_size
    return math.ceil(num_samples / batch_size)


def _seed_pair(tf, seed, epoch, position):
    # A stateless seed, distinct for every (seed, epoch, position).
    return tf.stack(
        [tf.cast(seed, tf.int64) * 1_000_003 + tf.cast(epoch, tf.int64), tf.cast(position, tf.int64)]
    )


def pad_crop_flip_batch(images, pad, seed, flip=True):
    """Pad-and-crop plus flip of a batch `[B, H, W, C]`, one offset per image.

    out[b] = flip_b(pad(x[b])[dy_b : dy_b + H, dx_b : dx_b + W]),
    dy_b, dx_b ~ U{0 .. 2p}, flip_b ~ Bernoulli(1/2) (stateless, `seed`).
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    shape = tf.shape(images)
    b = shape[0]
    h = images.shape[1] if images.shape[1] is not None else shape[1]
    w = images.shape[2] if images.shape[2] is not None else shape[2]
    if pad:
        images = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        offsets = tf.random.stateless_uniform(
            [b, 2], seed=seed, minval=0, maxval=2 * pad + 1, dtype=tf.int32
        )
        rows = offsets[:, :1] + tf.range(h)[None, :]
        cols = offsets[:, 1:] + tf.range(w)[None, :]
        images = tf.gather(images, rows, axis=1, batch_dims=1)
        images = tf.gather(images, cols, axis=2, batch_dims=1)
    if flip:
        flip_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        coins = tf.random.stateless_uniform([b, 1, 1, 1], seed=flip_seed) < 0.5
        images = tf.where(coins, tf.reverse(images, axis=[2]), images)
    return images


def _decode(tf, contents):
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _random_box(tf, shape, seed, area, aspect):
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        shape,
        bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], shape=[1, 1, 4]),
        seed=seed,
        min_object_covered=0.0,
        aspect_ratio_range=aspect,
        area_range=area,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    return begin, size


def _resize_and_flip(tf, image, image_size, seed):
    image = tf.image.resize(image, image_size, method="bilinear")
    flip_seed = tf.random.experimental.stateless_fold_in(seed, 1)
    return tf.image.stateless_random_flip_left_right(image, flip_seed)


def random_resized_crop(contents, image_size, seed, area=(0.08, 1.0), aspect=(3 / 4, 4 / 3)):
    """Decodes an encoded image, crops a random box, resizes, flips (training).

    The box covers a fraction of the area in `area` with an aspect ratio in
    `aspect` (Inception-style; torchvision's RandomResizedCrop); JPEG files
    decode only the box.
    """
    import tensorflow as tf

    def jpeg():
        begin, size = _random_box(tf, tf.image.extract_jpeg_shape(contents), seed, area, aspect)
        window = tf.stack([begin[0], begin[1], size[0], size[1]])
        return tf.image.decode_and_crop_jpeg(contents, window, channels=3)

    def other():
        image = _decode(tf, contents)
        begin, size = _random_box(tf, tf.shape(image), seed, area, aspect)
        return tf.slice(image, begin, size)

    image = tf.cond(tf.io.is_jpeg(contents), jpeg, other)
    return _resize_and_flip(tf, image, image_size, seed)


def random_resized_crop_image(image, image_size, seed, area=(0.08, 1.0), aspect=(3 / 4, 4 / 3)):
    """`random_resized_crop` of a decoded image `[H, W, 3]`."""
    import tensorflow as tf

    begin, size = _random_box(tf, tf.shape(image), seed, area, aspect)
    return _resize_and_flip(tf, tf.slice(image, begin, size), image_size, seed)


def resize_center_crop(contents, image_size, fraction=CENTER_CROP_FRACTION):
    """Evaluation transform: shorter side to size / fraction, centre crop `image_size`."""
    import tensorflow as tf

    return center_crop_image(_decode(tf, contents), image_size, fraction)


def center_crop_image(image, image_size, fraction=CENTER_CROP_FRACTION):
    """`resize_center_crop` of a decoded image `[H, W, 3]`."""
    import tensorflow as tf

    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    target = tf.cast(max(image_size) / fraction, tf.float32)
    scale = target / tf.reduce_min(shape)
    new = tf.cast(tf.math.ceil(shape * scale), tf.int32)
    new = tf.maximum(new, tf.constant(image_size, tf.int32))
    image = tf.image.resize(image, new, method="bilinear")
    top = (new[0] - image_size[0]) // 2
    left = (new[1] - image_size[1]) // 2
    return tf.slice(image, [top, left, 0], [image_size[0], image_size[1], 3])


def _read_fixed(tf, contents, image_size):
    image = _decode(tf, contents)
    if image_size is not None:
        image = tf.image.resize(image, image_size, method="bilinear")
    return image


def _from_stream(tf, ds, batch_size, training, augment, shuffle, seed, image_size,
                 drop_remainder, dtype, parallel, shuffle_buffer):
    """An unbatched `tf.data.Dataset` of (image, label), e.g. tfds i_naturalist2018."""
    seed_t = tf.constant(int(seed), tf.int64)
    if training:
        if shuffle:
            ds = ds.shuffle(shuffle_buffer, seed=int(seed), reshuffle_each_iteration=True)
        ds = ds.repeat()

    def prepare(k, element):
        image, label = element
        if augment == "inaturalist":
            if training:
                image = random_resized_crop_image(image, image_size, _seed_pair(tf, seed_t, 0, k))
            else:
                image = center_crop_image(image, image_size)
        elif image_size is not None:
            image = tf.image.resize(image, image_size, method="bilinear")
        return tf.cast(image, dtype), tf.cast(label, tf.int32)

    ds = ds.enumerate().map(prepare, num_parallel_calls=parallel)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    pad = AUGMENTATIONS[augment] if training else None
    if pad is not None:
        ds = ds.enumerate().map(
            lambda k, b: (pad_crop_flip_batch(b[0], pad, _seed_pair(tf, seed_t, 1, k)), b[1]),
            num_parallel_calls=parallel,
        )
    return ds


def _as_source(data, y):
    if isinstance(data, (LabeledArrays, LabeledFiles)):
        if y is not None:
            raise ValueError("Pass either a LabeledArrays / LabeledFiles or (x, y), not both.")
        return data
    if y is None:
        raise ValueError("`y` is required with an array `x`.")
    return LabeledArrays(data, y)


def make_tf_dataset(
    data,
    y=None,
    batch_size=128,
    training=True,
    augment=None,
    balanced=False,
    shuffle=True,
    seed=0,
    epoch=0,
    image_size=None,
    drop_remainder=False,
    dtype="float32",
    num_parallel_calls=None,
    prefetch=True,
    shuffle_buffer=10_000,
):
    """Builds a batched `tf.data.Dataset` of `(images, labels)`.

    Args:
        data: `LabeledArrays`, `LabeledFiles` (read lazily), an array `x`, or
            an unbatched `tf.data.Dataset` of `(image, label)` such as
            `load_tfds_dataset("i_naturalist2018")` gives (shuffled with a
            buffer, repeated; no class-balanced sampling, and a resumed
            run does not see the same order).
        y: labels when `data` is an array.
        batch_size: samples per batch.
        training: True: endless, epoch after epoch, in the seeded (shuffled
            or balanced) order, augmented; False: one pass in order, no
            augmentation (but the "inaturalist" evaluation resize and crop).
        augment: None, "cifar", "tiny_imagenet" or "inaturalist".
        balanced: class-balanced re-sampling (each class equally likely per
            draw), training only.
        shuffle: shuffle each epoch (training only; ignored if `balanced`).
        seed: seed of the order and of the augmentation.
        epoch: first epoch (set it to `initial_epoch` when resuming).
        image_size: `(height, width)` output size for files ("inaturalist"
            default 224x224; other files are resized to it when given).
        drop_remainder: drop the last, smaller batch of each epoch.
        dtype: output image dtype (values in [0, 255]).
        num_parallel_calls: parallel decoding (default `tf.data.AUTOTUNE`).
        prefetch: prefetch batches (`tf.data.AUTOTUNE`).
        shuffle_buffer: shuffle buffer for a `tf.data.Dataset` input.

    Returns:
        A `tf.data.Dataset` of `(images [B, H, W, C], labels int32 [B])`.
    """
    import tensorflow as tf

    if augment not in AUGMENTATIONS:
        raise ValueError(f"`augment` must be one of {list(AUGMENTATIONS)}. Received: {augment!r}")
    batch_size = whole_number(batch_size, "batch_size", minimum=1)
    if balanced and not training:
        raise ValueError("`balanced=True` is for training datasets only.")
    autotune = tf.data.AUTOTUNE
    parallel = autotune if num_parallel_calls is None else num_parallel_calls
    if isinstance(data, tf.data.Dataset):
        if balanced:
            raise ValueError(
                "Class-balanced sampling needs the labels up front: pass a LabeledArrays "
                "or LabeledFiles (e.g. list_inaturalist2018), not a tf.data stream."
            )
        if augment == "inaturalist":
            image_size = tuple(int(s) for s in (image_size or (224, 224)))
        elif image_size is not None:
            image_size = tuple(int(s) for s in image_size)
        ds = _from_stream(tf, data, batch_size, training, augment, shuffle, seed, image_size,
                          drop_remainder, dtype, parallel, shuffle_buffer)
        return ds.prefetch(autotune) if prefetch else ds
    source = _as_source(data, y)
    labels = check_labels(source.y)
    n = len(labels)
    if n == 0:
        raise ValueError("The data set is empty.")
    if drop_remainder and n < batch_size:
        raise ValueError(f"drop_remainder=True with {n} samples < batch_size={batch_size}.")
    files = isinstance(source, LabeledFiles)
    if augment == "inaturalist":
        if not files:
            raise ValueError('augment="inaturalist" reads image files: pass a LabeledFiles.')
        image_size = tuple(int(s) for s in (image_size or (224, 224)))
    elif image_size is not None:
        image_size = tuple(int(s) for s in image_size)
    pad = AUGMENTATIONS[augment] if training else None
    labels_t = tf.constant(labels.astype(np.int32))
    seed_t = tf.constant(int(seed), tf.int64)

    def epoch_indices(e):
        idx = tf.numpy_function(
            lambda v: epoch_order(labels, int(v), seed, shuffle, balanced),
            [e],
            tf.int64,
            stateful=False,
        )
        idx.set_shape([n])
        return idx

    def per_epoch(make_batches):
        # Epochs epoch, epoch + 1, ... each batched on its own, so that a
        # short last batch closes its epoch and steps align with epochs.
        if training:
            epochs = tf.data.Dataset.range(int(epoch), np.iinfo(np.int64).max)
            return epochs.flat_map(lambda e: make_batches(epoch_indices(e), e))
        return make_batches(tf.range(n, dtype=tf.int64), tf.constant(0, tf.int64))

    if not files:
        x = tf.constant(source.x)

        def make_batches(idx, e):
            batches = tf.data.Dataset.from_tensor_slices(idx).batch(
                batch_size, drop_remainder=drop_remainder
            )
            return batches.enumerate().map(lambda k, i: (i, e, k))

        def load(i, e, k):
            images = tf.gather(x, i)
            if pad is not None:
                images = pad_crop_flip_batch(images, pad, _seed_pair(tf, seed_t, e, k))
            return tf.cast(images, dtype), tf.gather(labels_t, i)

        ds = per_epoch(make_batches).map(load, num_parallel_calls=parallel)
    else:
        paths_t = tf.constant(source.paths.astype(str))

        def read_one(i, e, k):
            contents = tf.io.read_file(tf.gather(paths_t, i))
            if augment == "inaturalist":
                if training:
                    image = random_resized_crop(contents, image_size, _seed_pair(tf, seed_t, e, k))
                else:
                    image = resize_center_crop(contents, image_size)
            else:
                image = _read_fixed(tf, contents, image_size)
            return tf.cast(image, dtype), tf.gather(labels_t, i)

        def make_batches(idx, e):
            elements = tf.data.Dataset.from_tensor_slices(
                (idx, tf.fill([n], e), tf.range(n, dtype=tf.int64))
            )
            elements = elements.map(read_one, num_parallel_calls=parallel)
            batches = elements.batch(batch_size, drop_remainder=drop_remainder)
            return batches.enumerate().map(lambda k, b: (b[0], b[1], e, k))

        def augment_batch(images, y, e, k):
            if pad is not None:
                images = pad_crop_flip_batch(images, pad, _seed_pair(tf, seed_t, e, k))
            return images, y

        ds = per_epoch(make_batches).map(augment_batch, num_parallel_calls=parallel)
    if prefetch:
        ds = ds.prefetch(autotune)
    return ds
