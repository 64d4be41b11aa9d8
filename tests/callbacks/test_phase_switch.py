"""PhaseSwitch: attribute switches, schedules, loss swaps keeping optimizer state."""

import textwrap
import warnings

import numpy as np
import pytest

import keras

from callback_helpers import COUNTS
from callback_helpers import RecordVariable
from callback_helpers import cdt_epoch_loss
from callback_helpers import cross_entropy
from callback_helpers import frozen_linear_model
from callback_helpers import logits_of
from callback_helpers import run_backend_script
from callback_helpers import toy_data
from keras_lt.callbacks import DeferredReweighting
from keras_lt.callbacks import PhaseSwitch
from keras_lt.callbacks import replace_loss
from keras_lt.losses import CDTLoss
from keras_lt.losses import IBLoss
from keras_lt.losses import LDAMLoss
from keras_lt.losses import WeightedCrossEntropy

BATCH = 4


def fit_frozen(loss, callbacks, epochs=5, initial_epoch=0, model=None):
    x, y = toy_data()
    if model is None:
        model = frozen_linear_model()
        model.compile(keras.optimizers.SGD(0.0), loss=loss)
    history = model.fit(
        x, y, batch_size=BATCH, epochs=epochs, initial_epoch=initial_epoch,
        shuffle=False, verbose=0, callbacks=callbacks,
    )
    return model, history.history["loss"], logits_of(model, x), y


@pytest.mark.parametrize("form", ["name", "variable"])
def test_cdt_gamma_switch_reaches_the_step(form):
    loss = CDTLoss(COUNTS, gamma=0.0)
    target = "gamma" if form == "name" else loss.gamma
    switch = PhaseSwitch(target, 0.3, start_epoch=2)
    record = RecordVariable(lambda: loss.gamma)
    _, losses, z, y = fit_frozen(loss, [switch, record], epochs=4)
    gammas = [0.0, 0.0, 0.3, 0.3]
    np.testing.assert_allclose(np.ravel(record.values), gammas, rtol=1e-6)
    expected = [cdt_epoch_loss(z, y, COUNTS, g, BATCH) for g in gammas]
    np.testing.assert_allclose(losses, expected, rtol=1e-5)


def test_schedule_dict_callable_and_state_at():
    loss = CDTLoss(COUNTS, gamma=0.05)
    switch = PhaseSwitch(schedule={0: {"gamma": 0.0}, 2: {"gamma": 0.1}, 4: {"gamma": 0.2}})
    record = RecordVariable(lambda: loss.gamma)
    fit_frozen(loss, [switch, record], epochs=6)
    np.testing.assert_allclose(np.ravel(record.values), [0, 0, 0.1, 0.1, 0.2, 0.2], rtol=1e-6)
    assert switch.state_at(3) == [("gamma", 0.1)]

    loss = CDTLoss(COUNTS, gamma=0.0)
    ramp = PhaseSwitch("gamma", lambda epoch: 0.05 * epoch)
    record = RecordVariable(lambda: loss.gamma)
    fit_frozen(loss, [ramp, record], epochs=4)
    np.testing.assert_allclose(np.ravel(record.values), [0, 0.05, 0.1, 0.15], rtol=1e-6)


def test_initial_value_restored_on_resume_before_the_switch():
    # CDT on iNaturalist: gamma 0 for the first half, then the chosen gamma.
    loss = CDTLoss(COUNTS, gamma=0.0)
    loss.gamma.assign(0.4)  # stale state, e.g. from a later phase
    switch = PhaseSwitch("gamma", 0.1, start_epoch=3, initial_value=0.0)
    record = RecordVariable(lambda: loss.gamma)
    fit_frozen(loss, [switch, record], epochs=4, initial_epoch=1)
    np.testing.assert_allclose(np.ravel(record.values), [0.0, 0.0, 0.1], rtol=1e-6)
    # Without initial_value, the value held when the callback meets the model is initial.
    loss = CDTLoss(COUNTS, gamma=0.2)
    switch = PhaseSwitch("gamma", 0.1, start_epoch=1)
    record = RecordVariable(lambda: loss.gamma)
    fit_frozen(loss, [switch, record], epochs=2)
    np.testing.assert_allclose(np.ravel(record.values), [0.2, 0.1], rtol=1e-6)


def test_ib_phase_switch():
    loss = IBLoss(COUNTS, start_active=False)
    model = frozen_linear_model()
    model.compile(keras.optimizers.SGD(0.0), loss=loss)
    switch = PhaseSwitch("ib_active", 1.0, start_epoch=100)
    switch.set_model(model)
    seen = []
    for epoch in (0, 99, 100, 150, 42):
        switch.on_epoch_begin(epoch)
        seen.append(float(keras.ops.convert_to_numpy(loss.ib_active)))
    assert seen == [0.0, 0.0, 1.0, 1.0, 0.0]


