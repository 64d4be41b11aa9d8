"""Long-tailed and step imbalanced subsets of a labelled training set.

The construction of Cao et al. (LDAM-DRW, NeurIPS 2019) and Cui et al.
(Class-Balanced Loss, CVPR 2019), used by all five papers:

    long-tailed ("exp"):  n_i = int(n_max * (1 / rho) ** (i / (C - 1)))
    step:                 n_i = n_max        for the first C - round(mu * C) classes
                          n_i = int(n_max / rho)   for the others (mu = 0.5)

with rho = n_max / n_min the imbalance ratio and class 0 the largest.
Known sizes: CIFAR-10 at rho = 100 keeps 12,406 images, CIFAR-100 10,847.

The subset follows the reference code (LDAM-DRW `imbalance_cifar.py`): one
numpy generator seeded once, then, class by class in index order, shuffle
the indices of that class and keep the first n_i. With seed 0 and labels in
the original CIFAR order this picks the same images as the reference.
"""

import numpy as np

from keras_lt.checks import whole_number

IMBALANCE_TYPES = ("exp", "step")


def _check_common(n_max, num_classes, ratio):
    return (whole_number(n_max, "n_max", minimum=1),
            whole_number(num_classes, "num_classes", minimum=1), validate_ratio(ratio))


def validate_minority_fraction(minority_fraction):
    """mu, the fraction of minority classes of a step imbalance, in (0, 1)."""
    try:
        mu = float(minority_fraction)
    except (TypeError, ValueError):
        mu = float("nan")
    if not 0.0 < mu < 1.0:
        raise ValueError(
            "`minority_fraction` (mu) must be strictly between 0 and 1. "
            f"Received: minority_fraction={minority_fraction!r}"
        )
    return mu


def validate_ratio(ratio):
    """The imbalance ratio n_max / n_min as a float: finite and >= 1."""
    try:
        ratio = float(ratio)
    except (TypeError, ValueError):
        raise ValueError(f"`ratio` must be a number >= 1. Received: ratio={ratio!r}") from None
    if not np.isfinite(ratio) or ratio < 1:
        raise ValueError(
            "`ratio` is the imbalance ratio n_max / n_min and must be a finite "
            f"number >= 1 (1 means balanced). Received: ratio={ratio!r}"
        )
    return ratio


def _check_min(counts, n_max, ratio):
    if counts.min() < 1:
        raise ValueError(
            f"Imbalance ratio {ratio:g} leaves a class with no sample: "
            f"n_max={n_max} allows ratios up to {n_max}."
        )
    return counts


def long_tailed_counts(n_max, num_classes, ratio):
    """Per-class sizes of the long-tailed ("exp") profile.

    n_i = int(n_max * (1 / ratio) ** (i / (C - 1))), i = 0 .. C - 1, so that
    class 0 keeps n_max and class C - 1 keeps int(n_max / ratio)
    (Cui et al., CVPR 2019; Cao et al., NeurIPS 2019).

    Args:
        n_max: size of the largest class (class 0), e.g. 5000 on CIFAR-10.
        num_classes: number of classes C.
        ratio: imbalance ratio rho = n_max / n_min, >= 1.

    Returns:
        int64 numpy array of shape `[C]`, non-increasing.

    Example:
        >>> int(long_tailed_counts(5000, 10, 100).sum())
        12406
    """
    n_max, num_classes, ratio = _check_common(n_max, num_classes, ratio)
    if num_classes == 1:
        return np.array([n_max], dtype=np.int64)
    # Same arithmetic as the reference: img_max * imb_factor ** (i / (C - 1.0)).
    factor = 1.0 / ratio
    counts = [int(float(n_max) * factor ** (i / (num_classes - 1.0))) for i in range(num_classes)]
    return _check_min(np.array(counts, dtype=np.int64), n_max, ratio)


def step_counts(n_max, num_classes, ratio, minority_fraction=0.5):
    """Per-class sizes of the step profile.

    The first C - round(mu * C) classes keep n_max, the other round(mu * C)
    classes keep int(n_max / ratio) (Buda et al., 2018; Cao et al., 2019;
    mu = 0.5 in all five papers, where the reference code uses C // 2).

    Args:
        n_max: size of the majority classes.
        num_classes: number of classes C (at least 2).
        ratio: imbalance ratio rho = n_max / n_min, >= 1.
        minority_fraction: mu, the fraction of minority classes, in (0, 1).

    Returns:
        int64 numpy array of shape `[C]`.

    Example:
        >>> step_counts(5000, 10, 100).tolist()
        [5000, 5000, 5000, 5000, 5000, 50, 50, 50, 50, 50]
    """
    n_max, num_classes, ratio = _check_common(n_max, num_classes, ratio)
    mu = validate_minority_fraction(minority_fraction)
    num_minority = int(np.floor(mu * num_classes + 0.5))
    if not 0 < num_minority < num_classes:
        raise ValueError(
            f"minority_fraction={minority_fraction!r} with num_classes={num_classes} gives "
            f"{num_minority} minority classes; a step profile needs at least one "
            "majority and one minority class."
        )
    counts = np.full(num_classes, n_max, dtype=np.int64)
    counts[num_classes - num_minority :] = int(float(n_max) * (1.0 / ratio))
    return _check_min(counts, n_max, ratio)


