"""Cases shared by every loss: config, saving, reductions, dtypes, extremes, bad input.

Values here are compared with the losses' own outputs under a different
reduction, dtype, config or backend (the formulas themselves are checked
against numpy in the per-loss test files).
"""

import inspect
import json
import os
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_lt.losses as L

COUNTS = [5000, 1200, 300, 60, 7]
C = len(COUNTS)

# (id, factory, needs features)
LOSSES = [
    ("wce", lambda: L.WeightedCrossEntropy(L.effective_number_weights(COUNTS, 0.999)), False),
    ("wce_by_batch", lambda: L.WeightedCrossEntropy(num_classes=C, normalize_by_weights=False), False),
    ("ldam", lambda: L.LDAMLoss(COUNTS), False),
    ("ldam_weighted", lambda: L.LDAMLoss(COUNTS, class_weights=L.inverse_frequency_weights(COUNTS)), False),
    ("cb_softmax", lambda: L.ClassBalancedLoss(COUNTS, beta=0.999), False),
    ("cb_sigmoid", lambda: L.ClassBalancedLoss(COUNTS, beta=0.99, loss_type="sigmoid"), False),
    ("cb_focal", lambda: L.ClassBalancedLoss(COUNTS, loss_type="focal", gamma=0.5), False),
    ("focal", lambda: L.FocalLoss(gamma=2.0), False),
    ("focal_weighted", lambda: L.FocalLoss(gamma=1.0, class_weights=[1, 2, 3, 4, 5]), False),
    ("cdt", lambda: L.CDTLoss(COUNTS, gamma=0.3), False),
    ("ib", lambda: L.IBLoss(COUNTS), True),
    ("ib_cb_focal", lambda: L.IBLoss(COUNTS, weighting="effective_number", base_loss="focal"), True),
]
IDS = [case[0] for case in LOSSES]
COUNT_LOSSES = [L.LDAMLoss, L.ClassBalancedLoss, L.CDTLoss, L.IBLoss]


def batch(seed=0, size=12, scale=3.0, dtype="float32"):
    rng = np.random.default_rng(seed)
    logits = (scale * rng.normal(size=(size, C))).astype(dtype)
    features = np.abs(rng.normal(size=(size, 6))).astype("float32")
    labels = rng.integers(0, C, size=size)
    return labels, logits, features


def y_pred_for(needs_features, logits, features):
    return {"logits": logits, "features": features} if needs_features else logits


@pytest.fixture(params=LOSSES, ids=IDS)
def case(request):
    _, factory, needs_features = request.param
    return factory, needs_features


# -- config, registration, saving ----------------------------------------------


def test_config_round_trip(case):
    factory, needs_features = case
    loss = factory()
    config = loss.get_config()
    json.dumps(config)  # plain Python values only
    assert {"reduction", "name", "dtype"} <= set(config)
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss) and restored.get_config() == config
    assert keras.saving.get_registered_name(type(loss)) == f"keras_lt>{type(loss).__name__}"
    labels, logits, features = batch(1)
    y_pred = y_pred_for(needs_features, logits, features)
    np.testing.assert_allclose(float(clone(labels, y_pred)), float(loss(labels, y_pred)), rtol=1e-6)


def test_saved_compiled_model_loads_without_custom_objects(case, tmp_path):
    factory, needs_features = case
    loss = factory()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(C)])
    model.compile(optimizer="sgd", loss=loss)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
    if not needs_features:  # a plain model cannot hand features to IBLoss
        rng = np.random.default_rng(0)
        x = rng.normal(size=(16, 4)).astype("float32")
        y = rng.integers(0, C, size=16)
        np.testing.assert_allclose(
            loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6
        )


def test_compiled_model_trains():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.integers(0, C, size=64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(C)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=L.LDAMLoss(COUNTS, scale=5.0))
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["loss"][-1] < history.history["loss"][0]


# -- probabilities where logits are expected -----------------------------------


