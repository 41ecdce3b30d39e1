"""`auto_find_batch_size: true`: after an out-of-memory error the Trainer halves the batch and
starts again; the toolkit's schedule must then count epochs in the new batch and say so."""

from __future__ import annotations

import pytest
from helpers import history_rows, make_texts, write_csv, write_text_config

from toolkit.cli import main
from toolkit.training.trainer import ToolkitTrainer

pytestmark = pytest.mark.e2e

FITS = 4  # the largest training batch the pretend machine holds


def step_lrs(run_dir) -> list[list[float]]:
    return [row["lr"] for row in history_rows(run_dir, "step")]


def test_a_halved_batch_keeps_the_schedule_in_epochs(tiny_bert, tmp_path, monkeypatch, capsys):
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(16, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(3, seed=2)),
    }
    config = write_text_config(tmp_path / "tiny.yaml", tiny_bert, data, tmp_path / "unused")
    # Warm-up counted in epochs, the setting that needs the steps per epoch to be right.
    common = ["train", "--config", str(config), "--num_train_epochs", "2"]
    common += ["--schedule.warmup_fraction", "null", "--schedule.warmup_epochs", "1"]
    common += ["--baseline.enabled", "false", "--overfitting.train_sample_size", "0"]

    fitting = ToolkitTrainer.compute_loss

    def out_of_memory_above_the_limit(self, model, inputs, *args, **kwargs):
        if model.training and len(inputs["input_ids"]) > FITS:
            # the message accelerate's find_executable_batch_size recognises on a CPU
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate")
        return fitting(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(ToolkitTrainer, "compute_loss", out_of_memory_above_the_limit)
    halved = tmp_path / "halved"
    assert main([*common, "--output_dir", str(halved), "--auto_find_batch_size", "true"]) == 0
    told = capsys.readouterr().out
    assert "auto_find_batch_size: a batch of 8 ran out of memory; training with 4 per device" in (
        told
    )
    direct = tmp_path / "direct"
    assert main([*common, "--output_dir", str(direct), "--per_device_train_batch_size", "4"]) == 0

    lrs = step_lrs(halved)
    assert lrs == step_lrs(direct), "the same schedule as a run configured with batch 4"
    peak = max(lr[0] for lr in lrs)
    first_peak = next(i for i, lr in enumerate(lrs) if lr[0] == peak)
    assert first_peak == len(lrs) // 2, "warm-up ends after one epoch of two, in batches of 4"
