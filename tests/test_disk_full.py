"""No space left while a run saves (core/disk_full.py): one paragraph, exit 2, the last good
checkpoint kept and named, and the folder left as an unfinished run that resumes."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from helpers import expect_user_error, small_run_recipe

from toolkit.core.disk_full import is_out_of_space
from toolkit.core.run_state import SAVING, is_complete
from toolkit.training.trainer import ToolkitTrainer

PER_EPOCH = 11  # 81 training rows, batch 8


@pytest.fixture()
def recipe(tiny_bert, tmp_path) -> Path:
    return small_run_recipe(tiny_bert, tmp_path)


def no_space(path: Path) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def train_args(recipe: Path, epochs: int, *more: str) -> list[str]:
    return ["train", "--config", str(recipe), "--num_train_epochs", str(epochs), *more]


# the words each writer uses, as measured on a full 600 KB tmpfs (torch 2.14, safetensors)
FULL = [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534"),
    RuntimeError("PytorchStreamWriter failed writing file data/3: file write failed"),
    Exception("Error while serializing: I/O error: No space left on device (os error 28)"),
]


@pytest.mark.parametrize("exc", FULL, ids=lambda e: type(e).__name__ + ": " + str(e)[:30])
def test_each_writers_words_for_a_full_disk_are_known(exc):
    assert is_out_of_space(exc)


def test_other_errors_are_not_taken_for_a_full_disk():
    assert not is_out_of_space(OSError(errno.EACCES, "Permission denied"))
    assert not is_out_of_space(RuntimeError("CUDA out of memory"))


@pytest.mark.e2e
def test_no_space_for_a_checkpoint_keeps_the_last_good_one(recipe, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    real = ToolkitTrainer._save_optimizer_and_scheduler

    def full_at_second_checkpoint(self, output_dir):  # the weights are written, then no space
        if self.state.global_step == 2 * PER_EPOCH:
            raise no_space(Path(output_dir) / "optimizer.pt")
        real(self, output_dir)

    monkeypatch.setattr(ToolkitTrainer, "_save_optimizer_and_scheduler", full_at_second_checkpoint)
    err = expect_user_error(train_args(recipe, 2), capsys)
    assert f"No space left on the device at '{run}' while saving ({run}/checkpoint-22/" in err
    assert "The cut-off checkpoint-22 was removed" in err
    assert f"Resume it from checkpoint-11 with `ftk train --resume --output_dir {run}`" in err
    assert is_complete(run / "checkpoint-11") and not (run / "checkpoint-22").exists()


@pytest.mark.e2e
def test_no_space_for_the_final_model_leaves_an_unfinished_run_to_resume(
    recipe, tmp_path, capsys, monkeypatch
):
    run = tmp_path / "run"
    real = ToolkitTrainer.save_model

    def full_at_final_save(self, output_dir=None, _internal_call=False):
        if not _internal_call:  # the run's own folder, not a checkpoint
            raise no_space(Path(output_dir) / "model.safetensors")
        real(self, output_dir, _internal_call)

    monkeypatch.setattr(ToolkitTrainer, "save_model", full_at_final_save)
    err = expect_user_error(train_args(recipe, 1), capsys)
    assert f"No space left on the device at '{run}' while saving ({run}/model.safetensors)" in err
    assert "one checkpoint of this run takes" in err
    assert "Resume it from checkpoint-11" in err
    assert (run / SAVING).exists() and is_complete(run / "checkpoint-11")
    monkeypatch.undo()
    said = expect_user_error(["predict", str(run), "--text", "a"], capsys)
    assert "is an unfinished run (it stopped while saving its final files)" in said
