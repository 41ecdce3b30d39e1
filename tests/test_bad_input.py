"""Every bad input of `ftk train` gets one clear message and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import expect_user_error as run_cli
from helpers import make_texts, write_csv, write_text_config


@pytest.mark.e2e
def test_missing_config_file_via_real_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "train", "--config", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "missing.yaml" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_key(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("num_train_epoch: 3\n")
    err = run_cli(["train", "--config", str(tmp_path / "c.yaml")], capsys)
    assert "num_train_epoch" in err and "num_train_epochs" in err


def test_wrong_value_type(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("per_device_train_batch_size: [1, 2]\n")
    err = run_cli(["train", "--config", str(tmp_path / "c.yaml")], capsys)
    assert "per_device_train_batch_size" in err and "an integer" in err


def test_missing_text_column_lists_existing_columns(tmp_path, tiny_bert, text_data, capsys):
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config), "--data.text_column", "body"], capsys)
    assert "'body'" in err and "text, label" in err


def test_missing_label_column(tmp_path, tiny_bert, text_data, capsys):
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config), "--data.label_column", "topic"], capsys)
    assert "'topic'" in err and "text, label" in err


def test_fewer_than_two_classes(tmp_path, tiny_bert, capsys):
    rows = [(text, "sport") for text, _ in make_texts(5, seed=0)]
    data = {
        "train": write_csv(tmp_path / "one.csv", rows),
        "test": write_csv(tmp_path / "t.csv", rows),
    }
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "at least two" in err and "sport" in err


def test_label_in_test_never_seen_in_train(tmp_path, tiny_bert, capsys):
    train = [row for row in make_texts(10, seed=0) if row[1] != "tech"]
    data = {
        "train": write_csv(tmp_path / "train.csv", train),
        "test": write_csv(tmp_path / "test.csv", make_texts(3, seed=1)),
    }
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "'tech'" in err and "never occur in the training data" in err and "test.csv" in err


def test_empty_data_file(tmp_path, tiny_bert, text_data, capsys):
    (tmp_path / "empty.csv").write_text("")
    data = {**text_data, "train": tmp_path / "empty.csv"}
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "empty.csv" in err and "empty" in err


def test_header_only_data_file(tmp_path, tiny_bert, text_data, capsys):
    (tmp_path / "header.csv").write_text("text,label\n")
    data = {**text_data, "train": tmp_path / "header.csv"}
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "header.csv" in err and "no rows" in err


def test_model_path_that_does_not_exist(tmp_path, text_data, capsys):
    config = write_text_config(
        tmp_path / "c.yaml", tmp_path / "no-model", text_data, tmp_path / "run"
    )
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "no-model" in err and "does not exist" in err


def test_model_path_without_a_model(tmp_path, text_data, capsys):
    (tmp_path / "empty-model").mkdir()
    config = write_text_config(
        tmp_path / "c.yaml", tmp_path / "empty-model", text_data, tmp_path / "run"
    )
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "empty-model" in err and "holds no model" in err


def test_non_empty_output_dir(tmp_path, tiny_bert, text_data, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.json").write_text("{}")
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, run_dir)
    err = run_cli(["train", "--config", str(config)], capsys)
    assert str(run_dir) in err and "--overwrite" in err
    assert (run_dir / "metrics.json").read_text() == "{}"


@pytest.mark.parametrize("bad", ["--schedule.decay spiral", "--data.validation_size 1.5"])
def test_bad_section_values(tmp_path, tiny_bert, text_data, capsys, bad):
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    key, value = bad.split()
    err = run_cli(["train", "--config", str(config), key, value], capsys)
    assert key.lstrip("-") in err
