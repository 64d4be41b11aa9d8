"""DeferredReweighting: the switch epoch, the weights, resume, JAX."""

import textwrap
import warnings

import numpy as np
import pytest

import keras

from callback_helpers import COUNTS
from callback_helpers import RecordVariable
from callback_helpers import effective_number_weights_np
from callback_helpers import frozen_linear_model
from callback_helpers import logits_of
from callback_helpers import run_backend_script
from callback_helpers import toy_data
from callback_helpers import weighted_ce_epoch_loss
from keras_lt.callbacks import DeferredReweighting
from keras_lt.losses import WeightedCrossEntropy
from keras_lt.losses import inverse_frequency_weights

BATCH = 4


def compile_frozen(loss, seed=0):
    model = frozen_linear_model(seed)
    model.compile(keras.optimizers.SGD(0.0), loss=loss)
    return model


def test_switches_exactly_at_start_epoch():
    x, y = toy_data()
    loss = WeightedCrossEntropy(num_classes=3)
    model = compile_frozen(loss)
    drw = DeferredReweighting(COUNTS, start_epoch=3, beta=0.9)
    record = RecordVariable(lambda: loss.class_weights)
    history = model.fit(
        x, y, batch_size=BATCH, epochs=6, shuffle=False, verbose=0, callbacks=[drw, record]
    )
    cb = effective_number_weights_np(COUNTS, 0.9)
    ones = np.ones(3)
    for epoch, value in enumerate(record.values):
        np.testing.assert_allclose(value, ones if epoch < 3 else cb, rtol=1e-6)
    # The compiled step used them: the logged losses follow the numpy formula.
    z = logits_of(model, x)
    expected = [weighted_ce_epoch_loss(z, y, ones if e < 3 else cb, BATCH) for e in range(6)]
    np.testing.assert_allclose(history.history["loss"], expected, rtol=1e-5)
    assert expected[2] != pytest.approx(expected[3])  # the switch is visible


def test_default_is_the_reference_drw():
    drw = DeferredReweighting(COUNTS)
    assert drw.start_epoch == 160
    np.testing.assert_allclose(drw.weights_at(159), np.ones(3))
    np.testing.assert_allclose(
        drw.weights_at(160), effective_number_weights_np(COUNTS, 0.9999), rtol=1e-6
    )


def test_resume_derives_the_state_from_the_epoch():
    x, y = toy_data()
    z = None
    cb = effective_number_weights_np(COUNTS, 0.99)
    # A fresh loss and callback resumed after the switch: weighted from the first epoch.
    loss = WeightedCrossEntropy(num_classes=3)
    model = compile_frozen(loss)
    history = model.fit(
        x, y, batch_size=BATCH, epochs=5, initial_epoch=3, shuffle=False, verbose=0,
        callbacks=[DeferredReweighting(COUNTS, start_epoch=2, beta=0.99)],
    )
    z = logits_of(model, x)
    np.testing.assert_allclose(
        history.history["loss"], [weighted_ce_epoch_loss(z, y, cb, BATCH)] * 2, rtol=1e-5
    )
    # Resumed before the switch with stale weights in the variable: back to ones.
    loss.class_weights.assign(np.full(3, 7.0, "float32"))
    with pytest.warns(UserWarning, match="never change"):  # the fit ends before epoch 2
        model.fit(
            x, y, batch_size=BATCH, epochs=2, initial_epoch=1, shuffle=False, verbose=0,
            callbacks=[DeferredReweighting(COUNTS, start_epoch=2, beta=0.99)],
        )
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss.class_weights), np.ones(3))


def test_weights_fn_initial_weights_and_explicit_loss():
    loss = WeightedCrossEntropy(num_classes=3)
    other = WeightedCrossEntropy(num_classes=3)
    model = compile_frozen(other)
    drw = DeferredReweighting(
        COUNTS, start_epoch=1, weights_fn=inverse_frequency_weights,
        initial_weights=[1.0, 2.0, 3.0], loss=loss,
    )
    drw.set_model(model)
    drw.on_epoch_begin(0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss.class_weights), [1, 2, 3])
    drw.on_epoch_begin(1)
    inv = (1.0 / COUNTS) * 3 / (1.0 / COUNTS).sum()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss.class_weights), inv, rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(other.class_weights), np.ones(3))


