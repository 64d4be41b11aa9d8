"""Accuracy measures on the hand-worked 4-class case (see conftest.py)."""

import numpy as np
import pytest

from keras_lt.evaluation import (
    balanced_accuracy_score,
    confusion_matrix,
    group_accuracy,
    mean_class_accuracy,
    per_class_accuracy,
    shot_groups,
    top_k_accuracy,
)


def test_top_k(four_class):
    y, scores, _ = four_class
    assert top_k_accuracy(y, scores, k=1) == pytest.approx(0.4)
    assert top_k_accuracy(y, scores, k=2) == pytest.approx(0.7)
    assert top_k_accuracy(y, scores, k=3) == pytest.approx(0.8)
    assert top_k_accuracy(y, scores, k=4) == pytest.approx(1.0)
    assert top_k_accuracy(y, scores, k=10) == pytest.approx(1.0)


def test_top_k_ties_go_to_the_lower_class_index():
    scores = [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]
    # True class 1 ties with class 0, which comes first: rank 1.
    assert top_k_accuracy([1, 0], scores, k=1) == pytest.approx(0.5)
    assert top_k_accuracy([1, 0], scores, k=2) == pytest.approx(1.0)


def test_top_k_argument_checks(four_class):
    y, scores, _ = four_class
    with pytest.raises(ValueError):
        top_k_accuracy(y, scores, k=0)
    with pytest.raises(ValueError):
        top_k_accuracy(y[:5], scores, k=1)


def test_confusion_matrix(four_class):
    y, scores, _ = four_class
    expected = [[2, 1, 0, 0], [2, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]]
    assert confusion_matrix(y, scores, 4).tolist() == expected
    # Predicted labels instead of scores give the same matrix.
    labels = [0, 0, 1, 1, 0, 0, 0, 2, 0, 2]
    assert confusion_matrix(y, labels, 4).tolist() == expected


def test_per_class_and_balanced_accuracy_score(four_class):
    y, scores, _ = four_class
    np.testing.assert_allclose(per_class_accuracy(y, scores, 4), [2 / 3, 1 / 3, 1 / 2, 0.0])
    assert balanced_accuracy_score(y, scores, 4) == pytest.approx(0.375)


def test_group_accuracy(four_class):
    y, scores, counts = four_class
    per_class = per_class_accuracy(y, scores, 4)
    groups = group_accuracy(per_class, shot_groups(counts))
    assert groups["many"] == pytest.approx(2 / 3)
    assert groups["medium"] == pytest.approx(5 / 12)
    assert groups["few"] == pytest.approx(0.0)


def test_class_without_test_samples_is_nan_and_skipped():
    # Class 2 has no test sample: NaN accuracy, left out of the means.
    per_class = per_class_accuracy([0, 0, 1], [0, 1, 1], 3)
    assert per_class[:2].tolist() == [0.5, 1.0] and np.isnan(per_class[2])
    assert balanced_accuracy_score([0, 0, 1], [0, 1, 1], 3) == pytest.approx(0.75)
    assert np.isnan(mean_class_accuracy(per_class, [2]))
    assert np.isnan(group_accuracy(per_class, {"few": np.array([], dtype=int)})["few"])


def test_label_checks():
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 1], 3)  # label outside [0, C)
    with pytest.raises(ValueError):
        confusion_matrix([0, -1], [0, 1], 3)
    with pytest.raises(ValueError):
        confusion_matrix([0, 1], [[0.1, 0.9]] * 2, 3)  # 2 score columns for 3 classes
    with pytest.raises(ValueError, match="integer class ids"):
        confusion_matrix([0.0, np.inf], [0, 1], 3)  # not a class id
    with pytest.raises(ValueError, match="integer class ids"):
        confusion_matrix([0.0, 0.5], [0, 1], 3)
    # A [N, 1] label column is accepted.
    assert confusion_matrix([[0], [1]], [0, 1], 2).tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_scores_are_refused(bad):
    # NaN rows used to rank as argmax 0 and top-k 1.0: a diverged model looked fine.
    y = [0, 1, 2]
    scores = np.eye(3)
    scores[1, 2] = bad
    with pytest.raises(ValueError, match=r"NaN or \+infinite values in 1 of 3 rows"):
        top_k_accuracy(y, scores, 1)
    with pytest.raises(ValueError, match="NaN or"):
        confusion_matrix(y, scores, 3)


def test_a_masked_class_at_minus_infinity_ranks_last():
    # -inf is a masked-out class, which the losses accept: scored, not refused.
    scores = np.eye(3)
    scores[:, 2] = -np.inf
    assert top_k_accuracy([0, 1, 2], scores, 1) == pytest.approx(2 / 3)
    assert top_k_accuracy([0, 1, 2], scores, 2) == pytest.approx(2 / 3)
    assert confusion_matrix([0, 1, 2], scores, 3)[2].tolist() == [1, 0, 0]


def test_num_classes_must_be_a_positive_integer():
    for bad in (2.5, 0, -1, True):
        with pytest.raises(ValueError, match="`num_classes` must be a positive integer"):
            confusion_matrix([0, 1], [0, 1], bad)


def test_one_hot_labels_get_a_hint():
    with pytest.raises(ValueError, match="one-hot labels"):
        confusion_matrix(np.eye(3, dtype=int), [0, 1, 2], 3)
