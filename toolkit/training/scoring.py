"""Scoring the trained model: the kept (best) model on validation, then one look at test."""

from __future__ import annotations

import resource
from collections.abc import Callable
from typing import Any

import numpy as np

Pair = tuple[np.ndarray, np.ndarray]  # (labels, logits) of one split


def final_metrics(
    trainer: Any,
    splits: Any,
    label_names: list[str],
    train_metrics: dict[str, float],
    test_report: Callable[[np.ndarray, np.ndarray, list[str]], dict[str, Any]],
    tuned_report: Callable[[Pair, Pair | None], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Validation metrics of the kept (best) model, then the one look at the test split;
    `test_report(labels, logits, label_names)` is the task's (tasks/targets.py): per-class
    scores and confusion matrix, or every prediction beside its target. `tuned_report`
    (multi-label: a decision threshold) is fitted on the validation (labels, logits) and
    applied to the test ones, so the test split still only gets looked at."""
    metrics: dict[str, Any] = dict(train_metrics)
    metrics.update(trainer.evaluate())
    metrics["best_checkpoint_step"] = best_step(trainer.state.best_model_checkpoint)
    test: Pair | None = None
    if "test" in splits:
        prediction = trainer.predict(splits["test"], metric_key_prefix="test")
        metrics.update(prediction.metrics)
        metrics.update(test_report(prediction.label_ids, prediction.predictions, label_names))
        test = (prediction.label_ids, prediction.predictions)
    if tuned_report is not None:
        validation = trainer.predict(splits["validation"], metric_key_prefix="eval")
        metrics.update(tuned_report((validation.label_ids, validation.predictions), test))
    return metrics


def best_step(checkpoint: str | None) -> int | None:
    return int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB); the
    largest finished DataLoader worker is counted when it is bigger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)
