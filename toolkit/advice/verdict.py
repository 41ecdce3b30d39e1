"""The verdict: is the fine-tuned transformer worth its cost over the best cheap baseline?

A pure function of four numbers (both test scores, both training times), so it can be tested
and read without running anything. Bands, in points of the metric (x100):

    gain <= -CLOSE_POINTS        the baseline is better: use it
    |gain| <  CLOSE_POINTS       within noise of a few hundred test examples: the transformer
                                 may not be worth it
    CLOSE_POINTS <= gain < CLEAR_POINTS   better, but ask whether the points pay for the cost
    gain >= CLEAR_POINTS         the transformer earns its cost

One point is about the standard error of an accuracy near 90% on ~1,000 test examples
(sqrt(0.9*0.1/1000) = 0.95 points), so a smaller gap is not reliably a difference at all.

Error metrics (lower is better: rmse, mae; `config.schema.greater_is_better`) have a scale of
their own, so their gain is the transformer's error reduction as a percentage of the baseline's
error, with bands of CLOSE_PERCENT and CLEAR_PERCENT: the RMSE measured on n test examples
has a relative standard error of about 1/sqrt(2n) (Gaussian errors), 2.2% at n = 1,000.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from toolkit.advice.baselines.fit import Baselines
from toolkit.config.schema import greater_is_better

CLOSE_POINTS = 1.0  # |gain| below this: the two are indistinguishable on a typical test split
CLEAR_POINTS = 3.0  # gain at or above this: a clear, practically relevant improvement
CLOSE_PERCENT = 2.0  # error metrics: a smaller relative reduction is within noise
CLEAR_PERCENT = 5.0  # error metrics: a reduction of the baseline's error this large is clear
MIN_SECONDS = 1e-3  # a baseline that fits "instantly" still gets a finite cost ratio


def cost_phrase(ratio: float, subject_is_baseline: bool) -> str:
    """`ratio` = transformer training time / baseline training time, as words."""
    if subject_is_baseline:
        return (
            f"at 1/{ratio:.0f} of the training time"
            if ratio >= 1.5
            else "at about the same training time"
            if ratio >= 0.67
            else f"at {1 / ratio:.1f}x the training time"
        )
    return (
        f"at {ratio:.0f}x the training time"
        if ratio >= 10
        else f"at {ratio:.1f}x the training time"
        if ratio >= 1.5 or ratio < 0.67
        else "at about the same training time"
    )


@dataclass
class Verdict:
    """Baseline vs transformer on test: the numbers and the sentence that weighs them."""

    metric: str
    baseline: str  # the baseline best on validation
    baseline_test: float
    transformer_test: float
    gain_points: float  # transformer minus baseline, x100 (error metrics: % of the baseline's)
    baseline_train_s: float
    transformer_train_s: float
    time_ratio: float  # transformer training time / baseline training time
    text: str
    gain_unit: str = "points"  # "points" | "%" (error reduction relative to the baseline)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def verdict(
    metric: str,
    baseline_name: str,
    baseline_score: float,
    model_score: float,
    baseline_seconds: float,
    model_seconds: float,
) -> Verdict:
    """Scores of a metric (in [0, 1] for points; any scale for an error metric such as rmse);
    seconds of training. Returns the numbers and a sentence."""
    if greater_is_better(metric):
        gain, close, clear = 100.0 * (model_score - baseline_score), CLOSE_POINTS, CLEAR_POINTS
        unit, amount = "points", "{:.1f} points"
    else:  # an error: the transformer's reduction of the baseline's error, in percent
        gain = 100.0 * (baseline_score - model_score) / max(abs(baseline_score), 1e-12)
        close, clear, unit, amount = CLOSE_PERCENT, CLEAR_PERCENT, "%", "{:.1f}% (of the error)"
    ratio = max(model_seconds, MIN_SECONDS) / max(baseline_seconds, MIN_SECONDS)
    who = f"the baseline ({baseline_name})"
    size = amount.format(abs(gain))
    if gain <= -close:
        text = (
            f"{who} is {size} better on test {metric}, "
            f"{cost_phrase(ratio, True)}; use the baseline, the transformer is not worth it here"
        )
    elif gain < 0:  # ahead, but within noise
        text = (
            f"{who} is {size} better on test {metric} (within noise), "
            f"{cost_phrase(ratio, True)}; a transformer may not be worth it here"
        )
    elif gain < close:
        text = (
            f"{who} is within {size} on test {metric}, "
            f"{cost_phrase(ratio, True)}; a transformer may not be worth it here"
        )
    elif gain < clear:
        text = (
            f"the transformer is {size} better on test {metric} than {who}, "
            f"{cost_phrase(ratio, False)}; worth it only if {size} matter more "
            f"than the cost"
        )
    else:
        text = (
            f"the transformer is {size} better on test {metric} than {who}, "
            f"{cost_phrase(ratio, False)}; it earns its cost here"
        )
    return Verdict(
        metric=metric,
        baseline=baseline_name,
        baseline_test=baseline_score,
        transformer_test=model_score,
        gain_points=round(gain, 2),
        baseline_train_s=baseline_seconds,
        transformer_train_s=model_seconds,
        time_ratio=round(ratio, 1),
        text=text[0].upper() + text[1:] + ".",
        gain_unit=unit,
    )


def verdict_for_run(
    baselines: Baselines | None, metrics: dict[str, Any], metric: str
) -> Verdict | None:
    """The verdict from the best baseline and the run's metrics; None when there are no
    baselines or either side lacks a test score."""
    if baselines is None:
        return None
    best = baselines.best_score
    key = f"test_{metric}"
    if key not in metrics or metric not in (best.test or {}):
        return None
    return verdict(
        metric, best.name, best.test[metric], metrics[key], best.fit_s, metrics["train_runtime"]
    )
