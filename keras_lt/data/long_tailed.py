"""One call from a dataset name to long-tailed training, validation and test sets.

    source (tfds | image folder | Tiny-ImageNet folder | iNaturalist json | digits)
      -> make_imbalanced (exp | step, ratio, seed)     the papers' construction
      -> balanced_validation_split (K per class)       optional, CDT supp. B.6
      -> counts of the final training split            for every other component

The test set stays balanced (CIFAR test, Tiny-ImageNet val, iNaturalist
val, digits' held-out set), as in all five papers.
"""

import dataclasses
import os

import numpy as np

from keras_lt.checks import whole_number
from keras_lt.data.digits import load_digits_split
from keras_lt.data.image_folder import load_image_folder
from keras_lt.data.imbalance import (
    IMBALANCE_TYPES,
    make_imbalanced,
    validate_minority_fraction,
    validate_ratio,
)
from keras_lt.data.inaturalist import list_inaturalist2018
from keras_lt.data.tfds_source import DatasetUnavailableError, import_tfds, load_tfds
from keras_lt.data.tiny_imagenet import load_tiny_imagenet
from keras_lt.data.validation_split import balanced_validation_split

DATASETS = ("cifar10", "cifar100", "tiny_imagenet", "digits", "inaturalist2018")
NATURALLY_LONG_TAILED = ("inaturalist2018",)
# The ratio rho of `ratio=None`: the papers' 100, and 20 for the embedded digits
# (the `keras-lt` defaults, `keras_lt.training.config.DATASETS`).
DEFAULT_RATIO = {"cifar10": 100.0, "cifar100": 100.0, "tiny_imagenet": 100.0, "digits": 20.0}


@dataclasses.dataclass
class LongTailedData:
    """The splits of a long-tailed experiment.

    Attributes:
        train: the (imbalanced) training split, `LabeledArrays`, or
            `LabeledFiles` for iNaturalist.
        test: the balanced test split (same type), or None when loaded
            `with_test=False`.
        val: the balanced validation split held out from `train`, or None.
        counts: int64 per-class counts of `train` (after the validation
            split): the class counts every loss and callback takes.
        class_names: class names, index = class id.
        train_indices: positions of `train` in the source's training split.
        info: how the data was made (dataset, source, imbalance, ratio, ...).
    """

    train: object
    test: object
    val: object
    counts: np.ndarray
    class_names: list
    train_indices: np.ndarray
    info: dict

    @property
    def num_classes(self):
        return len(self.class_names)


IMAGE_FOLDER_CLASSES = {"cifar10": 10, "cifar100": 100}


def check_data_dir(dataset, data_dir, with_test=True):
    """Checks an offline copy before anything is read from it; returns the folder
    to read (for CIFAR: `data_dir` itself or `data_dir/<dataset>`).

    Without `data_dir`, raises DatasetUnavailableError for a dataset that
    needs one (Tiny-ImageNet, iNaturalist) or for CIFAR without
    tensorflow-datasets installed. Raises ValueError when `data_dir` is given
    for digits (which it would not be read for) or is not a folder, or when a
    CIFAR copy
    lacks the train/ (and test/) splits or its train/ has another number of
    class folders than the dataset has classes (a CIFAR-10 copy given as
    CIFAR-100). Reads only folder names, so `--dry-run` can afford it.
    """
    if data_dir is None:
        _check_source_without_folder(dataset)
        return None
    data_dir = os.fspath(data_dir)
    if dataset == "digits":
        raise ValueError(
            f"digits comes with scikit-learn and reads no folder: `data_dir` {data_dir!r} "
            "would be ignored (leave it out, or name the dataset of that folder)."
        )
    if not os.path.isdir(data_dir):
        raise ValueError(f"Data folder {data_dir!r} does not exist or is not a directory.")
    if dataset not in IMAGE_FOLDER_CLASSES:
        return data_dir
    splits = ("train", "test") if with_test else ("train",)
    roots = [r for r in (data_dir, os.path.join(data_dir, dataset))
             if all(os.path.isdir(os.path.join(r, split)) for split in splits)]
    if not roots:
        expected = " and ".join(f"{split}/<class>/" for split in splits)
        raise ValueError(
            f"{data_dir!r} is not an image-folder copy of {dataset}: expected "
            f"{expected} sub-folder{'s' if with_test else ''} in it (or in {dataset}/ inside it)."
        )
    train = os.path.join(roots[0], "train")
    found = [d for d in os.listdir(train) if os.path.isdir(os.path.join(train, d))]
    if len(found) != IMAGE_FOLDER_CLASSES[dataset]:
        raise ValueError(
            f"{train!r} has {len(found)} class folders, but {dataset} has "
            f"{IMAGE_FOLDER_CLASSES[dataset]} classes: is it a copy of another dataset?"
        )
    return roots[0]