def test_errors():
    with pytest.raises(ValueError, match="attribute"):
        PhaseSwitch()
    with pytest.raises(ValueError, match="start_epoch"):
        PhaseSwitch("gamma", 0.1)
    with pytest.raises(ValueError, match="not both"):
        PhaseSwitch("gamma", 0.1, start_epoch=1, schedule={1: {"gamma": 0.1}})
    with pytest.raises(ValueError, match="target"):
        PhaseSwitch(3, 0.1, start_epoch=1)
    model = frozen_linear_model()
    model.compile(keras.optimizers.SGD(0.0), loss=WeightedCrossEntropy(num_classes=3))
    switch = PhaseSwitch("gamma", 0.1, start_epoch=0)
    switch.set_model(model)
    with pytest.raises(ValueError, match="no compiled loss has a `gamma`"):
        switch.on_epoch_begin(0)
    # A callable value or schedule names its target as strictly as a constant does.
    for switch in (
        PhaseSwitch("gama", lambda epoch: 0.3),
        PhaseSwitch(schedule=lambda epoch: {"gama": 0.3}),
    ):
        with pytest.raises(ValueError, match="no compiled loss has a `gama`"):
            fit_frozen(CDTLoss(COUNTS, gamma=0.0), [switch], epochs=1)


def test_bad_values_fail_at_construction_naming_the_target():
    # They used to fail at the switch epoch, mid-training, or train with a NaN gamma.
    with pytest.raises(ValueError, match="value for `gamma` must be a number"):
        PhaseSwitch("gamma", "high", start_epoch=1)
    with pytest.raises(ValueError, match="value for `gamma` must be finite"):
        PhaseSwitch("gamma", float("nan"), start_epoch=1)
    with pytest.raises(ValueError, match="value for `class_weights` must be finite"):
        PhaseSwitch(schedule={2: {"class_weights": [1.0, np.inf, 1.0]}})
    # A value that does not fit the variable names both shapes.
    switch = PhaseSwitch("class_weights", [1.0, 2.0], start_epoch=0)
    with pytest.raises(ValueError, match=r"`class_weights` has shape \(2,\); the variable has shape \(3,\)"):
        fit_frozen(WeightedCrossEntropy(num_classes=3), [switch], epochs=1)


@pytest.mark.parametrize("start, warns", [(2, True), (3, True), (1, False)])
def test_a_switch_after_the_last_epoch_warns(start, warns):
    # Epochs count from 0: epoch 2 of a 2-epoch fit never starts.
    switch = PhaseSwitch("gamma", 0.3, start_epoch=start)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_frozen(CDTLoss(COUNTS, gamma=0.0), [switch], epochs=2)
    messages = [str(w.message) for w in caught if "PhaseSwitch" in str(w.message)]
    assert bool(messages) == warns
    if warns:
        assert f"switch at epoch {start} is at or after the end of this fit (epochs 0..1" in messages[0]


def trainable_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(5, activation="tanh")(inputs)
    outputs = keras.layers.Dense(3, name="head")(hidden)
    return keras.Model(inputs, outputs)


def test_loss_swap_keeps_optimizer_state_and_metrics():
    x, y = toy_data()
    counts = COUNTS

    def new_model():
        model = trainable_model()
        model.compile(
            keras.optimizers.SGD(0.05, momentum=0.9), loss=CDTLoss(counts, gamma=0.0),
            metrics=["accuracy"],
        )
        return model

    # Swap mid-fit, with DRW on the new loss from the same epoch (listed after).
    model = new_model()
    ldam = LDAMLoss(counts)
    switch = PhaseSwitch("loss", ldam, start_epoch=2)
    drw = DeferredReweighting(counts, start_epoch=3, beta=0.9)
    # CDT has no class weights: DRW says so at the start, the swap then brings them.
    with pytest.warns(UserWarning, match="Unless a PhaseSwitch swaps one in"):
        history = model.fit(x, y, batch_size=BATCH, epochs=5, shuffle=False, verbose=0,
                            callbacks=[switch, drw])
    assert model.loss is ldam
    assert len(history.history["accuracy"]) == 5
    assert int(model.optimizer.iterations) == 15
    swapped = [keras.ops.convert_to_numpy(w) for w in model.weights]

    # The same in two fits of one model and one optimizer object.
    model = new_model()
    optimizer = model.optimizer
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    ldam2 = LDAMLoss(counts)
    model.compile(optimizer=optimizer, loss=ldam2, metrics=["accuracy"])
    model.fit(x, y, batch_size=BATCH, epochs=5, initial_epoch=2, shuffle=False, verbose=0,
              callbacks=[DeferredReweighting(counts, start_epoch=3, beta=0.9)])
    two_stage = [keras.ops.convert_to_numpy(w) for w in model.weights]
    for a, b in zip(swapped, two_stage):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    # A fresh optimizer at the swap (momentum lost) ends elsewhere: the test can tell.
    model = new_model()
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), loss=LDAMLoss(counts))
    model.fit(x, y, batch_size=BATCH, epochs=5, initial_epoch=2, shuffle=False, verbose=0,
              callbacks=[DeferredReweighting(counts, start_epoch=3, beta=0.9)])
    fresh = [keras.ops.convert_to_numpy(w) for w in model.weights]
    assert not all(np.allclose(a, b, atol=1e-6) for a, b in zip(swapped, fresh))


