"""Per-epoch sample order: seeded shuffling and class-balanced re-sampling.

Both input paths (`ArrayDataset` and `make_tf_dataset`) take their order
from `epoch_order(labels, epoch, seed)`, a pure function of
(seed, epoch): a run resumed at epoch e sees the same batches as an
uninterrupted one, and the two paths see the same samples.

Class-balanced sampling (the re-sampling baseline of Cao et al. and Cui et
al.; "class-aware sampling", Shen et al. 2016): every draw first picks a
class uniformly, then a sample of that class uniformly, with replacement,

    P(sample j) = 1 / (C * n_{y_j}),

so each class is equally likely in every batch. An epoch keeps the data
set's length N (the same number of steps as without re-sampling).
"""

import numpy as np

from keras_lt.checks import whole_number
from keras_lt.data.imbalance import check_labels


def _rng(seed, epoch):
    seed = whole_number(seed, "seed")
    epoch = whole_number(epoch, "epoch")
    return np.random.default_rng([seed, epoch])


def class_balanced_indices(labels, num_samples, rng):
    """Draws `num_samples` indices with every class equally likely.

    P(j) = 1 / (C' * n_{y_j}) with C' the number of classes present.

    Args:
        labels: 1-D integer class ids.
        num_samples: how many indices to draw.
        rng: a `numpy.random.Generator`.

    Returns:
        int64 indices into `labels` (with replacement).
    """
    labels = check_labels(labels)
    num_samples = whole_number(num_samples, "num_samples")
    order = np.argsort(labels, kind="stable")
    classes, starts, sizes = np.unique(labels[order], return_index=True, return_counts=True)
    if classes.size == 0:
        raise ValueError("`labels` is empty.")
    picked = rng.integers(0, classes.size, size=num_samples)
    offsets = rng.integers(0, sizes[picked])
    return order[starts[picked] + offsets].astype(np.int64)


def epoch_order(labels, epoch, seed=0, shuffle=True, balanced=False, num_samples=None):
    """The sample indices of one epoch, a pure function of (seed, epoch).

    Args:
        labels: 1-D integer class ids (only their number is used unless
            `balanced`).
        epoch: epoch number (0-based).
        seed: base seed; the generator is `numpy.random.default_rng([seed, epoch])`.
        shuffle: permute the samples (ignored when `balanced`, whose draws
            are random anyway); False keeps the order 0 .. N-1.
        balanced: class-balanced re-sampling (see `class_balanced_indices`).
        num_samples: epoch length for `balanced` (default: N).

    Returns:
        int64 indices into `labels`.
    """
    rng = _rng(seed, epoch)
    n = len(labels)
    if balanced:
        return class_balanced_indices(labels, n if num_samples is None else num_samples, rng)
    if shuffle:
        return rng.permutation(n).astype(np.int64)
    return np.arange(n, dtype=np.int64)
