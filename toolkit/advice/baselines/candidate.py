"""Cheap baselines on exactly the transformer's splits: is a transformer worth it here?

`run_baselines(config, data)` fits every baseline of the task on the training split and scores
it on validation and test with the run's own metrics (same metric code as the Trainer), timing
fit and predict. The best baseline is picked on *validation* (the test split stays a one-time
look), and `toolkit.verdict` compares it with the fine-tuned model on test.

baseline.json (in the run directory):
    {"task", "fingerprint", "metrics", "best", "baselines": [
        {"name", "description", "fit_s", "predict_s", "validation": {...}, "test": {...}}]}
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any
import numpy as np


@dataclasses.dataclass
class Candidate:
    """A baseline to try: `fit(inputs, labels)` returns `predict(inputs) -> label ids`."""

    name: str
    description: str
    fit: Callable[[Any, np.ndarray], Callable[[Any], np.ndarray]]


def score_candidate(candidate: Candidate, inputs: dict[str, Any], labels: dict[str, np.ndarray],
                    score: Callable[[Any, Any], dict[str, float]]) -> dict[str, Any]:
    """Fit on train, predict every other split; the times are wall-clock seconds."""
    started = time.perf_counter()
    predict = candidate.fit(inputs["train"], labels["train"])
    fit_s = time.perf_counter() - started
    result: dict[str, Any] = {"name": candidate.name, "description": candidate.description,
                              "fit_s": round(fit_s, 3)}
    predict_s = 0.0
    for split in ("validation", "test"):
        if split not in inputs:
            continue
        started = time.perf_counter()
        predicted = predict(inputs[split])
        predict_s += time.perf_counter() - started
        result[split] = score(np.asarray(predicted), labels[split])
    result["predict_s"] = round(predict_s, 3)
    return result


def best_baseline(results: Sequence[dict[str, Any]], metric: str) -> dict[str, Any]:
    """The baseline with the best validation score on `metric` (ties: the cheaper to fit)."""
    return max(results, key=lambda r: (r["validation"][metric], -r["fit_s"]))
