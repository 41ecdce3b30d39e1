"""Classification metrics through `evaluate`, working offline for the defaults.

Metric names in the config: `accuracy`, `f1_macro` (also `f1_micro`, `f1_weighted`) load from
modules shipped inside this package; any other name goes to `evaluate.load(name)` (which needs
the Hub or evaluate's cache). The `_macro`-style suffix becomes the metric's `average` argument.
"""

from __future__ import annotations

import numpy as np


def per_class_report(labels: np.ndarray, predictions: np.ndarray,
                     label_names: list[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each class (scikit-learn's report, as a dict)."""
    from sklearn.metrics import classification_report

    report = classification_report(labels, predictions, labels=list(range(len(label_names))),
                                   target_names=label_names, output_dict=True, zero_division=0)
    return {name: {k: float(v) for k, v in report[name].items()} for name in label_names}
