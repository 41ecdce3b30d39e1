"""Classification metrics through `evaluate`, offline.

Metric names in the config: `accuracy`, `f1_macro` (also `f1_micro`, `f1_weighted`,
`f1_binary`), loaded from the modules shipped inside this package (`modules/`); the suffix
becomes f1's `average` argument. Any other name is refused unless the run opts in with
`trust_metric_code: true`: `evaluate.load(name)` runs the script of a folder of that name in
the working directory, or one fetched from the Hub.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.config.taxonomy import CLASSES
from toolkit.core.errors import UserError, did_you_mean

if TYPE_CHECKING:
    from transformers import EvalPrediction

CLASSIFICATION_METRICS = CLASSES.metrics

LOCAL_MODULES = Path(__file__).parent / "modules"


AVERAGES = ("macro", "micro", "weighted", "binary")


def split_name(name: str) -> tuple[str, str | None]:
    """'f1_macro' -> ('f1', 'macro'); 'accuracy' -> ('accuracy', None)."""
    if name not in CLASSIFICATION_METRICS:
        return name, None  # a trusted metric of the user's: called as it is
    base, _, suffix = name.rpartition("_")
    return (base, suffix) if base and suffix in AVERAGES else (name, None)


def load_metric(name: str, trust_code: bool = False) -> Any:
    import evaluate  # heavy (seconds); only the runs that score anything need it

    if name in CLASSIFICATION_METRICS:
        return evaluate.load(str(LOCAL_MODULES / split_name(name)[0]))
    if not trust_code:
        raise UserError(
            f"Metric '{name}' (config key 'metrics') is not one ftk ships; use one of "
            f"{', '.join(CLASSIFICATION_METRICS)}.{did_you_mean(name, CLASSIFICATION_METRICS)} "
            f"(trust_metric_code: true loads other evaluate metrics, running their code.)"
        )
    try:
        return evaluate.load(name)
    except Exception as exc:  # evaluate raises many kinds (FileNotFoundError, HTTP, import)
        raise UserError(
            f"Metric '{name}' (config key 'metrics', trust_metric_code: true) could not be "
            f"loaded by evaluate.load: {type(exc).__name__}: {exc}. Name a folder holding "
            f"'<folder name>.py' (an evaluate metric script), or a Hub metric while online."
        ) from None


def classification_metrics(
    names: list[str], trust_code: bool = False
) -> Callable[[EvalPrediction], dict[str, float]]:
    """A Trainer `compute_metrics` function computing every metric in `names`."""
    score = prediction_scorer(names, trust_code)

    def compute(eval_pred: EvalPrediction) -> dict[str, float]:
        logits, labels = eval_pred.predictions, eval_pred.label_ids
        logits = logits[0] if isinstance(logits, tuple) else logits
        return score(np.argmax(logits, axis=-1), labels)

    return compute


def prediction_scorer(
    names: list[str], trust_code: bool = False
) -> Callable[[Any, Any], dict[str, float]]:
    """(predicted ids, true ids) -> {name: value}; the baselines score with it too, so their
    numbers and the transformer's come from the same metric code."""
    loaded = {name: load_metric(name, trust_code) for name in names}

    def score(predictions: Any, labels: Any) -> dict[str, float]:
        results = {}
        for name, metric in loaded.items():
            _, average = split_name(name)
            kwargs = {"average": average} if average else {}
            value = metric.compute(predictions=predictions, references=labels, **kwargs)
            results[name] = float(next(iter(value.values())))
        return results

    return score
