"""Many-shot, medium-shot and few-shot class groups.

The long-tailed literature splits the classes by their number of training
samples n_c (the test set is balanced):

    many:   n_c > many          (> 100 by default)
    medium: few <= n_c <= many  (20-100)
    few:    n_c < few           (< 20)

Liu et al., "Large-Scale Long-Tailed Recognition in an Open World", CVPR 2019
(the split used by the CDT, LDAM and IB papers' comparisons). Small datasets
need other thresholds: with at most 180 samples per class (the 8x8 digits demo)
`shot_groups(counts, many=50, few=10)` gives three non-empty groups.
"""

import numpy as np

from keras_lt.checks import whole_number
from keras_lt.losses.class_weights import validate_class_counts

SHOT_GROUPS = ("many", "medium", "few")


def validate_shot_thresholds(many, few):
    """Returns (many, few) as ints, or raises ValueError."""
    many, few = whole_number(many, "many"), whole_number(few, "few")
    if many < few:
        raise ValueError(
            f"Shot thresholds need 0 <= few <= many, got many={many}, few={few}."
        )
    return many, few


def shot_group_of(count, many=100, few=20):
    """Name of the group ("many", "medium" or "few") of a class with `count` samples."""
    many, few = validate_shot_thresholds(many, few)
    if count > many:
        return "many"
    if count < few:
        return "few"
    return "medium"


def shot_groups(train_counts, many=100, few=20):
    """Splits the classes into many/medium/few-shot groups by training count.

    many: n_c > `many`; medium: `few` <= n_c <= `many`; few: n_c < `few`.

    Args:
        train_counts: per-class training sample counts, shape [C].
        many: classes with more than `many` training samples are many-shot.
        few: classes with fewer than `few` training samples are few-shot.

    Returns:
        dict {"many", "medium", "few"} -> sorted int64 arrays of class
        indices (possibly empty); every class is in exactly one group.

    Example:
        >>> shot_groups([500, 100, 20, 19])
        {'many': array([0]), 'medium': array([1, 2]), 'few': array([3])}
    """
    counts = validate_class_counts(train_counts, name="train_counts")
    many, few = validate_shot_thresholds(many, few)
    return {
        "many": np.flatnonzero(counts > many),
        "medium": np.flatnonzero((counts >= few) & (counts <= many)),
        "few": np.flatnonzero(counts < few),
    }
