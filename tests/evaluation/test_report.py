"""The evaluation report: hand values, JSON round trip, PNG files, text table."""

import json
import os
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from keras_lt.evaluation import (
    evaluate_model,
    evaluation_report,
    format_report,
    load_report,
    report_confusion_matrix,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = ["cat", "dog", "owl", "yak"]


def _long_tailed_case(num_classes, n_max, rho, test_per_class=20, seed=0):
    rng = np.random.default_rng(seed)
    counts = np.array([int(n_max * (1 / rho) ** (i / (num_classes - 1))) for i in range(num_classes)])
    y = np.repeat(np.arange(num_classes), test_per_class)
    logits = rng.normal(size=(y.size, num_classes)) + 0.5 * np.log(counts)
    logits[np.arange(y.size), y] += 2.0
    return counts, y, logits


def test_report_values_by_hand(four_class):
    y, scores, counts = four_class
    report = evaluation_report(y, scores, counts, class_names=NAMES)
    assert report["num_classes"] == 4 and report["num_test_samples"] == 10
    assert report["top1"] == pytest.approx(0.4)
    assert report["top5"] is None  # C < 100 (METHODS.md: top-5 where C >= 100)
    assert report["balanced_accuracy"] == pytest.approx(0.375)
    assert report["shot_thresholds"] == {"many": 100, "few": 20}
    groups = report["groups"]
    assert groups["many"]["accuracy"] == pytest.approx(2 / 3)
    assert groups["medium"]["accuracy"] == pytest.approx(5 / 12)
    assert groups["few"]["accuracy"] == pytest.approx(0.0)
    assert [groups[g]["num_classes"] for g in ("many", "medium", "few")] == [1, 2, 1]
    assert groups["medium"]["classes"] == [1, 2]
    rows = report["per_class"]
    assert [r["name"] for r in rows] == NAMES
    assert [r["train_count"] for r in rows] == [500, 60, 30, 5]
    assert [r["test_count"] for r in rows] == [3, 3, 2, 2]
    assert [r["group"] for r in rows] == ["many", "medium", "medium", "few"]
    np.testing.assert_allclose([r["accuracy"] for r in rows], [2 / 3, 1 / 3, 1 / 2, 0.0])
    assert report["confusion_matrix"] == [[2, 1, 0, 0], [2, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]]
    assert report["feature_deviation"] is None


def test_top5_rules():
    # Scores fall with the class index, so the rank of class y is y:
    # labels [0, 3, 4, 5, 99] -> top-1 1/5, top-5 3/5.
    c = 100
    scores = np.tile(-np.arange(c, dtype=float), (5, 1))
    y = np.array([0, 3, 4, 5, 99])
    report = evaluation_report(y, scores, np.full(c, 50))
    assert report["top1"] == pytest.approx(0.2)
    assert report["top5"] == pytest.approx(0.6)
    assert evaluation_report(y, scores, np.full(c, 50), top5=False)["top5"] is None
    small = evaluation_report([0, 3, 4, 5], scores[:4, :10], np.full(10, 50), top5=True)
    assert small["top5"] == pytest.approx(3 / 4)


def test_missing_test_class_and_strict_json(tmp_path):
    report = evaluation_report([0, 0, 1], [[2, 1, 0], [0, 1, 0], [0, 1, 0]], [200, 50, 5])
    assert report["per_class"][2]["accuracy"] is None
    assert report["groups"]["few"]["accuracy"] is None
    assert report["balanced_accuracy"] == pytest.approx(0.75)
    paths = write_report(report, tmp_path, plots=False)
    assert set(paths) == {"json"}

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    with open(paths["json"]) as f:
        assert json.loads(f.read(), parse_constant=no_constants) == report


def test_feature_deviation_in_report(four_class):
    y, scores, counts = four_class
    rng = np.random.default_rng(0)
    train_y = np.repeat(np.arange(4), [9, 6, 5, 4])
    train_f, test_f = rng.normal(size=(24, 6)), rng.normal(size=(10, 6))
    report = evaluation_report(
        y, scores, counts, test_features=test_f, train_features=train_f,
        train_labels=train_y, feature_deviation_rounds=50,
    )
    info = report["feature_deviation"]
    assert info["subsample_size"] == 4 and info["rounds"] == 50
    values = [r["feature_deviation"] for r in report["per_class"]]
    # Independently (CDT eq. 2, L2-normalised features): E ||mean of K train
    # features of c - mean of the test features of c|| over all K-subsets; class 3
    # has exactly K = 4 training samples, so its value has no sampling noise.
    import itertools

    unit = lambda f: f / np.linalg.norm(f, axis=1, keepdims=True)  # noqa: E731
    for c in range(4):
        train_c, target = unit(train_f[train_y == c]), unit(test_f[y == c]).mean(axis=0)
        distances = [np.linalg.norm(train_c[list(s)].mean(axis=0) - target)
                     for s in itertools.combinations(range(len(train_c)), 4)]
        if c == 3:
            assert values[c] == pytest.approx(distances[0], rel=1e-9)
        else:  # a mean of 50 rounds: within 4 standard errors
            assert abs(values[c] - np.mean(distances)) <= 4 * np.std(distances) / np.sqrt(50)
    assert report["groups"]["medium"]["feature_deviation"] == pytest.approx(np.mean(values[1:3]))
    with pytest.raises(ValueError, match="together"):
        evaluation_report(y, scores, counts, test_features=test_f)


def test_argument_checks(four_class):
    y, scores, counts = four_class
    with pytest.raises(ValueError, match="shape"):
        evaluation_report(y, scores[:, :3], counts)
    with pytest.raises(ValueError, match="class names"):
        evaluation_report(y, scores, counts, class_names=["a"])


def _check_png(path, min_size=(400, 300), max_size=(2000, 2000)):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
        assert image.format == "PNG"
    assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1]
    return width, height


