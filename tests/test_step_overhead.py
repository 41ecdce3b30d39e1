"""Per-step costs the toolkit removes from the Trainer's loop (benchmarks/overhead.py)."""

from __future__ import annotations

from toolkit.config import load_config
from toolkit.training import build_training_arguments


def test_loss_nan_filter_is_off_by_default_so_no_step_waits_on_the_device(tmp_path):
    args = build_training_arguments(load_config(None, ["--output_dir", str(tmp_path)]))
    assert args.logging_nan_inf_filter is False


def test_a_config_can_turn_the_nan_filter_back_on(tmp_path):
    config = load_config(None, ["--output_dir", str(tmp_path), "--logging_nan_inf_filter", "true"])
    assert build_training_arguments(config).logging_nan_inf_filter is True
