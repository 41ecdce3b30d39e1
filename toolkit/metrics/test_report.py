"""The test split's report: per-class precision/recall/F1 and the confusion matrix."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix


def per_class_report(
    labels: np.ndarray, predictions: np.ndarray, label_names: list[str]
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each class (scikit-learn's report, as a dict)."""
    report = classification_report(
        labels,
        predictions,
        labels=list(range(len(label_names))),
        target_names=label_names,
        output_dict=True,
        zero_division=0,
    )
    return {name: {k: float(v) for k, v in report[name].items()} for name in label_names}


def confusion(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> list[list[int]]:
    """Rows: true classes; columns: predicted classes (every class, even if never seen)."""
    return confusion_matrix(labels, predictions, labels=list(range(num_classes))).tolist()