def imbalanced_counts(n_max, num_classes, imbalance="exp", ratio=100, minority_fraction=0.5):
    """Dispatches to `long_tailed_counts` ("exp") or `step_counts` ("step")."""
    if imbalance == "exp":
        return long_tailed_counts(n_max, num_classes, ratio)
    if imbalance == "step":
        return step_counts(n_max, num_classes, ratio, minority_fraction)
    raise ValueError(
        f"Unknown imbalance type {imbalance!r}; expected one of {IMBALANCE_TYPES}."
    )


def check_labels(labels, num_classes=None, name="labels"):
    """Returns `labels` as a 1-D int64 array of ids in [0, num_classes)."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        hint = " (one-hot labels? pass their argmax)" if labels.ndim == 2 else ""
        raise ValueError(
            f"`{name}` must be a 1-D array of integer class ids. Received shape "
            f"{labels.shape}{hint}."
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if (
            not np.issubdtype(labels.dtype, np.floating)
            or not np.all(np.isfinite(labels))
            or np.any(labels != np.round(labels))
        ):
            raise ValueError(f"`{name}` must hold integer class ids. Received dtype {labels.dtype}.")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"`{name}` must be >= 0. Found {labels.min()}.")
    if num_classes is not None and labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"`{name}` holds class id {labels.max()} but num_classes={num_classes}."
        )
    return labels


def make_imbalanced(
    labels,
    imbalance="exp",
    ratio=100,
    minority_fraction=0.5,
    seed=0,
    n_max=None,
    num_classes=None,
):
    """Picks a seeded long-tailed or step subset of a labelled training set.

    Per class i (in index order): shuffle the indices of class i with one
    `np.random.RandomState(seed)` and keep the first n_i, where n_i follows
    `long_tailed_counts` / `step_counts` (Cao et al., NeurIPS 2019, reference
    code `imbalance_cifar.py`). Class 0 is the largest.

    Args:
        labels: 1-D integer class ids of the (usually balanced) source.
        imbalance: "exp" (long-tailed) or "step".
        ratio: imbalance ratio rho = n_max / n_min, >= 1.
        minority_fraction: fraction mu of minority classes ("step" only).
        seed: seed of the subset; the same seed gives the same subset.
        n_max: size of class 0; defaults to the size of the smallest class
            of `labels` (the per-class size of a balanced source), so that
            every class has enough samples.
        num_classes: defaults to `max(labels) + 1`.

    Returns:
        `(indices, counts)`: int64 indices into `labels`, grouped by class
        in index order as in the reference code, and the int64 per-class
        counts of the subset (shape `[C]`), which the rest of keras_lt uses.

    Example:
        >>> y = np.repeat(np.arange(10), 5000)
        >>> idx, counts = make_imbalanced(y, "exp", ratio=100, seed=0)
        >>> len(idx), int(counts[0]), int(counts[-1])
        (12406, 5000, 50)
    """
    if num_classes is not None:
        num_classes = whole_number(num_classes, "num_classes", minimum=1)
    seed = whole_number(seed, "seed")
    labels = check_labels(labels, num_classes)
    if labels.size == 0:
        raise ValueError("`labels` is empty.")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    available = np.bincount(labels, minlength=num_classes)
    if np.any(available == 0):
        missing = np.flatnonzero(available == 0).tolist()
        raise ValueError(f"Classes {missing[:10]} have no sample in `labels`.")
    if n_max is None:
        n_max = int(available.min())
    counts = imbalanced_counts(n_max, num_classes, imbalance, ratio, minority_fraction)
    short = np.flatnonzero(available < counts)
    if short.size:
        c = int(short[0])
        raise ValueError(
            f"Class {c} has {available[c]} samples but the {imbalance!r} profile "
            f"with n_max={n_max} asks for {counts[c]}; lower `n_max`."
        )
    rng = np.random.RandomState(seed)
    picked = []
    for c in range(num_classes):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        picked.append(idx[: counts[c]])
    return np.concatenate(picked).astype(np.int64), counts
