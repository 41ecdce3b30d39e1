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


# Above this many classes a confusion matrix is neither readable nor small (5,000 classes: 25
# million cells in metrics.json); the most frequent confusions are kept instead.
MATRIX_MAX_CLASSES = 50
TOP_CONFUSIONS = 50


def confusions(
    labels: np.ndarray, predictions: np.ndarray, label_names: list[str]
) -> dict[str, list]:
    """`test_confusion_matrix` for up to MATRIX_MAX_CLASSES classes; above, the TOP_CONFUSIONS
    most frequent (true, predicted, count) mistakes as `test_top_confusions`: memory and file
    size grow with the test rows, not with the square of the classes."""
    if len(label_names) <= MATRIX_MAX_CLASSES:
        return {"test_confusion_matrix": confusion(labels, predictions, len(label_names))}
    wrong = labels != predictions
    pairs, counts = np.unique(
        np.stack([labels[wrong], predictions[wrong]], axis=1), axis=0, return_counts=True
    )
    order = np.argsort(-counts, kind="stable")[:TOP_CONFUSIONS]
    top = [[label_names[pairs[i][0]], label_names[pairs[i][1]], int(counts[i])] for i in order]
    return {"test_top_confusions": top}