@pytest.mark.parametrize("num_classes", [10, 100])
def test_write_report_json_and_pngs(tmp_path, num_classes):
    counts, y, logits = _long_tailed_case(num_classes, n_max=500, rho=100)
    report = evaluation_report(y, logits, counts)
    paths = write_report(report, os.path.join(tmp_path, "out"))
    assert sorted(paths) == ["confusion_matrix", "json", "per_class_accuracy"]
    assert load_report(os.path.dirname(paths["json"])) == report  # JSON round trip
    np.testing.assert_array_equal(report_confusion_matrix(report).sum(axis=1), 20)
    _check_png(paths["per_class_accuracy"])
    _check_png(paths["confusion_matrix"])
    # One JSON line per class in the per-class table.
    with open(paths["json"]) as f:
        text = f.read()
    assert text.count('{"class": ') == num_classes


def test_missing_matplotlib_gives_a_clear_error(tmp_path, monkeypatch, four_class):
    y, scores, counts = four_class
    report = evaluation_report(y, scores, counts)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        write_report(report, tmp_path)


def test_format_report(four_class):
    y, scores, counts = four_class
    text = format_report(evaluation_report(y, scores, counts, class_names=NAMES))
    assert "top-1 40.00%" in text and "mean per-class 37.50%" in text
    assert "top-5" not in text
    lines = text.splitlines()
    medium = next(line for line in lines if line.startswith("medium"))
    assert medium.split()[-1] == "41.67" and "20-100" in medium
    few = next(line for line in lines if line.startswith("few"))
    assert few.split()[-1] == "0.00"
    assert sum(line.split()[1:2] == [name] for line in lines for name in NAMES) == 4

    counts, y, logits = _long_tailed_case(100, n_max=500, rho=100)
    text = format_report(evaluation_report(y, logits, counts))
    assert "worst 5 classes" in text and "best 5 classes" in text and "top-5" in text
    assert len(text.splitlines()) < 30


class FeatureModel(keras.Model):
    """A tiny model with the LongTailModel interface: logits and extract_features."""

    def __init__(self, num_classes):
        super().__init__()
        self.body = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(num_classes)

    def call(self, x):
        return self.head(self.body(x))

    def extract_features(self, x):
        return self.body(x)


