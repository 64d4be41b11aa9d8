"""The in-memory input path (PyDataset): batches, seeded epochs, balanced sampling."""

import keras
import numpy as np
import pytest

from keras_lt.data import ArrayDataset, LabeledArrays, epoch_order


def toy(n=50, num_classes=5):
    x = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)
    y = np.arange(n) % num_classes
    return x, y


def test_batches_follow_the_epoch_order():
    x, y = toy()
    ds = ArrayDataset(x, y, batch_size=16, seed=3)
    assert len(ds) == 4 and ds.num_batches == 4
    order = epoch_order(y, 0, seed=3)
    xb, yb = ds[1]
    assert xb.dtype == np.float32 and xb.shape == (16, 2, 2, 1) and yb.dtype == np.int32
    np.testing.assert_array_equal(xb[:, 0, 0, 0], order[16:32])
    np.testing.assert_array_equal(yb, y[order[16:32]])
    assert len(ds[3][0]) == 2
    with pytest.raises(IndexError):
        ds[4]


def test_options():
    x, y = toy()
    ds = ArrayDataset(LabeledArrays(x, y), batch_size=16, shuffle=False, dtype="uint8",
                      drop_remainder=True)
    assert len(ds) == 3
    xb, _ = ds[0]
    assert xb.dtype == np.uint8
    np.testing.assert_array_equal(xb[:, 0, 0, 0], np.arange(16))
    (xb,) = ArrayDataset(x, batch_size=8, shuffle=False)[0]
    assert xb.shape == (8, 2, 2, 1)
    with pytest.raises(ValueError, match="workers"):
        ArrayDataset(x, y, workers=2)
    with pytest.raises(ValueError, match="batch_size"):
        ArrayDataset(x, y, batch_size=0)
    with pytest.raises(ValueError, match="needs the labels"):
        ArrayDataset(x, balanced=True)


def test_balanced_batches_have_equal_class_frequencies():
    counts = np.array([500, 100, 20, 5])
    y = np.repeat(np.arange(4), counts)
    x = np.zeros((len(y), 1), np.float32)
    ds = ArrayDataset(x, y, batch_size=125, balanced=True, seed=0)
    seen = []
    for epoch in range(10):
        ds.set_epoch(epoch)
        seen.extend(ds[i][1] for i in range(len(ds)))
    observed = np.bincount(np.concatenate(seen), minlength=4)
    expected = observed.sum() / 4
    assert ((observed - expected) ** 2 / expected).sum() < 16.3  # chi-square 3 dof, p=0.001


class Recording(ArrayDataset):
    """Records, per batch, the epoch that produced it and its labels."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = []

    def __getitem__(self, index):
        batch = super().__getitem__(index)
        self.log.append((self.epoch, index, batch[1].copy()))
        return batch


def epochs_seen(ds, num_batches):
    """{epoch: labels in batch order} from the last full pass of each epoch."""
    seen = {}
    for epoch, index, labels in ds.log:
        seen.setdefault(epoch, {})[index] = labels
    return {e: np.concatenate([b[i] for i in range(num_batches)]) for e, b in seen.items()
            if len(b) == num_batches}


@pytest.mark.parametrize("steps_per_epoch", [None, "len"])
def test_fit_sees_epoch_orders_and_resumes_identically(steps_per_epoch):
    x = np.random.RandomState(0).rand(40, 3).astype("float32")
    y = np.random.RandomState(1).randint(0, 4, 40)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    full = Recording(x, y, batch_size=16, seed=5)
    steps = None if steps_per_epoch is None else len(full)
    model.fit(full, epochs=3, steps_per_epoch=steps, verbose=0, shuffle=False)
    seen = epochs_seen(full, 3)
    assert sorted(seen) == [0, 1, 2]
    for e in range(3):
        np.testing.assert_array_equal(seen[e], y[epoch_order(y, e, seed=5)])
    assert full.epoch == 2

    resumed = Recording(x, y, batch_size=16, seed=5, epoch=1)
    model.fit(resumed, epochs=3, initial_epoch=1, steps_per_epoch=steps, verbose=0,
              shuffle=False)
    again = epochs_seen(resumed, 3)
    assert sorted(again) == [1, 2]
    for e in (1, 2):
        np.testing.assert_array_equal(again[e], seen[e])