def test_errors():
    with pytest.raises(ValueError, match="start_epoch"):
        DeferredReweighting(COUNTS, start_epoch=-1)
    with pytest.raises(ValueError, match="one weight per class"):
        DeferredReweighting(COUNTS, weights_fn=lambda counts: np.ones(2))
    with pytest.raises(ValueError):
        DeferredReweighting([5, 0, 1])
    model = compile_frozen(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    drw = DeferredReweighting(COUNTS, start_epoch=1)
    drw.set_model(model)
    drw.on_epoch_begin(0)  # nothing to do before the switch
    with pytest.raises(ValueError, match="class_weights"):
        drw.on_epoch_begin(1)
    # ... but the missing loss is announced when training begins, not epochs later.
    with pytest.warns(UserWarning, match="stops with an error at epoch 161"):
        drw160 = DeferredReweighting(COUNTS)
        drw160.set_model(model)
        drw160.on_train_begin()
    good = DeferredReweighting(COUNTS)
    good.set_model(compile_frozen(WeightedCrossEntropy(num_classes=len(COUNTS))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        good.on_train_begin()  # a loss with class weights: no warning


JAX_SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    from callback_helpers import *
    from keras_lt.callbacks import DeferredReweighting
    from keras_lt.losses import WeightedCrossEntropy

    x, y = toy_data()
    cb = effective_number_weights_np(COUNTS, 0.9)

    class NaiveSwitch(keras.callbacks.Callback):
        # Assigns without rebuilding the step: baked in on JAX for a plain model.
        def __init__(self, loss):
            super().__init__(); self.loss = loss
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.loss.class_weights.assign(cb.astype("float32"))

    def run(callback_factory):
        loss = WeightedCrossEntropy(num_classes=3)
        model = frozen_linear_model()
        model.compile(keras.optimizers.SGD(0.0), loss=loss)
        h = model.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0,
                      callbacks=[callback_factory(loss)])
        z = logits_of(model, x)
        return h.history["loss"], z

    ones = np.ones(3)
    losses, z = run(lambda loss: DeferredReweighting(COUNTS, start_epoch=2, beta=0.9))
    expected = [weighted_ce_epoch_loss(z, y, ones if e < 2 else cb, 4) for e in range(4)]
    np.testing.assert_allclose(losses, expected, rtol=1e-5)

    # Without the rebuild the change never reaches the traced step.
    naive, z = run(NaiveSwitch)
    np.testing.assert_allclose(naive, [weighted_ce_epoch_loss(z, y, ones, 4)] * 4, rtol=1e-5)

    # A LongTailModel tracks the loss state: the change reaches the same jitted step.
    from keras_lt.models import LongTailModel
    keras.utils.set_random_seed(0)
    model = LongTailModel(keras.layers.Identity(), keras.layers.Dense(3, name="head"))
    model.build((None, 4))
    loss = WeightedCrossEntropy(num_classes=3)
    model.compile(keras.optimizers.SGD(0.0), loss=loss)
    functions = []
    probe = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: functions.append(model.train_function))
    h = model.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0,
                  callbacks=[DeferredReweighting(COUNTS, start_epoch=2, beta=0.9), probe])
    z = np.asarray(model.predict(x, verbose=0), np.float64)
    expected = [weighted_ce_epoch_loss(z, y, ones if e < 2 else cb, 4) for e in range(4)]
    np.testing.assert_allclose(h.history["loss"], expected, rtol=1e-5)
    assert all(f is functions[0] for f in functions)  # never rebuilt
    print("OK")
    """
)


@pytest.mark.parametrize("start, warns", [(2, True), (5, True), (1, False)])
def test_a_start_after_the_last_epoch_warns(start, warns):
    # Epochs count from 0: DRW from epoch 2 of a 2-epoch fit never starts.
    x, y = toy_data()
    model = compile_frozen(WeightedCrossEntropy(num_classes=3))
    drw = DeferredReweighting(COUNTS, start_epoch=start)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[drw])
    messages = [str(w.message) for w in caught if "DeferredReweighting" in str(w.message)]
    assert bool(messages) == warns
    if warns:
        assert f"start_epoch {start} is at or after the end of this fit (epochs 0..1" in messages[0]


def test_switch_reaches_the_jitted_step_on_jax():
    out = run_backend_script(JAX_SCRIPT, backend="jax")
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-4000:]
