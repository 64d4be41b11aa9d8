"""Balanced validation split held out from the training set (CDT supp. B.6)."""

import numpy as np
import pytest

from keras_lt.data import balanced_validation_split, make_imbalanced


def test_k_per_class_and_disjoint():
    labels = np.tile(np.arange(10), 5000)
    idx, counts = make_imbalanced(labels, "exp", 100)
    y = labels[idx]
    train, val = balanced_validation_split(y, per_class=3, seed=0)
    assert np.bincount(y[val]).tolist() == [3] * 10
    assert np.bincount(y[train]).tolist() == (counts - 3).tolist()
    assert len(np.intersect1d(train, val)) == 0
    assert len(train) + len(val) == len(y)


def test_seeded():
    y = np.repeat(np.arange(4), [50, 20, 10, 5])
    a = balanced_validation_split(y, 2, seed=1)
    b = balanced_validation_split(y, 2, seed=1)
    c = balanced_validation_split(y, 2, seed=2)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_small_classes():
    y = np.repeat(np.arange(3), [20, 10, 3])
    with pytest.raises(ValueError, match=r"\[2\]"):
        balanced_validation_split(y, per_class=3)
    train, val = balanced_validation_split(y, per_class=3, small_classes="train_only")
    assert np.bincount(y[val], minlength=3).tolist() == [3, 3, 0]
    assert np.bincount(y[train]).tolist() == [17, 7, 3]


@pytest.mark.parametrize("per_class", [0, -1, 1.5, True])
def test_invalid_per_class(per_class):
    with pytest.raises(ValueError, match="per_class"):
        balanced_validation_split(np.arange(10) % 2, per_class=per_class)
