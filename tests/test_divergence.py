"""A diverged run ends with an error that says where and what to change; JSON files never hold
a bare NaN."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
from helpers import ftk, make_texts, write_csv, write_text_config

from toolkit.core.run_files import write_json
from toolkit.training.divergence import DivergenceWatch


def test_the_first_non_finite_loss_stops_training():
    watch, control = DivergenceWatch(), SimpleNamespace(should_training_stop=False)
    watch.on_log(None, SimpleNamespace(global_step=3), control, logs={"loss": 0.7})
    assert watch.seen is None and not control.should_training_stop
    watch.on_log(None, SimpleNamespace(global_step=6), control, logs={"loss": math.nan})
    assert watch.seen is not None and watch.seen[:2] == (6, "loss")
    assert control.should_training_stop
    watch.on_log(None, SimpleNamespace(global_step=9), control, logs={"grad_norm": math.inf})
    assert watch.seen[0] == 6  # the first one is what the error names


def test_json_files_write_non_finite_numbers_as_null(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"eval_loss": math.nan, "rows": [1.0, math.inf], "ok": 0.5})
    assert json.loads(path.read_text()) == {"eval_loss": None, "rows": [1.0, None], "ok": 0.5}
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()


@pytest.mark.e2e
def test_a_run_whose_loss_turns_nan_stops_with_exit_2_and_saves_no_model(tiny_bert, tmp_path):
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(20, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(4, seed=2)),
    }
    run_dir = tmp_path / "run"
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, run_dir, num_train_epochs=3)
    done = ftk(
        "train",
        "--config",
        config,
        "--learning_rate",
        "1e30",
        "--max_grad_norm",
        "0",
        "--logging_steps",
        "1",
        check=False,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Training diverged" in done.stderr and "--learning_rate 1e+29" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (run_dir / "model.safetensors").exists()
    assert not (run_dir / "README.md").exists()  # no "fine-tuned" model card
