"""A balanced validation split held out from the training set.

The protocol of the CDT supplement, B.6 (Ye et al., 2020): hold out K
training samples per class (K = 3 on CIFAR, 10 on iNaturalist), tune the
hyper-parameters on them, then retrain on the whole training set and
report on the test set, which the tuning never sees.

    val   = K random samples of every class c   (|val| = K * C)
    train = the other n_c - K samples of c      (counts n_c - K)

The paper drops classes with fewer than K samples from this process; here a
class needs at least K + 1 samples, so that it keeps one for training, and
`small_classes="train_only"` keeps the smaller classes whole in training
(none in validation) rather than dropping them, so that every class id
keeps a non-zero count for the losses.
"""

import numpy as np

from keras_lt.checks import whole_number
from keras_lt.data.imbalance import check_labels


def balanced_validation_split(labels, per_class=3, seed=0, small_classes="raise"):
    """Holds out `per_class` samples of every class as a balanced validation set.

    Args:
        labels: 1-D integer class ids of the training set.
        per_class: K, validation samples per class.
        seed: seed of the split (numpy `RandomState`, per class shuffle).
        small_classes: what to do with classes with at most K samples:
            "raise" (ValueError naming them) or "train_only" (they stay
            whole in the training part and are absent from validation).

    Returns:
        `(train_indices, val_indices)`, sorted int64 indices into `labels`.
        The training counts are `np.bincount(labels[train_indices])`.

    Example:
        >>> y = np.repeat(np.arange(3), [10, 6, 4])
        >>> tr, va = balanced_validation_split(y, per_class=3)
        >>> np.bincount(y[va]).tolist(), np.bincount(y[tr]).tolist()
        ([3, 3, 3], [7, 3, 1])
    """
    labels = check_labels(labels)
    per_class = whole_number(per_class, "per_class", minimum=1)
    per_class = int(per_class)
    if small_classes not in ("raise", "train_only"):
        raise ValueError(
            f"`small_classes` must be 'raise' or 'train_only'. Received: {small_classes!r}"
        )
    if labels.size == 0:
        raise ValueError("`labels` is empty.")
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    small = present[counts[present] <= per_class]
    if small.size and small_classes == "raise":
        raise ValueError(
            f"Classes {small[:10].tolist()} have at most per_class={per_class} samples "
            "(a class needs per_class + 1 to keep one for training); lower `per_class` "
            "or pass small_classes='train_only'."
        )
    rng = np.random.RandomState(seed)
    val = []
    for c in present:
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        if counts[c] > per_class:
            val.append(idx[:per_class])
    val = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    train = np.setdiff1d(np.arange(labels.size), val)
    return train.astype(np.int64), val.astype(np.int64)
