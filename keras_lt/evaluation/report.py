"""The evaluation report: one JSON-serialisable dict, its text table and files.

`evaluation_report` gathers what METHODS.md ("What to report") asks for:
top-1 (and top-5), mean per-class accuracy, many/medium/few-shot accuracy,
per-class accuracy with the training count, the confusion matrix and,
given penultimate features, the feature deviation of each class (Ye et al.
2020). `write_report` saves it as report.json plus two PNG plots;
`format_report` prints it as a compact table; `evaluate_model` runs a Keras
model over a test set and builds the report.

Undefined values (a class without test samples, an empty group, a metric
not computed) are `None` in the dict, so `json.dumps` writes strict JSON.
"""

import json
import math
import os

import numpy as np

from keras_lt.data.imbalance import check_labels
from keras_lt.evaluation.accuracy import (
    check_finite_scores,
    confusion_matrix,
    mean_class_accuracy,
    per_class_accuracy_from_confusion,
    top_k_accuracy,
)
from keras_lt.evaluation.feature_deviation import feature_deviation
from keras_lt.evaluation.shot_groups import SHOT_GROUPS, shot_groups, validate_shot_thresholds
from keras_lt.losses.class_weights import validate_class_counts

REPORT_FILE = "report.json"  # what write_report writes and load_report reads

# METHODS.md, "What to report": top-5 where C >= 100.
TOP5_MIN_CLASSES = 100
# Above this many classes the confusion matrix is stored as sparse triplets.
DENSE_CONFUSION_MAX_CLASSES = 1000


