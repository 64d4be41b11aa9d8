"""The tf.data input path: seeded epochs, augmentation, balanced sampling, files."""

import numpy as np
import pytest

from keras_lt.data import (
    LabeledArrays,
    epoch_order,
    list_image_folder,
    load_image_folder,
    make_tf_dataset,
    num_batches,
)

from .conftest import write_image
from .test_augmentation import find_offset

tf = pytest.importorskip("tensorflow")


def toy(n=50, num_classes=5, size=4):
    x = (np.arange(n, dtype=np.uint8)[:, None, None, None] + np.zeros((1, size, size, 3), np.uint8))
    return x, np.arange(n) % num_classes


def take(ds, k):
    it = iter(ds)
    return [tuple(t.numpy() for t in next(it)) for _ in range(k)]


def test_epochs_in_seeded_order_without_straddling():
    x, y = toy()
    steps = num_batches(50, 16)
    assert steps == 4 and num_batches(50, 16, drop_remainder=True) == 3
    batches = take(make_tf_dataset(x, y, batch_size=16, seed=2), 3 * steps)
    assert [len(b[1]) for b in batches] == [16, 16, 16, 2] * 3
    for e in range(3):
        ids = np.concatenate([b[0][:, 0, 0, 0] for b in batches[e * steps : (e + 1) * steps]])
        np.testing.assert_array_equal(ids, epoch_order(y, e, seed=2))
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int32


def test_resume_and_determinism_with_augmentation():
    x = np.random.RandomState(0).randint(0, 256, (40, 8, 8, 3)).astype(np.uint8)
    y = np.arange(40) % 4
    a = take(make_tf_dataset(x, y, batch_size=16, augment="cifar", seed=1), 6)
    b = take(make_tf_dataset(x, y, batch_size=16, augment="cifar", seed=1), 6)
    resumed = take(make_tf_dataset(x, y, batch_size=16, augment="cifar", seed=1, epoch=1), 3)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u[0], v[0])
    for u, v in zip(a[3:], resumed):
        np.testing.assert_array_equal(u[0], v[0])
        np.testing.assert_array_equal(u[1], v[1])


def test_cifar_augmentation_is_pad_crop_flip_per_image():
    x = np.random.RandomState(0).randint(1, 256, (64, 6, 6, 3)).astype(np.uint8)
    y = np.arange(64) % 2
    (images, labels), = take(make_tf_dataset(x, y, batch_size=64, augment="cifar", seed=0), 1)
    order = epoch_order(y, 0, seed=0)
    flips, offsets = [], set()
    for src, out in zip(x[order], images):
        found = find_offset(np.pad(src, [(4, 4), (4, 4), (0, 0)]).astype(np.float32), out,
                            flips=(False, True))
        assert found is not None
        offsets.add(found[:2])
        flips.append(found[2])
    assert 12 < sum(flips) < 52 and len(offsets) > 20


def test_balanced_sampling_frequencies():
    y = np.repeat(np.arange(4), [400, 80, 15, 5])
    x = np.zeros((500, 1, 1, 1), np.uint8)
    batches = take(make_tf_dataset(x, y, batch_size=100, balanced=True, seed=0), 30)
    observed = np.bincount(np.concatenate([b[1] for b in batches]), minlength=4)
    expected = observed.sum() / 4
    assert ((observed - expected) ** 2 / expected).sum() < 16.3  # chi-square 3 dof, p=0.001


def test_evaluation_is_one_pass_in_order_unaugmented():
    x, y = toy(size=8)
    batches = [tuple(t.numpy() for t in b) for b in
               make_tf_dataset(LabeledArrays(x, y), batch_size=16, training=False, augment="cifar")]
    assert len(batches) == 4
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x.astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)


def test_files_match_the_in_memory_loader(image_folder):
    files = list_image_folder(image_folder / "train")
    arrays = load_image_folder(image_folder / "train")
    batches = list(make_tf_dataset(files, batch_size=4, training=False))
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), arrays.x)
    (images, labels), = take(make_tf_dataset(files, batch_size=15, augment="cifar", seed=0), 1)
    np.testing.assert_array_equal(np.sort(labels), np.sort(arrays.y))
    assert images.shape == (15, 8, 8, 3)


def test_inaturalist_resize_crop_flip(image_folder):
    files = list_image_folder(image_folder / "train")
    train = make_tf_dataset(files, batch_size=5, augment="inaturalist", image_size=(6, 6),
                            balanced=True, seed=0)
    (images, labels), = take(train, 1)
    assert images.shape == (5, 6, 6, 3)
    ev = next(iter(make_tf_dataset(files, batch_size=5, training=False, augment="inaturalist",
                                   image_size=(4, 4))))
    assert ev[0].shape == (5, 4, 4, 3)


def test_inaturalist_on_jpeg_files(tmp_path):
    # JPEG files take the decode-only-the-box path.
    for label in range(2):
        for i in range(3):
            write_image(str(tmp_path / f"c{label}" / f"{i}.jpg"),
                        np.full((20, 30, 3), 100 * label, np.uint8))
    files = list_image_folder(tmp_path)
    (images, labels), = take(make_tf_dataset(files, batch_size=6, augment="inaturalist",
                                             image_size=(8, 8), seed=0), 1)
    assert images.shape == (6, 8, 8, 3)
    for image, label in zip(images, labels):
        assert abs(image.mean() - 100 * label) < 3  # a crop of a flat image stays flat


def test_tf_data_stream_input():
    x = np.random.RandomState(0).randint(0, 256, (20, 12, 10, 3)).astype(np.uint8)
    y = np.arange(20) % 4
    stream = tf.data.Dataset.from_tensor_slices((x, y))
    train = make_tf_dataset(stream, batch_size=8, augment="inaturalist", image_size=(6, 6), seed=0)
    batches = take(train, 4)  # repeats past the 20 elements
    assert [b[0].shape for b in batches] == [(8, 6, 6, 3)] * 4
    assert batches[0][1].dtype == np.int32
    again = take(make_tf_dataset(stream, batch_size=8, augment="inaturalist", image_size=(6, 6),
                                 seed=0), 1)
    np.testing.assert_array_equal(again[0][0], batches[0][0])
    ev = [b for b in make_tf_dataset(stream, batch_size=8, training=False,
                                     augment="inaturalist", image_size=(6, 6))]
    assert [len(b[1]) for b in ev] == [8, 8, 4]
    (crops, _), = take(make_tf_dataset(stream, batch_size=20, augment="cifar"), 1)
    assert crops.shape == (20, 12, 10, 3)
    with pytest.raises(ValueError, match="labels up front"):
        make_tf_dataset(stream, balanced=True)


def test_errors():
    x, y = toy()
    with pytest.raises(ValueError, match="augment"):
        make_tf_dataset(x, y, augment="imagenet")
    with pytest.raises(ValueError, match="training datasets only"):
        make_tf_dataset(x, y, training=False, balanced=True)
    with pytest.raises(ValueError, match="LabeledFiles"):
        make_tf_dataset(x, y, augment="inaturalist")
    with pytest.raises(ValueError, match="`y` is required"):
        make_tf_dataset(x)


def test_num_batches_checks_its_arguments():
    from keras_lt.data.tf_dataset import num_batches

    assert num_batches(10, 4) == 3 and num_batches(10, 4, drop_remainder=True) == 2
    for args, name in (((10, 0), "batch_size"), ((-1, 4), "num_samples"), ((10, 2.5), "batch_size")):
        with pytest.raises(ValueError, match=f"`{name}` must be a (positive|non-negative) integer"):
            num_batches(*args)
