"""`report_to: tensorboard` (the `tensorboard` extra): the Trainer's own TensorBoardCallback
writes an event file into the run directory with the training loss and each evaluation."""

from __future__ import annotations

import pytest
from helpers import write_text_config

from toolkit.cli import main

pytestmark = pytest.mark.e2e


def test_tensorboard_event_file_holds_the_losses_and_metrics(tiny_bert, text_data, tmp_path):
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="the tensorboard extra (ftk-finetune[tensorboard]) is in the test extra",
    )
    run = tmp_path / "run"
    recipe = write_text_config(
        tmp_path / "r.yaml",
        tiny_bert,
        text_data,
        run,
        num_train_epochs="2",
        report_to="tensorboard",
    )
    assert main(["train", "--config", str(recipe), "--baseline.enabled", "false"]) == 0
    (folder,) = {events.parent for events in run.glob("runs/*/events.out.tfevents.*")}
    reader = event_accumulator.EventAccumulator(str(folder))
    reader.Reload()
    counts = {tag: len(reader.Scalars(tag)) for tag in reader.Tags()["scalars"]}
    steps = len(reader.Scalars("train/learning_rate"))
    assert steps == counts["train/loss"] >= 2 * 10, "a point per logged step (logging_steps 1)"
    assert counts["eval/accuracy"] >= 2, "one per epoch (and the kept model's last look)"
    assert counts["train/train_sample_accuracy"] == 2, "ftk's overfitting watch is logged too"
