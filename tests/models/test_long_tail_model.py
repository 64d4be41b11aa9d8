"""LongTailModel on TensorFlow: what the loss sees, metrics, methods, state, saving."""

import functools
import warnings

import numpy as np
import pytest

import keras

import keras_lt.losses as L
from keras_lt.models import LongTailModel, MajorFeatureWeakening, build_model
from keras_lt.models.output_activation import output_activation

from .helpers import (
    COUNTS,
    dense_backbone,
    long_tailed_images,
    np_cross_entropy,
    np_ib_loss,
    tiny_resnet,
)


def to_np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def head_logits(model, features):
    """Logits from features with the head's own weights, in numpy (dense head)."""
    return to_np(features) @ to_np(model.head.kernel) + to_np(model.head.bias)


def test_ib_loss_sees_the_models_actual_features():
    keras.utils.set_random_seed(0)
    x, y = long_tailed_images()
    model = build_model(tiny_resnet(), 4, input_shape=(8, 8, 3))
    loss = L.IBLoss(COUNTS)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss=loss, jit_compile=False)
    weights = to_np(loss.class_weights)

    # Evaluation: inference-mode features, raw logits.
    h = model.extract_features(x)
    z = head_logits(model, h)
    np.testing.assert_allclose(to_np(model.predict(x, verbose=0)), z, rtol=1e-4, atol=1e-5)
    expected = np_ib_loss(z, h, y, weights).mean()
    got = model.evaluate(x, y, batch_size=len(x), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4)

    # Training: training-mode features (batch statistics), before the update.
    for sample_weight in (None, np.linspace(0.5, 2.0, len(x)).astype("float32")):
        h = model.extract_features(x, training=True)
        z = head_logits(model, h)
        per_sample = np_ib_loss(z, h, y, weights)
        if sample_weight is not None:
            per_sample = per_sample * sample_weight
        got = model.train_on_batch(x, y, sample_weight=sample_weight)
        np.testing.assert_allclose(got, per_sample.mean(), rtol=1e-4)


def test_other_losses_get_logits_metrics_use_logits():
    x, y = long_tailed_images()
    model = build_model(tiny_resnet(), 4, input_shape=(8, 8, 3))
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        loss_weights=0.5,
        metrics=["accuracy"],
        jit_compile=False,
    )
    z = head_logits(model, model.extract_features(x))
    loss, accuracy = model.evaluate(x, y, batch_size=len(x), verbose=0)
    np.testing.assert_allclose(loss, 0.5 * np_cross_entropy(z, y).mean(), rtol=1e-4)
    np.testing.assert_allclose(accuracy, np.mean(z.argmax(axis=1) == y), atol=1e-6)
    # loss_weights with a feature loss too.
    ib = L.IBLoss(COUNTS)
    model.compile(optimizer="sgd", loss=ib, loss_weights=0.5, jit_compile=False)
    h = model.extract_features(x)
    expected = 0.5 * np_ib_loss(head_logits(model, h), h, y, to_np(ib.class_weights)).mean()
    got = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_regularisation_losses_are_added():
    x, y = long_tailed_images()
    model = build_model(dense_backbone(192), 4, input_shape=(192,), weight_decay=1e-2)
    model.compile(optimizer="sgd", loss=L.IBLoss(COUNTS), jit_compile=False)
    x = x.reshape(len(x), -1)
    h = model.extract_features(x)
    data = np_ib_loss(head_logits(model, h), h, y, to_np(model.loss.class_weights)).mean()
    l2 = sum(1e-2 / 2 * np.sum(to_np(v) ** 2) for v in model.trainable_weights)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=len(x), verbose=0), data + l2, rtol=1e-4)


class SwitchAt(keras.callbacks.Callback):
    """Assigns loss state at the start of an epoch (what the phase callbacks do)."""

    def __init__(self, epoch, assignments):
        super().__init__()
        self.epoch, self.assignments = epoch, assignments

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            for variable, value in self.assignments:
                variable.assign(value)


