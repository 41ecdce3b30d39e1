"""Scoring the trained model: the kept (best) model on validation, then one look at test."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class TestRows:
    """The kept model's per-example test predictions beside the truth, in test-split order:
    what the verdict pairs with the baseline's (advice/noise.py)."""

    truth: np.ndarray
    predicted: np.ndarray


def final_metrics(
    trainer: Any,
    splits: Any,
    label_names: list[str],
    train_metrics: dict[str, float],
    target: Any,
) -> tuple[dict[str, Any], TestRows | None]:
    """Validation metrics of the kept (best) model, then the one look at the test split, and
    its predictions (None: no test split). `target` is the task's (tasks/targets.py): its
    `test_report(labels, logits, label_names)` gives per-class scores and confusion matrix, or
    every prediction beside its target; its `predictions(logits)` the predicted rows."""
    metrics: dict[str, Any] = dict(train_metrics)
    metrics.update(trainer.evaluate())
    metrics["best_checkpoint_step"] = best_step(trainer.state.best_model_checkpoint)
    if "test" not in splits:
        return metrics, None
    prediction = trainer.predict(splits["test"], metric_key_prefix="test")
    metrics.update(prediction.metrics)
    logits = prediction.predictions
    metrics.update(target.test_report(prediction.label_ids, logits, label_names))
    return metrics, TestRows(np.asarray(prediction.label_ids), target.predictions(logits))


def best_step(checkpoint: str | None) -> int | None:
    return int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB); the
    largest finished DataLoader worker is counted when it is bigger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)
