"""Continuing a killed run from its last checkpoint (`ftk train --resume`).

The Trainer restores the model, optimizer, scheduler, RNG states, data position and (with
`restore_callback_states_from_checkpoint`) the early-stopping counter. What is ours to restore
is the run directory's history: rows written after the checkpoint describe steps that will run
again, so they are cut off before training continues.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from toolkit.core.errors import UserError
from toolkit.core.run_files import STARTED_CONFIG
from toolkit.core.run_state import (
    TRAINER_STATE,
    is_unfinished,
    last_complete_checkpoint,
    unfinished_run,
)

LOSS_SUM_FILE = "ftk_loss_sum.json"  # in each checkpoint: the training losses summed so far


def last_checkpoint(output_dir: Path) -> Path:
    """The newest complete checkpoint-N folder in `output_dir`, or a UserError saying why there
    is none and what to do instead (`core/run_state.py`: the words the plain rerun and
    `ftk predict` use for the same folder).

    A run killed while saving leaves a checkpoint without a whole trainer_state.json; it is
    skipped.
    """
    checkpoint = last_complete_checkpoint(output_dir)
    if checkpoint is None:
        raise UserError(f"Cannot resume: {nothing_to_resume(output_dir)}")
    return checkpoint


def nothing_to_resume(output_dir: Path) -> str:
    if is_unfinished(output_dir):
        return unfinished_run(output_dir)
    if output_dir.is_dir() and any(output_dir.iterdir()):
        return (
            f"output_dir '{output_dir}' holds no checkpoint-* folder (a finished run deletes "
            f"its checkpoints), so there is nothing to continue. Start a new run in another "
            f"--output_dir, or with --overwrite instead of --resume to replace an earlier run."
        )
    why = "does not exist" if not output_dir.is_dir() else "is empty"
    return (
        f"output_dir '{output_dir}' {why}. --resume continues a run that was stopped before "
        f"it finished; start a new run without --resume."
    )


def checkpoint_step(checkpoint: Path) -> int:
    return int(json.loads((checkpoint / TRAINER_STATE).read_text())["global_step"])


def truncate_history(path: Path, step: int) -> int:
    """Keep the history rows of steps <= `step`; returns how many rows were dropped.

    Rows are appended as training goes, and the checkpoint of `step` is saved after that step's
    logs and evaluation, so everything later (and a line cut short by the kill) replays.
    """
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_text().splitlines():
        row = parse_row(line)
        if row is not None and row.get("step", 0) <= step:
            kept.append(line)
        elif line.strip():
            dropped += 1
    path.write_text("".join(line + "\n" for line in kept))
    return dropped


def parse_row(line: str) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) else None


def loss_sum_at(checkpoint: Path) -> float | None:
    """The sum of the training losses of every step up to `checkpoint` (written there by
    ToolkitTrainer); None for a checkpoint written without it."""
    path = checkpoint / LOSS_SUM_FILE
    if not path.is_file():
        return None
    saved = parse_row(path.read_text())
    return float(saved["loss_sum"]) if saved and "loss_sum" in saved else None


def train_loss_over_run(
    loss_sum_before: float, session_mean: float, resumed_at: int, total_steps: int
) -> float:
    """Mean training loss over every step of a resumed run.

    The Trainer's own `train_loss` is the mean over the steps of the last session only
    (`resumed_at`+1 .. `total_steps`); the steps before come from the checkpoint's loss sum,
    exact whether or not the last step was logged."""
    return (loss_sum_before + session_mean * (total_steps - resumed_at)) / max(total_steps, 1)


class StartedConfig(TrainerCallback):
    """Writes the run's config (as given, YAML) into output_dir as training begins, before any
    checkpoint, so `--resume` can check that it goes on with the config the steps so far were
    trained with (the finished run removes it with its checkpoints: run_config.yaml says it)."""

    def __init__(self, config_yaml: str):
        self.config_yaml = config_yaml

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            (Path(args.output_dir) / STARTED_CONFIG).write_text(self.config_yaml)
