"""Imbalanced subsets: exact counts against the papers' formulas, determinism."""

import math

import numpy as np
import pytest

from keras_lt.data import long_tailed_counts, make_imbalanced, step_counts


def expected_exp(n_max, num_classes, ratio):
    # n_i = int(n_max * (1 / rho) ** (i / (C - 1))), METHODS.md / Cao et al.
    return [int(n_max * (1.0 / ratio) ** (i / (num_classes - 1))) for i in range(num_classes)]


def expected_step(n_max, num_classes, ratio, mu=0.5):
    minority = round(mu * num_classes)
    return [n_max] * (num_classes - minority) + [int(n_max / ratio)] * minority


def cifar_labels(num_classes, per_class):
    # CIFAR-shaped labels: classes interleaved as in the original release.
    return np.tile(np.arange(num_classes), per_class)


def test_known_sizes():
    assert long_tailed_counts(5000, 10, 100).sum() == 12406
    assert long_tailed_counts(500, 100, 100).sum() == 10847
    assert long_tailed_counts(5000, 10, 100).tolist() == [
        5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50,
    ]


@pytest.mark.parametrize("num_classes,per_class", [(10, 5000), (100, 500)])
@pytest.mark.parametrize("ratio", [1, 10, 50, 100, 200])
@pytest.mark.parametrize("imbalance", ["exp", "step"])
def test_counts_on_cifar_sized_labels(num_classes, per_class, ratio, imbalance):
    labels = cifar_labels(num_classes, per_class)
    indices, counts = make_imbalanced(labels, imbalance, ratio=ratio, seed=0)
    if imbalance == "exp":
        expected = expected_exp(per_class, num_classes, ratio)
    else:
        expected = expected_step(per_class, num_classes, ratio)
    assert counts.tolist() == expected
    assert len(indices) == sum(expected)
    assert len(np.unique(indices)) == len(indices)
    assert np.bincount(labels[indices], minlength=num_classes).tolist() == expected
    assert counts[0] == per_class and counts[-1] == int(per_class / ratio)


def test_cifar_totals():
    _, c10 = make_imbalanced(cifar_labels(10, 5000), "exp", 100)
    _, c100 = make_imbalanced(cifar_labels(100, 500), "exp", 100)
    assert c10.sum() == 12406 and c100.sum() == 10847


@pytest.mark.parametrize("mu,num_minority", [(0.5, 5), (0.3, 3), (0.1, 1), (0.9, 9)])
def test_step_minority_fraction(mu, num_minority):
    counts = step_counts(1000, 10, 20, minority_fraction=mu)
    assert counts.tolist() == [1000] * (10 - num_minority) + [50] * num_minority


def test_same_seed_same_subset_other_seed_other_subset():
    labels = cifar_labels(10, 500)
    a, ca = make_imbalanced(labels, "exp", 10, seed=3)
    b, cb = make_imbalanced(labels, "exp", 10, seed=3)
    c, cc = make_imbalanced(labels, "exp", 10, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ca, cc)
    assert not np.array_equal(np.sort(a), np.sort(c))


def test_follows_the_reference_procedure():
    # Reference (LDAM-DRW imbalance_cifar.py): np.random.seed(seed); per class
    # in index order: idx = where(targets == c); shuffle(idx); keep idx[:n_c].
    labels = cifar_labels(10, 300)
    counts = expected_exp(300, 10, 10)
    np.random.seed(7)
    reference = []
    for c, n in enumerate(counts):
        idx = np.where(labels == c)[0]
        np.random.shuffle(idx)
        reference.append(idx[:n])
    indices, _ = make_imbalanced(labels, "exp", 10, seed=7)
    np.testing.assert_array_equal(indices, np.concatenate(reference))


def test_n_max_defaults_to_smallest_class_and_can_be_set():
    labels = np.repeat(np.arange(3), [120, 100, 110])
    _, counts = make_imbalanced(labels, "exp", ratio=4)
    assert counts.tolist() == expected_exp(100, 3, 4)
    _, counts = make_imbalanced(labels, "exp", ratio=4, n_max=80)
    assert counts.tolist() == expected_exp(80, 3, 4)
    assert math.isclose(counts[0] / counts[-1], 4)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ratio": 0.5}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"ratio": "x"}, "ratio"),
        ({"imbalance": "linear"}, "Unknown imbalance"),
        ({"imbalance": "step", "minority_fraction": 0.0}, "minority_fraction"),
        ({"imbalance": "step", "minority_fraction": 1.5}, "minority_fraction"),
        ({"imbalance": "step", "minority_fraction": 0.01}, "minority"),
        ({"ratio": 1000}, "no sample"),
        ({"n_max": 200}, "lower `n_max`"),
    ],
)
def test_invalid_arguments(kwargs, match):
    labels = cifar_labels(10, 100)
    with pytest.raises(ValueError, match=match):
        make_imbalanced(labels, **kwargs)


def test_invalid_labels():
    with pytest.raises(ValueError, match="1-D"):
        make_imbalanced(np.zeros((4, 2), int))
    with pytest.raises(ValueError, match=">= 0"):
        make_imbalanced(np.array([0, -1, 1]))
    with pytest.raises(ValueError, match="no sample"):
        make_imbalanced(np.array([0, 0, 2, 2]))
    with pytest.raises(ValueError, match="empty"):
        make_imbalanced(np.array([], int))
    # Float labels pass only when every value is a finite whole number.
    for bad in ([0.0, 1.5], [0.0, np.nan], [0.0, np.inf]):
        with pytest.raises(ValueError, match="integer class ids"):
            make_imbalanced(np.array(bad))


@pytest.mark.parametrize("kwargs, message", [
    (dict(seed=-1), "`seed` must be a non-negative integer"),
    (dict(seed=1.5), "`seed` must be a non-negative integer"),
    (dict(seed="a"), "`seed` must be a non-negative integer"),
    (dict(num_classes=2.5), "`num_classes` must be a positive integer"),
    (dict(num_classes=0), "`num_classes` must be a positive integer"),
])
def test_make_imbalanced_names_a_bad_seed_or_num_classes(kwargs, message):
    from keras_lt.data.imbalance import make_imbalanced

    y = np.repeat(np.arange(3), 20)
    with pytest.raises(ValueError, match=message):
        make_imbalanced(y, "exp", ratio=2, **kwargs)
