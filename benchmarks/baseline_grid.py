"""What the tuned TF-IDF baseline costs and gains on BBC News, as is and made uneven.

1. BBC News (the recipe's splits): the old baseline (C=10, unweighted) against the tuned one
   (C of 1, 10, 100; the vectorizer fitted once), fit seconds and test scores of each.
2. BBC made uneven: three topics subsampled to 64/27/9% in every split (the shares of the
   issue's reviews), macro-F1 deciding: old against tuned, and the setting kept.

    flock /tmp/ftk-heavy.lock python benchmarks/baseline_grid.py
"""

from __future__ import annotations

import numpy as np
from datasets import DatasetDict
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from toolkit.advice.baselines import text
from toolkit.advice.baselines.candidate import score_candidate
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


if __name__ == "__main__":
    main()