def test_loss_state_assigned_between_epochs_reaches_the_compiled_step():
    x, y = long_tailed_images()
    x = x.reshape(len(x), -1)
    model = build_model(dense_backbone(x.shape[1]), 4, input_shape=(x.shape[1],))
    loss = L.IBLoss(COUNTS, start_active=False)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)  # lr 0: fixed weights
    assert {id(v) for v in loss.state_variables} <= {id(v) for v in model.non_trainable_variables}
    new_weights = np.array([4.0, 0.0, 1.0, 2.0], "float32")
    history = model.fit(
        x, y, batch_size=len(x), epochs=2, shuffle=False, verbose=0,
        callbacks=[SwitchAt(1, [(loss.ib_active, 1.0), (loss.class_weights, new_weights)])],
    )
    h = model.extract_features(x)
    z = head_logits(model, h)
    first, second = history.history["loss"]
    np.testing.assert_allclose(first, np_cross_entropy(z, y).mean(), rtol=1e-4)
    np.testing.assert_allclose(second, np_ib_loss(z, h, y, new_weights).mean(), rtol=1e-4)


def method_setups():
    counts = COUNTS
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return {
        "erm": (lambda: ce, {}),
        "reweighting": (lambda: L.WeightedCrossEntropy(L.inverse_frequency_weights(counts)), {}),
        "focal": (lambda: L.FocalLoss(gamma=1.0), {}),
        "cb-softmax": (lambda: L.ClassBalancedLoss(counts, beta=0.99), {}),
        "cb-sigmoid": (lambda: L.ClassBalancedLoss(counts, loss_type="sigmoid"), {"head": "prior_bias"}),
        "cb-focal": (lambda: L.ClassBalancedLoss(counts, loss_type="focal", gamma=0.5), {"head": "prior_bias"}),
        "ldam": (lambda: L.LDAMLoss(counts), {"head": "cosine"}),
        "cdt": (lambda: L.CDTLoss(counts, gamma=0.2), {}),
        "ib": (lambda: L.IBLoss(counts, start_active=False), {}),
        "ib-focal": (lambda: L.IBLoss(counts, base_loss="focal"), {}),
        "mfw": (lambda: ce, {"mfw": True}),
        "mfw-ib": (lambda: L.IBLoss(counts), {"mfw": True}),
    }


@pytest.mark.parametrize("method", sorted(method_setups()))
def test_every_method_trains_a_few_epochs_without_nan(method):
    """Each method through LongTailModel.fit (graph mode). The feature-weakening
    methods use the tiny ResNet (mixing after a real residual stage); the others
    a BatchNorm-free dense backbone, which traces much faster."""
    keras.utils.set_random_seed(1)
    make_loss, options = method_setups()[method]
    x, y = long_tailed_images()
    weakening = None
    if options.get("mfw"):
        weakening = dict(class_counts=COUNTS, alpha=2.0, scale=2.0, after="stage1")
        backbone, shape = tiny_resnet(), (8, 8, 3)
    else:
        x = x.reshape(len(x), -1)
        backbone, shape = dense_backbone(x.shape[1]), (x.shape[1],)
    model = build_model(
        backbone, 4, input_shape=shape, head=options.get("head", "dense"),
        feature_weakening=weakening, seed=0,
    )
    loss = make_loss()
    callbacks = []
    if method == "ib":  # the paper's schedule: CE first, then IB
        callbacks = [SwitchAt(1, [(loss.ib_active, 1.0)])]
    model.compile(optimizer=keras.optimizers.SGD(0.02, momentum=0.9), loss=loss,
                  metrics=["accuracy"], jit_compile=False)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=callbacks)
    assert np.all(np.isfinite(history.history["loss"]))
    assert all(np.all(np.isfinite(to_np(v))) for v in model.trainable_weights)


class AddOneInTraining(keras.layers.Layer):
    def call(self, inputs, training=None):
        return inputs + 1.0 if training else inputs


def test_augmentation_acts_only_in_training():
    x, _ = long_tailed_images()
    x = x.reshape(len(x), -1)
    backbone = dense_backbone(x.shape[1])
    model = LongTailModel(backbone, keras.layers.Dense(4), augmentation=AddOneInTraining())
    np.testing.assert_allclose(to_np(model.extract_features(x)), to_np(backbone(x)), rtol=1e-6)
    np.testing.assert_allclose(
        to_np(model.extract_features(x, training=True)), to_np(backbone(x + 1.0)), rtol=1e-6
    )
    np.testing.assert_allclose(to_np(model.predict_features(x)), to_np(backbone(x)), rtol=1e-5)