def not_logits_warnings(record):
    return [w for w in record if "takes logits" in str(w.message)]


def test_softmax_output_warns_once_and_logits_do_not(case):
    factory, needs_features = case
    labels, logits, features = batch()
    loss = factory()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loss(labels, y_pred_for(needs_features, tf.constant(logits), features))
    assert not_logits_warnings(record) == []

    probabilities = keras.activations.softmax(tf.constant(logits))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loss(labels, y_pred_for(needs_features, probabilities, features))
        loss(labels, y_pred_for(needs_features, probabilities, features))
    found = not_logits_warnings(record)
    assert len(found) == 1  # once per loss, not per call
    assert type(loss).__name__ in str(found[0].message)


def test_fit_on_a_softmax_layer_warns():
    # The usual mistake: Dense(C, activation="softmax") before a logits loss.
    # The warning comes from inside model.fit's traced step.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.integers(0, C, size=32)
    for activation, expected in (("softmax", 1), ("sigmoid", 1), (None, 0)):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(C, activation=activation)])
        model.compile(optimizer="sgd", loss=L.LDAMLoss(COUNTS))
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        assert len(not_logits_warnings(record)) == expected, activation


# -- state variables -----------------------------------------------------------


def test_assign_reaches_compiled_keras_functions():
    # model.evaluate runs a compiled (XLA on TensorFlow) step that reads the
    # loss's variables: an assign takes effect without recompiling.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.integers(0, C, size=32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(C)])
    loss = L.CDTLoss(COUNTS, gamma=0.0)
    model.compile(optimizer="sgd", loss=loss)
    before = model.evaluate(x, y, batch_size=32, verbose=0)
    loss.gamma.assign(0.4)
    after = model.evaluate(x, y, batch_size=32, verbose=0)
    logits = model.predict(x, verbose=0)
    np.testing.assert_allclose(after, float(loss(y, logits)), rtol=1e-5)
    assert not np.isclose(before, after)



def test_state_variables_are_named_non_trainable_float32(case):
    factory, _ = case
    loss = factory()
    names = {
        L.WeightedCrossEntropy: ["class_weights"],
        L.LDAMLoss: ["class_weights"],
        L.ClassBalancedLoss: ["class_weights"],
        L.FocalLoss: ["class_weights"] if loss.num_classes else [],
        L.CDTLoss: ["gamma"],
        L.IBLoss: ["class_weights", "ib_active"],
    }[type(loss)]
    assert [v.name for v in loss.state_variables] == names
    for name, variable in zip(names, loss.state_variables):
        assert getattr(loss, name) is variable
        assert isinstance(variable, keras.Variable)
        assert not variable.trainable and variable.dtype == "float32"
    assert loss.requires_features is isinstance(loss, L.IBLoss)


# -- reductions and sample weights ---------------------------------------------


def test_reductions_and_sample_weight(case):
    factory, needs_features = case
    labels, logits, features = batch(2)
    y_pred = y_pred_for(needs_features, logits, features)
    config = factory().get_config()

    def make(reduction):
        return type(factory()).from_config({**config, "reduction": reduction})

    per_sample = make("none")(labels, y_pred).numpy()
    assert per_sample.shape == (len(labels),)
    assert make(None)(labels, y_pred).shape == (len(labels),)
    np.testing.assert_allclose(float(make("sum")(labels, y_pred)), per_sample.sum(), rtol=1e-5)
    for reduction in ("sum_over_batch_size", "mean"):
        np.testing.assert_allclose(
            float(make(reduction)(labels, y_pred)), per_sample.mean(), rtol=1e-5
        )
    weights = np.random.default_rng(3).uniform(0, 2, size=len(labels)).astype("float32")
    np.testing.assert_allclose(
        float(make("sum_over_batch_size")(labels, y_pred, sample_weight=weights)),
        (weights * per_sample).sum() / len(labels),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        float(make("mean_with_sample_weight")(labels, y_pred, sample_weight=weights[:, None])),
        (weights * per_sample).sum() / weights.sum(),
        rtol=1e-5,
    )
    # Labels of shape [B, 1] are the same as [B].
    np.testing.assert_allclose(
        make("none")(labels[:, None], y_pred).numpy(), per_sample, rtol=1e-6
    )


