"""The one-call loader: sources -> imbalance -> validation split -> counts."""

import os

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


def test_the_default_ratio_is_the_command_lines():
    from keras_lt.data.long_tailed import DEFAULT_RATIO
    from keras_lt.training.config import DATASETS as RECIPE_DEFAULTS

    # keras-lt trains digits at rho 20 (the demo, the README): so does the loader by default.
    data = load_long_tailed("digits")
    assert data.info["ratio"] == 20.0
    assert data.counts.tolist() == expected_exp(124, 10, 20)
    # The papers' rho 100 elsewhere, in the loader and in the recipes alike.
    expected = {"cifar10": 100.0, "cifar100": 100.0, "tiny_imagenet": 100.0, "digits": 20.0}
    assert DEFAULT_RATIO == expected
    assert {n: d.ratio for n, d in RECIPE_DEFAULTS.items() if d.ratio is not None} == expected


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
    # digits is scikit-learn's: a folder given with it would go unread.
    with pytest.raises(ValueError, match="digits comes with scikit-learn and reads no folder"):
        load_long_tailed("digits", data_dir=tmp_path)



@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(ratio=0.5), "ratio"),
        (dict(imbalance="linear"), "Unknown imbalance type"),
        (dict(imbalance="step", minority_fraction=1.5), "minority_fraction"),
        (dict(validation_per_class=-1), "validation_per_class"),
        (dict(validation_small_classes="drop"), "validation_small_classes"),
    ],
)
def test_bad_settings_fail_before_the_source_is_read(settings, message):
    # CIFAR-10 with download=False and no data: the source would raise
    # DatasetUnavailableError (online, it would download first).
    with pytest.raises(ValueError, match=message):
        load_long_tailed("cifar10", download=False, **settings)


def test_tiny_imagenet(tiny_imagenet_folder):
    data = load_long_tailed("tiny_imagenet", data_dir=tiny_imagenet_folder, ratio=4)
    assert data.counts.tolist() == expected_exp(4, 3, 4)
    assert len(data.test) == 6


def _write_cifar_folder(root, train_per_class=20, test_per_class=2):
    names = [f"c{i}" for i in range(10)]
    for split, n in (("train", train_per_class), ("test", test_per_class)):
        for label, name in enumerate(names):
            for i in range(n):
                write_image(str(root / "cifar10" / split / name / f"{i:04d}.png"),
                            class_pattern(label, i))


def test_with_test_false_gives_the_same_training_split_from_the_training_files_only(
        tmp_path, monkeypatch):
    from keras_lt.data import image_folder

    _write_cifar_folder(tmp_path)
    options = dict(data_dir=tmp_path, ratio=5, seed=2, validation_per_class=2)
    full = load_long_tailed("cifar10", **options)

    read = []
    original_list, original_read = image_folder.list_image_folder, image_folder.read_images

    def listing(directory, *args, **kwargs):
        read.append(str(directory))
        return original_list(directory, *args, **kwargs)

    def reading(paths, *args, **kwargs):
        paths = list(paths)
        read.extend(map(str, paths))
        return original_read(paths, *args, **kwargs)

    monkeypatch.setattr(image_folder, "list_image_folder", listing)
    monkeypatch.setattr(image_folder, "read_images", reading)
    train_only = load_long_tailed("cifar10", with_test=False, **options)
    assert read and not [p for p in read if "test" in p.split(os.sep)]
    assert train_only.test is None and train_only.info["num_test"] is None
    np.testing.assert_array_equal(train_only.train_indices, full.train_indices)
    np.testing.assert_array_equal(train_only.counts, full.counts)
    np.testing.assert_array_equal(train_only.train.x, full.train.x)
    np.testing.assert_array_equal(train_only.train.y, full.train.y)
    np.testing.assert_array_equal(train_only.val.x, full.val.x)
    assert train_only.class_names == full.class_names

    # No test/ folder at all: the training side still loads, the full loader refuses.
    import shutil

    shutil.rmtree(tmp_path / "cifar10" / "test")
    again = load_long_tailed("cifar10", with_test=False, **options)
    np.testing.assert_array_equal(again.train_indices, full.train_indices)
    with pytest.raises(ValueError, match="test/<class>/"):
        load_long_tailed("cifar10", **options)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"expected train/<class>/ sub-folder in it"):
        load_long_tailed("cifar10", data_dir=tmp_path / "empty", with_test=False)
    with pytest.raises(ValueError, match="does not exist or is not a directory"):
        load_long_tailed("cifar10", data_dir=tmp_path / "nothing", with_test=False)


@pytest.mark.parametrize("imbalance", ["exp", "step"])
def test_with_test_false_digits_same_indices(imbalance):
    full = load_long_tailed("digits", imbalance=imbalance, ratio=10, seed=1)
    train_only = load_long_tailed("digits", imbalance=imbalance, ratio=10, seed=1,
                                  with_test=False)
    assert train_only.test is None
    np.testing.assert_array_equal(train_only.train_indices, full.train_indices)
    np.testing.assert_array_equal(train_only.counts, full.counts)
    np.testing.assert_array_equal(train_only.train.x, full.train.x)


def test_tiny_imagenet_train_only_needs_no_val_folder(tiny_imagenet_folder):
    import shutil

    full = load_long_tailed("tiny_imagenet", data_dir=tiny_imagenet_folder, ratio=4)
    shutil.rmtree(os.path.join(tiny_imagenet_folder, "val"))
    train_only = load_long_tailed("tiny_imagenet", data_dir=tiny_imagenet_folder, ratio=4,
                                  with_test=False)
    assert train_only.test is None
    np.testing.assert_array_equal(train_only.train_indices, full.train_indices)
    np.testing.assert_array_equal(train_only.counts, full.counts)