def test_save_and_load_keras_file(tmp_path):
    keras.utils.set_random_seed(2)
    x, y = long_tailed_images()
    model = build_model(
        tiny_resnet(), 4, input_shape=(8, 8, 3), head="cosine",
        feature_weakening=dict(class_counts=COUNTS, alpha=1.5, scale=0.01, after="stem"), seed=5,
    )
    loss = L.LDAMLoss(COUNTS)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss=loss)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    loss.class_weights.assign([0.5, 1.0, 1.5, 1.0])
    path = str(tmp_path / "model.keras")
    model.save(path)

    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, LongTailModel)
    np.testing.assert_allclose(
        to_np(loaded.predict(x, verbose=0)), to_np(model.predict(x, verbose=0)), rtol=1e-5, atol=1e-6
    )
    assert isinstance(loaded.feature_weakening, MajorFeatureWeakening)
    assert loaded.feature_weakening.get_config() == model.feature_weakening.get_config()
    np.testing.assert_array_equal(
        to_np(loaded.feature_weakening.seed_generator.state),
        to_np(model.feature_weakening.seed_generator.state),
    )
    np.testing.assert_allclose(to_np(loaded.loss.class_weights), [0.5, 1.0, 1.5, 1.0])
    assert [b.name for b in loaded.backbone.layers] == [b.name for b in model.backbone.layers]
    # The loaded model keeps training.
    assert np.isfinite(loaded.fit(x, y, batch_size=16, epochs=1, verbose=0).history["loss"][0])

    # Not compiled: the loss state waits for `compile` (tests/models/test_saving.py).
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*loss state was not restored")
        uncompiled = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(
        to_np(uncompiled.predict(x, verbose=0)), to_np(model.predict(x, verbose=0)), rtol=1e-5, atol=1e-6
    )

    clone = LongTailModel.from_config(model.get_config())
    assert clone.get_config()["feature_weakening"] == model.get_config()["feature_weakening"]


def test_mixed_precision_trains():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        x, y = long_tailed_images()
        model = build_model(
            tiny_resnet(), 4, input_shape=(8, 8, 3),
            feature_weakening=dict(class_counts=COUNTS, after="stage1"), seed=0,
        )
        model.compile(optimizer=keras.optimizers.SGD(0.02), loss=L.IBLoss(COUNTS), jit_compile=False)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        assert model.head.kernel.dtype == "float32"
    finally:
        keras.config.set_dtype_policy(previous)


# -- a head that ends in an activation ------------------------------------------


def test_output_activation_names_the_last_activation():
    assert output_activation(keras.layers.Dense(4, activation="softmax")) == "softmax"
    assert output_activation(keras.layers.Dense(4, activation="sigmoid")) == "sigmoid"
    assert output_activation(keras.layers.Softmax()) == "softmax"
    nested = keras.Sequential([keras.layers.Dense(4), keras.Sequential([keras.layers.Activation("softmax")])])
    assert output_activation(nested) == "softmax"
    assert output_activation(keras.layers.Dense(4)) == "linear"
    assert output_activation(keras.layers.Dense(4, activation="relu")) == "relu"
    # Softmax in the middle, a linear layer last: the output is logits.
    assert output_activation(keras.Sequential([keras.layers.Softmax(), keras.layers.Dense(4)])) == "linear"
    assert output_activation(keras.layers.Flatten()) is None  # no activation to see
    # Other ways to hold an activation.
    stripped = keras.layers.Dense(4, activation="softmax")
    stripped.activation = None  # Keras's Dense then applies none
    assert output_activation(stripped) == "linear"
    assert output_activation(keras.layers.Dense(4, activation=keras.layers.Softmax())) == "softmax"
    partial = functools.partial(keras.activations.softmax, axis=-1)
    assert output_activation(keras.layers.Dense(4, activation=partial)) == "softmax"

    class StringActivation(keras.layers.Layer):
        activation = "linear"

    assert output_activation(StringActivation()) == "linear"
    # A functional model: the layer that makes its output; a raw op there shows nothing.
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4)(inputs)
    assert output_activation(keras.Model(inputs, keras.layers.Softmax()(hidden))) == "softmax"
    assert output_activation(keras.Model(inputs, hidden)) == "linear"
    assert output_activation(keras.Model(inputs, keras.ops.softmax(hidden))) is None
    two = keras.Model(inputs, [hidden, keras.layers.Softmax()(hidden)])
    assert output_activation(two) is None  # several outputs: no single head to name


