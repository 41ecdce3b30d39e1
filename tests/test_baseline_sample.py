"""The baselines' memory is bounded on a large training split: they fit on a seeded sample of
at most baseline.max_train_rows rows (stratified by class), predict in chunks, and the
verdict says so."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from helpers import make_texts, write_csv, write_text_config

from toolkit.advice.baselines import candidate
from toolkit.advice.baselines.candidate import Candidate, predict_in_chunks, score_candidate
from toolkit.advice.baselines.fit import run_baselines, with_training_sample
from toolkit.config.load import load_config
from toolkit.data.load import load_data


@pytest.fixture()
def loaded(tiny_bert, tmp_path):
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(40, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(5, seed=2)),
    }
    recipe = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")

    def load(*overrides: str):
        config = load_config(recipe, list(overrides))
        return config, load_data(config.data, ["text"], seed=config.split_seed)

    return load


def test_a_large_training_split_is_sampled_by_class_and_seed(loaded):
    _, data = loaded()
    train = data.splits["train"]
    sample = with_training_sample(data, 30, seed=42)
    rows = sample.splits["train"]
    assert len(rows) == 30 and len(train) > 30
    shares = Counter(rows["label"])
    whole = Counter(train["label"])
    for label, count in whole.items():  # stratified: each class keeps its share, +-1 row
        assert abs(shares[label] - 30 * count / len(train)) <= 1
    assert with_training_sample(data, 30, seed=42).splits["train"]["text"] == rows["text"]
    assert with_training_sample(data, 30, seed=7).splits["train"]["text"] != rows["text"]
    assert with_training_sample(data, len(train), seed=42) is data
    assert sample.splits["validation"] is data.splits["validation"]


@pytest.mark.e2e
def test_baselines_on_a_sample_say_so(loaded):
    config, data = loaded("--baseline.max_train_rows", "30")
    result = run_baselines(config, data)
    assert result.train_rows == 30
    assert result.split_sizes["train"] == len(data.splits["train"]) > 30
    assert "a sample of 30 of the" in result.sample_text()
    whole = run_baselines(*loaded())
    assert whole.train_rows is None and whole.sample_text() == ""
    assert whole.fingerprint != result.fingerprint  # a saved baseline.json is not reused


def test_predictions_come_in_chunks_in_order():
    sizes = []

    def predict(rows):
        sizes.append(len(rows))
        return np.asarray(rows) * 2

    assert predict_in_chunks(predict, list(range(25)), chunk=10).tolist() == [
        2 * i for i in range(25)
    ]
    assert sizes == [10, 10, 5]
    tags = predict_in_chunks(lambda rows: [[len(r)] for r in rows], [[1], [1, 2], [3]], chunk=2)
    assert tags == [[1], [2], [1]]


def test_a_tuned_baseline_chooses_on_a_validation_sample_and_scores_on_all(monkeypatch):
    """The grid holds the features of the rows it is scored on (TF-IDF: 1.1 GB at 80,000
    validation rows): past TUNING_ROWS it chooses on a fixed sample, says so, and the reported
    validation score still covers every row."""
    monkeypatch.setattr(candidate, "TUNING_ROWS", 4)
    seen = []

    def tune(train, train_labels, validation, score_validation):
        seen.append((list(validation), score_validation(np.asarray(validation) % 2)))
        return (lambda rows: np.asarray(rows) % 2), "C=1"

    inputs = {"train": list(range(6)), "validation": list(range(10)), "test": list(range(3))}
    labels = {split: np.asarray(rows) % 2 for split, rows in inputs.items()}

    def score(predicted, truth):
        return {"accuracy": float(np.mean(np.asarray(predicted) == truth)), "rows": len(truth)}

    result = score_candidate(Candidate("tuned", "", tune=tune), inputs, labels, score, "accuracy")
    (chosen_on, its_score), *_ = seen
    assert len(chosen_on) == 4 and chosen_on == sorted(set(chosen_on))  # a sample, in order
    assert its_score == 1.0  # the sample's labels travel with its rows
    assert result.validation["rows"] == 10 and result.test["rows"] == 3
    assert result.chosen == "C=1 (on 4 of the 10 validation rows)"
    assert candidate.tuning_rows(10).tolist() == chosen_on  # the same sample every run
    monkeypatch.setattr(candidate, "TUNING_ROWS", 10)
    assert candidate.tuning_rows(10) is None
