"""A fair linear baseline: logistic regression tuned for the metric that decides.

An unweighted logistic regression on uneven classes leans to the majority class, which costs
it macro-F1; a fixed C suits some data sets and not others. So the baseline tries a small grid
on the training split and keeps the setting that scores best on validation by the deciding
metric (the first of `metrics`), the way the transformer's best epoch is kept:

    C              the caller's grid (text: 1, 10, 100; pixels: 0.1)
    class_weight   None, and "balanced" as well when the training classes are uneven (the
                   majority holds more than half; two classes: two thirds), since on even
                   classes "balanced" weighs every class about 1 and would refit the same model

The features are computed once and reused for every setting, and each C's fit starts from the
previous C's solution, so the grid costs only the extra linear fits, and those are shorter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from toolkit.advice.data_size import uneven


def class_weight_options(labels: np.ndarray) -> list[str | None]:
    counts = {str(k): v for k, v in Counter(np.asarray(labels).tolist()).items()}
    return [None, "balanced"] if uneven(counts) else [None]


def describe_setting(c: float, weight: str | None) -> str:
    return f"C={c:g}, class_weight={weight or 'none'}"


def tuned_logreg(
    x_train: Any,
    y_train: np.ndarray,
    x_validation: Any,
    validation_score: Callable[[np.ndarray], float],
    c_grid: Sequence[float],
    max_iter: int,
) -> tuple[LogisticRegression, str]:
    """Fit every (C, class_weight) on the training features; keep the best on validation (the
    first on ties: the grid's order), and say which it is."""
    best: tuple[float, LogisticRegression, str] | None = None
    for weight in class_weight_options(y_train):
        previous: LogisticRegression | None = None
        for c in c_grid:
            model = LogisticRegression(C=c, class_weight=weight, max_iter=max_iter)
            if previous is not None:
                # Start from the last C's solution: the problem is convex, so the optimum is
                # the same, and lbfgs reaches it in fewer iterations from nearby.
                model.set_params(warm_start=True)
                model.coef_ = previous.coef_.copy()
                model.intercept_ = previous.intercept_.copy()
            model.fit(x_train, y_train)
            previous = model
            value = validation_score(model.predict(x_validation))
            if best is None or value > best[0]:
                best = (value, model, describe_setting(c, weight))
    assert best is not None, "an empty grid"
    return best[1], best[2]
