"""`--resume` on another number of processes (toolkit/training/resume_batch.py): a run killed
after its first epoch on 2 processes goes on on 1 (and 1 on 2) with the same global batch,
and ends with the loss and LR history of a run never interrupted; a resume that would change
the global batch is refused before anything loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    free_port,
    history_rows,
    kill_machine,
    make_texts,
    wait_for_checkpoint,
    write_csv,
    write_text_config,
)

from toolkit import cli
from toolkit.core.errors import UserError
from toolkit.training.resume_batch import (
    Launch,
    check_global_batch,
    launch_from_trainer_files,
    missing_random_states,
    say_missing_random_states,
    write_launch,
)

GLOBAL_BATCH = 8
PER_EPOCH = 10  # 80 training rows in global batches of 8


def ftk(processes: int, config: Path, output_dir: Path, *more: str) -> list[str]:
    """`ftk train` on 1 process, or through `accelerate launch --multi_gpu` on 2, with the
    per-process batch that makes the global batch GLOBAL_BATCH."""
    launcher = (
        [sys.executable]
        if processes == 1
        else [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            str(processes),
            "--mixed_precision",
            "no",
            "--main_process_port",
            str(free_port()),
        ]
    )
    batch = GLOBAL_BATCH // processes
    return [
        *launcher,
        "-m",
        "toolkit",
        "train",
        "--config",
        str(config),
        "--output_dir",
        str(output_dir),
        "--per_device_train_batch_size",
        str(batch),
        # 120 rows, 18 held out (even over 2 processes), 80 trained on
        "--data.validation_size",
        "0.15",
        "--data.max_train_samples",
        "80",
        "--early_stopping.patience",
        "null",
        *more,
    ]


def env(folder: Path) -> dict:
    """No user accelerate config; no GPU, so 2 processes never share one."""
    return {**os.environ, "HF_HOME": str(folder / "hf-home"), "CUDA_VISIBLE_DEVICES": ""}


def kill_after_checkpoint(command: list[str], checkpoint: Path, environ: dict) -> None:
    """Start `command` (a launcher and its processes), SIGKILL them all once `checkpoint` is
    complete."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    wait_for_checkpoint(process, checkpoint)
    kill_machine(process)
    process.stderr.close()


def run(command: list[str], environ: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=environ)


@pytest.fixture(scope="module")
def recipe(bert_without_dropout, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("resume-processes")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(40, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(6, seed=2)),
    }
    return write_text_config(
        folder / "tiny.yaml",
        bert_without_dropout,
        data,
        folder / "unused",
        num_train_epochs=3,  # 2 epochs after the kill: a late kill still lands before the end
        ddp_backend="gloo",
        bf16="false",
    )


@pytest.fixture(scope="module")
def straight(recipe, tmp_path_factory) -> Path:
    """The run never interrupted: 1 process, batch 8."""
    folder = tmp_path_factory.mktemp("straight")
    done = run(ftk(1, recipe, folder / "run"), env(folder))
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "run"


def killed_then_resumed(recipe: Path, folder: Path, before: int, after: int, monkeypatch, capsys):
    """(run dir, the refusal of a resume with the old per-process batch, the good resume)."""
    out = folder / "run"
    kill_after_checkpoint(ftk(before, recipe, out), out / f"checkpoint-{PER_EPOCH}", env(folder))
    assert not (out / "metrics.json").exists(), "the kill came too late"
    # The command it started with, on the new number of processes: another global batch.
    # Refused before the data loads, so it runs here, as the process of such a launch would.
    monkeypatch.setenv("WORLD_SIZE", str(after))
    # faulthandler wants a file descriptor, which pytest's captured stderr does not have
    monkeypatch.setattr(cli, "watch_for_native_aborts", lambda: None)
    unchanged = ftk(before, recipe, out, "--resume")
    assert cli.main(unchanged[unchanged.index("train") :]) == 2
    monkeypatch.delenv("WORLD_SIZE")
    refusal = capsys.readouterr().err
    again = run(ftk(after, recipe, out, "--resume"), env(folder))
    assert again.returncode == 0, again.stderr[-3000:]
    return out, refusal, again