def _number(value):
    """float(value), or None for NaN / None (strict JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def evaluation_report(
    y_true,
    logits,
    train_counts,
    class_names=None,
    test_features=None,
    train_features=None,
    train_labels=None,
    many=100,
    few=20,
    top5=None,
    feature_deviation_rounds=1000,
    seed=0,
):
    """Builds the evaluation report of a classifier on a (balanced) test set.

    Group accuracy is the mean over the group's classes of the per-class
    accuracy, acc_G = (1/|G|) sum_{c in G} acc_c (classes without a test
    sample skipped), as in the long-tailed papers; it equals the sample
    accuracy over the group on a balanced test set.

    Args:
        y_true: integer test labels, [N].
        logits: logits or probabilities, [N, C].
        train_counts: per-class training counts, [C] (define the groups).
        class_names: optional C names; default "0", "1", ...
        test_features, train_features, train_labels: penultimate features
            of the test set [N, D] and of the training set [M, D] with its
            labels [M]; all three given -> per-class feature deviation.
        many, few: shot thresholds (many: n_c > many, few: n_c < few).
        top5: None -> top-5 is reported when C >= 100 (METHODS.md), True ->
            whenever C > 5, False -> never; otherwise the key holds None.
        feature_deviation_rounds: R of the feature deviation.
        seed: seed of the feature-deviation subsampling.

    Returns:
        A JSON-serialisable dict with keys num_classes, num_test_samples,
        top1, top5, balanced_accuracy, shot_thresholds, groups (name ->
        accuracy, num_classes, num_tested_classes, classes,
        feature_deviation), per_class (list of dicts: class, name,
        train_count, test_count, group, accuracy, feature_deviation),
        confusion_matrix (rows: true class, columns: prediction; a dense
        list of lists, or {"shape", "rows", "cols", "counts"} triplets when
        C > 1000) and feature_deviation (settings, or None).

    Example:
        >>> report = evaluation_report(y_test, model.predict(x_test), counts)
        >>> print(format_report(report)); write_report(report, "out/")
    """
    counts = validate_class_counts(train_counts, name="train_counts")
    many, few = validate_shot_thresholds(many, few)
    num_classes = counts.size
    y = check_labels(y_true, num_classes, name="y_true")
    scores = np.asarray(logits, dtype=np.float64)
    if scores.shape != (y.size, num_classes):
        raise ValueError(
            f"`logits` must have shape [N, C] = [{y.size}, {num_classes}] (C from "
            f"train_counts), got {scores.shape}."
        )
    check_finite_scores(scores, name="logits")
    if class_names is None:
        names = [str(c) for c in range(num_classes)]
    else:
        names = [str(name) for name in class_names]
        if len(names) != num_classes:
            raise ValueError(f"{len(names)} class names for {num_classes} classes.")

    matrix = confusion_matrix(y, scores, num_classes)
    per_class = per_class_accuracy_from_confusion(matrix)
    test_counts = matrix.sum(axis=1)
    groups = shot_groups(counts, many=many, few=few)
    group_of = np.empty(num_classes, dtype=object)
    for name, classes in groups.items():
        group_of[classes] = name

    if top5 is None:
        top5 = num_classes >= TOP5_MIN_CLASSES
    top5_value = top_k_accuracy(y, scores, 5) if top5 and num_classes > 5 else None

    deviation = None
    deviation_info = None
    given = [f is not None for f in (test_features, train_features, train_labels)]
    if any(given) and not all(given):
        raise ValueError(
            "Feature deviation needs test_features, train_features and train_labels together."
        )
    if all(given):
        train_y = check_labels(train_labels, num_classes, name="train_labels")
        k = int(np.bincount(train_y, minlength=num_classes)[np.unique(train_y)].min())
        deviation = feature_deviation(
            train_features,
            train_y,
            test_features,
            y,
            num_classes=num_classes,
            rounds=feature_deviation_rounds,
            seed=seed,
        )
        deviation_info = {
            "rounds": int(feature_deviation_rounds),
            "subsample_size": k,
            "seed": seed,
            "normalized": True,
            "mean": _number(mean_class_accuracy(deviation)),
        }

    group_report = {}
    for name in SHOT_GROUPS:
        classes = groups[name]
        group_report[name] = {
            "accuracy": _number(mean_class_accuracy(per_class, classes)),
            "num_classes": int(classes.size),
            "num_tested_classes": int(np.sum(test_counts[classes] > 0)),
            "classes": classes.tolist(),
            "feature_deviation": (
                None if deviation is None else _number(mean_class_accuracy(deviation, classes))
            ),
        }

    rows = []
    for c in range(num_classes):
        rows.append(
            {
                "class": c,
                "name": names[c],
                "train_count": int(counts[c]),
                "test_count": int(test_counts[c]),
                "group": group_of[c],
                "accuracy": _number(per_class[c]),
                "feature_deviation": None if deviation is None else _number(deviation[c]),
            }
        )

    if num_classes <= DENSE_CONFUSION_MAX_CLASSES:
        confusion = matrix.tolist()
    else:
        r, c = np.nonzero(matrix)
        confusion = {
            "shape": [num_classes, num_classes],
            "rows": r.tolist(),
            "cols": c.tolist(),
            "counts": matrix[r, c].tolist(),
        }

    return {
        "num_classes": int(num_classes),
        "num_test_samples": int(y.size),
        "top1": _number(top_k_accuracy(y, scores, 1)) if y.size else None,
        "top5": _number(top5_value),
        "balanced_accuracy": _number(mean_class_accuracy(per_class)),
        "shot_thresholds": {"many": many, "few": few},
        "groups": group_report,
        "per_class": rows,
        "confusion_matrix": confusion,
        "feature_deviation": deviation_info,
    }


def report_confusion_matrix(report):
    """The report's confusion matrix as a dense int64 numpy array [C, C]."""
    confusion = report["confusion_matrix"]
    if isinstance(confusion, dict):
        matrix = np.zeros(confusion["shape"], dtype=np.int64)
        matrix[confusion["rows"], confusion["cols"]] = confusion["counts"]
        return matrix
    return np.asarray(confusion, dtype=np.int64)


def _is_flat(value):
    items = value.values() if isinstance(value, dict) else value
    return all(not isinstance(v, (dict, list, tuple)) for v in items)


def _json(value, level):
    if not isinstance(value, (dict, list, tuple)) or _is_flat(value):
        return json.dumps(value, allow_nan=False)
    pad, inner = " " * level, " " * (level + 1)
    if isinstance(value, dict):
        body = ",\n".join(
            f"{inner}{json.dumps(str(k))}: {_json(v, level + 1)}" for k, v in value.items()
        )
        return "{\n" + body + "\n" + pad + "}"
    body = ",\n".join(inner + _json(v, level + 1) for v in value)
    return "[\n" + body + "\n" + pad + "]"


def report_to_json(report):
    """The report as strict JSON text: one line per class and per matrix row."""
    return _json(report, 0)