# -- dtypes --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_logits_are_computed_in_float32(case, dtype):
    factory, needs_features = case
    loss = factory()
    labels, logits, features = batch(4)
    low = tf.cast(tf.constant(logits), dtype)
    reference = tf.cast(low, "float32").numpy()  # the same values, in float32
    value = loss(labels, y_pred_for(needs_features, low, tf.cast(features, dtype)))
    assert value.dtype == "float32"
    expected = loss(labels, y_pred_for(needs_features, reference, tf.cast(tf.cast(features, dtype), "float32")))
    np.testing.assert_allclose(float(value), float(expected), rtol=1e-6)
    extreme = tf.cast(np.sign(logits) * 1e4, dtype)
    value = loss(labels, y_pred_for(needs_features, extreme, tf.cast(features, dtype)))
    assert np.isfinite(float(value))


def test_dtype_argument_sets_output_dtype():
    loss = L.LDAMLoss(COUNTS, dtype="float16")
    labels, logits, _ = batch(5)
    value = loss(labels, logits)
    assert value.dtype == "float16"
    np.testing.assert_allclose(float(value), float(L.LDAMLoss(COUNTS)(labels, logits)), rtol=1e-3)
    assert loss.get_config()["dtype"] == "float16"


# -- extremes --------------------------------------------------------------------

EXTREME_COUNTS = [1, 10, 1000, 10**6]
GAMMAS = [0.0, 0.5, 1.0, 2.0, 5.0]


def extreme_losses():
    n = EXTREME_COUNTS
    yield L.WeightedCrossEntropy(L.effective_number_weights(n, 0.9999)), False
    yield L.LDAMLoss(n, class_weights=L.inverse_frequency_weights(n)), False
    yield L.LDAMLoss(n, max_margin=0.0, scale=1.0), False
    for gamma in GAMMAS:
        yield L.FocalLoss(gamma=gamma, class_weights=[1, 1, 2, 3]), False
        yield L.CDTLoss(n, gamma=gamma), False
        for loss_type in ("softmax", "sigmoid", "focal"):
            yield L.ClassBalancedLoss(n, beta=0.9999, loss_type=loss_type, gamma=gamma), False
        yield L.IBLoss(n, base_loss="focal", gamma=gamma), True
        yield L.IBLoss(n, base_loss="focal", gamma=gamma, focal_probability="class_weighted"), True
    for beta in (0.0, 0.9, 0.999999):
        yield L.ClassBalancedLoss(n, beta=beta, loss_type="focal"), False
    yield L.IBLoss(n, weighting="effective_number"), True
    yield L.IBLoss(n, stop_factor_gradient=True), True


def extreme_inputs():
    labels = np.array([0, 1, 2, 3, 3, 0, 1, 2])
    onehot = np.eye(4)[labels]
    signs = np.where(np.random.default_rng(0).random((8, 4)) < 0.5, -1.0, 1.0)
    for logits in (1e4 * (2 * onehot - 1), -1e4 * (2 * onehot - 1), 1e4 * signs, 0 * signs):
        for features in (np.ones((8, 3)), np.zeros((8, 3)), 1e4 * np.ones((8, 3))):
            yield labels, logits.astype("float32"), features.astype("float32")