def assert_same_history(straight: Path, resumed: Path) -> None:
    a, b = history_rows(straight, "train"), history_rows(resumed, "train")
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, 3 * PER_EPOCH + 1))
    for x, y in zip(a, b, strict=True):
        assert y["learning_rate"] == pytest.approx(x["learning_rate"], rel=1e-9), (x, y)
        # all-reduced gradients sum in another order than one process sums them
        assert y["loss"] == pytest.approx(x["loss"], rel=1e-3, abs=1e-5), (x, y)


@pytest.mark.e2e
def test_two_processes_resumed_on_one_end_like_one_uninterrupted_run(
    recipe, straight, tmp_path, monkeypatch, capsys
):
    resumed, refusal, again = killed_then_resumed(recipe, tmp_path, 2, 1, monkeypatch, capsys)
    assert "this launch has 1 process x batch 4 x 1 accumulation = global batch 4" in refusal
    assert "--per_device_train_batch_size 8 keeps it on 1 process" in refusal
    assert "Resuming on 1 process x batch 8" in again.stdout
    assert_same_history(straight, resumed)


@pytest.mark.e2e
@pytest.mark.slow
def test_one_process_resumed_on_two_ends_like_one_uninterrupted_run(
    recipe, straight, tmp_path, monkeypatch, capsys
):
    resumed, refusal, again = killed_then_resumed(recipe, tmp_path, 1, 2, monkeypatch, capsys)
    assert "= global batch 16" in refusal
    assert "Resuming on 2 processes x batch 4" in again.stdout
    assert again.stdout.count("Results:") == 1
    assert_same_history(straight, resumed)


def test_another_global_batch_is_refused_with_the_batch_that_keeps_it(tmp_path):
    saved = Launch(processes=2, per_device_train_batch_size=4, gradient_accumulation_steps=1)
    check_global_batch(tmp_path, saved, Launch(1, 8, 1))
    check_global_batch(tmp_path, saved, Launch(1, 4, 2))  # accumulation keeps it too
    with pytest.raises(UserError, match="--per_device_train_batch_size 2 keeps it on 4"):
        check_global_batch(tmp_path, saved, Launch(4, 4, 1))
    with pytest.raises(UserError, match="Resume on 2 processes as it started"):
        check_global_batch(tmp_path, saved, Launch(3, 4, 1))  # 8 / 3: no whole batch


def test_a_checkpoint_without_its_launch_file_is_read_from_the_trainers_files(tmp_path):
    """Checkpoints of an ftk before ftk_launch.json: one RNG file per process, the
    per-process batch in trainer_state.json."""
    (tmp_path / "trainer_state.json").write_text('{"global_step": 5, "train_batch_size": 4}')
    assert launch_from_trainer_files(tmp_path, 1) is None  # no RNG file: nothing to go by
    (tmp_path / "rng_state.pth").write_bytes(b"")
    assert launch_from_trainer_files(tmp_path, 2) == Launch(1, 4, 2)
    (tmp_path / "rng_state.pth").unlink()
    for rank in range(2):
        (tmp_path / f"rng_state_{rank}.pth").write_bytes(b"")
    assert launch_from_trainer_files(tmp_path, 1) == Launch(2, 4, 1)


def test_a_checkpoint_missing_a_process_random_state_is_resumed_and_said(tmp_path):
    """A machine lost while a checkpoint was saved: the main process wrote trainer_state.json
    (the checkpoint is complete) but process 1's RNG file never came. The resume goes on from
    it and says that process's dropout starts afresh (the Trainer says it only at info level);
    a checkpoint saved without RNG files (save_only_model) is not reported."""
    write_launch(tmp_path, Launch(2, 4, 1))
    assert missing_random_states(tmp_path, Launch(2, 4, 1)) == []  # save_only_model: none at all
    (tmp_path / "rng_state_0.pth").write_bytes(b"")
    assert missing_random_states(tmp_path, Launch(2, 4, 1)) == [1]
    assert missing_random_states(tmp_path, Launch(1, 8, 1)) == []
    said = say_missing_random_states(tmp_path, [1])
    assert said.startswith(f"{tmp_path.name} holds no random state of process 1")
    assert "goes on from it; dropout on process 1 starts afresh" in said
