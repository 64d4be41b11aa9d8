"""NearestClassMean against class means of L2-normalised features in numpy."""

import textwrap

import numpy as np
import pytest

import keras

from calibration_helpers import data
from calibration_helpers import features_np
from calibration_helpers import functional_model
from calibration_helpers import long_tail_model
from keras_lt.calibration import NearestClassMean


def unit(a):
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def expected_scores(model, x_train, y_train, x, metric):
    h_train = unit(features_np(model, x_train))
    means = np.stack([h_train[y_train == c].mean(0) for c in range(3)])
    h = unit(features_np(model, x))
    if metric == "cosine":
        return h @ unit(means).T
    return -((h[:, None, :] - means[None]) ** 2).sum(-1)


@pytest.mark.parametrize("build", [functional_model, long_tail_model])
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_matches_the_formula(build, metric):
    model = build()
    x_train, y_train = data(seed=0)
    x, _ = data(seed=1)
    ncm = NearestClassMean(model, metric=metric).fit(x_train, y_train, batch_size=7)
    assert isinstance(ncm, keras.Model)
    expected = expected_scores(model, x_train, y_train, x, metric)
    np.testing.assert_allclose(ncm.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ncm(x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ncm.class_counts, np.bincount(y_train))


def test_fit_from_batches_and_feature_extractor():
    model = functional_model()
    x_train, y_train = data(seed=0)
    x, _ = data(seed=1)
    extractor = keras.Model(model.inputs[0], model.get_layer("body").output)
    batches = [(x_train[i : i + 8], y_train[i : i + 8]) for i in range(0, len(x_train), 8)]
    ncm = NearestClassMean(feature_extractor=extractor).fit(batches)
    np.testing.assert_allclose(
        ncm.predict(x, verbose=0), expected_scores(model, x_train, y_train, x, "cosine"),
        rtol=1e-5, atol=1e-5,
    )


def test_errors():
    model = functional_model()
    x, y = data()
    with pytest.raises(ValueError, match="exactly one"):
        NearestClassMean()
    with pytest.raises(ValueError, match="metric"):
        NearestClassMean(model, metric="manhattan")
    with pytest.raises(ValueError, match="no samples"):
        NearestClassMean(model, num_classes=4).fit(x, y)
    with pytest.raises(ValueError, match="fit"):
        NearestClassMean(model)(x)


def test_calibrations_predict_on_jax():
    from calibration_jax_runner import run_jax

    script = textwrap.dedent(
        """
        import numpy as np, keras
        from calibration_helpers import *
        from keras_lt.calibration import (NearestClassMean, class_size_calibrated_model,
                                          tau_normalized_model)
        x, y = data()
        for model in (functional_model(), long_tail_model()):
            _, _, w2, b2 = numpy_parts(model)
            h = features_np(model, x)
            got = tau_normalized_model(model, 1.0).predict(x, verbose=0)
            np.testing.assert_allclose(got, h @ (w2 / np.linalg.norm(w2, axis=0)), rtol=1e-5, atol=1e-5)
            got = class_size_calibrated_model(model, COUNTS, 0.5).predict(x, verbose=0)
            np.testing.assert_allclose(got, (h @ w2 + b2) / COUNTS ** 0.5, rtol=1e-5, atol=1e-5)
            hu = h / np.linalg.norm(h, axis=1, keepdims=True)
            m = np.stack([hu[y == c].mean(0) for c in range(3)])
            got = NearestClassMean(model).fit(x, y).predict(x, verbose=0)
            np.testing.assert_allclose(got, hu @ (m / np.linalg.norm(m, axis=1, keepdims=True)).T,
                                       rtol=1e-5, atol=1e-5)
        print("OK")
        """
    )
    out = run_jax(script)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-4000:]


@pytest.mark.parametrize("build", [functional_model, long_tail_model])
def test_a_class_missing_from_fit_is_an_error_not_a_narrower_model(build):
    # The head scores 3 classes; fitting without class 2 must not give [N, 2] scores.
    x, y = data()
    keep = y != 2
    with pytest.raises(ValueError, match=r"Classes \[2\] have no samples"):
        NearestClassMean(build()).fit(x[keep], y[keep])


def test_labels_must_be_integer_ids():
    x, y = data()
    with pytest.raises(ValueError, match="integer class ids"):
        NearestClassMean(functional_model()).fit(x, y + 0.7)
    with pytest.raises(ValueError, match="num_classes=3"):
        NearestClassMean(functional_model()).fit(x, np.where(y == 2, 3, y))
    # One-hot labels were flattened ("8 feature rows for 24 labels").
    with pytest.raises(ValueError, match="one-hot labels"):
        NearestClassMean(functional_model()).fit(x, np.eye(3)[y])
    for bad in (2.5, 0):  # 2.5 became 2 silently
        with pytest.raises(ValueError, match="`num_classes` must be a positive integer"):
            NearestClassMean(functional_model(), num_classes=bad)


@pytest.mark.parametrize("build", [functional_model, long_tail_model])
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_save_and_load(tmp_path, build, metric):
    model = build()
    x_train, y_train = data(seed=0)
    x, _ = data(seed=1)
    ncm = NearestClassMean(model, metric=metric).fit(x_train, y_train)
    path = str(tmp_path / "ncm.keras")
    ncm.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, NearestClassMean) and loaded.metric == metric
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), expected_scores(model, x_train, y_train, x, metric),
        rtol=1e-5, atol=1e-5,
    )


def test_a_plain_function_extractor_says_it_cannot_be_saved(tmp_path):
    x, y = data()
    ncm = NearestClassMean(feature_extractor=lambda batch, training=False: batch, num_classes=3).fit(x, y)
    with pytest.raises(TypeError, match="cannot be saved"):
        ncm.save(str(tmp_path / "ncm.keras"))
