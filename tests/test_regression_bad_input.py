"""Regression's bad input, each a clear UserError (exit 2) before any training: targets that are
not numbers, NaN/inf targets, a missing label column, class_weights, classification metrics;
and the classification side: a column of fractions is refused with a pointer to regression,
while whole numbers (star ratings 1.0 to 5.0) stay classes."""

from __future__ import annotations

import pytest
from helpers import expect_user_error, make_regression_texts, write_csv, write_text_config


@pytest.fixture()
def regression_files(tmp_path):
    return {
        "train": write_csv(tmp_path / "train.csv", make_regression_texts(30, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_regression_texts(10, seed=2)),
    }


def train_args(tmp_path, tiny_bert, data, task="text-regression", **extra):
    config = write_text_config(
        tmp_path / "bad.yaml", tiny_bert, data, tmp_path / "run", task=task, **extra
    )
    return ["train", "--config", str(config)]


def with_label(path, rows_and_labels):
    return write_csv(path, rows_and_labels)


def test_fractional_labels_for_classification_point_to_regression(
    tmp_path, tiny_bert, regression_files, capsys
):
    args = train_args(tmp_path, tiny_bert, regression_files, task="text-classification")
    err = expect_user_error(args, capsys)
    assert "Column 'label'" in err and "train.csv" in err
    assert "task: text-regression" in err


def test_whole_number_floats_stay_classes(tmp_path):
    """1.0 to 5.0 (a rating column, or an int column with a gap as CSV reads it) are class ids
    to a classification task: whole numbers are what classes look like."""
    from toolkit.config.schema import DataConfig
    from toolkit.config.taxonomy import NUMBERS
    from toolkit.data.load import load_data

    rows = [(f"text {i}", f"{1 + i % 5}.0") for i in range(50)]
    path = write_csv(tmp_path / "stars.csv", rows)
    data = load_data(DataConfig(train_file=str(path)), ["text"], seed=0)
    assert data.label_names == ["1", "2", "3", "4", "5"]
    numbers = load_data(DataConfig(train_file=str(path)), ["text"], seed=0, target=NUMBERS)
    assert numbers.label_names == [] and sorted(set(numbers.splits["train"]["label"])) == [
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
    ]


def test_targets_that_are_not_numbers(tmp_path, tiny_bert, regression_files, capsys):
    rows = make_regression_texts(20, seed=3)
    rows[4] = (rows[4][0], "high")
    regression_files["train"] = write_csv(tmp_path / "words.csv", rows)
    err = expect_user_error(train_args(tmp_path, tiny_bert, regression_files), capsys)
    assert "Column 'label'" in err and "words.csv" in err
    assert "'high'" in err and "row(s) 5" in err and "not numbers" in err
    assert "text-classification" in err  # classes? then the other task


@pytest.mark.parametrize("bad", ["", "nan", "inf"])
def test_nan_and_inf_targets_name_the_rows(tmp_path, tiny_bert, regression_files, capsys, bad):
    rows = make_regression_texts(20, seed=3)
    rows[2] = (rows[2][0], bad)
    rows[7] = (rows[7][0], bad)
    regression_files["test"] = write_csv(tmp_path / "holes.csv", rows)
    err = expect_user_error(train_args(tmp_path, tiny_bert, regression_files), capsys)
    assert "Column 'label'" in err and "holes.csv" in err
    assert "2 of 20 target(s) that are not finite" in err and "row(s) 3, 8" in err


def test_missing_label_column(tmp_path, tiny_bert, regression_files, capsys):
    rows = make_regression_texts(10, seed=3)
    regression_files["train"] = write_csv(tmp_path / "nolabel.csv", rows, header=("text", "score"))
    err = expect_user_error(train_args(tmp_path, tiny_bert, regression_files), capsys)
    assert "nolabel.csv" in err and "no column 'label'" in err and "data.label_column" in err


def test_class_weights_are_refused(tmp_path, tiny_bert, regression_files, capsys):
    args = train_args(tmp_path, tiny_bert, regression_files, class_weights="balanced")
    err = expect_user_error(args, capsys)
    assert "class_weights" in err and "text-regression" in err and "no classes" in err


def test_classification_metrics_are_refused(tmp_path, tiny_bert, regression_files, capsys):
    args = train_args(tmp_path, tiny_bert, regression_files, metrics="[accuracy]")
    err = expect_user_error(args, capsys)
    assert "'accuracy'" in err and "rmse, mae, pearson, spearman" in err


def test_default_metrics_and_direction():
    from toolkit.config.load import build_config
    from toolkit.config.taxonomy import greater_is_better
    from toolkit.training.arguments import build_training_arguments

    config = build_config({"task": "text-regression", "use_cpu": True, "output_dir": "x"})
    assert config.metrics == ["rmse", "mae", "pearson", "spearman"]
    assert build_training_arguments(config).greater_is_better is False
    config.metrics = ["spearman", "rmse"]
    assert build_training_arguments(config).greater_is_better is True
    assert [greater_is_better(m) for m in ("eval_rmse", "mae", "pearson", "loss")] == [
        False,
        False,
        True,
        False,
    ]


def test_verdict_and_best_baseline_read_errors_downwards():
    from toolkit.advice.baselines.candidate import BaselineScore, best_baseline
    from toolkit.advice.verdict import verdict

    low, high = (
        BaselineScore("a", "", 1.0, 0.0, {"rmse": 0.5, "pearson": 0.2}),
        BaselineScore("b", "", 0.1, 0.0, {"rmse": 0.9, "pearson": 0.8}),
    )
    assert best_baseline([low, high], "rmse").name == "a"
    assert best_baseline([low, high], "pearson").name == "b"
    worse = verdict("rmse", "tfidf_ridge", 0.40, 0.50, 1.0, 100.0)  # transformer errs more
    assert worse.gain_points == pytest.approx(-25.0) and "use the baseline" in worse.text
    better = verdict("rmse", "tfidf_ridge", 0.40, 0.30, 1.0, 100.0)
    assert better.gain_points == pytest.approx(25.0) and "earns its cost" in better.text
    close = verdict("mae", "mean", 1.00, 0.99, 1.0, 2.0)
    assert "within 1.0%" in close.text and close.gain_unit == "%"


def test_regression_scores_equal_scipy():
    import numpy as np
    from scipy import stats

    from toolkit.metrics.regression import regression_scores

    rng = np.random.default_rng(0)
    true = rng.normal(size=50)
    predicted = true + rng.normal(scale=0.5, size=50)
    scores = regression_scores(predicted.reshape(-1, 1), true)
    assert scores["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - true) ** 2)))
    assert scores["mae"] == pytest.approx(np.mean(np.abs(predicted - true)))
    assert scores["pearson"] == pytest.approx(stats.pearsonr(predicted, true)[0])
    assert scores["spearman"] == pytest.approx(stats.spearmanr(predicted, true)[0])
    assert regression_scores(np.full(50, 0.3), true)["pearson"] == 0.0  # constant: defined


@pytest.mark.e2e
def test_ftk_baseline_fits_the_regression_baselines(tmp_path, tiny_bert, regression_files):
    """`ftk baseline` alone: the mean and TF-IDF ridge, scored with the regression metrics."""
    import json

    from toolkit.cli import main

    config = write_text_config(
        tmp_path / "b.yaml", tiny_bert, regression_files, tmp_path / "run", task="text-regression"
    )
    assert main(["baseline", "--config", str(config)]) == 0
    saved = json.loads((tmp_path / "run" / "baseline.json").read_text())
    assert [b["name"] for b in saved["baselines"]] == ["mean", "tfidf_ridge"]
    assert set(saved["baselines"][1]["test"]) == {"rmse", "mae", "pearson", "spearman"}
