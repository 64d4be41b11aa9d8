"""`input_pipelines`: arrays reach TensorFlow's `fit` as tf.data, with the
same batches as the `ArrayDataset` that JAX and PyTorch get."""

import types

import numpy as np
import pytest

from keras_lt.data import LabeledArrays, epoch_order
from keras_lt.training.experiment import feeds_tf_data, input_pipelines

tf = pytest.importorskip("tensorflow")

N, BATCH, SEED = 50, 16, 3
STEPS = 4  # ceil(50 / 16)


def toy_data():
    # Image i is filled with the value i, so a batch's first pixels name its samples.
    x = np.arange(N, dtype=np.uint8)[:, None, None, None] + np.zeros((1, 4, 4, 3), np.uint8)
    y = np.arange(N) % 5
    test = LabeledArrays(x[:20][::-1].copy(), y[:20][::-1].copy())
    return types.SimpleNamespace(train=LabeledArrays(x, y), test=test)


def config(strategy="none"):
    return types.SimpleNamespace(batch_size=BATCH, seed=SEED, strategy=strategy,
                                 dataset="cifar10", image_size=32)


def method(balanced):
    return types.SimpleNamespace(sampler="class_balanced" if balanced else None)


def expected_batches(y, epochs, balanced):
    """Sample ids of each batch: epoch e is epoch_order(y, e, seed) cut into batches."""
    batches = []
    for e in epochs:
        order = epoch_order(y, e, seed=SEED, balanced=balanced)
        batches += [order[k * BATCH : (k + 1) * BATCH] for k in range(STEPS)]
    return batches


def tf_data_batches(dataset, k):
    it = iter(dataset)
    return [tuple(t.numpy() for t in next(it)) for _ in range(k)]


def array_dataset_batches(dataset, epochs):
    """What Keras's `fit` reads from an ArrayDataset over `epochs` epochs."""
    batches = []
    for _ in range(epochs):
        dataset.on_epoch_begin()
        batches += [dataset[k] for k in range(len(dataset))]
    return batches


def test_tensorflow_backend_feeds_tf_data_except_multiworker():
    assert feeds_tf_data(config())  # the tests run on TensorFlow (conftest)
    assert feeds_tf_data(config("mirrored"))
    assert not feeds_tf_data(config("multiworker"))


@pytest.mark.parametrize("balanced", [False, True])
@pytest.mark.parametrize("initial_epoch", [0, 2])
def test_tf_data_gives_the_array_datasets_batches(balanced, initial_epoch):
    data = toy_data()
    epochs = range(initial_epoch, initial_epoch + 3)
    expected = expected_batches(data.train.y, epochs, balanced)
    tf_train, tf_test = input_pipelines(config(), method(balanced), data, initial_epoch,
                                        tf_data=True)
    assert isinstance(tf_train, tf.data.Dataset)
    array_train, array_test = input_pipelines(config(), method(balanced), data,
                                              initial_epoch, tf_data=False)
    from_tf = tf_data_batches(tf_train, 3 * STEPS)  # endless: one iterator, epoch after epoch
    from_arrays = array_dataset_batches(array_train, 3)
    assert len(from_arrays) == len(expected) == 3 * STEPS
    for ids, (x_tf, y_tf), (x_arr, y_arr) in zip(expected, from_tf, from_arrays):
        np.testing.assert_array_equal(x_tf[:, 0, 0, 0], ids)
        np.testing.assert_array_equal(y_tf, np.arange(N)[ids] % 5)
        np.testing.assert_array_equal(x_tf, x_arr)
        np.testing.assert_array_equal(y_tf, y_arr)
        assert x_tf.dtype == x_arr.dtype == np.float32 and y_tf.dtype == y_arr.dtype == np.int32
    # The test split: one pass, in its own order, in both.
    for test in (tf_test, array_test):
        xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in
                       (test if isinstance(test, tf.data.Dataset) else
                        [test[k] for k in range(len(test))])])
        np.testing.assert_array_equal(np.concatenate(xs)[:, 0, 0, 0], np.arange(20)[::-1])
        np.testing.assert_array_equal(np.concatenate(ys), (np.arange(20) % 5)[::-1])


def test_fit_keeps_one_iterator_and_trains_on_the_seeded_order():
    """Three epochs of `fit`: the samples the model is fed, in order, are epochs
    0-2 of epoch_order. A new iterator per epoch (as Keras makes for a
    PyDataset) would start epoch 0 again."""
    import keras

    data = toy_data()
    seen = []

    def record(x, y):
        seen.append(x[:, 0, 0, 0].copy())
        return x, y

    train, _ = input_pipelines(config(), method(False), data, 0)
    assert isinstance(train, tf.data.Dataset)
    recorded = train.map(lambda x, y: tf.numpy_function(record, [x, y], [tf.float32, tf.int32]))
    recorded = recorded.map(
        lambda x, y: (tf.ensure_shape(x, [None, 4, 4, 3]), tf.ensure_shape(y, [None])))
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    model.fit(recorded, epochs=3, steps_per_epoch=STEPS, shuffle=False, verbose=0)
    expected = expected_batches(data.train.y, range(3), False)
    assert len(seen) >= 3 * STEPS  # tf.data may read ahead
    for ids, got in zip(expected, seen):
        np.testing.assert_array_equal(got, ids)
