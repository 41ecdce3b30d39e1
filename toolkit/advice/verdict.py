"""The verdict: is the fine-tuned transformer worth its cost over the best cheap baseline?

A pure function of the two test scores, the two training times and, when both models' test
predictions are at hand, the paired bootstrap interval of their difference on the same test
examples (advice/noise.py). The interval decides:

    the whole 95% interval below 0       the baseline is better: use it
    the interval holds 0                 the test split cannot tell them apart: the
                                         transformer may not be worth it
    the whole interval above 0, gain < CLEAR_POINTS   better, but ask whether the points pay
    the whole interval above 0, gain >= CLEAR_POINTS  the transformer earns its cost

Without an interval (a baseline.json without test predictions, test rows that do not line up)
the fixed bands stand in: |gain| < CLOSE_POINTS is "within noise" (one point is about the
standard error of an accuracy near 90% on ~1,000 test examples, sqrt(0.9*0.1/1000) = 0.95),
and the verdict's text says that no interval was measured and why (`Verdict.no_interval`).

Error metrics (lower is better: rmse, mae; `config.schema.greater_is_better`) have a scale of
their own, so their gain (and interval) is the transformer's error reduction as a percentage of
the baseline's error; the fallback bands are CLOSE_PERCENT and CLEAR_PERCENT.

The verdict decides on the first of `metrics` and states every other one beside it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolkit.advice.baselines.candidate import Baselines
from toolkit.advice.noise import Interval, Scorer, paired_bootstrap
from toolkit.config.taxonomy import greater_is_better
from toolkit.training.scoring import TestRows

CLOSE_POINTS = 1.0  # no interval: |gain| below this is indistinguishable on a typical test split
CLEAR_POINTS = 3.0  # gain at or above this: a clear, practically relevant improvement
CLOSE_PERCENT = 2.0  # error metrics without an interval: a smaller relative reduction is noise
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
class Comparison:
    """One metric on test: both scores, the transformer's gain and its 95% interval, in points
    (x100) or, for an error metric, % of the baseline's error (positive: the transformer is
    better). low/high are None without paired test predictions."""

    metric: str
    transformer: float
    baseline: float
    gain: float
    unit: str  # "points" | "%"
    low: float | None = None
    high: float | None = None
    examples: int | None = None  # test examples the interval was measured on

    def phrase(self) -> str:
        """'accuracy +1.2 points (95% interval -1.0 to +3.4)'."""
        interval = (
            f" (95% interval {self.low:+.1f} to {self.high:+.1f})" if self.low is not None else ""
        )
        return f"{self.metric} {self.gain:+.1f} {self.unit}{interval}"


def compare(
    metric: str, baseline_score: float, model_score: float, interval: Interval | None = None
) -> Comparison:
    """The gain in the metric's units; `interval` is the bootstrap of transformer minus
    baseline in the metric's own scale."""
    if greater_is_better(metric):

        def gain(difference: float) -> float:
            return 100.0 * difference

        unit = "points"
    else:  # an error: the transformer's reduction of the baseline's error, in percent
        scale = max(abs(baseline_score), 1e-12)

        def gain(difference: float) -> float:
            return -100.0 * difference / scale

        unit = "%"
    ends = sorted((gain(interval.low), gain(interval.high))) if interval else (None, None)
    return Comparison(
        metric=metric,
        transformer=model_score,
        baseline=baseline_score,
        gain=round(gain(model_score - baseline_score), 2),
        unit=unit,
        low=None if ends[0] is None else round(ends[0], 2),
        high=None if ends[1] is None else round(ends[1], 2),
        examples=interval.examples if interval else None,
    )


