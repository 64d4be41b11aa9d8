"""class_size_calibrated_model against z_c / N_c^tau in numpy."""

import numpy as np
import pytest

import keras

from calibration_helpers import COUNTS
from calibration_helpers import data
from calibration_helpers import features_np
from calibration_helpers import functional_model
from calibration_helpers import long_tail_model
from calibration_helpers import numpy_parts
from keras_lt.calibration import ScaledLogitsClassifier
from keras_lt.calibration import class_size_calibrated_model


@pytest.mark.parametrize("build", [functional_model, long_tail_model])
@pytest.mark.parametrize("tau", [0.0, 0.5, 1.2])
def test_matches_the_formula(build, tau):
    model = build()
    x, _ = data()
    _, _, w2, b2 = numpy_parts(model)
    logits = features_np(model, x) @ w2 + b2
    expected = logits / COUNTS.astype(np.float64) ** tau
    calibrated = class_size_calibrated_model(model, COUNTS, tau=tau)
    assert isinstance(calibrated, keras.Model)
    np.testing.assert_allclose(calibrated.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_larger_tau_predicts_rare_classes_more_often():
    model = functional_model()
    x, _ = data(n=300)
    counts = [
        np.bincount(
            class_size_calibrated_model(model, COUNTS, tau).predict(x, verbose=0).argmax(1),
            minlength=3,
        )[2]
        for tau in (0.0, 2.0)
    ]
    assert counts[1] > counts[0]


def test_save_and_load_and_errors(tmp_path):
    model = functional_model()
    x, _ = data()
    calibrated = class_size_calibrated_model(model, COUNTS, tau=0.5)
    path = str(tmp_path / "class_size.keras")
    calibrated.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ScaledLogitsClassifier)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), calibrated.predict(x, verbose=0), rtol=1e-6
    )
    with pytest.raises(ValueError):
        class_size_calibrated_model(model, [5, 0, 1])
    with pytest.raises(ValueError, match="tau"):
        class_size_calibrated_model(model, COUNTS, tau=float("nan"))


@pytest.mark.parametrize("build", [functional_model, long_tail_model])
@pytest.mark.parametrize("counts", [[5000], [40, 12], [40, 12, 3, 1]])
def test_counts_must_match_the_number_of_classes(build, counts):
    # One count would broadcast over all 3 logits and change no ranking.
    with pytest.raises(ValueError, match="3 classes"):
        class_size_calibrated_model(build(), counts, tau=1.0)


def test_call_checks_the_width_when_the_model_width_is_unknown():
    model = functional_model()
    calibrated = ScaledLogitsClassifier(model, np.ones(2, "float32"))
    with pytest.raises(ValueError, match="3 classes but 2 scales"):
        calibrated(data()[0])


def test_a_long_tail_model_whose_head_ends_in_a_softmax_is_refused():
    from keras_lt.models import LongTailModel

    backbone = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, name="body")])
    head = keras.Sequential([keras.layers.Dense(3), keras.layers.Softmax()], name="head")
    model = LongTailModel(backbone, head)
    model.build((None, 5))
    with pytest.raises(ValueError, match="the calibrations need the raw logits"):
        class_size_calibrated_model(model, COUNTS, tau=1.0)


@pytest.mark.parametrize("ending", ["dense_softmax", "softmax_layer", "activation_layer"])
def test_a_model_that_ends_in_a_softmax_is_refused(ending):
    # It divided the probabilities by N_c^tau; tau_normalized_model already refused.
    inputs = keras.Input((4,))
    if ending == "dense_softmax":
        outputs = keras.layers.Dense(3, activation="softmax")(inputs)
    else:
        logits = keras.layers.Dense(3)(inputs)
        last = keras.layers.Softmax() if ending == "softmax_layer" else keras.layers.Activation(
            "sigmoid")
        outputs = last(logits)
    with pytest.raises(ValueError, match="the calibrations need the raw logits"):
        class_size_calibrated_model(keras.Model(inputs, outputs), COUNTS, tau=1.0)
