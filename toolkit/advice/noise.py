"""How far apart are two models on the same test examples, and how sure is that? A paired
bootstrap.

The test examples are resampled with replacement RESAMPLES times (seeded); each resample scores
both prediction sets on the same examples, and the 2.5th and 97.5th percentiles of the
difference are its 95% interval. Pairing matters: both models err on the hard examples, so the
difference varies far less than either score.

Generic over the task's target: `paired_bootstrap` takes the target's own scorer
(`task.target.scorer(...)`: predictions, truth -> {name: value}) and per-example rows of any
shape. For the names it knows on one label or number per example (accuracy, f1_*, rmse, mae,
pearson) it computes every resample at once with numpy, from how often each example was drawn,
so 1,000 resamples of 1,000 examples take milliseconds; so does a scorer with a `resampled`
form of its own (entity scores of tag rows: metrics/entities.WordTagScorer); any other metric
(spearman, a trusted evaluate metric, multi-label rows) calls the scorer on each resample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
DRAWS_HELD = 4_000_000  # resampled indices held at once: time linear in n, memory flat

Scorer = Callable[[Any, Any], dict[str, float]]


@dataclass
class Interval:
    """A difference (model A minus model B in the metric's units) and its 95% interval."""

    difference: float
    low: float
    high: float
    examples: int
    resamples: int


def paired_bootstrap(
    metric: str,
    score: Scorer,
    truth: Any,
    first: Any,
    second: Any,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Interval:
    """`metric`(first) - `metric`(second) on the same test examples, with a bootstrap interval.
    `truth`, `first`, `second`: one row per test example, in the same order."""
    n = len(truth)
    if not (len(first) == len(second) == n) or n == 0:
        raise ValueError(f"paired rows must match: {n}, {len(first)}, {len(second)}")
    fast = [vectorised(metric, truth, rows) for rows in (first, second)]
    resampled = getattr(score, "resampled", None)  # a scorer's own all-resamples form

    def differences(draws: np.ndarray) -> np.ndarray:
        if fast[0] is not None and fast[1] is not None:
            counts = draw_counts(draws, n)
            return fast[0](counts) - fast[1](counts)
        if resampled is not None:
            counts = draw_counts(draws, n)
            each = [resampled(counts, truth, rows)[metric] for rows in (first, second)]
            return each[0] - each[1]
        return np.array(
            [
                score(take(first, d), take(truth, d))[metric]
                - score(take(second, d), take(truth, d))[metric]
                for d in draws
            ]
        )

    values = np.concatenate([differences(draws) for draws in resample_draws(n, resamples, seed)])
    full = score(first, truth)[metric] - score(second, truth)[metric]
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(full), float(low), float(high), n, resamples)


def resample_draws(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """The resamples' example indices, (chunk, n) at a time: the same indices as one
    (resamples, n) draw from the seeded generator, but at most DRAWS_HELD of them held at once,
    so 200,000 test examples cost ~35 MB per array instead of 1.6 GB."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, DRAWS_HELD // n))
    for start in range(0, resamples, chunk):
        yield rng.integers(0, n, size=(min(chunk, resamples - start), n))


def draw_counts(draws: np.ndarray, n: int) -> np.ndarray:
    """(resamples, n) indices -> (resamples, n) how often each example was drawn."""
    rows = np.arange(len(draws))[:, None] * n
    return np.bincount((rows + draws).ravel(), minlength=len(draws) * n).reshape(len(draws), n)


def take(rows: Any, indices: np.ndarray) -> Any:
    if isinstance(rows, np.ndarray):
        return rows[indices]
    return [rows[i] for i in indices]


# ----------------------------------------------------------------------------- numpy metrics


def vectorised(
    metric: str, truth: Any, predicted: Any
) -> Callable[[np.ndarray], np.ndarray] | None:
    """`metric` of `predicted` for every resample at once (counts: (resamples, n)), or None when
    the metric or the rows are not ones this module computes itself."""
    try:
        t, p = np.asarray(truth), np.asarray(predicted)
    except ValueError:  # ragged rows (the tags of sentences): the scorer takes them
        return None
    if t.ndim != 1 or p.shape != t.shape or t.dtype == object or p.dtype == object:
        return None
    if metric == "accuracy":
        return lambda counts: counts @ (p == t).astype(float) / len(t)
    if metric.startswith("f1_") and metric.removeprefix("f1_") in AVERAGES:
        return lambda counts: resampled_f1(counts, t, p, metric.removeprefix("f1_"))
    if metric == "rmse":
        return lambda counts: np.sqrt(counts @ ((p - t) ** 2) / len(t))
    if metric == "mae":
        return lambda counts: counts @ np.abs(p - t) / len(t)
    if metric == "pearson":
        return lambda counts: resampled_pearson(counts, t.astype(float), p.astype(float))
    return None


AVERAGES = ("macro", "micro", "weighted", "binary")


def resampled_f1(counts: np.ndarray, truth: np.ndarray, predicted: np.ndarray, average: str):
    """scikit-learn's f1_score per resample: F1 = 2 TP / (predicted + true) per class (0 when
    both are 0); macro over the classes present in the resample's truth or predictions."""
    classes = np.union1d(truth, predicted)
    is_true = (truth[:, None] == classes).astype(float)
    is_predicted = (predicted[:, None] == classes).astype(float)
    tp = counts @ (is_true * is_predicted)
    support, predicted_n = counts @ is_true, counts @ is_predicted
    denominator = support + predicted_n
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / denominator, 0.0)
    if average == "binary":
        return f1[:, list(classes).index(1)] if 1 in classes else np.zeros(len(counts))
    if average == "micro":
        return 2 * tp.sum(1) / denominator.sum(1)
    if average == "weighted":
        return (f1 * support).sum(1) / support.sum(1)
    present = denominator > 0
    return (f1 * present).sum(1) / present.sum(1)


def resampled_pearson(counts: np.ndarray, truth: np.ndarray, predicted: np.ndarray):
    """Pearson's r per resample from weighted moments (0 where either side is constant, as
    metrics/regression.py reports it)."""
    n = counts.sum(1)
    mean_t, mean_p = counts @ truth / n, counts @ predicted / n
    cov = counts @ (truth * predicted) / n - mean_t * mean_p
    var_t = counts @ truth**2 / n - mean_t**2
    var_p = counts @ predicted**2 / n - mean_p**2
    scale = np.sqrt(np.clip(var_t, 0, None) * np.clip(var_p, 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 1e-12, cov / scale, 0.0)
