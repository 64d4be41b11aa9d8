"""Containers for labelled data: in-memory images or image files on disk.

Every source of `keras_lt.data` returns one of these two:

- `LabeledArrays(x, y, class_names)`: uint8 images `[N, H, W, C]` and int
  labels `[N]`, for data that fits in memory (CIFAR, Tiny-ImageNet, digits);
- `LabeledFiles(paths, y, class_names)`: image file paths and int labels,
  for data that does not (iNaturalist 2018), read by `make_tf_dataset`.

Both validate their fields, know their per-class counts, and take a subset
with `subset(indices)`, which is how the imbalanced and validation splits
are applied.
"""

import dataclasses

import numpy as np

from keras_lt.data.imbalance import check_labels


def _check_names(class_names, num_labels_max):
    if class_names is None:
        return [str(i) for i in range(num_labels_max)]
    class_names = [str(n) for n in class_names]
    if len(set(class_names)) != len(class_names):
        raise ValueError("`class_names` must be unique.")
    if len(class_names) < num_labels_max:
        raise ValueError(
            f"{len(class_names)} class names for labels up to {num_labels_max - 1}."
        )
    return class_names


class _LabeledSamples:
    """What `LabeledArrays` and `LabeledFiles` share: labels `y`, class names
    and the samples in the field named by `_samples_field`."""

    _samples_field = None

    @property
    def num_classes(self):
        return len(self.class_names)

    def __len__(self):
        return len(self.y)

    def counts(self):
        """Per-class sample counts, int64 `[num_classes]`."""
        return np.bincount(self.y, minlength=self.num_classes).astype(np.int64)

    def subset(self, indices):
        """The samples at `indices`, with the same class names."""
        indices = np.asarray(indices, dtype=np.int64)
        samples = getattr(self, self._samples_field)[indices]
        return type(self)(samples, self.y[indices], list(self.class_names))


@dataclasses.dataclass
class LabeledArrays(_LabeledSamples):
    """Images in memory with integer labels.

    Args:
        x: images `[N, H, W, C]` (uint8 by convention; any numeric dtype
            is accepted), or feature arrays `[N, ...]`.
        y: integer class ids `[N]`.
        class_names: names of the classes, index = class id; defaults to
            "0", "1", ... up to `max(y)`.

    Example:
        >>> data = LabeledArrays(np.zeros((4, 8, 8, 1), "uint8"), [0, 1, 1, 2])
        >>> data.counts().tolist()
        [1, 2, 1]
    """

    _samples_field = "x"
    x: np.ndarray
    y: np.ndarray
    class_names: list = None

    def __post_init__(self):
        self.x = np.asarray(self.x)
        if self.x.ndim < 1:
            raise ValueError("`x` must have a batch dimension.")
        self.y = check_labels(self.y, None if self.class_names is None else len(self.class_names), "y")
        if len(self.x) != len(self.y):
            raise ValueError(f"`x` has {len(self.x)} samples but `y` has {len(self.y)}.")
        num = int(self.y.max()) + 1 if self.y.size else 0
        self.class_names = _check_names(self.class_names, num)



@dataclasses.dataclass
class LabeledFiles(_LabeledSamples):
    """Image files on disk with integer labels (for data too big for memory).

    Args:
        paths: file paths `[N]` (str).
        y: integer class ids `[N]`.
        class_names: names of the classes, index = class id.
    """

    _samples_field = "paths"
    paths: np.ndarray
    y: np.ndarray
    class_names: list = None

    def __post_init__(self):
        self.paths = np.asarray([str(p) for p in self.paths], dtype=object)
        self.y = check_labels(self.y, None if self.class_names is None else len(self.class_names), "y")
        if len(self.paths) != len(self.y):
            raise ValueError(f"{len(self.paths)} paths but {len(self.y)} labels.")
        num = int(self.y.max()) + 1 if self.y.size else 0
        self.class_names = _check_names(self.class_names, num)



def from_arrays(x, y, class_names=None):
    """Wraps in-memory arrays as `LabeledArrays` (validating them).

    Images given as `[N, H, W]` get a channel axis; float images are kept as
    they are (scale them to [0, 255] yourself if the model expects it).
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    return LabeledArrays(x, y, class_names)
