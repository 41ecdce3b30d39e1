"""Accuracy as an `evaluate` metric module that loads from this folder, offline.

`evaluate.load("accuracy")` fetches its script from the Hub; this module is the toolkit's own,
so the default metrics work on a machine with no network.
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score


class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Fraction of predictions equal to the reference label.",
            citation="",
            inputs_description="predictions and references: lists of integer class ids",
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, sample_weight=None):
        return {"accuracy": float(accuracy_score(references, predictions,
                                                 sample_weight=sample_weight))}
