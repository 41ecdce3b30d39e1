"""Tokenized splits are cached by what decides the tokens: a rerun with another learning rate
or output_dir reads the cache, a new max_length tokenizes again."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_texts, write_csv

from toolkit.api import load_config
from toolkit.run.stages import plan_run, prepare_labelled


@pytest.fixture()
def csv_data(tmp_path) -> dict[str, Path]:
    return {
        "train": write_csv(tmp_path / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(5, seed=2)),
    }


def cache_files(model: Path, data: dict[str, Path], output_dir: Path, **keys) -> dict[str, str]:
    """Each prepared split's Arrow cache file, for a run of the tiny model on the CSV files."""
    data_keys = {"train_file": str(data["train"]), "test_file": str(data["test"])}
    data_keys["max_length"] = keys.pop("max_length", 32)
    raw = {
        "model": {"name_or_path": str(model)},
        "data": data_keys,
        "output_dir": str(output_dir),
        "use_cpu": True,
        **keys,
    }
    prepared = prepare_labelled(plan_run(load_config(raw)))
    return {split: ds.cache_files[0]["filename"] for split, ds in prepared.splits.items()}


def test_the_tokenized_cache_outlives_a_new_learning_rate_but_not_a_new_max_length(
    tiny_bert, csv_data, tmp_path
):
    first = cache_files(tiny_bert, csv_data, tmp_path / "a", learning_rate=1e-4)
    assert set(first) == {"train", "validation", "test"}
    again = cache_files(
        tiny_bert, csv_data, tmp_path / "b", learning_rate=3e-4, num_train_epochs=7, seed=42
    )
    assert again == first
    longer = cache_files(tiny_bert, csv_data, tmp_path / "c", learning_rate=1e-4, max_length=48)
    assert all(longer[split] != first[split] for split in first)


def test_two_processes_tokenize_the_rows_one_does(tiny_bert, csv_data, tmp_path):
    def prepared(output_dir: Path, **data_keys) -> dict[str, list]:
        data = {"train_file": str(csv_data["train"]), "test_file": str(csv_data["test"])}
        raw = {
            "model": {"name_or_path": str(tiny_bert)},
            "data": {**data, "max_length": 32, **data_keys},
            "output_dir": str(output_dir),
            "use_cpu": True,
        }
        splits = prepare_labelled(plan_run(load_config(raw))).splits
        return {name: split["input_ids"][:] + split["labels"][:] for name, split in splits.items()}

    assert prepared(tmp_path / "two", num_proc=2) == prepared(tmp_path / "one")
