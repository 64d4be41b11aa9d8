"""Evaluation for long-tailed classification.

Accuracy measures (top-k, per-class, many/medium/few-shot, confusion matrix),
the `BalancedAccuracy` Keras metric, the CDT paper's feature deviation, and a
report written as JSON plus PNG plots and printed as a table.
"""

from keras_lt.evaluation.accuracy import (
    balanced_accuracy_score,
    confusion_matrix,
    group_accuracy,
    mean_class_accuracy,
    per_class_accuracy,
    predicted_labels,
    top_k_accuracy,
)
from keras_lt.evaluation.balanced_accuracy import BalancedAccuracy, ShotGroupAccuracy
from keras_lt.evaluation.feature_deviation import feature_deviation, l2_normalize
from keras_lt.evaluation.plots import plot_confusion_matrix, plot_per_class_accuracy
from keras_lt.evaluation.report import (
    evaluate_model,
    evaluation_report,
    format_report,
    load_report,
    report_confusion_matrix,
    report_to_json,
    write_report,
)
from keras_lt.evaluation.shot_groups import shot_group_of, shot_groups

__all__ = [
    "BalancedAccuracy",
    "ShotGroupAccuracy",
    "balanced_accuracy_score",
    "confusion_matrix",
    "evaluate_model",
    "evaluation_report",
    "feature_deviation",
    "format_report",
    "group_accuracy",
    "l2_normalize",
    "load_report",
    "mean_class_accuracy",
    "per_class_accuracy",
    "plot_confusion_matrix",
    "plot_per_class_accuracy",
    "predicted_labels",
    "report_confusion_matrix",
    "report_to_json",
    "shot_group_of",
    "shot_groups",
    "top_k_accuracy",
    "write_report",
]
