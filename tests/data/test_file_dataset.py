"""Image files decoded with Pillow batch by batch (no TensorFlow needed)."""

import numpy as np
import pytest

from keras_lt.data import FileDataset, epoch_order, list_image_folder, load_image_folder
from keras_lt.data.file_dataset import center_box, random_resized_box


def test_evaluation_pass_matches_the_in_memory_loader(image_folder):
    files = list_image_folder(image_folder / "train")
    ds = FileDataset(files, batch_size=4, training=False, augment=None, image_size=(8, 8))
    assert len(ds) == 4
    x = np.concatenate([ds[i][0] for i in range(len(ds))])
    np.testing.assert_array_equal(x, load_image_folder(image_folder / "train").x)


def test_training_batches_are_seeded_by_seed_and_epoch(image_folder):
    files = list_image_folder(image_folder / "train")
    a = FileDataset(files, batch_size=5, image_size=(6, 6), seed=1)
    b = FileDataset(files, batch_size=5, image_size=(6, 6), seed=1)
    xa, ya = a[0]
    assert xa.shape == (5, 6, 6, 3) and xa.dtype == np.float32
    np.testing.assert_array_equal(xa, b[0][0])
    np.testing.assert_array_equal(ya, files.y[epoch_order(files.y, 0, seed=1)[:5]])
    b.set_epoch(1)
    assert not np.array_equal(ya, b[0][1]) or not np.array_equal(xa, b[0][0])


def test_random_resized_box_ranges():
    rng = np.random.default_rng(0)
    areas, ratios = [], []
    for _ in range(2000):
        left, top, right, bottom = random_resized_box(200, 100, rng)
        assert 0 <= left < right <= 200 and 0 <= top < bottom <= 100
        areas.append((right - left) * (bottom - top) / 20000)
        ratios.append((right - left) / (bottom - top))
    assert min(areas) >= 0.07 and max(areas) <= 1.0
    assert min(ratios) >= 0.7 and max(ratios) <= 1.4
    # Evaluation: shorter side to 224 / 0.875 = 256, centre 224 crop.
    left, top, right, bottom = center_box(512, 256, (224, 224))
    assert (right - left, bottom - top) == (224, 224) and left == 144


def test_errors(image_folder):
    files = list_image_folder(image_folder / "train")
    with pytest.raises(ValueError, match="LabeledFiles"):
        FileDataset(np.zeros((3, 2, 2, 3)))
    with pytest.raises(ValueError, match="training datasets only"):
        FileDataset(files, training=False, balanced=True)
    with pytest.raises(ValueError, match="augment"):
        FileDataset(files, augment="cifar")