@dataclass
class Verdict:
    """Baseline vs transformer on test: the numbers and the sentence that weighs them."""

    metric: str  # the metric it decides on: the first of `metrics`
    baseline: str  # the baseline best on validation
    baseline_test: float
    transformer_test: float
    gain_points: float  # transformer minus baseline, x100 (error metrics: % of the baseline's)
    baseline_train_s: float
    transformer_train_s: float
    time_ratio: float  # transformer training time / baseline training time
    text: str
    gain_unit: str = "points"  # "points" | "%" (error reduction relative to the baseline)
    interval: list[float] | None = None  # 95% interval of gain_points (paired bootstrap)
    test_examples: int | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)  # every metric
    no_interval: str | None = None  # why there is no interval, when a run has none

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def decision(c: Comparison, who: str, ratio: float) -> str:
    """The sentence for the deciding metric."""
    size = (
        f"{abs(c.gain):.1f} points" if c.unit == "points" else f"{abs(c.gain):.1f}% (of the error)"
    )
    close, clear = (
        (CLOSE_POINTS, CLEAR_POINTS) if c.unit == "points" else (CLOSE_PERCENT, CLEAR_PERCENT)
    )
    ahead = f"{who} is {size} better on test {c.metric}"
    behind = f"the transformer is {size} better on test {c.metric} than {who}"
    if c.low is not None and c.high is not None:  # both or neither
        measured = (
            f"on {c.examples} test examples the 95% interval of the transformer's gain is "
            f"{c.low:+.1f} to {c.high:+.1f} {c.unit}"
        )
        if c.high < 0:
            return (
                f"{ahead} ({measured}), {cost_phrase(ratio, True)}; use the baseline, the "
                f"transformer is not worth it here"
            )
        if c.low <= 0:
            lead = (
                ahead
                if c.gain < 0
                else behind
                if c.gain > 0
                else f"{who} scores the same on test {c.metric}"
            )
            return (
                f"{lead}, but {measured}: the test split cannot tell them apart. The baseline "
                f"runs {cost_phrase(ratio, True)}; a transformer may not be worth it here"
            )
        worth = (
            "it earns its cost here"
            if c.gain >= clear
            else f"worth it only if {size} matter more than the cost"
        )
        return f"{behind} ({measured}), {cost_phrase(ratio, False)}; {worth}"
    # no interval: the fixed bands
    if c.gain <= -close:
        return (
            f"{ahead}, {cost_phrase(ratio, True)}; use the baseline, the transformer is not "
            f"worth it here"
        )
    if c.gain < 0:
        return (
            f"{ahead} (within noise), {cost_phrase(ratio, True)}; a transformer may not be "
            f"worth it here"
        )
    if c.gain < close:
        return (
            f"{who} is within {size} on test {c.metric}, {cost_phrase(ratio, True)}; a "
            f"transformer may not be worth it here"
        )
    if c.gain < clear:
        return (
            f"{behind}, {cost_phrase(ratio, False)}; worth it only if {size} matter more than "
            f"the cost"
        )
    return f"{behind}, {cost_phrase(ratio, False)}; it earns its cost here"


def verdict(
    metric: str,
    baseline_name: str,
    baseline_score: float,
    model_score: float,
    baseline_seconds: float,
    model_seconds: float,
    interval: Interval | None = None,
    others: list[Comparison] | None = None,
    no_interval: str | None = None,
) -> Verdict:
    """Scores of a metric (in [0, 1] for points; any scale for an error metric such as rmse);
    seconds of training; the paired interval of model minus baseline when measured, else
    `no_interval`, why it could not be (said in the text); the comparisons on the other
    metrics, stated after the decision. Returns numbers and text."""
    deciding = compare(metric, baseline_score, model_score, interval)
    ratio = max(model_seconds, MIN_SECONDS) / max(baseline_seconds, MIN_SECONDS)
    text = decision(deciding, f"the baseline ({baseline_name})", ratio)
    text = text[0].upper() + text[1:] + "."
    if interval is None and no_interval:
        text += f" {unmeasured_text(no_interval, deciding.unit)}"
    if others:
        text += (
            f" Decided on {metric}, the first of `metrics`; also on test: "
            + "; ".join(c.phrase() for c in others)
            + "."
        )
    return Verdict(
        metric=metric,
        baseline=baseline_name,
        baseline_test=baseline_score,
        transformer_test=model_score,
        gain_points=deciding.gain,
        baseline_train_s=baseline_seconds,
        transformer_train_s=model_seconds,
        time_ratio=round(ratio, 1),
        text=text,
        gain_unit=deciding.unit,
        interval=(
            None if deciding.low is None or deciding.high is None else [deciding.low, deciding.high]
        ),
        test_examples=deciding.examples,
        comparisons=[dataclasses.asdict(c) for c in [deciding, *(others or [])]],
        no_interval=None if interval is not None else no_interval,
    )