def not_logits_warnings(run):
    """The "takes logits" warning messages raised while `run()` runs."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in record if "takes logits" in str(w.message)]


def compile_warnings(head, loss):
    model = LongTailModel(dense_backbone(5), head)
    return not_logits_warnings(lambda: model.compile(optimizer="sgd", loss=loss))


def test_compile_warns_when_a_keras_lt_loss_gets_a_softmax_head():
    # Checked on the head layer at compile time, so on JAX too (no tensor tag).
    found = compile_warnings(keras.layers.Dense(4, activation="softmax"), L.FocalLoss())
    assert len(found) == 1 and "FocalLoss" in found[0] and "head" in found[0]
    found = compile_warnings(
        keras.Sequential([keras.layers.Dense(4), keras.layers.Softmax()]), L.LDAMLoss(COUNTS)
    )
    assert len(found) == 1 and "LDAMLoss" in found[0]
    # Logits head, or a Keras loss that expects probabilities: no warning.
    assert compile_warnings(keras.layers.Dense(4), L.LDAMLoss(COUNTS)) == []
    assert compile_warnings(
        keras.layers.Dense(4, activation="softmax"), keras.losses.SparseCategoricalCrossentropy()
    ) == []


def ldam_head_warnings(head, loss):
    model = LongTailModel(dense_backbone(5), head)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.compile(optimizer="sgd", loss=loss)
    return [str(w.message) for w in record if "LDAMLoss multiplies" in str(w.message)]


def test_compile_warns_when_ldam_scales_a_head_that_is_not_cosine():
    from keras_lt.models import NormalizedDense

    # Cao et al. scale cosine logits in [-1, 1] by s = 30; Dense logits are unbounded.
    found = ldam_head_warnings(keras.layers.Dense(4), L.LDAMLoss(COUNTS))
    assert len(found) == 1 and "scale=30" in found[0] and "Dense" in found[0]
    assert ldam_head_warnings(NormalizedDense(4), L.LDAMLoss(COUNTS)) == []
    assert ldam_head_warnings(keras.Sequential([NormalizedDense(4)]), L.LDAMLoss(COUNTS)) == []
    assert ldam_head_warnings(keras.layers.Dense(4), L.LDAMLoss(COUNTS, scale=1)) == []
    assert ldam_head_warnings(keras.layers.Dense(4), L.FocalLoss()) == []
    # A softmax head gets the logits warning only.
    assert ldam_head_warnings(keras.layers.Dense(4, activation="softmax"),
                              L.LDAMLoss(COUNTS)) == []
    # A functional head is looked through to the layer that makes its output.
    inputs = keras.Input((8,))  # dense_backbone's width
    cosine = keras.Model(inputs, NormalizedDense(4)(keras.layers.Dropout(0.1)(inputs)))
    assert ldam_head_warnings(cosine, L.LDAMLoss(COUNTS)) == []
    dense = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    assert len(ldam_head_warnings(dense, L.LDAMLoss(COUNTS))) == 1
    softmax = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(inputs))
    assert len(compile_warnings(softmax, L.FocalLoss())) == 1


def test_a_phase_switch_to_ldam_checks_the_head_as_compile_does():
    from keras_lt.callbacks import PhaseSwitch

    keras.utils.set_random_seed(0)
    x, y = long_tailed_images()
    model = LongTailModel(keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(6)]),
                          keras.layers.Dense(4))
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[
            PhaseSwitch("loss", L.LDAMLoss(COUNTS), start_epoch=1)])
    found = [str(w.message) for w in record if "LDAMLoss multiplies" in str(w.message)]
    assert len(found) == 1 and "Dense" in found[0]


def test_the_loss_does_not_warn_again_in_fit_after_compile_warned():
    keras.utils.set_random_seed(0)
    x, y = long_tailed_images()
    model = LongTailModel(
        keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(6)]),
        keras.layers.Dense(4, activation="softmax"),
    )

    def compile_and_fit():
        model.compile(optimizer="sgd", loss=L.LDAMLoss(COUNTS))
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)

    found = not_logits_warnings(compile_and_fit)
    assert len(found) == 1 and "the head's output" in found[0]  # compile's, not the loss's
