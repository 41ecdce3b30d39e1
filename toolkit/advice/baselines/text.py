"""Text baselines: the majority class, and TF-IDF n-grams + logistic regression; for a
numeric target (regression) the training mean, and the same TF-IDF features + ridge regression.

TF-IDF over word 1-2-grams (sublinear tf) with a linear classifier is the classic strong
baseline for topic and sentiment classification: fast to fit, and often within a few points of
a fine-tuned transformer when the labels follow the vocabulary. Short texts (sentences, tweets,
short reviews) add character 2-5-grams, which carry spelling variants and word parts where a
text has few words; long documents do not: there the words carry the signal, and character
n-grams cost the most (BENCHMARKS.md, "Start-up": on BBC News's ~2,200-character articles they
took 10 of the baseline's 27 s, and most of its features, for no test accuracy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline, make_union

from toolkit.advice.baselines.candidate import Candidate
from toolkit.advice.baselines.tuning import tuned_logreg
from toolkit.config.schema import RunConfig

if TYPE_CHECKING:
    import datasets


def inputs_from_splits(splits: datasets.DatasetDict, config: RunConfig) -> dict[str, list[str]]:
    """One string per example; a sentence pair is joined by a newline (n-grams stay inside
    each text except the one spanning the join)."""
    text, pair = config.data.text_column, config.data.text_pair_column
    out = {}
    for split, dataset in splits.items():
        first = ["" if t is None else str(t) for t in dataset[text]]
        if pair:
            second = ["" if t is None else str(t) for t in dataset[pair]]
            first = [f"{a}\n{b}" for a, b in zip(first, second, strict=False)]
        out[split] = first
    return out


def fitter(model: Any):
    def fit(inputs: Any, labels: np.ndarray):
        model.fit(inputs, labels)
        return model.predict

    return fit


# Texts up to this mean length (characters) get character n-grams beside the words: sentences
# and short reviews (VADER's movie snippets: ~110) do, news articles (BBC: ~2,200) do not.
CHAR_NGRAMS_UP_TO_MEAN_CHARS = 1000


class TfidfFeatures(TransformerMixin, BaseEstimator):
    """Word 1-2-grams, plus character 2-5-grams when the training texts are short on average
    (`char_ngrams_` says which after `fit`). n-grams seen in one training text only are
    dropped (min_df 2): they cannot generalise, and they made most of the features; a data set
    so small that nothing occurs twice keeps them all."""

    def __init__(self, up_to_mean_chars: int = CHAR_NGRAMS_UP_TO_MEAN_CHARS):
        self.up_to_mean_chars = up_to_mean_chars

    def fit(self, texts: Any, y: Any = None) -> TfidfFeatures:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Any, y: Any = None) -> Any:
        mean_chars = sum(map(len, texts)) / max(len(texts), 1)
        self.char_ngrams_ = mean_chars <= self.up_to_mean_chars
        try:
            return self.fitted_union(texts, min_df=2)
        except ValueError as error:  # a few texts that share no n-gram: keep every one
            if "no terms remain" not in str(error):  # sklearn's message for exactly that
                raise
            return self.fitted_union(texts, min_df=1)

    def fitted_union(self, texts: Any, min_df: int) -> Any:
        shared = {"sublinear_tf": True, "min_df": min_df}
        vectorizers = [TfidfVectorizer(analyzer="word", ngram_range=(1, 2), **shared)]
        if self.char_ngrams_:
            vectorizers.append(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **shared))
        self.union_ = make_union(*vectorizers)
        return self.union_.fit_transform(texts)

    def transform(self, texts: Any) -> Any:
        return self.union_.transform(texts)


def tfidf_features() -> TfidfFeatures:
    return TfidfFeatures()


FEATURES = (
    f"TF-IDF word 1-2-grams (+ char 2-5-grams for texts of at most "
    f"{CHAR_NGRAMS_UP_TO_MEAN_CHARS} characters on average; sublinear tf)"
)


# Weak regularisation suits L2-normalised TF-IDF rows (C=1 underfits small sets); which C is
# best varies by corpus, so three are tried and validation keeps one (tuning.py).
C_GRID = (1.0, 10.0, 100.0)


def tune_tfidf_logreg(
    texts: Any,
    labels: np.ndarray,
    validation_texts: Any,
    validation_score: Any,
    make_features: Callable[[], Any] = tfidf_features,
):
    """The TF-IDF features fitted once on train, then logistic regression over the grid.
    (`make_features`: experiments/baseline_grid.py compares earlier feature sets.)"""
    features = make_features()
    x_train = features.fit_transform(texts, labels)
    model, chosen = tuned_logreg(
        x_train, labels, features.transform(validation_texts), validation_score, C_GRID, 2000
    )
    return (lambda inputs: model.predict(features.transform(inputs))), chosen


def tfidf_ridge() -> Any:
    # alpha=1: scikit-learn's default L2 penalty; TF-IDF rows are L2-normalised, so it is the
    # same scale for any corpus.
    return make_pipeline(tfidf_features(), Ridge(alpha=1.0))


def candidates() -> list[Candidate]:
    return [
        Candidate(
            "majority",
            "always predicts the most frequent training class",
            fitter(DummyClassifier(strategy="most_frequent")),
        ),
        Candidate(
            "tfidf_logreg",
            f"{FEATURES}, logistic regression (C of 1, 10, 100 and, for uneven classes, "
            f"balanced class weights: the best on validation)",
            tune=tune_tfidf_logreg,
        ),
    ]


def regression_candidates() -> list[Candidate]:
    return [
        Candidate(
            "mean",
            "always predicts the mean training target",
            fitter(DummyRegressor(strategy="mean")),
        ),
        Candidate(
            "tfidf_ridge",
            f"{FEATURES}, ridge regression (alpha=1)",
            fitter(tfidf_ridge()),
        ),
    ]
