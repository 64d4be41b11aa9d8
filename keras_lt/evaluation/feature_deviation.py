"""Feature deviation between training and test features of each class.

    dis(c) = (1/R) sum_{r=1}^{R} || mean(S_K^r(F_train^c)) - mean(F_test^c) ||_2

F^c are the penultimate features h of class c, each scaled to unit L2 norm;
S_K^r draws K of the training features of c uniformly without replacement in
round r; K is the size of the smallest training class (so that dis(c) is
comparable across classes: a large class is not favoured by averaging more
samples) and R = 1000.

Ye et al., "Identifying and Compensating for Feature Deviation in Imbalanced
Deep Learning", 2020, sec. 3.3 and footnote 3. The paper finds dis(c) grows
as n_c shrinks: minor-class test features drift away from their training
features, which is what CDT compensates for.
"""

import numpy as np

from keras_lt.checks import whole_number
from keras_lt.data.imbalance import check_labels

# Bound on the random keys / gathered features held at once (elements).
_CHUNK_ELEMENTS = 1 << 22


def l2_normalize(features, epsilon=1e-12):
    """Rows of `features` scaled to unit L2 norm (a zero row stays zero)."""
    features = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return features / np.maximum(norms, epsilon)


def _features(features, labels, name):
    f = np.asarray(features, dtype=np.float64)
    if f.ndim > 2:  # e.g. unpooled feature maps: one flat vector per sample
        f = f.reshape(f.shape[0], -1)
    if f.ndim != 2:
        raise ValueError(f"`{name}_features` must have shape [N, D], got {f.shape}.")
    y = check_labels(labels, name=f"{name}_labels")
    if y.size != f.shape[0]:
        raise ValueError(f"{f.shape[0]} {name} features for {y.size} {name} labels.")
    return f, y


def _subsample_indices(n, k, rounds, rng):
    """[rounds, k] indices, each row a uniform k-subset of range(n)."""
    if k * k <= n:
        # Few collisions expected (P(row has one) <= 1 - e^-1/2): draw with
        # replacement and redraw the rows that repeat an index. Conditioned on
        # no repeat, a row is a uniform k-subset.
        index = rng.integers(0, n, size=(rounds, k))
        while True:
            ordered = np.sort(index, axis=1)
            bad = np.flatnonzero(np.any(ordered[:, 1:] == ordered[:, :-1], axis=1))
            if bad.size == 0:
                return index
            index[bad] = rng.integers(0, n, size=(bad.size, k))
    # The k smallest of n uniform keys index a uniform k-subset.
    keys = rng.random((rounds, n))
    return np.argpartition(keys, k - 1, axis=1)[:, :k]


def _subsample_mean_distances(features, target, k, rounds, rng):
    """||mean of k rows drawn without replacement - target||_2 for each round."""
    n = features.shape[0]
    if k == n:  # every round draws the whole class
        return np.full(rounds, np.linalg.norm(features.mean(axis=0) - target))
    distances = np.empty(rounds)
    step = max(1, _CHUNK_ELEMENTS // max(n, k * features.shape[1]))
    for start in range(0, rounds, step):
        stop = min(rounds, start + step)
        index = _subsample_indices(n, k, stop - start, rng)
        means = features[index].mean(axis=1)  # [rounds, D]
        distances[start:stop] = np.linalg.norm(means - target, axis=1)
    return distances


def feature_deviation(
    train_features,
    train_labels,
    test_features,
    test_labels,
    num_classes=None,
    subsample_size=None,
    rounds=1000,
    seed=0,
    normalize=True,
):
    """Per-class distance between subsampled train and test feature means.

    dis(c) = (1/R) sum_r || mean(S_K^r(F_train^c)) - mean(F_test^c) ||_2,
    features L2-normalised, K the smallest training class size.

    Args:
        train_features: penultimate features of the training set, [N, D].
        train_labels: integer labels of the training set, [N].
        test_features: features of the (balanced) test set, [M, D].
        test_labels: integer labels of the test set, [M].
        num_classes: C; default 1 + the largest label seen.
        subsample_size: K; default the size of the smallest class present in
            the training features. Must not exceed any class's size.
        rounds: R, the number of subsampling rounds (1000 in the paper).
        seed: seed of the numpy generator; classes are drawn in index order,
            so the result is reproducible.
        normalize: scale each feature to unit L2 norm first (as the paper).

    Returns:
        float64 array [C]; NaN for a class without training or test features.

    Example:
        >>> h_tr, h_te = model.extract_features(x_tr), model.extract_features(x_te)
        >>> feature_deviation(h_tr, y_tr, h_te, y_te)  # grows towards the tail

    Ye et al., "Identifying and Compensating for Feature Deviation in
    Imbalanced Deep Learning", 2020, sec. 3.3.
    """
    train_f, train_y = _features(train_features, train_labels, "train")
    test_f, test_y = _features(test_features, test_labels, "test")
    if train_f.shape[1] != test_f.shape[1]:
        raise ValueError(
            f"Train features have {train_f.shape[1]} dimensions, test features "
            f"{test_f.shape[1]}."
        )
    rounds = whole_number(rounds, "rounds", minimum=1)
    if num_classes is None:
        num_classes = int(max(train_y.max(initial=-1), test_y.max(initial=-1))) + 1
    else:
        num_classes = whole_number(num_classes, "num_classes", minimum=1)
    for y, name in ((train_y, "train_labels"), (test_y, "test_labels")):
        if y.size and y.max() >= num_classes:
            raise ValueError(f"`{name}` holds class {int(y.max())} >= num_classes={num_classes}.")
    if normalize:
        train_f, test_f = l2_normalize(train_f), l2_normalize(test_f)

    train_counts = np.bincount(train_y, minlength=num_classes)
    present = train_counts[train_counts > 0]
    if present.size == 0:
        raise ValueError("No training features given.")
    if subsample_size is None:
        k = int(present.min())
    else:
        k = whole_number(subsample_size, "subsample_size", minimum=1)
        if k > present.min():
            raise ValueError(
                f"`subsample_size`={k} exceeds the smallest training class "
                f"({int(present.min())} samples); draws are without replacement."
            )

    order = np.argsort(train_y, kind="stable")
    starts = np.concatenate([[0], np.cumsum(train_counts)])
    train_sorted = train_f[order]
    test_sums = np.zeros((num_classes, test_f.shape[1]))
    np.add.at(test_sums, test_y, test_f)
    test_counts = np.bincount(test_y, minlength=num_classes)

    rng = np.random.default_rng(seed)
    result = np.full(num_classes, np.nan)
    for c in range(num_classes):
        if train_counts[c] == 0 or test_counts[c] == 0:
            continue
        class_features = train_sorted[starts[c] : starts[c + 1]]
        target = test_sums[c] / test_counts[c]
        result[c] = _subsample_mean_distances(class_features, target, k, rounds, rng).mean()
    return result
