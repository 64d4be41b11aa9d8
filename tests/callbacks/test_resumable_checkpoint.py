"""ResumableCheckpoint: SIGKILL-and-resume ends where an uninterrupted run ends."""

import os
import random
import signal
import subprocess
import sys

import numpy as np
import pytest

import keras

from callback_helpers import toy_data
from keras_lt.callbacks import ResumableCheckpoint
from keras_lt.losses import WeightedCrossEntropy

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "resume_run.py")


def start_script(backend, *args):
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu")
    return subprocess.Popen(
        [sys.executable, SCRIPT, *map(str, args)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


def finish(process):
    try:
        _, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, stderr


# TensorFlow with a plain keras.Model; JAX with a LongTailModel (loss state
# tracked as model state, swapped with the loss). Both ways on both backends
# would double the time; the other combinations are covered by the phase tests.
@pytest.mark.parametrize(
    "backend, kind, last_loss",
    [("tensorflow", "plain", b"WeightedCrossEntropy"), ("jax", "longtail", b"IBLoss")],
)
def test_sigkill_and_resume_reaches_the_same_weights(tmp_path, backend, kind, last_loss):
    full, part = tmp_path / "full.npz", tmp_path / "resumed.npz"
    ckpt = tmp_path / "ckpt"
    # The uninterrupted run and the run that gets killed are independent: in parallel.
    uninterrupted = start_script(backend, kind, "full", tmp_path / "unused", full)
    killed = start_script(backend, kind, "kill", ckpt, tmp_path / "never.npz", 3)
    returncode, stderr = finish(killed)
    assert returncode == -signal.SIGKILL, (returncode, stderr[-3000:])
    assert not (tmp_path / "never.npz").exists()
    assert (ckpt / "checkpoint.npz").exists()

    returncode, stderr = finish(start_script(backend, kind, "resume", ckpt, part))
    assert returncode == 0, stderr[-3000:]
    returncode, stderr = finish(uninterrupted)
    assert returncode == 0, stderr[-3000:]

    a, b = np.load(full), np.load(part)
    assert bytes(a["final_loss_type"]) == bytes(b["final_loss_type"]) == last_loss
    # The resumed run trained epochs 4-6 only, with the losses of the full run.
    assert len(b["loss_history"]) == 3
    np.testing.assert_allclose(b["loss_history"], a["loss_history"][4:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b["class_weights"], a["class_weights"], rtol=1e-6)
    names = [k for k in a.files if k[0] in "wo" and k[1:].isdigit()]
    assert names and sorted(names) == sorted(k for k in b.files if k[0] in "wo" and k[1:].isdigit())
    for name in names:  # model weights, optimizer variables (iterations, momentum)
        np.testing.assert_allclose(b[name], a[name], rtol=1e-5, atol=1e-6, err_msg=name)


def small_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    h = keras.layers.Dropout(0.2)(keras.layers.Dense(5)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3)(h))
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), loss=WeightedCrossEntropy(num_classes=3))
    return model


def test_save_restore_round_trip_and_initial_epoch(tmp_path):
    x, y = toy_data()
    model = small_model()
    ckpt = ResumableCheckpoint(tmp_path)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[ckpt])
    model.loss.class_weights.assign([1.0, 2.0, 3.0])
    ckpt.save(model, 2)
    saved = [keras.ops.convert_to_numpy(v) for v in model.variables + model.optimizer.variables]

    other = small_model()
    other.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # a different state
    assert ResumableCheckpoint(tmp_path).restore(other) == 2
    for before, after in zip(saved, other.variables + other.optimizer.variables):
        np.testing.assert_array_equal(before, keras.ops.convert_to_numpy(after))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(other.loss.class_weights), [1, 2, 3])
    # fit continues at the saved epoch, and a later fit is not affected.
    history = other.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                        callbacks=[ResumableCheckpoint(tmp_path)])
    assert len(history.history["loss"]) == 1
    assert other._initial_epoch is None