def write_report(report, out_dir, plots=True):
    """Writes report.json and, with `plots`, the two PNG plots into `out_dir`.

    Files: report.json; per_class_accuracy.png (accuracy against training
    count, log x axis, groups marked); confusion_matrix.png (row-normalised;
    skipped above 1000 classes). Plots need matplotlib (a dependency).

    Returns:
        dict name -> written path ("json", "per_class_accuracy",
        "confusion_matrix").
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {"json": os.path.join(out_dir, REPORT_FILE)}
    with open(paths["json"], "w") as f:
        f.write(report_to_json(report) + "\n")
    if plots:
        from keras_lt.evaluation import plots as plotting

        path = os.path.join(out_dir, "per_class_accuracy.png")
        plotting.plot_per_class_accuracy(report, path)
        paths["per_class_accuracy"] = path
        if report["num_classes"] <= DENSE_CONFUSION_MAX_CLASSES:
            path = os.path.join(out_dir, "confusion_matrix.png")
            plotting.plot_confusion_matrix(report, path)
            paths["confusion_matrix"] = path
    return paths


def load_report(path):
    """Reads a report written by `write_report` (a file or its directory)."""
    if os.path.isdir(path):
        path = os.path.join(path, REPORT_FILE)
    with open(path) as f:
        return json.load(f)


def _pct(value, width=6):
    return f"{'-':>{width}}" if value is None else f"{100 * value:{width}.2f}"


def _dev(value, width=8):
    return f"{'-':>{width}}" if value is None else f"{value:{width}.4f}"


def format_report(report, max_classes=20, extremes=5):
    """The report as a compact text table.

    Overall numbers, one line per shot group, then one line per class when
    C <= `max_classes`, otherwise the `extremes` worst and best classes.
    Accuracies in percent; "-" marks an undefined value.
    """
    lines = []
    c, n = report["num_classes"], report["num_test_samples"]
    lines.append(f"{c} classes, {n} test samples")
    top5 = report.get("top5")
    lines.append(
        f"top-1 {_pct(report['top1']).strip()}%"
        + (f" | top-5 {_pct(top5).strip()}%" if top5 is not None else "")
        + f" | mean per-class {_pct(report['balanced_accuracy']).strip()}%"
    )
    fd = report.get("feature_deviation")
    if fd:
        lines.append(
            f"feature deviation: mean {_dev(fd['mean']).strip()} "
            f"(K={fd['subsample_size']}, R={fd['rounds']})"
        )
    t = report["shot_thresholds"]
    bounds = {
        "many": f"> {t['many']}",
        "medium": f"{t['few']}-{t['many']}",
        "few": f"< {t['few']}",
    }
    header = f"{'group':<7} {'train n':>9} {'classes':>7} {'acc %':>6}"
    if fd:
        header += f" {'feat.dev':>8}"
    lines += ["", header]
    for name in SHOT_GROUPS:
        g = report["groups"][name]
        line = f"{name:<7} {bounds[name]:>9} {g['num_classes']:>7} {_pct(g['accuracy'])}"
        if fd:
            line += f" {_dev(g['feature_deviation'])}"
        lines.append(line)

    rows = report["per_class"]
    width = min(max(len("name"), *(len(r["name"]) for r in rows)), 24)
    header = f"{'class':>5} {'name':<{width}} {'train':>6} {'test':>5} {'group':<6} {'acc %':>6}"
    if fd:
        header += f" {'feat.dev':>8}"

    def line(r):
        text = (
            f"{r['class']:>5} {r['name'][:width]:<{width}} {r['train_count']:>6} "
            f"{r['test_count']:>5} {r['group']:<6} {_pct(r['accuracy'])}"
        )
        if fd:
            text += f" {_dev(r['feature_deviation'])}"
        return text

    if len(rows) <= max_classes:
        lines += ["", header] + [line(r) for r in rows]
    else:
        tested = [r for r in rows if r["accuracy"] is not None]
        tested.sort(key=lambda r: (r["accuracy"], -r["train_count"], r["class"]))
        k = min(extremes, len(tested) // 2)
        lines += ["", f"worst {k} classes", header] + [line(r) for r in tested[:k]]
        lines += ["", f"best {k} classes", header] + [line(r) for r in tested[::-1][:k]]
        untested = len(rows) - len(tested)
        if untested:
            lines.append(f"({untested} classes without test samples)")
    return "\n".join(lines)


def _to_numpy(value):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def _slice(x, start, stop):
    import keras

    return keras.tree.map_structure(lambda a: a[start:stop], x)


def _host(x):
    """tf.Tensor leaves -> numpy, so tf.data batches feed any backend's model."""
    import keras

    def convert(a):
        if type(a).__module__.startswith("tensorflow") and hasattr(a, "numpy"):
            return a.numpy()
        return a

    return keras.tree.map_structure(convert, x)


def _is_array_like(x):
    return hasattr(x, "shape") and hasattr(x, "__getitem__") and not hasattr(x, "element_spec")


