"""Multi-label baselines: the most frequent training label set, and one-vs-rest logistic
regression (one yes/no classifier per label) on TF-IDF features (text) or raw pixels (images).

Each predicts multi-hot rows, scored by the run's multi-label metrics. One-vs-rest with a linear
model is the standard cheap multi-label baseline: it ignores how labels go together, so a
transformer that beats it clearly is learning more than the vocabulary of each label.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from toolkit.advice.baselines.candidate import Candidate
from toolkit.advice.baselines.image import flat_pixels
from toolkit.advice.baselines.text import FEATURES, fitter, tfidf_features


def fit_most_frequent_set(inputs: Any, labels: np.ndarray):
    """Always the label set that occurs most often in training (ties: the first seen)."""
    rows = Counter(tuple(int(v) for v in row) for row in np.asarray(labels) > 0.5)
    most = np.asarray(rows.most_common(1)[0][0], dtype=np.int64)
    return lambda new: np.tile(most, (len(new), 1))


def most_frequent_set() -> Candidate:
    return Candidate(
        "most_frequent_set",
        "always predicts the most frequent training label set",
        fit_most_frequent_set,
    )


def one_vs_rest(c: float, max_iter: int) -> OneVsRestClassifier:
    # A label present in every (or no) training row gets a constant predictor, not an error.
    return OneVsRestClassifier(LogisticRegression(C=c, max_iter=max_iter))


def text_candidates() -> list[Candidate]:
    return [
        most_frequent_set(),
        Candidate(
            "tfidf_ovr_logreg",
            f"{FEATURES}, one-vs-rest logistic regression (C=10), each label above probability 0.5",
            # C=10 as the single-label TF-IDF baseline (L2-normalised rows underfit at C=1)
            fitter(make_pipeline(tfidf_features(), one_vs_rest(10.0, 2000))),
        ),
    ]


def fit_pixel_ovr_logreg(images: Any, labels: np.ndarray):
    # C=0.1 as the single-label pixel baseline: correlated pixels overfit without it.
    model = one_vs_rest(0.1, 300).fit(flat_pixels(images), (np.asarray(labels) > 0.5).astype(int))
    return lambda inputs: model.predict(flat_pixels(inputs))


def image_candidates() -> list[Candidate]:
    return [
        most_frequent_set(),
        Candidate(
            "pixel_ovr_logreg",
            "one-vs-rest logistic regression on raw pixels scaled to [0, 1] (C=0.1)",
            fit_pixel_ovr_logreg,
        ),
    ]