def test_finite_values_and_gradients_at_extremes():
    inputs = list(extreme_inputs())
    for loss, needs_features in extreme_losses():
        for labels, logits, features in inputs:
            if not needs_features and features[0, 0] != 1.0:
                continue  # features only matter to IBLoss
            z = tf.constant(logits)
            h = tf.constant(features)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch([z, h])
                value = loss(labels, y_pred_for(needs_features, z, h))
            grads = [tape.gradient(value, z)]
            if needs_features:
                grads.append(tape.gradient(value, h))
            what = f"{loss.get_config()} at logits {logits[0]} features {features[0, 0]}"
            assert np.isfinite(float(value)), what
            for grad in grads:
                assert grad is None or np.all(np.isfinite(grad.numpy())), what


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("loss_class", COUNT_LOSSES + [L.FocalLoss, L.WeightedCrossEntropy],
                         ids=lambda c: c.__name__)
def test_signature_ends_as_keras_losses_do(loss_class):
    # keras/src/losses/losses.py: `..., reduction="sum_over_batch_size", name=..., dtype=None`.
    parameters = inspect.signature(loss_class).parameters
    assert list(parameters)[-3:] == ["reduction", "name", "dtype"]
    assert parameters["reduction"].default == "sum_over_batch_size"
    assert parameters["dtype"].default is None


@pytest.mark.parametrize("loss_class", COUNT_LOSSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "counts",
    [[], [[10, 5]], [10, 2.5], [10, 0], [10, -3], [10, float("nan")], "abc", None],
    ids=["empty", "2d", "non-integer", "zero", "negative", "nan", "string", "none"],
)
def test_bad_class_counts(loss_class, counts):
    with pytest.raises(ValueError, match="class_counts"):
        loss_class(counts)


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction"):
        L.LDAMLoss(COUNTS, reduction="median")


def test_class_dimension_mismatch(case):
    factory, needs_features = case
    labels, logits, features = batch(6)
    loss = factory()
    wrong = np.concatenate([logits, logits[:, :1]], axis=1)
    if loss.num_classes is None:  # unweighted FocalLoss takes C from the logits
        assert np.isfinite(float(loss(labels, wrong)))
        return
    with pytest.raises(ValueError, match="classes"):
        loss(labels, y_pred_for(needs_features, wrong, features))


@pytest.mark.parametrize("bad_label", [-1, C])
def test_labels_out_of_range_eager(case, bad_label):
    factory, needs_features = case
    labels, logits, features = batch(7)
    labels[3] = bad_label
    loss = factory()
    with pytest.raises(ValueError, match="y_true"):
        loss(labels, y_pred_for(needs_features, logits, features))


def test_labels_out_of_range_in_graph_and_under_xla(case):
    factory, needs_features = case
    labels, logits, features = batch(8)
    labels[0] = C + 2
    loss = factory()

    def run(y, z, h):
        return loss(y, y_pred_for(needs_features, z, h))

    with pytest.raises(tf.errors.InvalidArgumentError, match="y_true"):
        tf.function(run)(labels, logits, features)
    # XLA drops assertions: the bad sample's loss becomes NaN instead.
    per_sample = type(loss).from_config({**loss.get_config(), "reduction": "none"})
    values = tf.function(
        lambda y, z, h: per_sample(y, y_pred_for(needs_features, z, h)), jit_compile=True
    )(labels, logits, features).numpy()
    assert np.isnan(values[0]) and np.all(np.isfinite(values[1:]))


def test_label_shape_and_type_errors():
    loss = L.LDAMLoss(COUNTS)
    labels, logits, _ = batch(9)
    with pytest.raises(ValueError, match="y_true"):
        loss(np.eye(C)[labels], logits)  # one-hot
    with pytest.raises(ValueError, match="y_true"):
        loss(labels + 0.5, logits)  # non-integer
    with pytest.raises(ValueError, match="logits"):
        loss(labels, logits[:, None, :])  # rank 3
    with pytest.raises(ValueError, match="logits"):
        loss(labels, {"logits": logits})
    # Integer-valued float labels (Keras casts labels to float) are fine.
    np.testing.assert_allclose(
        float(loss(labels.astype("float32"), logits)), float(loss(labels, logits)), rtol=1e-7
    )


