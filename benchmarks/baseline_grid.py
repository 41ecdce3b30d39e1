"""What the tuned TF-IDF baseline costs and gains on BBC News, as is and made uneven.

1. BBC News (the recipe's splits): the old baseline (C=10, unweighted) against the tuned one
   (C of 1, 10, 100; the vectorizer fitted once), fit seconds and test scores of each.
2. BBC made uneven: three topics subsampled to 64/27/9% in every split (the shares of the
   issue's reviews), macro-F1 deciding: old against tuned, and the setting kept.
3. The grid's fits on BBC's features, each C from scratch against each C warm-started from the
   previous C's solution (tuning.py), alternating 3 times: seconds, and whether every test
   prediction is the same.

    flock /tmp/ftk-heavy.lock python benchmarks/baseline_grid.py
"""

from __future__ import annotations

import time

import numpy as np
from datasets import DatasetDict
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from toolkit.advice.baselines import text
from toolkit.advice.baselines.candidate import score_candidate
from toolkit.advice.baselines.tuning import tuned_logreg
from toolkit.commands.stages import load_labelled_data
from toolkit.config.load import load_config
from toolkit.metrics.classification import prediction_scorer
from toolkit.tasks import get_task

SHARES = (0.64, 0.27, 0.09)


def old_tfidf(texts, labels):
    model = make_pipeline(text.tfidf_features(), LogisticRegression(C=10.0, max_iter=2000))
    model.fit(texts, labels)
    return model.predict


def compare(inputs, labels, metric: str) -> None:
    score = prediction_scorer(["f1_macro", "accuracy"])
    old = text.Candidate("old C=10 unweighted", "", fit=old_tfidf)
    tuned = next(c for c in text.candidates() if c.name == "tfidf_logreg")
    for candidate in (old, tuned):
        result = score_candidate(candidate, inputs, labels, score, metric)
        cells = "  ".join(f"test {k} {v:.4f}" for k, v in result.test.items())
        print(
            f"  {candidate.name:<22} fit {result.fit_s:6.1f} s  {cells}  kept: "
            f"{result.chosen or '-'}"
        )


def cold_grid(x_train, y_train, c_grid, max_iter):
    """The grid as it was fitted before warm starts: every C from zero."""
    return [LogisticRegression(C=c, max_iter=max_iter).fit(x_train, y_train) for c in c_grid]


def warm_start_effect(inputs, labels) -> None:
    features = text.tfidf_features()
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


def main() -> None:
    config = load_config("configs/text-bbc-minilm.yaml")
    data = load_labelled_data(config, get_task(config.task))

    def splits_of(splits):
        inputs = text.inputs_from_splits(splits, config)
        return inputs, {k: np.asarray(ds[data.label_column]) for k, ds in splits.items()}

    sizes = {k: len(v) for k, v in data.splits.items()}
    print(f"BBC News {sizes}, accuracy deciding:")
    compare(*splits_of(data.splits), "accuracy")
    made = uneven(data.splits, data.label_column)
    sizes = {k: len(v) for k, v in made.items()}
    print(f"BBC News, 3 topics at 64/27/9% {sizes}, f1_macro deciding:")
    compare(*splits_of(made), "f1_macro")
    print("BBC News, the grid's fits cold against warm-started:")
    warm_start_effect(*splits_of(data.splits))


if __name__ == "__main__":
    main()
