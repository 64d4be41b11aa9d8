"""tensorflow-datasets sources, with a clear failure when it cannot download.

`load_tfds` reads a small image dataset (cifar10, cifar100) into memory as
`LabeledArrays`; `load_tfds_dataset` returns a `tf.data.Dataset` for data
that does not fit in memory. tensorflow-datasets (4.9) offers, for the
papers' datasets: `cifar10`, `cifar100`, `i_naturalist2017`,
`i_naturalist2018` (8,142 classes; splits train 437,513 / validation
24,426 / test unlabelled; features image, label, id, supercategory;
~170 GB download from the competition bucket) and `i_naturalist2021`.
Its `i_naturalist2018` labels are indices into the species names of the
package's `inaturalist2018_labels.txt` (8,142 names, not sorted; taken from
the release's categories.json), which should match the `category_id` of
`list_inaturalist2018` -- not checked here, for lack of the data.
It has no Tiny-ImageNet: use `load_tiny_imagenet` on the zip's folder.

Offline (no network, or a `data_dir` where the data was never prepared),
tfds cannot build the dataset; these functions then raise
`DatasetUnavailableError` naming the image-folder alternative. tfds itself
retries a failed download for minutes (about 200 s for cifar10 here), so
for the datasets whose host is known a 5-second connection probe runs
first and fails fast.
"""

import os
import socket

# Where tfds downloads these datasets from (tensorflow-datasets 4.9).
DOWNLOAD_HOSTS = {
    "cifar10": "www.cs.toronto.edu",
    "cifar100": "www.cs.toronto.edu",
    "i_naturalist2017": "ml-inat-competition-datasets.s3.amazonaws.com",
    "i_naturalist2018": "ml-inat-competition-datasets.s3.amazonaws.com",
    "i_naturalist2021": "ml-inat-competition-datasets.s3.amazonaws.com",
}
PROBE_TIMEOUT_S = 5.0

IMAGE_FOLDER_HINT = (
    "Offline, use an image folder instead: a directory with train/<class>/*.jpg "
    "and test/<class>/*.jpg (the layout of keras.utils.image_dataset_from_directory), "
    "passed as `data_dir=...` to keras_lt.data.load_long_tailed or `--data-dir` to the "
    "recipes, or read with keras_lt.data.load_image_folder(directory)."
)


class DatasetUnavailableError(RuntimeError):
    """A dataset source cannot provide the data (missing package, offline)."""


def import_tfds():
    """Imports tensorflow_datasets, or raises `DatasetUnavailableError`."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise DatasetUnavailableError(
            "tensorflow-datasets is not installed (pip install tensorflow-datasets, "
            "or pip install 'keras_lt[datasets]'). " + IMAGE_FOLDER_HINT
        ) from err
    return tfds


def _probe(host, timeout=PROBE_TIMEOUT_S):
    """Raises OSError if `host:443` cannot be reached within `timeout` seconds."""
    socket.create_connection((host, 443), timeout=timeout).close()


def _builder(tfds, name, data_dir, download):
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as err:
        raise DatasetUnavailableError(
            f"tensorflow-datasets cannot make a builder for {name!r} "
            f"({type(err).__name__}: {err}). " + IMAGE_FOLDER_HINT
        ) from err
    try:
        if download and not _is_prepared(builder):
            host = DOWNLOAD_HOSTS.get(str(name).split(":")[0].split("/")[0])
            if host is not None:
                try:
                    _probe(host)
                except OSError as err:
                    raise ConnectionError(f"cannot reach {host} to download: {err}") from err
            builder.download_and_prepare()
        elif not _is_prepared(builder):
            raise FileNotFoundError(
                f"no prepared data under {getattr(builder, 'data_dir', data_dir)!r} "
                "and download=False"
            )
    except Exception as err:
        raise DatasetUnavailableError(
            f"tensorflow-datasets could not provide {name!r} "
            f"({type(err).__name__}: {err}). Downloading needs network access to the "
            "dataset's host; machines without it cannot use tensorflow-datasets. "
            + IMAGE_FOLDER_HINT
        ) from err
    return builder


def _is_prepared(builder):
    data_dir = getattr(builder, "data_dir", None)
    return bool(data_dir) and os.path.isdir(data_dir) and any(
        f.endswith("dataset_info.json") for f in os.listdir(data_dir)
    )


def load_tfds(name, split="train", data_dir=None, download=True):
    """Loads an image-classification dataset of tensorflow-datasets into memory.

    Args:
        name: tfds name, e.g. "cifar10" or "cifar100".
        split: tfds split, e.g. "train" or "test".
        data_dir: tfds data directory (default `~/tensorflow_datasets`).
        download: whether tfds may download and prepare the data.

    Returns:
        `LabeledArrays(x uint8 [N, H, W, C], y int64 [N], class_names)`.

    Raises:
        DatasetUnavailableError: tensorflow-datasets is missing, or it cannot
            download (offline); the message names the image-folder path.
    """
    import numpy as np

    from keras_lt.data.arrays import LabeledArrays

    tfds = import_tfds()
    builder = _builder(tfds, name, data_dir, download)
    ds = builder.as_dataset(split=split, as_supervised=True, batch_size=-1)
    x, y = tfds.as_numpy(ds)
    names = _label_names(builder)
    return LabeledArrays(np.asarray(x, dtype=np.uint8), np.asarray(y, dtype=np.int64), names)


def load_tfds_dataset(name, split="train", data_dir=None, download=True, shuffle_files=False):
    """A tfds dataset as an unbatched `tf.data.Dataset` of `(image, label)`.

    For data too big for memory, e.g. `name="i_naturalist2018"`. Feed it to
    `keras_lt.data.make_tf_dataset`. Class counts come from the annotation
    files (`list_inaturalist2018`) or from one pass over the labels.

    Returns:
        `(dataset, class_names)`.

    Raises:
        DatasetUnavailableError: as `load_tfds`.
    """
    tfds = import_tfds()
    builder = _builder(tfds, name, data_dir, download)
    ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=shuffle_files)
    return ds, _label_names(builder)


def _label_names(builder):
    try:
        return list(builder.info.features["label"].names)
    except Exception:
        return None
