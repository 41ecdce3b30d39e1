"""What the TF-IDF baseline costs and scores, in its three versions, on long and short texts.

Versions, fitted one after another on the same splits:
  C=10         the first: word 1-2 + char 2-5-grams, C=10, unweighted (before issue 18);
  tuned        the same features, C of 1, 10, 100 (+ balanced class weights on uneven classes)
               kept on validation, the vectorizer fitted once (issue 18);
  tuned, length-aware   the tuned grid on today's features: word 1-2-grams seen in two texts
               or more, char 2-5-grams only when texts average at most 1,000 characters
               (issue 19: the char n-grams of long articles were most of the start-up).

1. BBC News (the recipe's splits, ~2,200-character articles), accuracy deciding.
2. BBC made uneven: three topics subsampled to 64/27/9% in every split, macro-F1 deciding.
3. Short texts, with --vader CSV (benchmarks/vader_snippets.py's movie_snippets.csv): VADER's
   movie-review sentences (~110 characters), sentiment > 0 against <= 0, split 70/10/20 with
   seed 0, accuracy deciding.
4. The grid's fits on BBC's features, each C from scratch against each C warm-started from the
   previous C's solution (tuning.py), alternating 3 times: seconds, and whether every test
   prediction is the same.

    flock /tmp/ftk-heavy.lock python experiments/baseline_grid.py \
        --vader data/vader/movie_snippets.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from functools import partial

import numpy as np
from datasets import DatasetDict
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from toolkit.advice.baselines import text
from toolkit.advice.baselines.candidate import score_candidate
from toolkit.advice.baselines.tuning import tuned_logreg
from toolkit.config.load import load_config
from toolkit.metrics.classification import prediction_scorer
from toolkit.run.stages import load_labelled_data
from toolkit.tasks import get_task

SHARES = (0.64, 0.27, 0.09)


def always_char_features():
    """The features before issue 19: char n-grams whatever the length, words seen once kept."""
    return make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )


def first_tfidf(texts, labels):
    model = make_pipeline(always_char_features(), LogisticRegression(C=10.0, max_iter=2000))
    model.fit(texts, labels)
    return model.predict


def compare(inputs, labels, metric: str) -> None:
    score = prediction_scorer(["f1_macro", "accuracy"])
    tuned_with_chars = partial(text.tune_tfidf_logreg, make_features=always_char_features)
    versions = [
        text.Candidate("C=10", "", fit=first_tfidf),
        text.Candidate("tuned", "", tune=tuned_with_chars),
        text.Candidate("tuned, length-aware", "", tune=text.tune_tfidf_logreg),
    ]
    mean_chars = np.mean([len(t) for t in inputs["train"]])
    print(f"  training texts average {mean_chars:.0f} characters")
    for candidate in versions:
        result = score_candidate(candidate, inputs, labels, score, metric)
        cells = "  ".join(f"test {k} {v:.4f}" for k, v in result.test.items())
        print(
            f"  {candidate.name:<20} fit {result.fit_s:6.1f} s  {cells}  kept: "
            f"{result.chosen or '-'}",
            flush=True,
        )


def cold_grid(x_train, y_train, c_grid, max_iter):
    """The grid as it was fitted before warm starts: every C from zero."""
    return [LogisticRegression(C=c, max_iter=max_iter).fit(x_train, y_train) for c in c_grid]


def warm_start_effect(inputs, labels) -> None:
    features = always_char_features()
    x_train = features.fit_transform(inputs["train"], labels["train"])
    x_test = features.transform(inputs["test"])
    x_validation = features.transform(inputs["validation"])
    seconds = {"cold": [], "warm": []}
    for _ in range(3):
        started = time.perf_counter()
        cold = cold_grid(x_train, labels["train"], text.C_GRID, 2000)
        seconds["cold"].append(time.perf_counter() - started)
        started = time.perf_counter()
        warm, _ = tuned_logreg(
            x_train, labels["train"], x_validation, lambda p: 0.0, text.C_GRID, 2000
        )
        seconds["warm"].append(time.perf_counter() - started)
    # score 0 everywhere keeps the first setting (C=1); the last C is the one warm starts touch
    last = LogisticRegression(C=text.C_GRID[0], max_iter=2000, warm_start=True)
    for c in text.C_GRID:
        last.set_params(C=c).fit(x_train, labels["train"])
    same = np.mean(cold[-1].predict(x_test) == last.predict(x_test))
    same_first = np.mean(cold[0].predict(x_test) == warm.predict(x_test))
    cold_s, warm_s = (float(np.median(v)) for v in seconds.values())
    print(
        f"  grid fits (median of 3): cold {cold_s:.1f} s, warm-started {warm_s:.1f} s "
        f"(warm/cold {warm_s / cold_s:.2f}); test predictions equal: C=1 {same_first:.1%}, "
        f"C={text.C_GRID[-1]:g} {same:.1%}"
    )


def uneven(splits: DatasetDict, column: str, seed: int = 0) -> DatasetDict:
    """Classes 0, 1, 2 only, subsampled to SHARES in every split."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, split in splits.items():
        labels = np.asarray(split[column])
        pools = [np.flatnonzero(labels == c) for c in range(3)]
        total = int(len(pools[0]) / SHARES[0])
        keep = [rng.permutation(p)[: int(total * s)] for p, s in zip(pools, SHARES, strict=True)]
        out[name] = split.select(np.sort(np.concatenate(keep)).tolist())
    return DatasetDict(out)


def vader_sign(path: str):
    """VADER's movie sentences as a two-class set: mean rating above 0 or not."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    order = np.random.default_rng(0).permutation(len(rows))
    texts = [rows[i]["text"] for i in order]
    labels = np.array([float(rows[i]["sentiment"]) > 0 for i in order], dtype=np.int64)
    cut = {"train": (0, 0.7), "validation": (0.7, 0.8), "test": (0.8, 1.0)}
    bounds = {k: (int(a * len(texts)), int(b * len(texts))) for k, (a, b) in cut.items()}
    return (
        {k: texts[a:b] for k, (a, b) in bounds.items()},
        {k: labels[a:b] for k, (a, b) in bounds.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vader", help="movie_snippets.csv from benchmarks/vader_snippets.py")
    parser.add_argument("--no-warm-start", action="store_true", help="skip part 4")
    options = parser.parse_args()
    config = load_config("configs/text-bbc-minilm.yaml")
    data = load_labelled_data(config, get_task(config.task))

    def splits_of(splits):
        inputs = text.inputs_from_splits(splits, config)
        return inputs, {k: np.asarray(ds[data.label_column]) for k, ds in splits.items()}

    sizes = {k: len(v) for k, v in data.splits.items()}
    print(f"1. BBC News {sizes}, accuracy deciding:")
    compare(*splits_of(data.splits), "accuracy")
    made = uneven(data.splits, data.label_column)
    sizes = {k: len(v) for k, v in made.items()}
    print(f"2. BBC News, 3 topics at 64/27/9% {sizes}, f1_macro deciding:")
    compare(*splits_of(made), "f1_macro")
    if options.vader:
        inputs, labels = vader_sign(options.vader)
        sizes = {k: len(v) for k, v in inputs.items()}
        print(f"3. VADER movie sentences, rating > 0 or not {sizes}, accuracy deciding:")
        compare(inputs, labels, "accuracy")
    if not options.no_warm_start:
        print("4. BBC News, the grid's fits cold against warm-started:")
        warm_start_effect(*splits_of(data.splits))


if __name__ == "__main__":
    main()
