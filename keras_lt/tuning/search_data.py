"""The data a hyper-parameter search may see: the training split, and nothing else.

The protocol of the CDT supplement, B.6 (Ye et al., 2020): hold out K
training samples per class as a balanced validation split (K = 3 on CIFAR,
10 on iNaturalist), select the hyper-parameters on it, then retrain on the
whole training set and report on the test set.

`load_search_data(config)` builds exactly the long-tailed training split
that `keras_lt.training.experiment.load_data(config)` builds, with that same
call and `keras_lt.data.load_long_tailed(..., with_test=False)`: the source's
test split is neither listed nor read, so a search cannot peek at it. It
then splits off the balanced validation part (`validation_per_class=K`):

    full training split (n_c per class)
      -> val   = K samples of every class with more than K   (balanced)
      -> train = the rest (n_c - K per class)                 (the trials fit on this)

and `train.counts() + val.counts()` equals the retrain's class counts.
"""

import dataclasses
import warnings

import numpy as np

from keras_lt.checks import whole_number

# K of the CDT supplement B.6: 3 on CIFAR, 10 on iNaturalist; the other data
# sets follow CIFAR.
DEFAULT_VAL_PER_CLASS = {"inaturalist2018": 10}
DEFAULT_K = 3


def default_val_per_class(dataset):
    """K, the validation samples per class of the search (CDT supplement B.6)."""
    return DEFAULT_VAL_PER_CLASS.get(dataset, DEFAULT_K)


@dataclasses.dataclass
class SearchData:
    """The splits a search uses; there is deliberately no `test` attribute.

    Attributes:
        train: what every trial trains on (`LabeledArrays`, or `LabeledFiles`
            for iNaturalist): the training split without the validation part.
        val: the balanced validation split, K samples per class (classes with
            at most K samples stay whole in `train` and have none here).
        counts: int64 per-class counts of `train`: the class counts of the
            trials' losses, callbacks and metrics.
        class_names: class names, index = class id.
        info: how the data was made (dataset, source, imbalance, ratio, K).
    """

    train: object
    val: object
    counts: np.ndarray
    class_names: list
    info: dict

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def full_counts(self):
        """Per-class counts of the whole training split (train + val): the
        counts of the retrained model."""
        return self.counts + self.val.counts()


def load_search_data(config, val_per_class=None, small_classes="train_only"):
    """The training split of a resolved `TrainConfig`, split for the search.

    The retrain's own loader, `keras_lt.training.experiment.load_data`
    (`keras_lt.data.load_long_tailed`), with `with_test=False` (the test
    split is neither listed nor read) and `validation_per_class=K`.

    Args:
        config: a `keras_lt.training.config.TrainConfig` (resolved or not):
            dataset, data_dir, imbalance, ratio, minority_fraction, seed.
        val_per_class: K; default 3, or 10 on iNaturalist.
        small_classes: "train_only" (default; classes with at most K samples
            stay whole in training, as the paper drops them from the
            validation) or "raise".

    Returns:
        `SearchData(train, val, counts, class_names, info)`.
    """
    from keras_lt.training.experiment import load_data

    config = config.resolve()
    k = default_val_per_class(config.dataset) if val_per_class is None else val_per_class
    k = whole_number(k, "val_per_class", minimum=1)
    k = int(k)
    data = load_data(config, with_test=False, validation_per_class=k,
                     validation_small_classes=small_classes)
    assert data.test is None  # the search never holds the test split
    _check_validation_split(data.val.counts(), data.counts, k, len(data.class_names))
    info = {
        "dataset": config.dataset,
        "source": data.info["source"],
        "imbalance": config.imbalance,
        "ratio": config.ratio,
        "seed": config.seed,
        "val_per_class": k,
        "num_train": len(data.train),
        "num_val": len(data.val),
    }
    return SearchData(train=data.train, val=data.val, counts=data.counts,
                      class_names=list(data.class_names), info=info)


def _check_validation_split(val_counts, train_counts, k, num_classes):
    """Refuses a validation split with no image; warns when classes are
    missing from it (those with at most K training images stay whole in
    training): the balanced accuracy the trials are ranked by then leaves
    them out."""
    val_counts = np.asarray(val_counts)
    totals = np.asarray(train_counts) + val_counts  # the training split before it
    if int(val_counts.sum()) == 0:
        raise ValueError(
            f"`val_per_class` {k} holds out no image: every class has at most {k} training "
            f"images (the largest has {int(totals.max())}); a class needs K + 1, one to keep "
            "for training."
        )
    missing = np.flatnonzero(val_counts == 0)
    if missing.size:
        warnings.warn(
            f"{missing.size} of {num_classes} classes (those with at most `val_per_class` = "
            f"{k} training images; the rarest has {int(totals.min())}) "
            f"{'is' if missing.size == 1 else 'are'} left out of the validation split: the "
            "trials' balanced accuracy is over the other classes. A smaller `val_per_class` "
            "keeps them.",
            stacklevel=3,
        )
