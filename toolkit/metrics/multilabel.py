"""Multi-label scores: each (input, label) pair is one yes/no decision, the sigmoid of its logit
above a threshold.

f1_micro pools every decision (true positives, false positives, false negatives over all
labels), so frequent labels weigh most; f1_macro averages the per-label F1, so a rare label
counts as much as a common one (a label with no positives and no predictions scores 0, as
scikit-learn's `zero_division=0`); subset_accuracy is the share of inputs whose whole predicted
set equals the true one. Plain numpy, so the numbers are easy to check by hand
(tests/test_multilabel.py does).

The decision threshold: 0.5 by default; `tune_threshold` picks the one of THRESHOLD_GRID with
the best f1_micro on validation, reported beside 0.5 and saved with the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from transformers import EvalPrediction

DEFAULT_THRESHOLD = 0.5
THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.05, 0.951, 0.05))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))


def decide(logits: np.ndarray, threshold: float) -> np.ndarray:
    """Multi-hot predictions (0/1 ints): the labels whose probability exceeds `threshold`."""
    return (sigmoid(logits) > threshold).astype(np.int64)


def counts(predicted: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-label true positives, false positives and false negatives."""
    predicted, true = np.asarray(predicted) > 0.5, np.asarray(true) > 0.5
    tp = (predicted & true).sum(axis=0)
    fp = (predicted & ~true).sum(axis=0)
    fn = (~predicted & true).sum(axis=0)
    return tp, fp, fn


def f1(tp: Any, fp: Any, fn: Any) -> np.ndarray:
    """2 tp / (2 tp + fp + fn), 0 where the denominator is 0."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def label_set_scores(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Every multi-label metric of multi-hot predictions against multi-hot targets."""
    tp, fp, fn = counts(predicted, true)
    same = np.all((np.asarray(predicted) > 0.5) == (np.asarray(true) > 0.5), axis=1)
    return {
        "f1_micro": float(f1(tp.sum(), fp.sum(), fn.sum())),
        "f1_macro": float(f1(tp, fp, fn).mean()),
        "subset_accuracy": float(same.mean()),
    }


def label_set_scorer(names: list[str]) -> Callable[[Any, Any], dict[str, float]]:
    """(multi-hot predictions, multi-hot targets) -> the named metrics (baselines, evaluate)."""

    def score(predicted: Any, true: Any) -> dict[str, float]:
        scores = label_set_scores(np.asarray(predicted), np.asarray(true))
        return {name: scores[name] for name in names}

    return score


def label_set_metrics(
    names: list[str], threshold: float = DEFAULT_THRESHOLD
) -> Callable[[EvalPrediction], dict[str, float]]:
    """The Trainer's `compute_metrics`: sigmoid of the logits above `threshold`, scored."""
    score = label_set_scorer(names)

    def compute(eval_prediction: EvalPrediction) -> dict[str, float]:
        logits, labels = eval_prediction.predictions, eval_prediction.label_ids
        logits = logits[0] if isinstance(logits, tuple) else logits  # as classification.py
        return score(decide(logits, threshold), labels)

    return compute


def tune_threshold(logits: np.ndarray, true: np.ndarray) -> float:
    """The grid threshold with the best f1_micro on these (validation) predictions; a tie goes
    to the threshold nearest 0.5."""
    ranked = sorted(THRESHOLD_GRID, key=lambda t: abs(t - DEFAULT_THRESHOLD))
    return max(ranked, key=lambda t: label_set_scores(decide(logits, t), true)["f1_micro"])


def per_label_report(
    predicted: np.ndarray, true: np.ndarray, names: list[str]
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support (true rows) of every label."""
    tp, fp, fn = counts(predicted, true)
    precision = np.divide(tp, tp + fp, out=np.zeros(len(names)), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros(len(names)), where=(tp + fn) > 0)
    scores = f1(tp, fp, fn)
    return {
        name: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(scores[i]), 4),
            "support": int(tp[i] + fn[i]),
        }
        for i, name in enumerate(names)
    }
