"""Regression metrics, computed with numpy and scipy (no `evaluate` module, no Hub).

Names in the config: `rmse` and `mae` (errors: lower is better), `pearson` and `spearman`
(correlations: higher is better); `config.schema.greater_is_better` holds the direction. A
correlation is undefined when the predictions (or the targets) are constant; it is reported as
0.0 then (a constant predictor explains none of the order), not NaN, so the best-epoch choice
and the verdict stay comparable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from toolkit.config.taxonomy import NUMBERS
from toolkit.core.errors import UserError, did_you_mean

if TYPE_CHECKING:
    from transformers import EvalPrediction

REGRESSION_METRICS = NUMBERS.metrics


def as_values(predictions: Any) -> np.ndarray:
    """Model outputs (N, 1) or (N,) -> float64 (N,)."""
    values = np.asarray(predictions[0] if isinstance(predictions, tuple) else predictions)
    return values.reshape(len(values), -1)[:, 0].astype(np.float64)


def correlation(kind: str, predicted: np.ndarray, targets: np.ndarray) -> float:
    if len(predicted) < 2 or np.ptp(predicted) == 0 or np.ptp(targets) == 0:
        return 0.0
    result = (
        stats.pearsonr(predicted, targets)
        if kind == "pearson"
        else stats.spearmanr(predicted, targets)
    )
    return float(result[0])


def regression_scores(predicted: Any, targets: Any) -> dict[str, float]:
    """Every regression metric of `predicted` against `targets` (both 1-D numbers)."""
    predicted, targets = as_values(predicted), as_values(targets)
    errors = predicted - targets
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "pearson": correlation("pearson", predicted, targets),
        "spearman": correlation("spearman", predicted, targets),
    }


def regression_scorer(names: list[str]) -> Callable[[Any, Any], dict[str, float]]:
    """(predicted values, true values) -> {name: value} for `names`; the baselines score with
    it too, so their numbers and the transformer's come from the same code."""
    unknown = [n for n in names if n not in REGRESSION_METRICS]
    if unknown:
        raise UserError(
            f"Metric '{unknown[0]}' (config key 'metrics') is not a regression metric ftk "
            f"ships; use {', '.join(REGRESSION_METRICS)}."
            f"{did_you_mean(unknown[0], REGRESSION_METRICS)}"
        )

    def score(predicted: Any, targets: Any) -> dict[str, float]:
        scores = regression_scores(predicted, targets)
        return {name: scores[name] for name in names}

    return score


def regression_metrics(names: list[str]) -> Callable[[EvalPrediction], dict[str, float]]:
    """A Trainer `compute_metrics` function: the model's one output per example is the value."""
    score = regression_scorer(names)

    def compute(eval_pred: EvalPrediction) -> dict[str, float]:
        return score(eval_pred.predictions, eval_pred.label_ids)

    return compute
