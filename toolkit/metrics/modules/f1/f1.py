"""F1 score as an `evaluate` metric module that loads from this folder, offline.

`average` is passed through to scikit-learn: "macro" (the toolkit's default for classification,
every class counts the same however rare), "micro", "weighted", or "binary".
"""

import datasets
import evaluate
from sklearn.metrics import f1_score


class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Harmonic mean of precision and recall, averaged over classes.",
            citation="",
            inputs_description="predictions and references: lists of integer class ids",
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, average="macro", labels=None):
        return {"f1": float(f1_score(references, predictions, average=average, labels=labels,
                                     zero_division=0))}
