"""The baselines' memory is bounded on a large training split: they fit on a seeded sample of
at most baseline.max_train_rows rows (stratified by class), predict in chunks, and the
verdict says so."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from helpers import make_texts, write_csv, write_text_config

from toolkit.advice.baselines.candidate import predict_in_chunks
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
