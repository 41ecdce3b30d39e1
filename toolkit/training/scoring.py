"""Scoring the trained model: the kept (best) model on validation, then one look at test."""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.training.precision import without_autocast

if TYPE_CHECKING:
    import datasets

Pair = tuple[np.ndarray, np.ndarray]  # (labels, logits) of one split
# Trainer -> the test split's (labels, logits) and metrics.json's test_* figures: one
# Trainer.predict over the prepared rows, unless inputs can outgrow a row (a tagger's sentences).
TestReader = Callable[[Any], tuple[Pair, dict[str, Any]]]


@dataclass
class TestRows:
    """The kept model's per-example test predictions beside the truth, in test-split order:
    what the verdict pairs with the baseline's (advice/noise.py)."""

    __test__ = False  # a "Test..." name, not a pytest class

    truth: np.ndarray
    predicted: np.ndarray


def final_metrics(
    # a Trainer; Any, as its predictions are typed array or tuple of arrays or None, where the
    # tasks' models give one array each
    trainer: Any,
    splits: datasets.DatasetDict,
    label_names: list[str],
    train_metrics: dict[str, float],
    target: Any,
    tuned_report: Callable[[Pair, Pair | None], dict[str, Any]] | None = None,
    read_test: TestReader | None = None,
) -> tuple[dict[str, Any], TestRows | None]:
    """Validation metrics of the kept (best) model, then the one look at the test split, and
    its predictions (None: no test split). `target` is the task's (tasks/targets.py): its
    `test_report(labels, logits, label_names)` gives per-class scores and confusion matrix,
    every prediction beside its target, per label or per entity type; its
    `example_rows(labels, logits)` the truth and predicted rows of each test example.
    `tuned_report` (multi-label: a decision threshold) is fitted on the validation (labels,
    logits) and applied to the test ones, so the test split still only gets looked at.
    `read_test` reads the test split instead of one `Trainer.predict` over its prepared rows."""
    metrics: dict[str, Any] = dict(train_metrics)
    test: Pair | None = None
    rows: TestRows | None = None
    # In fp32 even after bf16 training: the scores reported are the saved model's, as
    # `ftk predict`, `ftk evaluate` and pipeline() will compute them.
    with without_autocast(trainer.model):
        # the whole split: evaluations during training may have scored a sample of it
        metrics.update(trainer.evaluate(splits["validation"]))
        if "test" in splits:
            read = read_test or partial(read_prepared, split=splits["test"])
            test, test_metrics = read(trainer)
            metrics.update(test_metrics)
            metrics.update(target.test_report(*test, label_names))
            rows = TestRows(*target.example_rows(*test))
        if tuned_report is not None:
            validation = trainer.predict(splits["validation"], metric_key_prefix="eval")
            metrics.update(tuned_report((validation.label_ids, validation.predictions), test))
    metrics["best_checkpoint_step"] = best_step(trainer.state.best_model_checkpoint)
    return metrics, rows


def read_prepared(trainer: Any, split: datasets.Dataset) -> tuple[Pair, dict[str, Any]]:
    """The test split as prepared for training, one row per input, scored by the Trainer."""
    prediction = trainer.predict(split, metric_key_prefix="test")
    return (prediction.label_ids, prediction.predictions), prediction.metrics


def best_step(checkpoint: str | None) -> int | None:
    return int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB); the
    largest finished DataLoader worker is counted when it is bigger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)
