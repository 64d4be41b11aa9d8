"""The in-memory input path: batches of numpy arrays as a `keras.utils.PyDataset`.

Works on every Keras backend (TensorFlow, JAX, PyTorch) and needs no
TensorFlow. It only slices and shuffles: the augmentation runs on the
device, in the model (`cifar_augmentation()` in front of the backbone),
so the host work per batch is one fancy-indexing copy.

The order of epoch e is `epoch_order(y, e, seed)`, a pure function of
(seed, e): the dataset counts epochs itself (`on_epoch_begin`, called by
`fit` once per epoch) and `set_epoch(e)` puts a resumed run where the
interrupted one was, so it sees the same batches. Use one dataset for
training and another for evaluation, and leave `steps_per_epoch` to
Keras (one epoch = one pass over the data). Pass `shuffle=False`
to `fit` (this dataset shuffles itself; `fit(shuffle=True)` would also
permute the batches with Python's global `random`), or seed everything
with `keras.utils.set_random_seed`.
"""

import math

import keras
import numpy as np

from keras_lt.checks import whole_number
from keras_lt.data.arrays import LabeledArrays
from keras_lt.data.imbalance import check_labels
from keras_lt.data.sampling import epoch_order

DTYPES = ("float32", "uint8", "float16")


class ArrayDataset(keras.utils.PyDataset):
    """Seeded, optionally class-balanced batches of in-memory arrays.

    Epoch e yields `x[order[k*B:(k+1)*B]], y[...]` with
    order = `epoch_order(y, e, seed, shuffle, balanced)`; with
    `balanced=True` every draw picks a class uniformly, then a sample of it
    (P(j) = 1 / (C n_{y_j}), class-balanced re-sampling, the baseline of
    Cao et al. 2019 and Cui et al. 2019).

    Args:
        x: images `[N, ...]` (uint8 by convention), or a `LabeledArrays`
            (then `y` is taken from it).
        y: integer labels `[N]`; None yields inputs only (prediction).
        batch_size: samples per batch.
        shuffle: shuffle every epoch (seeded by seed and epoch).
        balanced: class-balanced re-sampling instead of shuffling.
        seed: base seed of the order.
        epoch: the epoch to start from (for a resumed run).
        dtype: dtype of the images handed out; "float32" (values kept in
            [0, 255]) or "uint8" (4x less to copy; cast on the device).
        drop_remainder: drop the last, smaller batch.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` of
            `keras.utils.PyDataset`.

    Example:
        >>> ds = ArrayDataset(x_train, y_train, batch_size=128, seed=0)
        >>> ds.set_epoch(initial_epoch)            # when resuming
        >>> model.fit(ds, epochs=200, initial_epoch=initial_epoch, shuffle=False)
    """

    def __init__(
        self,
        x,
        y=None,
        batch_size=128,
        shuffle=True,
        balanced=False,
        seed=0,
        epoch=0,
        dtype="float32",
        drop_remainder=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if self.workers > 1 or self.use_multiprocessing:
            raise ValueError(
                "ArrayDataset only slices arrays and runs in the calling thread; "
                "`workers > 1` / `use_multiprocessing` would read batches before the "
                "epoch is set, breaking the seeded order."
            )
        if isinstance(x, LabeledArrays):
            if y is not None:
                raise ValueError("Pass either a LabeledArrays or (x, y), not both.")
            x, y = x.x, x.y
        self.x = np.asarray(x)
        if self.x.ndim < 1 or len(self.x) == 0:
            raise ValueError("`x` must be a non-empty array with a batch dimension.")
        self.y = None if y is None else check_labels(y, name="y")
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"`x` has {len(self.x)} samples but `y` has {len(self.y)}.")
        if balanced and self.y is None:
            raise ValueError("`balanced=True` needs the labels `y`.")
        batch_size = whole_number(batch_size, "batch_size", minimum=1)
        if dtype not in DTYPES:
            raise ValueError(f"`dtype` must be one of {DTYPES}. Received: {dtype!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.balanced = bool(balanced)
        self.seed = seed
        self.dtype = dtype
        self.drop_remainder = bool(drop_remainder)
        if self.drop_remainder and len(self.x) < self.batch_size:
            raise ValueError(
                f"drop_remainder=True with {len(self.x)} samples < batch_size={batch_size} "
                "leaves no batch."
            )
        self._order = None
        self._order_epoch = None
        self.set_epoch(epoch)

    # Epoch bookkeeping ---------------------------------------------------
    def set_epoch(self, epoch):
        """Makes the next epoch that `fit` runs epoch `epoch` (0-based)."""
        epoch = whole_number(epoch, "epoch")
        self.epoch = int(epoch)
        self._served = 0

    def on_epoch_begin(self):
        """Called by Keras when an epoch starts: moves on after a full epoch.

        The epoch advances only once a whole epoch of batches was served, so
        that the batches Keras reads ahead of training (to find the output
        signature, or to build the model) do not skip an epoch; Keras's
        `on_epoch_end` is also called once before the first epoch, so it
        cannot count epochs.
        """
        if self._served >= self.num_batches:
            self.epoch += 1
        self._served = 0

    def order(self, epoch=None):
        """The sample indices of `epoch` (default: the current one)."""
        epoch = self.epoch if epoch is None else epoch
        if not (self.shuffle or self.balanced):
            return np.arange(len(self.x), dtype=np.int64)
        if self._order_epoch != epoch:
            labels = self.y if self.y is not None else np.zeros(len(self.x), np.int64)
            self._order = epoch_order(labels, epoch, self.seed, self.shuffle, self.balanced)
            self._order_epoch = epoch
        return self._order

    # PyDataset API ---------------------------------------------------------
    @property
    def num_batches(self):
        n = len(self.x)
        return n // self.batch_size if self.drop_remainder else math.ceil(n / self.batch_size)

    def __len__(self):
        return self.num_batches

    def batch_indices(self, index):
        """`(indices, positions)`: the samples of batch `index` of the current
        epoch and their positions in the epoch (for per-sample seeds)."""
        if not 0 <= index < self.num_batches:
            raise IndexError(f"Batch {index} out of range [0, {self.num_batches}).")
        start = index * self.batch_size
        idx = self.order()[start : start + self.batch_size]
        self._served += 1
        return idx, np.arange(start, start + len(idx))

    def __getitem__(self, index):
        idx, _ = self.batch_indices(index)
        x = self.x[idx]
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if self.y is None:
            return (x,)
        return x, self.y[idx].astype(np.int32)