def _check_source_without_folder(dataset):
    """Raises `DatasetUnavailableError` when `dataset` cannot be had without a
    folder: Tiny-ImageNet and iNaturalist always need one; CIFAR needs
    tensorflow-datasets installed (whether it can download is known only
    when it tries)."""
    if dataset in ("cifar10", "cifar100"):
        import_tfds()
    elif dataset == "tiny_imagenet":
        raise DatasetUnavailableError(
            "tensorflow-datasets has no Tiny-ImageNet: download tiny-imagenet-200.zip "
            "(http://cs231n.stanford.edu/tiny-imagenet-200.zip), unzip it and pass "
            "data_dir=<folder> (or --data-dir)."
        )
    elif dataset == "inaturalist2018":
        raise DatasetUnavailableError(
            "iNaturalist 2018 needs data_dir=<folder> with train2018.json, val2018.json "
            "and the train_val2018/ images (github.com/visipedia/inat_comp); "
            "tensorflow-datasets' i_naturalist2018 is reachable through "
            "keras_lt.data.load_tfds_dataset."
        )


def _load_source(dataset, data_dir, tfds_data_dir, download, image_size, with_test=True):
    """Returns (train, test, source description); test is None without `with_test`,
    and then the source's test split is neither listed nor read. `data_dir` is
    the folder `check_data_dir` returned."""
    if dataset in ("cifar10", "cifar100"):
        if data_dir is not None:
            root = data_dir
            train = load_image_folder(os.path.join(root, "train"), image_size=image_size)
            test = None
            if with_test:
                test = load_image_folder(os.path.join(root, "test"), image_size=image_size,
                                         class_names=train.class_names)
            return train, test, f"image folder {root}"
        train = load_tfds(dataset, "train", tfds_data_dir, download)
        test = load_tfds(dataset, "test", tfds_data_dir, download) if with_test else None
        return train, test, "tensorflow-datasets"
    if dataset == "tiny_imagenet":
        train = load_tiny_imagenet(data_dir, "train")
        test = load_tiny_imagenet(data_dir, "val") if with_test else None
        return train, test, f"Tiny-ImageNet folder {data_dir}"
    if dataset == "digits":
        # One in-memory array split by a seed: without `with_test` the
        # held-out images are dropped unused.
        train, test = load_digits_split()
        return train, test if with_test else None, "scikit-learn digits"
    if dataset == "inaturalist2018":
        train = list_inaturalist2018(data_dir, "train")
        test = list_inaturalist2018(data_dir, "val") if with_test else None
        return train, test, f"iNaturalist 2018 files {data_dir}"
    raise ValueError(f"Unknown dataset {dataset!r}; expected one of {DATASETS}.")


def _check_settings(imbalance, ratio, minority_fraction, validation_per_class, small_classes):
    """The settings' own errors, raised before the source is read or downloaded."""
    if validation_per_class:
        whole_number(validation_per_class, "validation_per_class")
    if small_classes not in ("raise", "train_only"):
        raise ValueError("`validation_small_classes` must be 'raise' or 'train_only'. "
                         f"Received: {small_classes!r}")
    if imbalance is None:
        return
    if imbalance not in IMBALANCE_TYPES:
        raise ValueError(
            f"Unknown imbalance type {imbalance!r}; expected one of {IMBALANCE_TYPES}."
        )
    validate_ratio(ratio)
    if imbalance == "step":
        validate_minority_fraction(minority_fraction)


