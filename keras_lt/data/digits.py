"""scikit-learn's handwritten digits as a tiny, offline image data set.

1,797 grayscale 8x8 images of 10 digits (about 180 per class), shipped
with scikit-learn, so the default job runs with no download in seconds.
Pixel values 0 .. 16 are scaled to uint8 0 .. 255 (round(v * 255 / 16)).
There is no official split: a seeded, balanced test set of
`test_per_class` images per class is held out, the rest is the training
set that `make_imbalanced` makes long-tailed (n_max = smallest class).
"""

import numpy as np

from keras_lt.data.arrays import LabeledArrays


def load_digits_split(test_per_class=50, seed=0):
    """Splits scikit-learn's digits into a training set and a balanced test set.

    Args:
        test_per_class: test images per class (balanced test set).
        seed: seed of the split.

    Returns:
        `(train, test)` `LabeledArrays` of uint8 `[N, 8, 8, 1]` images,
        class names "0" .. "9".
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # the digits ship with scikit-learn, an extra of keras_lt
        from keras_lt.data.tfds_source import DatasetUnavailableError

        raise DatasetUnavailableError(
            "The digits data set comes with scikit-learn, which is not installed: "
            'pip install "keras_lt[demo]"  (or: pip install scikit-learn).'
        ) from error

    digits = load_digits()
    x = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    y = digits.target.astype(np.int64)
    counts = np.bincount(y)
    if not 0 < test_per_class < counts.min():
        raise ValueError(
            f"`test_per_class` must be in [1, {counts.min() - 1}]. Received: {test_per_class!r}"
        )
    rng = np.random.RandomState(seed)
    test = []
    for c in range(len(counts)):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test.append(np.sort(idx[:test_per_class]))
    test = np.concatenate(test)
    train = np.setdiff1d(np.arange(len(y)), test)
    names = [str(i) for i in range(10)]
    return LabeledArrays(x[train], y[train], names), LabeledArrays(x[test], y[test], names)