def test_evaluate_model_arrays_and_dataset():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x_test = rng.normal(size=(40, 5)).astype("float32")
    y_test = np.repeat(np.arange(4), 10)
    x_train = rng.normal(size=(30, 5)).astype("float32")
    y_train = np.repeat(np.arange(4), [12, 8, 6, 4])
    model = FeatureModel(4)
    model(x_test[:1])
    counts = [12, 8, 6, 4]

    report = evaluate_model(
        model, x_test, y_test, counts, class_names=NAMES, batch_size=16,
        train_x=x_train, train_y=y_train, many=10, few=5, feature_deviation_rounds=20,
    )
    expected = evaluation_report(y_test, model.predict(x_test, verbose=0), counts, many=10, few=5)
    assert report["top1"] == pytest.approx(expected["top1"])
    assert report["confusion_matrix"] == expected["confusion_matrix"]
    assert report["feature_deviation"]["subsample_size"] == 4
    assert [g["num_classes"] for g in report["groups"].values()] == [1, 2, 1]

    # A shuffled dataset of (x, y) batches: logits and labels stay aligned.
    dataset = tf.data.Dataset.from_tensor_slices((x_test, y_test)).shuffle(40, seed=1).batch(7)
    from_dataset = evaluate_model(model, dataset, train_counts=counts, many=10, few=5)
    assert from_dataset["confusion_matrix"] == expected["confusion_matrix"]
    assert from_dataset["feature_deviation"] is None  # no training data given

    with pytest.raises(ValueError, match="train_counts"):
        evaluate_model(model, x_test, y_test)
    with pytest.raises(ValueError, match="Labels are required"):
        evaluate_model(model, x_test, train_counts=counts)
    # One-hot labels: flattened, they read as 160 labels of 0 and 1.
    with pytest.raises(ValueError, match="one-hot labels"):
        evaluate_model(model, x_test, np.eye(4)[y_test], counts)
    one_hot_batches = tf.data.Dataset.from_tensor_slices((x_test, np.eye(4)[y_test])).batch(8)
    with pytest.raises(ValueError, match="one-hot labels"):
        evaluate_model(model, one_hot_batches, train_counts=counts)


def test_a_report_refuses_non_finite_logits():
    counts, y, logits = _long_tailed_case(4, 100, 10)
    logits[3] = np.nan
    with pytest.raises(ValueError, match=r"`logits` hold NaN or \+infinite values in 1 of 80 rows"):
        evaluation_report(y, logits, counts)


def test_sparse_confusion_matrix_above_1000_classes():
    c = 1001
    scores = np.zeros((3, c))
    scores[[0, 1, 2], [5, 7, 1000]] = 1.0  # predictions 5, 7, 1000
    report = evaluation_report([5, 9, 1000], scores, np.full(c, 30))
    assert report["confusion_matrix"] == {
        "shape": [c, c], "rows": [5, 9, 1000], "cols": [5, 7, 1000], "counts": [1, 1, 1]
    }
    dense = report_confusion_matrix(report)
    assert dense.shape == (c, c) and dense.sum() == 3 and dense[9, 7] == 1
    assert report["balanced_accuracy"] == pytest.approx(2 / 3)


def test_evaluate_model_with_dict_inputs_and_short_batches():
    # Inputs as a dict of arrays are predicted as given; arrays in whole batches.
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = keras.Model({"a": a, "b": b},
                        keras.layers.Dense(3)(keras.layers.Concatenate()([a, b])))
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(10, 3)).astype("float32"),
         "b": rng.normal(size=(10, 2)).astype("float32")}
    y = np.arange(10) % 3
    report = evaluate_model(model, x, y, [4, 3, 3], batch_size=4)
    logits = keras.ops.convert_to_numpy(model(x))
    assert report["top1"] == pytest.approx(np.mean(np.argmax(logits, axis=1) == y))
    assert report["num_test_samples"] == 10
    flat = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    one = evaluate_model(flat, x["a"][:1], y[:1], [4, 3, 3], batch_size=4)  # 1 row of 4
    assert one["num_test_samples"] == 1


@pytest.mark.parametrize("batch_size", [256, 16])  # one short batch; 40 and 30 rows in 16s
def test_evaluate_model_with_long_tail_model(batch_size, caplog):
    from keras_lt.evaluation import feature_deviation
    from keras_lt.models.build_model import build_model

    rng = np.random.default_rng(1)
    backbone = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu")])
    model = build_model(backbone, num_classes=4)
    x_test = rng.normal(size=(40, 6)).astype("float32")
    y_test = np.repeat(np.arange(4), 10)
    x_train = rng.normal(size=(30, 6)).astype("float32")
    y_train = np.repeat(np.arange(4), [12, 8, 6, 4])
    report = evaluate_model(
        model, x_test, y_test, [12, 8, 6, 4], train_x=x_train, train_y=y_train,
        feature_deviation_rounds=30, seed=3, batch_size=batch_size,
    )
    # Short last batches of other lengths were a TensorFlow trace each: with the three
    # predict calls of a report, TensorFlow warned of "retracing" (it warns at five).
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    expected = feature_deviation(
        keras.ops.convert_to_numpy(model.extract_features(x_train)), y_train,
        keras.ops.convert_to_numpy(model.extract_features(x_test)), y_test,
        rounds=30, seed=3,
    )
    np.testing.assert_allclose(
        [r["feature_deviation"] for r in report["per_class"]], expected, rtol=1e-5
    )
    logits = keras.ops.convert_to_numpy(model(x_test))
    assert report["top1"] == pytest.approx(np.mean(np.argmax(logits, axis=1) == y_test))
