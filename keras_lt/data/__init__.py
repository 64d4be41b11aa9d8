"""Data for long-tailed classification: sources, imbalance, input pipelines, splits.

    load_long_tailed("cifar10", data_dir=..., imbalance="exp", ratio=100)
        -> LongTailedData(train, test, val, counts, class_names, ...)
    load_long_tailed(..., with_test=False)      the same training split; the
        test split is neither listed nor read (test=None), for searches
    ArrayDataset(train, batch_size=128, balanced=False, seed=0)    any backend
      + cifar_augmentation() in the model (on the device)
    make_tf_dataset(train, augment="cifar", balanced=False, seed=0)  tf.data
    FileDataset(files, augment="inaturalist")    image files, any backend

Nothing here imports TensorFlow at import time: the in-memory path runs on
JAX or PyTorch without it (`make_tf_dataset` and `load_tfds*` import it when
called).
"""

from keras_lt.data.array_dataset import ArrayDataset
from keras_lt.data.arrays import LabeledArrays, LabeledFiles, from_arrays
from keras_lt.data.augmentation import (
    RandomPadCrop,
    TrainingOnlyRandomFlip,
    cifar_augmentation,
    pad_crop_flip,
    tiny_imagenet_augmentation,
)
from keras_lt.data.digits import load_digits_split
from keras_lt.data.file_dataset import FileDataset
from keras_lt.data.image_folder import list_image_folder, load_image_folder
from keras_lt.data.imbalance import (
    imbalanced_counts,
    long_tailed_counts,
    make_imbalanced,
    step_counts,
)
from keras_lt.data.inaturalist import list_inaturalist2018
from keras_lt.data.long_tailed import DATASETS, LongTailedData, load_long_tailed
from keras_lt.data.sampling import class_balanced_indices, epoch_order
from keras_lt.data.tf_dataset import make_tf_dataset, num_batches
from keras_lt.data.tfds_source import DatasetUnavailableError, load_tfds, load_tfds_dataset
from keras_lt.data.tiny_imagenet import list_tiny_imagenet, load_tiny_imagenet
from keras_lt.data.validation_split import balanced_validation_split

__all__ = [
    "ArrayDataset",
    "DATASETS",
    "DatasetUnavailableError",
    "FileDataset",
    "LabeledArrays",
    "LabeledFiles",
    "LongTailedData",
    "RandomPadCrop",
    "TrainingOnlyRandomFlip",
    "balanced_validation_split",
    "cifar_augmentation",
    "class_balanced_indices",
    "epoch_order",
    "from_arrays",
    "imbalanced_counts",
    "list_image_folder",
    "list_inaturalist2018",
    "list_tiny_imagenet",
    "load_digits_split",
    "load_image_folder",
    "load_long_tailed",
    "load_tfds",
    "load_tfds_dataset",
    "load_tiny_imagenet",
    "long_tailed_counts",
    "make_imbalanced",
    "make_tf_dataset",
    "num_batches",
    "pad_crop_flip",
    "step_counts",
    "tiny_imagenet_augmentation",
]
