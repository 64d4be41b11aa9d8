"""Feature deviation against direct loop implementations written here."""

import itertools
import time

import numpy as np
import pytest

from keras_lt.evaluation import feature_deviation


def _unit(f):
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def _all_subsets_expectation(train, test, k):
    """Exact E||mean(S_K(train)) - mean(test)|| and its spread over all K-subsets."""
    train, test = _unit(train), _unit(test)
    target = test.mean(axis=0)
    distances = []
    for subset in itertools.combinations(range(len(train)), k):
        mean = sum(train[i] for i in subset) / k
        distances.append(np.sqrt(np.sum((mean - target) ** 2)))
    return np.mean(distances), np.std(distances)


def _loop_feature_deviation(train, train_y, test, test_y, k, rounds, seed):
    """The paper's definition, one class and one round at a time."""
    rng = np.random.default_rng(seed)
    train, test = _unit(train), _unit(test)
    result = []
    for c in range(int(train_y.max()) + 1):
        members = train[train_y == c]
        target = test[test_y == c].mean(axis=0)
        total = 0.0
        for _ in range(rounds):
            chosen = members[rng.choice(len(members), size=k, replace=False)]
            total += np.linalg.norm(chosen.mean(axis=0) - target)
        result.append(total / rounds)
    return np.array(result)


@pytest.fixture
def small_case():
    rng = np.random.default_rng(3)
    counts = [7, 5, 3]  # K = 3
    train_y = np.repeat(np.arange(3), counts)
    train = rng.normal(size=(train_y.size, 4)) + 2 * np.eye(3, 4)[train_y]
    test_y = np.repeat(np.arange(3), 4)
    test = rng.normal(size=(test_y.size, 4)) + 1.5 * np.eye(3, 4)[test_y]
    return train, train_y, test, test_y


def test_matches_exact_expectation_over_all_subsets(small_case):
    train, train_y, test, test_y = small_case
    rounds = 4000
    result = feature_deviation(train, train_y, test, test_y, rounds=rounds, seed=0)
    for c in range(3):
        mean, std = _all_subsets_expectation(train[train_y == c], test[test_y == c], k=3)
        # A mean of `rounds` draws: within 4 standard errors of the expectation.
        assert abs(result[c] - mean) <= 4 * std / np.sqrt(rounds) + 1e-12
    # Class 2 has exactly K samples: every round takes all of them, no noise.
    mean, std = _all_subsets_expectation(train[train_y == 2], test[test_y == 2], k=3)
    assert std == 0 and result[2] == pytest.approx(mean, rel=1e-12)


def test_matches_loop_implementation(small_case):
    train, train_y, test, test_y = small_case
    rounds = 3000
    ours = feature_deviation(train, train_y, test, test_y, rounds=rounds, seed=1)
    loop = _loop_feature_deviation(train, train_y, test, test_y, k=3, rounds=rounds, seed=2)
    # Different random streams: agree within the Monte-Carlo error.
    np.testing.assert_allclose(ours, loop, atol=0.01)
    # Explicit K = 2 as well.
    ours = feature_deviation(train, train_y, test, test_y, subsample_size=2, rounds=rounds)
    loop = _loop_feature_deviation(train, train_y, test, test_y, k=2, rounds=rounds, seed=5)
    np.testing.assert_allclose(ours, loop, atol=0.01)


def test_identical_train_and_test_features_give_zero():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 6)  # K = class size = 6
    features = rng.normal(size=(24, 8))
    np.testing.assert_allclose(feature_deviation(features, labels, features, labels), 0.0, atol=1e-12)


def test_features_are_l2_normalised():
    rng = np.random.default_rng(1)
    train_y, test_y = np.repeat([0, 1], [9, 4]), np.repeat([0, 1], 5)
    train, test = rng.normal(size=(13, 5)), rng.normal(size=(10, 5))
    scale_train = rng.uniform(0.1, 10, size=(13, 1))
    scale_test = rng.uniform(0.1, 10, size=(10, 1))
    a = feature_deviation(train, train_y, test, test_y, rounds=200, seed=4)
    b = feature_deviation(train * scale_train, train_y, test * scale_test, test_y, rounds=200, seed=4)
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_seeded_and_missing_classes():
    rng = np.random.default_rng(2)
    train_y, test_y = np.repeat([0, 1, 2], [20, 10, 5]), np.array([0, 0, 1, 1])
    train, test = rng.normal(size=(35, 3)), rng.normal(size=(4, 3))
    a = feature_deviation(train, train_y, test, test_y, rounds=50, seed=7)
    b = feature_deviation(train, train_y, test, test_y, rounds=50, seed=7)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a[2]) and np.all(np.isfinite(a[:2]))  # class 2 has no test sample
    assert feature_deviation(train, train_y, test, test_y, num_classes=4).shape == (4,)
    with pytest.raises(ValueError, match="exceeds the smallest"):
        feature_deviation(train, train_y, test, test_y, subsample_size=6)
    with pytest.raises(ValueError):
        feature_deviation(train, train_y, test[:, :2], test_y)


def test_fast_enough():
    # CIFAR-100-LT shape: 100 classes, n_c from 500 to 5, 64-d, R = 1000.
    rng = np.random.default_rng(0)
    counts = [int(500 * 0.01 ** (i / 99)) for i in range(100)]
    train_y = np.repeat(np.arange(100), counts)
    test_y = np.repeat(np.arange(100), 20)
    train = rng.normal(size=(train_y.size, 64)).astype(np.float32)
    test = rng.normal(size=(test_y.size, 64)).astype(np.float32)
    start = time.perf_counter()
    feature_deviation(train, train_y, test, test_y)
    # About 0.1 s on one core; the bound leaves room for a loaded CI machine.
    assert time.perf_counter() - start < 3.0
