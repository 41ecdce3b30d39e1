"""A baseline to try, its scores on the run's splits, and all of them together (baseline.json).

baseline.json (in the run directory) is `Baselines.to_dict()`:
    {"task", "fingerprint", "split_seed", "metrics", "split_sizes", "best", "baselines": [
        {"name", "description", "fit_s", "predict_s", "validation": {...}, "test": {...},
         "chosen", "test_predictions": [...]}]}
`test_predictions` (one row per test example, in test-split order) lets the verdict pair the
baseline with the transformer example by example (advice/noise.py); `chosen` says which
settings a tuned baseline kept on validation.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from toolkit.config.taxonomy import greater_is_better

Predict = Callable[[Any], np.ndarray]
# (train inputs, train labels, validation inputs, the deciding metric of a validation
# prediction, higher is better) -> (predict, the settings kept, in words)
Tune = Callable[[Any, np.ndarray, Any, Callable[[np.ndarray], float]], tuple[Predict, str]]
# What a baseline fits on and predicts: one label per example (an array), or for tags one list
# of tag ids per sentence (advice/baselines/tagging.py)
LabelsT = TypeVar("LabelsT")


@dataclass
class Candidate(Generic[LabelsT]):
    """A baseline to try: `fit(inputs, labels)` returns `predict(inputs) -> label ids`; a
    tuned one (`tune`) instead fits a small grid on train and keeps what scores best on
    validation by the deciding metric."""

    name: str
    description: str
    fit: Callable[[Any, LabelsT], Callable[[Any], LabelsT]] | None = None
    tune: Tune | None = None


@dataclass
class BaselineScore:
    """One fitted baseline: its scores per split (metric name -> value) and its times."""

    name: str
    description: str
    fit_s: float  # wall-clock seconds to fit on the training split
    predict_s: float  # wall-clock seconds to predict validation and test
    validation: dict[str, float]
    test: dict[str, float] | None = None  # None: the run has no test split
    chosen: str | None = None  # a tuned baseline's settings kept on validation
    test_predictions: list[Any] | None = None  # one per test example, in test-split order

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        return {k: v for k, v in values.items() if v is not None or k == "validation"}


@dataclass
class Baselines:
    """Every baseline of a run, and which one is best on validation."""

    task: str
    fingerprint: str  # what decided the numbers (data, split seed, metrics): see fit.fingerprint
    split_seed: int  # the seed the validation/test rows were held out with
    metrics: list[str]
    split_sizes: dict[str, int]
    best: str  # name of the baseline best on validation
    scores: list[BaselineScore]
    # the training rows they were fitted on when a sample of a larger split (None: all of it;
    # baseline.max_train_rows)
    train_rows: int | None = None

    def sample_text(self) -> str:
        """What the verdict says of a sampled fit ('' for a fit on the whole split)."""
        if self.train_rows is None:
            return ""
        return (
            f"The baselines were fitted on a sample of {self.train_rows:,} of the "
            f"{self.split_sizes['train']:,} training rows (baseline.max_train_rows), which "
            f"bounds their memory; on all of them they would likely score somewhat higher "
            f"(set baseline.max_train_rows: null to fit them on every row)."
        )

    @property
    def best_score(self) -> BaselineScore:
        return self.by_name(self.best)

    def by_name(self, name: str) -> BaselineScore:
        return next(score for score in self.scores if score.name == name)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "scores"}
        out["baselines"] = [score.to_dict() for score in self.scores]
        return out

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Baselines:
        """The inverse of to_dict (a KeyError or TypeError means: not a baseline.json)."""
        return cls(
            task=saved["task"],
            fingerprint=saved["fingerprint"],
            split_seed=saved["split_seed"],
            metrics=list(saved["metrics"]),
            split_sizes=dict(saved["split_sizes"]),
            best=saved["best"],
            scores=[BaselineScore(**score) for score in saved["baselines"]],
            train_rows=saved.get("train_rows"),
        )


def score_candidate(
    candidate: Candidate,
    inputs: dict[str, Any],
    labels: dict[str, np.ndarray],
    score: Callable[[Any, Any], dict[str, float]],
    metric: str | None = None,
) -> BaselineScore:
    """Fit on train (a tuned candidate: its grid, kept by `metric` on validation; default the
    first score), predict every other split; the times are wall-clock seconds."""
    started = time.perf_counter()
    chosen = None
    if candidate.tune is not None:
        rows = tuning_rows(len(labels["validation"]))
        predict, chosen = candidate.tune(
            inputs["train"],
            labels["train"],
            rows_at(inputs["validation"], rows),
            validation_score(score, rows_at(labels["validation"], rows), metric),
        )
        if rows is not None:
            chosen += f" (on {len(rows):,} of the {len(labels['validation']):,} validation rows)"
    else:
        assert candidate.fit is not None, f"baseline {candidate.name} has neither fit nor tune"
        predict = candidate.fit(inputs["train"], labels["train"])
    fit_s = time.perf_counter() - started
    scores: dict[str, dict[str, float]] = {}
    predict_s = 0.0
    test_predictions = None
    for split in ("validation", "test"):
        if split not in inputs:
            continue
        started = time.perf_counter()
        predicted = predict_in_chunks(predict, inputs[split])
        predict_s += time.perf_counter() - started
        # tag lists (one per sentence, of any length) stay lists
        predicted = predicted if isinstance(predicted, list) else np.asarray(predicted)
        scores[split] = score(predicted, labels[split])
        if split == "test":
            test_predictions = predicted if isinstance(predicted, list) else predicted.tolist()
    return BaselineScore(
        name=candidate.name,
        description=candidate.description,
        fit_s=round(fit_s, 3),
        predict_s=round(predict_s, 3),
        validation=scores["validation"],
        test=scores.get("test"),
        chosen=chosen,
        test_predictions=test_predictions,
    )


# Validation rows a tuned baseline chooses its settings on. Its grid holds the features of the
# rows it scores (TF-IDF: ~8 KB a sentence, so 80,000 validation rows of a 1M-row file held
# 1.1 GB); a sample bounds them, and picking among a handful of settings needs no more.
TUNING_ROWS = 20_000


def tuning_rows(size: int) -> np.ndarray | None:
    """The validation rows a tuned baseline chooses on: a fixed random sample of TUNING_ROWS,
    in split order, when the split is larger (None: all of them)."""
    if size <= TUNING_ROWS:
        return None
    return np.sort(np.random.default_rng(0).choice(size, TUNING_ROWS, replace=False))


def rows_at(values: Any, rows: np.ndarray | None) -> Any:
    """`values` (an array, or a list of texts or tag lists) at `rows`; None: all of them."""
    if rows is None:
        return values
    if isinstance(values, np.ndarray):
        return values[rows]
    return [values[i] for i in rows]


# Rows predicted at once: a baseline's features for a whole large split (TF-IDF rows of tens of
# KB each, pixel arrays) would take memory in proportion to the split; chunks bound it.
PREDICT_CHUNK = 10_000


def predict_in_chunks(predict: Predict, inputs: Any, chunk: int = PREDICT_CHUNK) -> Any:
    """`predict(inputs)`, `chunk` rows at a time; tag lists stay lists."""
    if len(inputs) <= chunk:
        return predict(inputs)
    parts = [predict(inputs[start : start + chunk]) for start in range(0, len(inputs), chunk)]
    if isinstance(parts[0], list):
        return [row for part in parts for row in part]
    return np.concatenate([np.asarray(part) for part in parts])


def validation_score(
    score: Callable[[Any, Any], dict[str, float]], truth: np.ndarray, metric: str | None
) -> Callable[[np.ndarray], float]:
    """predicted -> the deciding metric on validation, oriented so that higher is better."""

    def one(predicted: np.ndarray) -> float:
        scores = score(np.asarray(predicted), truth)
        name = metric if metric is not None else next(iter(scores))
        return scores[name] if greater_is_better(name) else -scores[name]

    return one


def best_baseline(results: Sequence[BaselineScore], metric: str) -> BaselineScore:
    """The baseline with the best validation score on `metric`, in the metric's direction
    (lowest rmse, highest accuracy; ties: the cheaper to fit)."""
    sign = 1.0 if greater_is_better(metric) else -1.0
    return max(results, key=lambda r: (sign * r.validation[metric], -r.fit_s))