def test_labels_that_do_not_match_the_batch(case):
    # A scalar or short label vector would otherwise broadcast over the batch.
    factory, needs_features = case
    labels, logits, features = batch(10)
    loss = factory()
    for wrong in (labels[0], labels[:1], labels[:-1]):
        with pytest.raises(ValueError, match="y_true` holds .* labels for a batch of 12"):
            loss(wrong, y_pred_for(needs_features, logits, features))


def test_a_huge_int64_label_is_not_wrapped_into_range():
    labels, logits, _ = batch(11)
    labels = labels.astype(np.int64)
    labels[2] = 2**32 + 1  # an int32 cast would turn it into class 1
    with pytest.raises(ValueError, match="4294967297"):
        L.LDAMLoss(COUNTS)(labels, logits)


def test_a_masked_class_at_minus_infinity(case):
    # exp(-1e9) is exactly 0 in float32, so a -inf logit outside the label's
    # class must give the loss of a -1e9 logit, with finite gradients (Keras's
    # sparse_categorical_crossentropy does; `0 * -inf` gave NaN).
    factory, needs_features = case
    labels, logits, features = batch(12)
    labels[labels == 2] = 0
    far, masked = logits.copy(), logits.copy()
    far[:, 2], masked[:, 2] = -1e9, -np.inf
    loss = factory()
    expected = float(loss(labels, y_pred_for(needs_features, far, features)))
    z = tf.Variable(masked)
    with tf.GradientTape() as tape:
        value = loss(labels, y_pred_for(needs_features, z, features))
    gradient = tape.gradient(value, z).numpy()
    np.testing.assert_allclose(float(value), expected, rtol=1e-6)
    assert np.all(np.isfinite(gradient))


# -- other backends ----------------------------------------------------------------

JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, jax, keras
    import keras_lt.losses
    assert keras.backend.backend() == "jax"
    data = json.loads(sys.stdin.read())
    labels = np.array(data["labels"])
    logits = np.array(data["logits"], "float32")
    features = np.array(data["features"], "float32")
    bad = labels.copy()
    bad[0] = 99
    out = {}
    for name, serialized, needs in data["losses"]:
        loss = keras.losses.deserialize(serialized)  # also checks the registration
        def value(y, z, h):
            return loss(y, {"logits": z, "features": h} if needs else z)
        eager = float(value(labels, logits, features))
        jitted = float(jax.jit(value)(labels, logits, features))
        nan = float(jax.jit(value)(bad, logits, features))
        grad = jax.grad(lambda z: value(labels, z, features))(np.sign(logits) * 1e4)
        out[name] = [eager, jitted, nan, bool(np.all(np.isfinite(grad)))]
    print("RESULT" + json.dumps(out))
    """
)


def test_same_values_on_jax_backend():
    """Eager and jit values on JAX equal TensorFlow's; NaN for a bad label under jit."""
    pytest.importorskip("jax")
    labels, logits, features = batch(11)
    data = {
        "labels": labels.tolist(),
        "logits": logits.tolist(),
        "features": features.tolist(),
        "losses": [
            [name, keras.losses.serialize(factory()), needs] for name, factory, needs in LOSSES
        ],
    }
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT],
        input=json.dumps(data), capture_output=True, text=True, env=env, timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    on_jax = json.loads(lines[-1][len("RESULT"):])
    for name, factory, needs_features in LOSSES:
        eager, jitted, nan, finite_grad = on_jax[name]
        on_tf = float(factory()(labels, y_pred_for(needs_features, logits, features)))
        np.testing.assert_allclose([eager, jitted], [on_tf, on_tf], rtol=1e-5, err_msg=name)
        assert np.isnan(nan), name
        assert finite_grad, name


def test_repr_names_the_arguments():
    import keras_lt

    text = repr(keras_lt.LDAMLoss([5000, 500, 50]))
    assert text.startswith("LDAMLoss(class_counts=[5000, 500, 50], max_margin=0.5, scale=30.0")
