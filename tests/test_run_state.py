"""An unfinished run directory, built by hand in the states a kill leaves, is described the
same way by the plain rerun, `--resume`, `ftk predict`, `ftk evaluate` and `ftk push`: each
points to the one command that works (core/run_state.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import (
    complete_checkpoint,
    expect_user_error,
    killed_saving_final_files,
    killed_saving_first_checkpoint,
    make_texts,
    small_run_recipe,
    write_csv,
    write_text_config,
)

from toolkit.cli import main
from toolkit.core.run_state import SAVING, is_complete, is_unfinished, last_complete_checkpoint
from toolkit.training.trainer import ToolkitTrainer


@pytest.fixture()
def recipe(tiny_bert, tmp_path) -> Path:
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(10, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(3, seed=2)),
    }
    return write_text_config(tmp_path / "r.yaml", tiny_bert, data, tmp_path / "unused")


def answers(recipe: Path, run: Path, capsys) -> dict[str, str]:
    """What each command says about `run` (each must refuse: exit 2, no traceback)."""
    train = ["train", "--config", str(recipe), "--output_dir", str(run)]
    commands = {
        "rerun": train,
        "resume": [*train, "--resume"],
        "predict": ["predict", str(run), "--text", "a"],
        "evaluate": ["evaluate", str(run), "--data", str(recipe.parent / "test.csv")],
        "push": ["push", str(run), "--repo-id", "me/x"],
    }
    return {name: expect_user_error(args, capsys) for name, args in commands.items()}


@pytest.mark.e2e
def test_a_kill_while_saving_the_first_checkpoint_points_every_command_to_starting_again(
    recipe, tmp_path, capsys
):
    run = killed_saving_first_checkpoint(tmp_path / "run")
    again = f"Start again with `ftk train --overwrite --output_dir {run}`"
    for command, said in answers(recipe, run, capsys).items():
        assert "is an unfinished run (it stopped while training)" in said, command
        assert "only incomplete checkpoints (checkpoint-11" in said, command
        assert again in said, command
        # the old answers sent the user round in a circle between these two
        assert "--resume`" not in said and "without --resume" not in said, command
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoint-11",
        "history.jsonl",
        "started_config.yaml",
    ]


@pytest.mark.e2e
def test_a_kill_while_saving_the_final_files_is_an_unfinished_run_to_resume(
    recipe, tiny_bert, tmp_path, capsys
):
    run = killed_saving_final_files(tmp_path / "run", tiny_bert)
    said = answers(recipe, run, capsys)
    resume = f"Resume it from checkpoint-11 with `ftk train --resume --output_dir {run}`"
    for command in ("rerun", "predict", "evaluate", "push"):
        assert "is an unfinished run (it stopped while saving its final files)" in said[command]
        assert resume in said[command], command
        assert "JSONDecodeError" not in said[command]
    # the hand-made checkpoint holds no real training state, so --resume gets past the folder
    # checks and stops at the config check: it found the checkpoint the others point to
    assert "checkpoint-11" in said["resume"]


def test_a_torn_trainer_state_is_an_incomplete_checkpoint(tmp_path):
    older = complete_checkpoint(tmp_path, 5)
    newer = complete_checkpoint(tmp_path, 10)
    (newer / "trainer_state.json").write_text('{"global_step": 1')  # killed mid-write
    assert not is_complete(newer) and is_complete(older)
    assert last_complete_checkpoint(tmp_path) == older  # was checkpoint-10, then a JSON error


def test_a_finished_run_is_not_unfinished(tmp_path):
    (tmp_path / "run_config.yaml").write_text("task: text-classification\n")
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert not is_unfinished(tmp_path)
    (tmp_path / SAVING).write_text("")
    assert is_unfinished(tmp_path)


def test_a_transformers_trainer_folder_with_checkpoints_is_not_an_unfinished_run(tmp_path):
    """`ftk predict` reads such a folder as a plain classifier, as it did."""
    complete_checkpoint(tmp_path, 500)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert not is_unfinished(tmp_path)


@pytest.fixture()
def trained_recipe(tiny_bert, tmp_path) -> Path:
    """A run that trains 11 steps an epoch (81 training rows, batch 8), without baselines."""
    return small_run_recipe(tiny_bert, tmp_path)


def train_args(recipe: Path, epochs: int, *more: str) -> list[str]:
    return ["train", "--config", str(recipe), "--num_train_epochs", str(epochs), *more]


@pytest.mark.e2e
def test_a_run_cut_off_while_writing_its_files_is_unfinished_until_resumed(
    trained_recipe, tmp_path, capsys, monkeypatch
):
    """Killed after the model, run_config.yaml and metrics.json but before the card: all that
    predict reads is there, and yet the folder is no finished run (old ftk predicted with
    it); `--resume` finishes it."""
    run = tmp_path / "run"
    marked_at_save = []
    real_save = ToolkitTrainer.save_model

    def recording_save(self, output_dir=None, _internal_call=False):
        if not _internal_call:
            marked_at_save.append((Path(output_dir) / SAVING).exists())
        real_save(self, output_dir, _internal_call)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill would stop it: nothing after runs

    monkeypatch.setattr(ToolkitTrainer, "save_model", recording_save)
    monkeypatch.setattr("toolkit.run.outputs.write_model_card", killed)
    assert main(train_args(trained_recipe, 1)) == 130
    assert marked_at_save == [True]  # marked before the first final file
    for name in ("model.safetensors", "config.json", "run_config.yaml", "metrics.json"):
        assert (run / name).is_file(), name
    said = expect_user_error(["predict", str(run), "--text", "a"], capsys)
    assert "is an unfinished run (it stopped while saving its final files)" in said
    assert "Resume it from checkpoint-11" in said

    monkeypatch.undo()
    assert main(train_args(trained_recipe, 1, "--resume")) == 0
    assert not (run / SAVING).exists() and (run / "README.md").is_file()
    assert main(["predict", str(run), "--text", "a"]) == 0
