"""The search's data: the retrain's training split, from the training files only."""

import os
import warnings

import numpy as np
import pytest

from keras_lt.tuning.search_data import default_val_per_class, load_search_data

from .helpers import digits_config


def test_search_data_is_the_retrain_training_split_minus_a_balanced_val(digits_search_data):
    from keras_lt.training import experiment

    full = experiment.load_data(digits_config().resolve())
    data = digits_search_data
    assert not hasattr(data, "test")
    assert data.info["val_per_class"] == 3
    assert np.bincount(data.val.y, minlength=10).tolist() == [3] * 10
    np.testing.assert_array_equal(data.counts + data.val.counts(), full.counts)
    np.testing.assert_array_equal(data.full_counts, full.counts)
    # The same images: train + val is the retrain's training split, as a multiset.
    ours = np.concatenate([data.train.x, data.val.x]).reshape(len(full.train), -1)
    theirs = full.train.x.reshape(len(full.train), -1)
    assert sorted(map(bytes, ours)) == sorted(map(bytes, theirs))


def test_search_data_is_load_long_taileds_split_without_the_test_split(digits_search_data):
    # The same training and validation split, image for image and in order,
    # as keras_lt.data's loader with K held out: one loader, no copy.
    from keras_lt.data import load_long_tailed

    config = digits_config().resolve()
    full = load_long_tailed("digits", imbalance=config.imbalance, ratio=config.ratio,
                            seed=config.seed, validation_per_class=3,
                            validation_small_classes="train_only")
    data = digits_search_data
    np.testing.assert_array_equal(data.counts, full.counts)
    np.testing.assert_array_equal(data.train.x, full.train.x)
    np.testing.assert_array_equal(data.train.y, full.train.y)
    np.testing.assert_array_equal(data.val.x, full.val.x)
    assert data.class_names == full.class_names
    assert data.info["source"] == full.info["source"]


def test_k_defaults_to_the_papers_values():
    assert default_val_per_class("cifar10") == 3
    assert default_val_per_class("inaturalist2018") == 10


def test_an_image_folder_without_test_split_is_enough(tmp_path):
    # Nothing under test/ is needed (or looked at) by the search's loader.
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(10):  # CIFAR-10's 10 classes, 6 tiny images each
        folder = tmp_path / "train" / f"class{c}"
        os.makedirs(folder)
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), "RGB").save(
                folder / f"{i}.png")
    config = digits_config(dataset="cifar10", data_dir=str(tmp_path), ratio=2)
    data = load_search_data(config, val_per_class=2)
    assert data.num_classes == 10
    assert np.bincount(data.val.y).tolist() == [2] * 10
    # exp profile: int(6 * 0.5 ** (i / 9))
    assert (data.counts + 2).tolist() == [6, 5, 5, 4, 4, 4, 3, 3, 3, 3]
    with pytest.raises(ValueError, match="positive integer"):
        load_search_data(config, val_per_class=0)


def test_a_validation_split_that_leaves_classes_out_warns_and_an_empty_one_is_refused():
    # digits at rho 20: 124 ... 6 training images per class (int(124 * 20 ** (-i / 9))).
    with pytest.warns(UserWarning, match=r"1 of 10 classes \(those with at most "
                                         r"`val_per_class` = 6 training images; the rarest "
                                         r"has 6\) is left out"):
        data = load_search_data(digits_config(), val_per_class=6)
    assert data.info["num_val"] == 9 * 6
    with pytest.raises(ValueError, match="holds out no image: every class has at most 124"):
        load_search_data(digits_config(), val_per_class=124)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_search_data(digits_config(), val_per_class=5)  # every class keeps one


def test_the_cli_shows_keras_lt_warnings_in_option_terms():
    import subprocess
    import sys

    # In a process of its own: pytest records warnings instead of showing them.
    done = subprocess.run([sys.executable, "-m", "keras_lt", "tune", "digits", "--method", "cdt",
                           "--val-per-class", "6", "--dry-run"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    err = done.stderr
    assert "keras-lt: warning: 1 of 10 classes (those with at most `--val-per-class` = 6" in err
    assert "UserWarning" not in err  # no source line and category
