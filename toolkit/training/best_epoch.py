"""Which evaluation is the best: the selection metric decides, and on a tie the lower validation
loss. transformers keeps the first of equal scores, which on a metric stuck at one value (an
f1 of 0 while the loss still falls, a small validation split's equal accuracies) keeps the
least-trained model. Early stopping, the kept checkpoint and the report's best epoch all use
this one rule."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from transformers import EarlyStoppingCallback, TrainerState, TrainingArguments

LOSS = "eval_loss"


def eval_key(metric: str) -> str:
    return metric if metric.startswith("eval_") else f"eval_{metric}"


def improves(
    candidate: Mapping[str, Any],
    best: Mapping[str, Any] | None,
    metric: str,
    greater_is_better: bool,
    threshold: float = 0.0,
) -> bool:
    """`candidate`'s evaluation beats `best`'s: its metric better by more than `threshold`, or
    the two metrics equal and its validation loss lower."""
    if best is None:
        return True
    key = eval_key(metric)
    new, old = float(candidate[key]), float(best[key])
    gain = new - old if greater_is_better else old - new
    if gain > 0 and gain > threshold:
        return True
    return new == old and loss_is_lower(candidate.get(LOSS), best.get(LOSS))


def loss_is_lower(new: Any, old: Any) -> bool:
    if new is None or old is None:
        return False
    return math.isfinite(float(new)) and (not math.isfinite(float(old)) or new < old)


def best_logged(state: TrainerState) -> dict[str, Any] | None:
    """The evaluation logged at the best step so far (None before the first)."""
    step = state.best_global_step
    if not step:
        return None
    return next((row for row in state.log_history if row.get("step") == step and LOSS in row), None)


def wins_a_tie(state: TrainerState, args: TrainingArguments, metrics: Mapping[str, Any]) -> bool:
    """`metrics` (this evaluation) ties the best so far on the selection metric with a lower
    validation loss: what transformers' strict comparison does not count as a new best."""
    best = best_logged(state)
    if args.metric_for_best_model is None or best is None:
        return False
    key = eval_key(args.metric_for_best_model)
    if key not in metrics or key not in best or float(metrics[key]) != float(best[key]):
        return False
    return loss_is_lower(metrics.get(LOSS), best.get(LOSS))


class EarlyStoppingOnBest(EarlyStoppingCallback):
    """transformers' early stopping, where a tie won on validation loss is an improvement
    (patience restarts), as it is for the kept checkpoint; not with a threshold, which asks
    for a gain in the metric itself."""

    def on_evaluate(  # untyped, as in transformers: its signature differs from the base's
        self, args, state, control, metrics, **kwargs
    ):
        if not self.early_stopping_threshold and wins_a_tie(state, args, metrics):
            self.early_stopping_patience_counter = 0
            return
        super().on_evaluate(args, state, control, metrics, **kwargs)
