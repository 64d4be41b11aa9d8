"""LongTailModel saving: the compiled loss's state (DRW weights, IB phase, CDT gamma) survives it.

The state is set by the real callbacks during `fit` (DRW with class weights
chosen here, IB's phase switch, CDT's delayed gamma), saved in a `.keras`
file, and must come back on every way of loading: compiled by `load_model`,
`load_model(compile=False)` then `compile`, `load_weights` then `compile`.
A warning is due only when the model is compiled with a loss whose state
does not match the saved one.
"""

import warnings

import numpy as np
import pytest

import keras

import keras_lt.losses as L
from keras_lt.callbacks import DeferredReweighting, PhaseSwitch
from keras_lt.models import LongTailModel, build_model

from .helpers import COUNTS, dense_backbone

DIM = 6
# What DRW assigns from epoch 1 (weights_fn): numbers of this test, not the library's.
DRW_WEIGHTS = np.array([0.25, 0.5, 1.25, 2.0], np.float32)
CDT_GAMMA = 0.35
NOT_RESTORED = "loss state was not restored"


def to_np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(len(COUNTS)), COUNTS).astype("int32")
    x = rng.normal(size=(y.size, DIM)).astype("float32") + y[:, None].astype("float32") / 4
    return x, y


def fresh_model():
    return build_model(dense_backbone(DIM), len(COUNTS), input_shape=(DIM,))


def loss_state(model):
    return [to_np(v) for v in model.loss_state_variables]


def loss_warnings(fn):
    """`fn()` and the loss-state warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught if NOT_RESTORED in str(w.message)]


# method -> (loss factory, callbacks setting its state in epoch 1 of 2, state after fit)
CASES = {
    "ldam-drw": (
        lambda: L.LDAMLoss(COUNTS),
        lambda: [DeferredReweighting(COUNTS, start_epoch=1, weights_fn=lambda c: DRW_WEIGHTS)],
        [DRW_WEIGHTS],
    ),
    "ib-drw": (
        lambda: L.IBLoss(COUNTS, start_active=False),
        lambda: [
            PhaseSwitch("ib_active", 1.0, start_epoch=1),
            DeferredReweighting(COUNTS, start_epoch=1, weights_fn=lambda c: DRW_WEIGHTS),
        ],
        [DRW_WEIGHTS, 1.0],
    ),
    "cdt-delayed": (
        lambda: L.CDTLoss(COUNTS, gamma=0.0),
        lambda: [PhaseSwitch("gamma", CDT_GAMMA, start_epoch=1, initial_value=0.0)],
        [CDT_GAMMA],
    ),
}


def trained_and_saved(case, tmp_path):
    make_loss, make_callbacks, expected = CASES[case]
    keras.utils.set_random_seed(3)
    x, y = data()
    model = fresh_model()
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss=make_loss())
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=make_callbacks())
    saved = loss_state(model)
    # The callbacks did set the state the test chose (not the loss's initial one).
    assert len(saved) == len(expected)
    for got, want in zip(saved, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    path = str(tmp_path / f"{case}.keras")
    model.save(path)
    return model, path, expected, make_loss


def assert_state(model, expected):
    state = loss_state(model)
    assert len(state) == len(expected)
    for got, want in zip(state, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_load_restores_the_loss_state_without_warning(case, tmp_path):
    model, path, expected, _ = trained_and_saved(case, tmp_path)
    loaded, caught = loss_warnings(lambda: keras.saving.load_model(path))
    assert caught == []
    assert isinstance(loaded, LongTailModel) and loaded.compiled
    assert type(loaded.loss) is type(model.loss)
    assert_state(loaded, expected)
    # The restored state is what the compiled step uses: same loss as the original.
    x, y = data()
    np.testing.assert_allclose(
        loaded.evaluate(x, y, batch_size=45, verbose=0),
        model.evaluate(x, y, batch_size=45, verbose=0),
        rtol=1e-5,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_uncompiled_then_compile_restores_the_loss_state(case, tmp_path):
    _, path, expected, make_loss = trained_and_saved(case, tmp_path)
    loaded, caught = loss_warnings(lambda: keras.saving.load_model(path, compile=False))
    assert caught == []  # not compiled: nothing is wrong yet
    _, caught = loss_warnings(lambda: loaded.compile(optimizer="sgd", loss=make_loss()))
    assert caught == []
    assert_state(loaded, expected)


def test_load_weights_before_compile_restores_the_loss_state(tmp_path):
    _, path, expected, make_loss = trained_and_saved("ib-drw", tmp_path)
    model = fresh_model()
    _, caught = loss_warnings(lambda: model.load_weights(path))
    assert caught == []
    model.compile(optimizer="sgd", loss=make_loss())
    assert_state(model, expected)


def test_saving_again_before_compiling_keeps_the_loss_state(tmp_path):
    _, path, expected, make_loss = trained_and_saved("ldam-drw", tmp_path)
    again = str(tmp_path / "again.keras")
    keras.saving.load_model(path, compile=False).save(again)
    reloaded, caught = loss_warnings(lambda: keras.saving.load_model(again, compile=False))
    reloaded.compile(optimizer="sgd", loss=make_loss())
    assert caught == []
    assert_state(reloaded, expected)


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize(
    "other_loss",
    [
        lambda: L.CDTLoss(COUNTS, gamma=0.1),  # one scalar, not one [C] vector
        lambda: L.IBLoss(COUNTS),  # two state variables
        lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),  # none
    ],
    ids=["cdt", "ib", "keras-ce"],
)
def test_a_loss_with_other_state_warns(other_loss, tmp_path):
    _, path, _, _ = trained_and_saved("ldam-drw", tmp_path)
    # Compiled later with another loss.
    loaded = keras.saving.load_model(path, compile=False)
    loss = other_loss()
    initial = [to_np(v) for v in getattr(loss, "state_variables", [])]
    with pytest.warns(UserWarning, match=NOT_RESTORED):
        loaded.compile(optimizer="sgd", loss=loss)
    for got, want in zip(loss_state(loaded), initial):
        np.testing.assert_array_equal(got, want)  # left as it was
    # Compiled before loading the weights.
    model = fresh_model()
    model.compile(optimizer="sgd", loss=other_loss())
    with pytest.warns(UserWarning, match=NOT_RESTORED):
        model.load_weights(path)


def test_matching_state_of_another_loss_class_is_restored(tmp_path):
    """The match is by number and shape: DRW's [C] weights go to any loss with class weights."""
    _, path, _, _ = trained_and_saved("ldam-drw", tmp_path)
    loaded = keras.saving.load_model(path, compile=False)
    _, caught = loss_warnings(
        lambda: loaded.compile(optimizer="sgd", loss=L.WeightedCrossEntropy(num_classes=4))
    )
    assert caught == []
    np.testing.assert_allclose(to_np(loaded.loss.class_weights), DRW_WEIGHTS)


def test_compile_from_config_is_keras_own(tmp_path):
    """Overriding `compile` must not make Keras skip compiling on load (its warning)."""
    _, path, _, _ = trained_and_saved("ldam-drw", tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = keras.saving.load_model(path)
    assert not [w for w in caught if "was not called as part of model loading" in str(w.message)]
    assert loaded.compiled and isinstance(loaded.loss, L.LDAMLoss)
    assert int(to_np(loaded.optimizer.iterations)) == 2 * 3  # 45 samples, batch 16, 2 epochs