def load_long_tailed(
    dataset="cifar10",
    data_dir=None,
    imbalance="auto",
    ratio=None,
    minority_fraction=0.5,
    seed=0,
    validation_per_class=0,
    validation_small_classes="raise",
    tfds_data_dir=None,
    download=True,
    image_size=None,
    with_test=True,
):
    """Loads a data set and makes its training split long-tailed (or step).

    Args:
        dataset: "cifar10", "cifar100", "tiny_imagenet", "digits" or
            "inaturalist2018".
        data_dir: an offline copy. CIFAR: an image folder with
            train/<class>/ and test/<class>/ (without it, tensorflow-datasets
            is used). Tiny-ImageNet: the tiny-imagenet-200 folder.
            iNaturalist: the folder with train2018.json / val2018.json.
        imbalance: "exp" (long-tailed), "step", None (keep the source as
            it is) or "auto" ("exp", but None for iNaturalist, which is
            long-tailed already).
        ratio: imbalance ratio rho = n_max / n_min (None: 100, and 20 for
            digits, as `keras-lt train` has it).
        minority_fraction: fraction of minority classes for "step".
        seed: seed of the imbalanced subset and of the validation split.
        validation_per_class: K > 0 holds out K training samples per class
            as a balanced validation split (K = 3 CIFAR, 10 iNaturalist).
        validation_small_classes: "raise" or "train_only", see
            `balanced_validation_split`.
        tfds_data_dir, download: passed to tensorflow-datasets.
        image_size: resize image-folder images to `(height, width)`.
        with_test: False loads the training side only: the source's test
            split is neither listed nor read (an image folder needs no
            test/ sub-folder) and `test` is None. The training split, its
            indices and the validation split are the same as with the test
            split. This is what a hyper-parameter search may see
            (`keras_lt.tuning.load_search_data`).

    Returns:
        `LongTailedData(train, test, val, counts, class_names, train_indices, info)`.

    Raises:
        ValueError: a `data_dir` that is not a folder, or a CIFAR copy without
            the splits or with another number of classes (`check_data_dir`),
            before anything is read.
        DatasetUnavailableError: tensorflow-datasets is missing or offline
            (the message names the image-folder alternative), or a data set
            needs `data_dir`.

    Example:
        >>> data = load_long_tailed("digits", ratio=10)
        >>> data.counts.tolist()[:3], int(data.counts[-1])  # doctest: +SKIP
    """
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {DATASETS}.")
    if imbalance == "auto":
        imbalance = None if dataset in NATURALLY_LONG_TAILED else "exp"
    if imbalance is not None and dataset in NATURALLY_LONG_TAILED:
        raise ValueError(
            f"{dataset} is long-tailed already; use imbalance=None (or 'auto'), "
            f"not {imbalance!r}."
        )
    if ratio is None and imbalance is not None:
        ratio = DEFAULT_RATIO[dataset]
    _check_settings(imbalance, ratio, minority_fraction, validation_per_class,
                    validation_small_classes)  # before any (possibly long) load
    data_dir = check_data_dir(dataset, data_dir, with_test)
    train, test, source = _load_source(dataset, data_dir, tfds_data_dir, download, image_size,
                                       with_test)
    indices = np.arange(len(train), dtype=np.int64)
    if imbalance is not None:
        indices, _ = make_imbalanced(
            train.y,
            imbalance,
            ratio,
            minority_fraction,
            seed,
            num_classes=train.num_classes,
        )
    train = train.subset(indices)
    val = None
    if validation_per_class:
        kept, held = balanced_validation_split(
            train.y, validation_per_class, seed, validation_small_classes
        )
        val = train.subset(held)
        train = train.subset(kept)
        indices = indices[kept]
    info = {
        "dataset": dataset,
        "source": source,
        "imbalance": imbalance,
        "ratio": None if imbalance is None else float(ratio),
        "minority_fraction": float(minority_fraction) if imbalance == "step" else None,
        "seed": seed,
        "validation_per_class": int(validation_per_class or 0),
        "num_train": len(train),
        "num_test": None if test is None else len(test),
    }
    return LongTailedData(
        train=train,
        test=test,
        val=val,
        counts=train.counts(),
        class_names=list(train.class_names),
        train_indices=indices,
        info=info,
    )

