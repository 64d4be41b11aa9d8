"""Accuracy measures for a balanced test set (numpy, no framework needed).

Top-1 / top-k, the confusion matrix, per-class accuracy (recall of each
class), the mean per-class ("balanced") accuracy and the accuracy of the
many/medium/few-shot groups, as reported by the long-tailed papers
(see METHODS.md, "What to report").

Conventions:
- Labels are integer class ids in [0, C). Predictions are either scores of
  shape [N, C] (logits or probabilities; the argmax is taken) or integer
  predicted labels of shape [N].
- Ties in the scores are broken towards the lower class index, as
  `np.argmax` does, both for the top-1 prediction and for top-k; so
  `top_k_accuracy(y, s, 1)` equals the accuracy of `argmax(s)`.
- A class with no test sample has an undefined (NaN) accuracy; means over
  classes skip it.
"""

import numpy as np

from keras_lt.checks import whole_number
from keras_lt.data.imbalance import check_labels


def check_finite_scores(scores, name="scores"):
    """Raises ValueError when `scores` hold NaN or +infinity.

    A diverged model's NaN logits would otherwise be ranked as if they were
    numbers (argmax 0 for every sample, top-k 1.0) and look like a result.
    -inf is a masked-out class (the losses accept it too) and ranks last.
    """
    bad = np.isnan(scores) | np.isposinf(scores)
    if np.any(bad):
        rows = int(np.sum(np.any(bad.reshape(len(scores), -1), axis=1)))
        raise ValueError(
            f"`{name}` hold NaN or +infinite values in {rows} of {len(scores)} rows "
            "(did training diverge? see its loss history); accuracy is undefined."
        )


def _scores(scores, n):
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"`scores` must have shape [N, C], got {s.shape}.")
    if s.shape[0] != n:
        raise ValueError(f"{s.shape[0]} score rows for {n} labels.")
    check_finite_scores(s)
    return s


def predicted_labels(y_pred, num_classes=None):
    """Integer predictions from scores [N, C] (argmax) or from labels [N]."""
    p = np.asarray(y_pred)
    if p.ndim == 2 and p.shape[1] > 1:
        if num_classes is not None and p.shape[1] != num_classes:
            raise ValueError(f"Scores have {p.shape[1]} classes, expected {num_classes}.")
        check_finite_scores(p, name="y_pred")
        return np.argmax(p, axis=1).astype(np.int64)
    return check_labels(p, num_classes, name="y_pred")


def true_class_rank(y_true, scores):
    """0-based rank of the true class in each row of `scores`.

    rank_i = #{c : s_ic > s_iy} + #{c < y : s_ic == s_iy}   (ties: lower index first)
    """
    y = check_labels(y_true, name="y_true")
    s = _scores(scores, y.size)
    if y.size and y.max() >= s.shape[1]:
        raise ValueError(f"Label {int(y.max())} outside the {s.shape[1]} score columns.")
    true = s[np.arange(y.size), y][:, None]
    lower = np.arange(s.shape[1])[None, :] < y[:, None]
    return np.sum((s > true) | ((s == true) & lower), axis=1)


def top_k_accuracy(y_true, scores, k=5):
    """Fraction of samples whose true class is among the k highest scores.

    top-k = (1/N) sum_i [rank_i < k], rank_i as in `true_class_rank`.

    Args:
        y_true: integer labels, shape [N].
        scores: logits or probabilities, shape [N, C].
        k: positive int; k >= C gives 1.0.

    Example:
        >>> top_k_accuracy([0, 1], [[.1, .9, 0], [.5, .3, .2]], k=2)
        1.0
    """
    k = whole_number(k, "k", minimum=1)
    ranks = true_class_rank(y_true, scores)
    if ranks.size == 0:
        return float("nan")
    return float(np.mean(ranks < k))


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts M[i, j] = #{samples of true class i predicted as class j}.

    Rows are true classes, columns predictions (the scikit-learn layout).
    `y_pred` may be scores [N, C] or predicted labels [N]. Returns int64 [C, C].
    """
    num_classes = whole_number(num_classes, "num_classes", minimum=1)
    y = check_labels(y_true, num_classes, name="y_true")
    p = predicted_labels(y_pred, num_classes)
    if p.shape != y.shape:
        raise ValueError(f"{p.size} predictions for {y.size} labels.")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y, p), 1)
    return matrix


def per_class_accuracy(y_true, y_pred, num_classes):
    """Accuracy (recall) of each class: acc_c = M[c, c] / sum_j M[c, j].

    Returns float64 [C], NaN for a class with no test sample.
    """
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    return per_class_accuracy_from_confusion(matrix)


def per_class_accuracy_from_confusion(matrix):
    """Diagonal over row sums of a confusion matrix; NaN for an empty row."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.where(totals > 0, totals, 1), np.nan)


def mean_class_accuracy(per_class, classes=None):
    """Mean of the per-class accuracies over `classes` (default: all).

    acc_G = (1/|G'|) sum_{c in G'} acc_c, G' the classes of G with at least
    one test sample. This is the group accuracy the long-tailed papers report;
    on a balanced test set it equals the sample accuracy over the group's
    test samples. NaN when no class of G has a test sample (or G is empty).
    """
    values = np.asarray(per_class, dtype=np.float64)
    if classes is not None:
        values = values[np.asarray(classes, dtype=np.int64)]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def balanced_accuracy_score(y_true, y_pred, num_classes):
    """Mean per-class accuracy (mean recall) over the classes present in y_true.

    The numpy counterpart of the `BalancedAccuracy` metric (and the same
    definition as scikit-learn's `balanced_accuracy_score`).
    """
    return mean_class_accuracy(per_class_accuracy(y_true, y_pred, num_classes))


def group_accuracy(per_class, groups):
    """Mean per-class accuracy of each group.

    Args:
        per_class: per-class accuracies, shape [C] (NaN = no test sample).
        groups: dict name -> class indices, e.g. from `shot_groups`.

    Returns:
        dict name -> float (NaN for a group without any tested class).
    """
    return {name: mean_class_accuracy(per_class, idx) for name, idx in groups.items()}