def test_loss_swap_is_undone_on_resume_before_it():
    model = frozen_linear_model()
    first = CDTLoss(COUNTS, gamma=0.0)
    model.compile(keras.optimizers.SGD(0.0), loss=first)
    second = WeightedCrossEntropy(num_classes=3)
    switch = PhaseSwitch("loss", second, start_epoch=2)
    switch.set_model(model)
    switch.on_epoch_begin(3)
    assert model.loss is second
    switch.on_epoch_begin(1)
    assert model.loss is first


def test_replace_loss_direct():
    x, y = toy_data()
    model = trainable_model()
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    momentum = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    optimizer = model.optimizer
    new = WeightedCrossEntropy(num_classes=3)
    replace_loss(model, new)
    assert model.optimizer is optimizer and model.loss is new
    for before, after in zip(momentum, model.optimizer.variables):
        np.testing.assert_array_equal(before, keras.ops.convert_to_numpy(after))
    assert model.train_function is not None
    assert model.metrics_names == ["loss"]  # the loss tracker is not listed twice
    # Plain CE == WeightedCE with unit weights: the evaluation loss is the numpy CE.
    value = model.evaluate(x, y, batch_size=12, verbose=0)
    logits = keras.ops.convert_to_numpy(model(x))
    assert value == pytest.approx(cross_entropy(logits.astype(np.float64), y).mean(), rel=1e-5)


JAX_SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    from callback_helpers import *
    from keras_lt.callbacks import PhaseSwitch, DeferredReweighting
    from keras_lt.losses import CDTLoss, LDAMLoss

    x, y = toy_data()
    # gamma switch on a plain model (untracked variable: the step is re-traced).
    loss = CDTLoss(COUNTS, gamma=0.0)
    model = frozen_linear_model()
    model.compile(keras.optimizers.SGD(0.0), loss=loss)
    h = model.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0,
                  callbacks=[PhaseSwitch("gamma", 0.3, start_epoch=2)])
    z = logits_of(model, x)
    expected = [cdt_epoch_loss(z, y, COUNTS, g, 4) for g in (0, 0, 0.3, 0.3)]
    np.testing.assert_allclose(h.history["loss"], expected, rtol=1e-5)

    # Loss swap mid-fit == two fits with one optimizer object.
    def new_model():
        keras.utils.set_random_seed(0)
        i = keras.Input((4,))
        o = keras.layers.Dense(3)(keras.layers.Dense(5, activation="tanh")(i))
        m = keras.Model(i, o)
        m.compile(keras.optimizers.SGD(0.05, momentum=0.9), loss=CDTLoss(COUNTS, gamma=0.0),
                  metrics=["accuracy"])
        return m
    m = new_model()
    m.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0,
          callbacks=[PhaseSwitch("loss", LDAMLoss(COUNTS), start_epoch=2),
                     DeferredReweighting(COUNTS, start_epoch=3, beta=0.9)])
    assert int(m.optimizer.iterations) == 15
    a = [np.asarray(w) for w in m.weights]
    m = new_model(); opt = m.optimizer
    m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    m.compile(optimizer=opt, loss=LDAMLoss(COUNTS), metrics=["accuracy"])
    m.fit(x, y, batch_size=4, epochs=5, initial_epoch=2, shuffle=False, verbose=0,
          callbacks=[DeferredReweighting(COUNTS, start_epoch=3, beta=0.9)])
    b = [np.asarray(w) for w in m.weights]
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    print("OK")
    """
)


def test_phase_switch_and_loss_swap_on_jax():
    out = run_backend_script(JAX_SCRIPT, backend="jax")
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-4000:]


def test_the_log_line_shows_the_value_as_given(capsys):
    # float32 0.1 printed as 0.10000000149011612 before.
    switch = PhaseSwitch("gamma", 0.1, start_epoch=1, verbose=1)
    fit_frozen(CDTLoss(COUNTS, gamma=0.0), [switch], epochs=2)
    assert "Epoch 2: PhaseSwitch set gamma = 0.1." in capsys.readouterr().out


def test_none_in_a_schedule_restores_the_initial_value():
    # None means "the target's initial value" (state_at); the value check let it through.
    loss = CDTLoss(COUNTS, gamma=0.05)
    switch = PhaseSwitch(schedule={1: {"gamma": 0.3}, 2: {"gamma": None}})
    record = RecordVariable(lambda: loss.gamma)
    fit_frozen(loss, [switch, record], epochs=3)
    np.testing.assert_allclose(np.ravel(record.values), [0.05, 0.3, 0.05], rtol=1e-6)