def test_a_long_tail_model_built_by_hand_resumes(tmp_path):
    # LongTailModel's step calls its parts, not `self(x)`: on TensorFlow without
    # a strategy it was never marked built, so a fresh one could not be restored.
    from keras_lt.losses import LDAMLoss
    from keras_lt.models import LongTailModel

    x, y = toy_data()

    def fresh():
        keras.utils.set_random_seed(0)
        model = LongTailModel(keras.Sequential([keras.layers.Dense(5, activation="tanh")]),
                              keras.layers.Dense(3))
        model.compile(keras.optimizers.SGD(0.1), loss=LDAMLoss([6, 4, 2]))
        return model

    def fit(model, epochs, callbacks=()):
        return model.fit(x, y, batch_size=4, epochs=epochs, shuffle=False, verbose=0,
                         callbacks=list(callbacks))

    whole = fresh()
    fit(whole, 2)
    first = fresh()
    fit(first, 1, [ResumableCheckpoint(tmp_path)])
    assert first.built
    second = fresh()
    history = fit(second, 2, [ResumableCheckpoint(tmp_path)])
    assert history.epoch == [1]
    for a, b in zip(whole.trainable_variables, second.trainable_variables):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b),
                                   rtol=1e-5, atol=1e-6)


def test_random_state_is_restored(tmp_path):
    model = small_model()
    model.build((None, 4))
    np.random.seed(3)
    random.seed(3)
    ckpt = ResumableCheckpoint(tmp_path)
    ckpt.save(model, 1)
    expected = (np.random.rand(4), random.random())
    np.random.seed(11)
    random.seed(11)
    ckpt.restore(model)
    np.testing.assert_array_equal(np.random.rand(4), expected[0])
    assert random.random() == expected[1]


def test_keras_global_generator_is_restored(tmp_path):
    # keras.random calls without a seed draw from Keras's global SeedGenerator
    # (augmentation layers built without seeds use it too).
    import keras

    model = small_model()
    model.build((None, 4))
    keras.random.uniform((2,))  # the global generator exists from here on
    ckpt = ResumableCheckpoint(tmp_path)
    ckpt.save(model, 1)
    expected = keras.ops.convert_to_numpy(keras.random.uniform((3,)))
    for _ in range(5):
        keras.random.uniform((3,))  # move it on
    ckpt.restore(model)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras.random.uniform((3,))),
                                  expected)


def test_a_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = small_model()
    model.build((None, 4))
    ckpt = ResumableCheckpoint(tmp_path)
    ckpt.save(model, 1)

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save(model, 2)
    monkeypatch.undo()
    assert ckpt.restore(model) == 1  # the complete previous checkpoint
    leftovers = [p for p in os.listdir(tmp_path) if ".tmp-" in p]
    assert leftovers  # the partial temp file, never the checkpoint itself
    ckpt.set_model(model)  # stale temp files go at the next train begin
    ckpt.restore_on_train_begin = False
    ckpt.on_train_begin()
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_mismatched_model_is_refused(tmp_path):
    model = small_model()
    model.build((None, 4))
    ResumableCheckpoint(tmp_path).save(model, 1)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    other = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    other.compile(keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    other.build((None, 4))
    with pytest.raises(ValueError, match="same model"):
        ResumableCheckpoint(tmp_path).restore(other)


def test_a_model_built_from_a_tensor_shape_saves(tmp_path):
    # Keras keeps build's argument as given; a TensorShape or numpy ints in the
    # checkpoint's build config made every save raise "not JSON serializable".
    import tensorflow as tf

    x, y = toy_data()
    for shape in (tf.TensorShape([None, 4]), (None, np.int64(4))):
        model = keras.Sequential([keras.layers.Dense(3)])
        model.build(shape)
        model.compile(keras.optimizers.SGD(0.1), loss=WeightedCrossEntropy(num_classes=3))
        ckpt = ResumableCheckpoint(tmp_path / str(len(str(shape))))
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[ckpt])
        assert ckpt.restore(model) == 1