def _predict_in_whole_batches(predict, x, batch_size):
    """`predict(x, batch_size=...)` as NumPy, every call on whole batches when
    `x` is a NumPy array: the short last batch is filled up by repeating its
    last row and predicted on its own, and the filler cut off. TensorFlow then
    traces each model's step once (a short last batch is another trace, and
    the report's few predict calls warned of "retracing"). Rows are
    independent in inference, so the outputs are those of one plain call.
    Other inputs (dicts, lists of arrays) are predicted as they are."""
    if not isinstance(x, np.ndarray) or not batch_size or len(x) % batch_size == 0:
        return _to_numpy(predict(x, batch_size=batch_size))
    whole = len(x) - len(x) % batch_size
    tail = x[whole:]
    filled = np.concatenate([tail, np.repeat(tail[-1:], batch_size - len(tail), axis=0)])
    parts = [_to_numpy(predict(x[:whole], batch_size=batch_size))] if whole else []
    parts.append(_to_numpy(predict(filled, batch_size=batch_size))[: len(tail)])
    return np.concatenate(parts)


def _run(model, x, y, batch_size, logits=True, features=False):
    """(logits, labels, features) of `model` on arrays or an (x, y) dataset.

    Arrays: `x` an array (or a dict / list of arrays) and `y` the labels.
    Otherwise `x` is iterated once as (x, y[, sample_weight]) batches, which
    keeps logits, labels and features aligned even if the dataset shuffles.
    Entries not asked for are None.
    """
    out_logits, out_features = None, None
    if y is not None:
        labels = check_labels(y, name="y")
        if logits:
            out_logits = _predict_in_whole_batches(
                lambda v, batch_size: model.predict(v, batch_size=batch_size, verbose=0),
                x, batch_size)
        if features and hasattr(model, "predict_features"):  # LongTailModel
            out_features = _predict_in_whole_batches(model.predict_features, x, batch_size)
        elif features:
            out_features = np.concatenate(
                [
                    _to_numpy(model.extract_features(_slice(x, i, i + batch_size)))
                    for i in range(0, labels.size, batch_size)
                ]
            )
        return out_logits, labels, out_features
    if _is_array_like(x):
        raise ValueError("Labels are required when the inputs are an array.")
    all_logits, all_labels, all_features = [], [], []
    for batch in x:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError(
                "A dataset for evaluation must yield (x, y) batches; pass arrays "
                "as `x` and `y` otherwise."
            )
        xb, yb = _host(batch[0]), batch[1]
        all_labels.append(check_labels(_to_numpy(yb), name="y (from the dataset)"))
        if logits:
            all_logits.append(_to_numpy(model.predict_on_batch(xb)))
        if features:
            all_features.append(_to_numpy(model.extract_features(xb)))
    if not all_labels:
        raise ValueError("The evaluation dataset is empty.")
    return (
        np.concatenate(all_logits) if logits else None,
        np.concatenate(all_labels),
        np.concatenate(all_features) if features else None,
    )


def evaluate_model(
    model,
    x,
    y=None,
    train_counts=None,
    class_names=None,
    train_x=None,
    train_y=None,
    batch_size=256,
    **report_kwargs,
):
    """Runs `model` on a test set and returns `evaluation_report(...)`.

    The model's output must be logits or probabilities [N, C] (a
    `LongTailModel` returns logits). Given training data (`train_x`,
    `train_y`) and a model with `extract_features(x)` (LongTailModel), the
    report also holds the per-class feature deviation.

    Args:
        model: a Keras model.
        x: test inputs (array) with labels `y`, or an iterable / tf.data
            dataset of (x, y) batches (then `y` is None).
        y: integer test labels when `x` is an array.
        train_counts: per-class training counts [C] (required).
        class_names: optional list of C names.
        train_x, train_y: training inputs and labels (or `train_x` a dataset
            of (x, y) batches) for the feature deviation; optional.
        batch_size: prediction batch size for array inputs.
        **report_kwargs: passed to `evaluation_report` (many, few, top5,
            feature_deviation_rounds, seed).

    Example:
        >>> report = evaluate_model(model, x_test, y_test, counts,
        ...                         train_x=x_train, train_y=y_train)
        >>> print(format_report(report)); write_report(report, "runs/ldam")
    """
    if train_counts is None:
        raise ValueError("`train_counts` (the training split's class counts) is required.")
    with_features = train_x is not None and hasattr(model, "extract_features")
    logits, labels, test_features = _run(model, x, y, batch_size, features=with_features)
    train_features = train_labels = None
    if with_features:
        _, train_labels, train_features = _run(
            model, train_x, train_y, batch_size, logits=False, features=True
        )
    return evaluation_report(
        labels,
        logits,
        train_counts,
        class_names=class_names,
        test_features=test_features,
        train_features=train_features,
        train_labels=train_labels,
        **report_kwargs,
    )
