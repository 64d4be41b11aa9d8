"""tau_normalized_model against z_c = h . w_c / ||w_c||^tau in numpy."""

import numpy as np
import pytest

import keras

from calibration_helpers import data
from calibration_helpers import features_np
from calibration_helpers import functional_model
from calibration_helpers import long_tail_model
from calibration_helpers import numpy_parts
from keras_lt.calibration import LinearHeadClassifier
from keras_lt.calibration import tau_normalized_model


def expected_scores(model, x, tau, keep_bias=False):
    _, _, w2, b2 = numpy_parts(model)
    z = features_np(model, x) @ (w2 / np.linalg.norm(w2, axis=0) ** tau)
    return z + b2 if keep_bias else z


@pytest.mark.parametrize("build", [functional_model, long_tail_model])
@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0])
def test_matches_the_formula(build, tau):
    model = build()
    x, _ = data()
    calibrated = tau_normalized_model(model, tau=tau)
    assert isinstance(calibrated, keras.Model)
    got = calibrated.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected_scores(model, x, tau), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(calibrated(x), got, rtol=1e-5, atol=1e-6)


def test_tau_zero_with_bias_is_the_original_model_and_tau_one_equalises_norms():
    model = functional_model()
    x, _ = data()
    same = tau_normalized_model(model, tau=0.0, keep_bias=True).predict(x, verbose=0)
    np.testing.assert_allclose(same, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    unit = tau_normalized_model(model, tau=1.0)
    np.testing.assert_allclose(
        np.linalg.norm(keras.ops.convert_to_numpy(unit.kernel), axis=0), 1.0, rtol=1e-6
    )
    # The original head is untouched.
    _, _, w2, _ = numpy_parts(model)
    assert not np.allclose(np.linalg.norm(w2, axis=0), 1.0)


def test_explicit_head_and_feature_extractor_and_errors():
    model = functional_model()
    x, _ = data()
    extractor = keras.Model(model.inputs[0], model.get_layer("body").output)
    calibrated = tau_normalized_model(model, tau=1.0, head=model.get_layer("head"),
                                      features=extractor)
    np.testing.assert_allclose(
        calibrated.predict(x, verbose=0), expected_scores(model, x, 1.0), rtol=1e-5, atol=1e-5
    )
    from keras_lt.models import NormalizedDense

    inputs = keras.Input((5,))
    cosine = keras.Model(inputs, NormalizedDense(3)(inputs))
    with pytest.raises(ValueError, match="class_size_calibrated_model"):
        tau_normalized_model(cosine)
    inputs = keras.Input((5,))
    softmax = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    with pytest.raises(ValueError, match="raw logits"):
        tau_normalized_model(softmax)
    # A softmax stripped by setting the head's activation to None: Keras's
    # Dense then applies none, so the head is linear and is accepted.
    stripped = functional_model()
    stripped.get_layer("head").activation = None
    np.testing.assert_allclose(
        tau_normalized_model(stripped, tau=1.0).predict(x, verbose=0),
        expected_scores(stripped, x, 1.0), rtol=1e-5, atol=1e-5,
    )


def test_save_and_load(tmp_path):
    model = functional_model()
    x, _ = data()
    calibrated = tau_normalized_model(model, tau=0.7, keep_bias=True)
    expected = calibrated.predict(x, verbose=0)
    path = str(tmp_path / "tau.keras")
    calibrated.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, LinearHeadClassifier)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
