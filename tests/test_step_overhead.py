"""Per-step costs the toolkit removes from the Trainer's loop (benchmarks/overhead.py)."""

from __future__ import annotations

from toolkit.config.load import load_config
from toolkit.training.arguments import build_training_arguments


def test_loss_nan_filter_is_off_by_default_so_no_step_waits_on_the_device(tmp_path):
    args = build_training_arguments(load_config(None, ["--output_dir", str(tmp_path)]))
    assert args.logging_nan_inf_filter is False


def test_a_config_can_turn_the_nan_filter_back_on(tmp_path):
    config = load_config(None, ["--output_dir", str(tmp_path), "--logging_nan_inf_filter", "true"])
    assert build_training_arguments(config).logging_nan_inf_filter is True


def test_batches_are_copied_to_the_gpu_without_blocking_when_memory_is_pinned(tmp_path):
    # Pinned memory is on by default only with a GPU; asking for it exercises the same path here.
    config = load_config(None, ["--output_dir", str(tmp_path), "--dataloader_pin_memory", "true"])
    assert build_training_arguments(config).accelerator_config.non_blocking is True


def test_non_blocking_copies_keep_the_configs_own_choices(tmp_path):
    config = load_config(
        None,
        [
            "--output_dir",
            str(tmp_path),
            "--dataloader_pin_memory",
            "true",
            "--accelerator_config",
            "{non_blocking: false, even_batches: false}",
        ],
    )
    accelerator = build_training_arguments(config).accelerator_config
    assert accelerator.non_blocking is False and accelerator.even_batches is False


def test_without_pinned_memory_the_copy_setting_is_left_alone(tmp_path):
    config = load_config(None, ["--output_dir", str(tmp_path), "--dataloader_pin_memory", "false"])
    assert build_training_arguments(config).accelerator_config.non_blocking is False
