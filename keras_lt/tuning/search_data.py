"""The data a hyper-parameter search may see: the training split, and nothing else.

The protocol of the CDT supplement, B.6 (Ye et al., 2020): hold out K
training samples per class as a balanced validation split (K = 3 on CIFAR,
10 on iNaturalist), select the hyper-parameters on it, then retrain on the
whole training set and report on the test set.

`load_search_data(config)` builds exactly the long-tailed training split
that `keras_lt.training.experiment.load_data(config)` builds (same source,
same `make_imbalanced` call and seed), from the source's *training* split
only: the test split is neither listed nor read, so a search cannot peek
at it. It then splits off the balanced validation part:

    full training split (n_c per class)
      -> val   = K samples of every class with more than K   (balanced)
      -> train = the rest (n_c - K per class)                 (the trials fit on this)

and `train.counts() + val.counts()` equals the retrain's class counts.
"""

import dataclasses
import os

import numpy as np

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


def _train_folder(data_dir, dataset):
    # Same layout as keras_lt.data.load_long_tailed's image folders, but only
    # the train/ side is looked at.
    data_dir = os.fspath(data_dir)
    for root in (data_dir, os.path.join(data_dir, dataset)):
        if os.path.isdir(os.path.join(root, "train")):
            return os.path.join(root, "train")
    raise ValueError(
        f"{data_dir!r} is not an image-folder copy of {dataset}: expected a "
        f"train/<class>/ sub-folder in it (or in {dataset}/ inside it)."
    )


def load_training_split(dataset, data_dir=None, image_size=None):
    """The source's full training split (before imbalance), never its test split.

    Returns `(split, source description)`, the training half of what
    `keras_lt.data.load_long_tailed` loads for `dataset`.
    """
    from keras_lt import data as lt_data

    if dataset in ("cifar10", "cifar100"):
        if data_dir is not None:
            folder = _train_folder(data_dir, dataset)
            split = lt_data.load_image_folder(folder, image_size=image_size)
            return split, f"image folder {os.path.dirname(folder)}"
        return lt_data.load_tfds(dataset, "train"), "tensorflow-datasets"
    if dataset == "tiny_imagenet":
        if data_dir is None:
            raise lt_data.DatasetUnavailableError(
                "Tiny-ImageNet needs data_dir=<tiny-imagenet-200 folder> (or --data-dir)."
            )
        return lt_data.load_tiny_imagenet(data_dir, "train"), f"Tiny-ImageNet folder {data_dir}"
    if dataset == "digits":
        # Digits has no file per split: the held-out test images are a seeded
        # subset of one in-memory array, dropped here without being used.
        return lt_data.load_digits_split()[0], "scikit-learn digits"
    if dataset == "inaturalist2018":
        if data_dir is None:
            raise lt_data.DatasetUnavailableError(
                "iNaturalist 2018 needs data_dir=<folder with train2018.json> (or --data-dir)."
            )
        return lt_data.list_inaturalist2018(data_dir, "train"), f"iNaturalist 2018 files {data_dir}"
    raise ValueError(f"Unknown dataset {dataset!r}; expected one of {lt_data.DATASETS}.")


def load_search_data(config, val_per_class=None, small_classes="train_only"):
    """The training split of a resolved `TrainConfig`, split for the search.

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
    from keras_lt.data import balanced_validation_split, make_imbalanced

    config = config.resolve()
    k = default_val_per_class(config.dataset) if val_per_class is None else val_per_class
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"`val_per_class` must be a positive integer, got {val_per_class!r}.")
    k = int(k)
    train, source = load_training_split(config.dataset, config.data_dir)
    imbalance = None if config.imbalance == "natural" else config.imbalance
    # The same call as keras_lt.data.load_long_tailed (and so as the retrain).
    if imbalance is not None:
        indices, _ = make_imbalanced(
            train.y,
            imbalance,
            config.ratio if config.ratio is not None else 1.0,
            config.minority_fraction,
            config.seed,
            num_classes=train.num_classes,
        )
        train = train.subset(indices)
    kept, held = balanced_validation_split(train.y, k, config.seed, small_classes)
    val = train.subset(held)
    train = train.subset(kept)
    info = {
        "dataset": config.dataset,
        "source": source,
        "imbalance": config.imbalance,
        "ratio": config.ratio,
        "seed": config.seed,
        "val_per_class": k,
        "num_train": len(train),
        "num_val": len(val),
    }
    return SearchData(train=train, val=val, counts=train.counts(),
                      class_names=list(train.class_names), info=info)
