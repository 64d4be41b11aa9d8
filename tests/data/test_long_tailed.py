"""The one-call loader: sources -> imbalance -> validation split -> counts."""

import numpy as np
import pytest

from keras_lt.data import DatasetUnavailableError, load_long_tailed

from .conftest import class_pattern, write_image


def expected_exp(n_max, num_classes, ratio):
    return [int(n_max * (1.0 / ratio) ** (i / (num_classes - 1))) for i in range(num_classes)]


def test_digits_long_tailed_with_validation_split():
    data = load_long_tailed("digits", ratio=10, validation_per_class=3, seed=0)
    # load_digits: 174 .. 183 per class, 50 per class held out for the test set.
    assert data.num_classes == 10
    assert data.test.counts().tolist() == [50] * 10
    assert data.val.counts().tolist() == [3] * 10
    expected = np.array(expected_exp(124, 10, 10)) - 3
    assert data.counts.tolist() == expected.tolist()
    assert data.train.counts().tolist() == data.counts.tolist()
    assert data.train.x.shape[1:] == (8, 8, 1) and data.train.x.dtype == np.uint8
    assert data.train.x.max() == 255
    assert data.info["imbalance"] == "exp" and data.info["ratio"] == 10.0


def test_digits_step_and_determinism():
    a = load_long_tailed("digits", imbalance="step", ratio=10, seed=1)
    b = load_long_tailed("digits", imbalance="step", ratio=10, seed=1)
    assert a.counts.tolist() == [124] * 5 + [12] * 5
    np.testing.assert_array_equal(a.train_indices, b.train_indices)
    np.testing.assert_array_equal(a.train.x, b.train.x)


def test_cifar_from_an_image_folder(tmp_path):
    # A CIFAR-shaped folder (10 classes) with 20 train and 2 test images each.
    names = [f"c{i}" for i in range(10)]
    for split, n in (("train", 20), ("test", 2)):
        for label, name in enumerate(names):
            for i in range(n):
                write_image(str(tmp_path / "cifar10" / split / name / f"{i:04d}.png"),
                            class_pattern(label, i))
    data = load_long_tailed("cifar10", data_dir=tmp_path, ratio=10)
    assert data.counts.tolist() == expected_exp(20, 10, 10)
    assert data.class_names == names
    assert data.test.counts().tolist() == [2] * 10
    assert (data.train.x[:, 0, 0, 0] == 20 * data.train.y).all()
    assert "image folder" in data.info["source"]


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_long_tailed("mnist")
    with pytest.raises(ValueError, match="train/<class>/ and test/<class>/"):
        load_long_tailed("cifar10", data_dir=tmp_path)
    with pytest.raises(DatasetUnavailableError, match="tiny-imagenet-200.zip"):
        load_long_tailed("tiny_imagenet")
    with pytest.raises(ValueError, match="long-tailed already"):
        load_long_tailed("inaturalist2018", data_dir=tmp_path, imbalance="exp")


def test_tiny_imagenet(tiny_imagenet_folder):
    data = load_long_tailed("tiny_imagenet", data_dir=tiny_imagenet_folder, ratio=4)
    assert data.counts.tolist() == expected_exp(4, 3, 4)
    assert len(data.test) == 6
