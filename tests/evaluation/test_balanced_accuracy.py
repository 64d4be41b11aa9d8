"""BalancedAccuracy / ShotGroupAccuracy against hand-computed values."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_lt.evaluation import BalancedAccuracy, ShotGroupAccuracy

from .conftest import FOUR_CLASS_COUNTS, FOUR_CLASS_SCORES, FOUR_CLASS_Y

# Two batches, by hand:
#   batch 1: y [0, 0, 1], predictions [0, 1, 1]          -> class 0: 1/2, class 1: 1/1
#   batch 2: y [2, 2, 0], predictions [2, 0, 0], weights [1, 3, 2]
#            -> class 2: 1 of weight 4; class 0 gains 2 of 2 -> 3/4
#   result (3/4 + 1 + 1/4) / 3 = 2/3 (class 3, never seen, is left out)
BATCH_1 = ([0, 0, 1], [[0.9, 0.1, 0.0, 0.0], [0.2, 0.7, 0.1, 0.0], [0.0, 3.0, 1.0, 0.0]])
BATCH_2 = ([2, 2, 0], [[0.0, 0.0, 5.0, 1.0], [2.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
WEIGHTS_2 = [1.0, 3.0, 2.0]


def test_two_updates_with_sample_weights():
    metric = BalancedAccuracy(num_classes=4)
    assert float(metric.result()) == 0.0  # no sample yet
    metric.update_state(*BATCH_1)
    assert float(metric.result()) == pytest.approx((1 / 2 + 1) / 2)
    metric.update_state(*BATCH_2, sample_weight=WEIGHTS_2)
    assert float(metric.result()) == pytest.approx(2 / 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(metric.correct), [3, 1, 1, 0])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(metric.total), [4, 1, 4, 0])
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(*BATCH_1)
    assert float(metric.result()) == pytest.approx(0.75)


def test_label_column_and_probabilities():
    metric = BalancedAccuracy(4)
    labels = np.array(FOUR_CLASS_Y)[:, None]  # [N, 1]
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(FOUR_CLASS_SCORES))
    metric.update_state(labels, probabilities)
    assert float(metric.result()) == pytest.approx(0.375)


def test_one_hot_labels_are_refused():
    # A batch of one one-hot label would otherwise count as three labels 0, 0, 1
    # (recall 0 where the prediction is right).
    metric = BalancedAccuracy(3)
    with pytest.raises(ValueError, match="integer class ids"):
        metric.update_state([[0, 0, 1]], [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("bad_label", [-1, 4])
def test_out_of_range_labels_are_refused(bad_label):
    # Dropping them silently gave (1/2 + 1) / 2 = 0.75 for BATCH_1 plus a bad sample.
    labels, scores = BATCH_1
    metric = BalancedAccuracy(4)
    with pytest.raises(ValueError, match=r"y_true` holds labels outside \[0, 4\)"):
        metric.update_state(labels + [bad_label], scores + [[0.0, 0.0, 0.0, 1.0]])


def test_scores_of_another_width_or_batch_are_refused():
    labels, scores = BATCH_1
    metric = BalancedAccuracy(4)
    with pytest.raises(ValueError, match=r"y_pred.*\[batch, 4\]"):
        metric.update_state(labels, np.asarray(scores)[:, :3])
    with pytest.raises(ValueError, match="y_true` holds 2 labels for a batch of 3"):
        metric.update_state(labels[:2], scores)


def test_out_of_range_labels_count_nowhere_under_xla():
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        pytest.skip("XLA through tf.function")
    labels, scores = BATCH_1
    metric = BalancedAccuracy(4)
    tf.function(metric.update_state, jit_compile=True)(
        np.array(labels + [7]), np.array(scores + [[0.0, 0.0, 0.0, 1.0]], dtype="float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(metric.total), [2, 1, 0, 0])
    assert float(metric.result()) == pytest.approx((1 / 2 + 1) / 2)


def test_zero_weight_masks_a_class_out():
    metric = BalancedAccuracy(4)
    metric.update_state(*BATCH_2, sample_weight=[0.0, 0.0, 1.0])
    # Class 2 has total weight 0: not present; class 0 is 1/1.
    assert float(metric.result()) == pytest.approx(1.0)


def test_shot_group_accuracy():
    many = ShotGroupAccuracy(FOUR_CLASS_COUNTS, group="many")
    medium = ShotGroupAccuracy(FOUR_CLASS_COUNTS, group="medium")
    few = ShotGroupAccuracy(FOUR_CLASS_COUNTS, group="few")
    for metric in (many, medium, few):
        metric.update_state(FOUR_CLASS_Y, FOUR_CLASS_SCORES)
    assert float(many.result()) == pytest.approx(2 / 3)
    assert float(medium.result()) == pytest.approx(5 / 12)
    assert float(few.result()) == pytest.approx(0.0)
    assert medium.name == "medium_shot_accuracy"
    with pytest.raises(ValueError, match="No class is few-shot"):
        ShotGroupAccuracy([500, 400], group="few")
    with pytest.raises(ValueError):
        ShotGroupAccuracy([500, 10], group="tail")


def test_config_round_trip():
    metric = BalancedAccuracy(7, name="bal")
    restored = BalancedAccuracy.from_config(metric.get_config())
    assert restored.get_config() == metric.get_config()
    assert keras.saving.get_registered_name(BalancedAccuracy) == "keras_lt>BalancedAccuracy"
    group = ShotGroupAccuracy([500, 50, 5], group="few", many=40, few=10)
    clone = keras.metrics.deserialize(json.loads(json.dumps(keras.metrics.serialize(group))))
    assert isinstance(clone, ShotGroupAccuracy)
    assert clone.get_config() == group.get_config()


def _identity_model():
    # Output = input, so the "logits" are exactly FOUR_CLASS_SCORES.
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(4, use_bias=False, kernel_initializer="identity")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[BalancedAccuracy(4), ShotGroupAccuracy(FOUR_CLASS_COUNTS, "medium")],
        # Keras 3 passes sample weights to `weighted_metrics` only.
        weighted_metrics=[BalancedAccuracy(4, name="weighted_balanced_accuracy")],
    )
    return model


def test_in_compile_fit_evaluate_and_saved_model(tmp_path):
    model = _identity_model()
    # Batches of 3 (the last of 1): the metric must accumulate across them.
    logs = model.evaluate(FOUR_CLASS_SCORES, FOUR_CLASS_Y, batch_size=3, verbose=0, return_dict=True)
    assert logs["balanced_accuracy"] == pytest.approx(0.375, abs=1e-6)
    assert logs["medium_shot_accuracy"] == pytest.approx(5 / 12, abs=1e-6)
    history = model.fit(FOUR_CLASS_SCORES, FOUR_CLASS_Y, batch_size=4, epochs=1, verbose=0)
    assert history.history["balanced_accuracy"][0] == pytest.approx(0.375, abs=1e-6)
    # Sample weights: class 0's wrong sample (i=2) weighted 3 -> class 0 is 2/5;
    # (2/5 + 1/3 + 1/2 + 0) / 4 = 37/120.
    weights = np.ones(10)
    weights[2] = 3.0
    logs = model.evaluate(
        FOUR_CLASS_SCORES, FOUR_CLASS_Y, sample_weight=weights, batch_size=4, verbose=0,
        return_dict=True,
    )
    assert logs["weighted_balanced_accuracy"] == pytest.approx(37 / 120, abs=1e-6)
    assert logs["balanced_accuracy"] == pytest.approx(0.375, abs=1e-6)  # unweighted

    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)  # no custom_objects
    logs = restored.evaluate(FOUR_CLASS_SCORES, FOUR_CLASS_Y, batch_size=3, verbose=0, return_dict=True)
    assert logs["balanced_accuracy"] == pytest.approx(0.375, abs=1e-6)
    assert logs["medium_shot_accuracy"] == pytest.approx(5 / 12, abs=1e-6)


JAX_SCRIPT = textwrap.dedent(
    """
    import json
    import keras
    import numpy as np
    from keras_lt.evaluation import BalancedAccuracy
    assert keras.backend.backend() == "jax"
    m = BalancedAccuracy(4)
    m.update_state([0, 0, 1], [[0.9, 0.1, 0, 0], [0.2, 0.7, 0.1, 0], [0, 3.0, 1.0, 0]])
    m.update_state([2, 2, 0], [[0, 0, 5.0, 1.0], [2.0, 0, 1.0, 0], [1.0, 0, 0, 0]],
                   sample_weight=[1.0, 3.0, 2.0])
    eager = float(m.result())
    x = np.array({scores}, dtype="float32")
    y = np.array({labels})
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(4, use_bias=False,
                                                   kernel_initializer="identity")(inputs))
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[BalancedAccuracy(4)])
    logs = model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True)
    # evaluate_model feeds tf.data batches to a JAX model.
    import tensorflow as tf
    from keras_lt.evaluation import evaluate_model
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10, seed=0).batch(4)
    report = evaluate_model(model, dataset, train_counts=[500, 60, 30, 5])
    print("RESULT" + json.dumps({{"eager": eager, "compiled": logs["balanced_accuracy"],
                                  "confusion": report["confusion_matrix"]}}))
    """
)


def test_jax_backend_in_subprocess():
    """The metric eagerly and in a jitted evaluate, and evaluate_model, on JAX."""
    script = JAX_SCRIPT.format(scores=FOUR_CLASS_SCORES.tolist(), labels=FOUR_CLASS_Y.tolist())
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = [l for l in result.stdout.splitlines() if l.startswith("RESULT")][-1]
    values = json.loads(line[len("RESULT"):])
    assert values["eager"] == pytest.approx(2 / 3, abs=1e-6)
    assert values["compiled"] == pytest.approx(0.375, abs=1e-6)
    assert values["confusion"] == [[2, 1, 0, 0], [2, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]]
