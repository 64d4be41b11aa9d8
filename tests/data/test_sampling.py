"""Per-epoch order and class-balanced sampling frequencies."""

import numpy as np
import pytest

from keras_lt.data import class_balanced_indices, epoch_order


def test_order_is_a_pure_function_of_seed_and_epoch():
    y = np.arange(100) % 3
    a = epoch_order(y, 5, seed=1)
    np.testing.assert_array_equal(a, epoch_order(y, 5, seed=1))
    assert sorted(a.tolist()) == list(range(100))
    assert not np.array_equal(a, epoch_order(y, 6, seed=1))
    assert not np.array_equal(a, epoch_order(y, 5, seed=2))
    np.testing.assert_array_equal(epoch_order(y, 3, shuffle=False), np.arange(100))


def test_balanced_class_frequencies():
    # Counts 1000 .. 10: each class should be drawn with probability 1/C.
    counts = np.array([1000, 400, 100, 30, 10])
    y = np.repeat(np.arange(5), counts)
    draws = np.concatenate([epoch_order(y, e, seed=0, balanced=True) for e in range(20)])
    observed = np.bincount(y[draws], minlength=5)
    expected = len(draws) / 5
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < 18.5  # chi-square, 4 dof, p = 0.001
    # Within a class, samples are uniform: every sample of the smallest class
    # is drawn about equally often.
    small = draws[y[draws] == 4]
    per_sample = np.bincount(small - counts[:4].sum(), minlength=10)
    assert per_sample.min() > 0.6 * per_sample.mean()


def test_balanced_length_and_classes_absent():
    y = np.array([0] * 50 + [2] * 5)
    idx = class_balanced_indices(y, 1000, np.random.default_rng(0))
    assert idx.shape == (1000,)
    assert set(np.unique(y[idx])) == {0, 2}
    assert 400 < (y[idx] == 2).sum() < 600
    assert len(epoch_order(y, 0, balanced=True, num_samples=7)) == 7


@pytest.mark.parametrize("bad", [{"seed": -1}, {"epoch": -1}, {"seed": 1.5}])
def test_invalid(bad):
    kwargs = {"seed": 0, "epoch": 0}
    kwargs.update(bad)
    with pytest.raises(ValueError):
        epoch_order(np.arange(4), kwargs["epoch"], seed=kwargs["seed"])


def test_epoch_order_checks_its_labels_and_length():
    from keras_lt.data.sampling import epoch_order

    y = np.array([0, 0, 1, 2])
    with pytest.raises(ValueError, match="one-hot labels"):
        epoch_order(np.eye(3)[y], 0, balanced=True)
    with pytest.raises(ValueError, match="integer class ids"):
        epoch_order(y + 0.5, 0, balanced=True)
    with pytest.raises(ValueError, match="`num_samples` must be a non-negative integer"):
        epoch_order(y, 0, balanced=True, num_samples=-1)