def unmeasured_text(reason: str, unit: str) -> str:
    """The sentence a verdict without an interval carries: why, and what decided instead."""
    close = f"{CLOSE_POINTS:.1f} points" if unit == "points" else f"{CLOSE_PERCENT:.1f}%"
    return (
        f"No 95% interval was measured: {reason}; a fixed band stood in for the test "
        f"split's noise (a gain under {close} counts as within noise)."
    )


def verdict_for_run(
    baselines: Baselines | None,
    metrics: dict[str, Any],
    names: list[str],
    test: TestRows | None = None,
    score: Scorer | None = None,
    seed: int = 0,
) -> Verdict | None:
    """The verdict from the best baseline and the run's metrics, deciding on names[0]; the
    intervals need the transformer's test rows, the baseline's test predictions (baseline.json)
    and the target's scorer; where one is missing or the rows do not line up, the verdict says
    which. None when there are no baselines or either side lacks a test score."""
    if baselines is None:
        return None
    best = baselines.best_score
    best_test = best.test or {}
    scored = [n for n in names if f"test_{n}" in metrics and n in best_test]
    if not scored or scored[0] != names[0]:
        return None
    pairing = paired_rows(best.name, best.test_predictions, test)
    if pairing.rows is not None and score is None:
        pairing = Pairing(missing="the task's target gave no scorer to resample")

    def comparison(name: str) -> tuple[Interval | None, Comparison]:
        interval = None
        if pairing.rows is not None and score is not None:
            interval = paired_bootstrap(name, score, *pairing.rows, seed=seed)
        return interval, compare(name, best_test[name], metrics[f"test_{name}"], interval)

    interval, _ = comparison(names[0])
    others = [comparison(name)[1] for name in scored[1:]]
    decided = verdict(
        names[0],
        best.name,
        best_test[names[0]],
        metrics[f"test_{names[0]}"],
        best.fit_s,
        metrics["train_runtime"],
        interval,
        others,
        no_interval=pairing.missing or None,
    )
    if baselines.sample_text():
        decided.text += " " + baselines.sample_text()
    return decided


@dataclass
class Pairing:
    """The test rows both models predicted, or why there are none to pair."""

    rows: tuple[Any, Any, Any] | None = None  # (truth, transformer, baseline), row for row
    missing: str = ""  # why not: said in the verdict


def paired_rows(name: str, baseline_predictions: Any, test: TestRows | None) -> Pairing:
    """(truth, transformer, baseline) when both prediction sets cover the same test rows,
    else why they do not (the baseline `name` is named in it)."""
    if test is None:
        return Pairing(missing="the transformer's test predictions were not kept")
    if baseline_predictions is None:
        return Pairing(
            missing=f"baseline.json holds no test predictions of {name} (an older ftk wrote "
            f"it; `ftk baseline` refits it with them)"
        )
    if len(test.truth) == 0:
        return Pairing(missing="the test split is empty")
    if len(baseline_predictions) != len(test.truth) or len(test.predicted) != len(test.truth):
        return Pairing(
            missing=f"the test rows do not line up ({len(test.truth):,} true, "
            f"{len(test.predicted):,} from the transformer, {len(baseline_predictions):,} from "
            f"{name})"
        )
    if isinstance(test.truth, list):  # per-word tags: each sentence's rows must match too
        uneven = uneven_rows(test.truth, test.predicted, baseline_predictions)
        if uneven:
            return Pairing(missing=uneven)
    try:
        baseline: Any = np.asarray(baseline_predictions)
    except ValueError:  # ragged rows (words of sentences): the scorer takes them as lists
        baseline = list(baseline_predictions)
    return Pairing(rows=(test.truth, test.predicted, baseline))


def uneven_rows(truth: list[Any], transformer: list[Any], baseline: list[Any]) -> str:
    """'' when every sentence has one tag per word from the truth and both models; else how
    many do not, and the first."""
    uneven = [
        i
        for i, (row, ours, theirs) in enumerate(zip(truth, transformer, baseline, strict=True))
        if not len(row) == len(ours) == len(theirs)
    ]
    if not uneven:
        return ""
    i = uneven[0]
    return (
        f"{len(uneven):,} test sentences have tag rows of different lengths (the first, "
        f"sentence {i}: {len(truth[i])} true tags, {len(transformer[i])} from the transformer, "
        f"{len(baseline[i])} from the baseline)"
    )
