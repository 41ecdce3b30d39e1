"""Continuing a killed run from its last checkpoint (`ftk train --resume`).

The Trainer restores the model, optimizer, scheduler, RNG states, data position and (with
`restore_callback_states_from_checkpoint`) the early-stopping counter. What is ours to restore
is the run directory's history: rows written after the checkpoint describe steps that will run
again, so they are cut off before training continues.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from toolkit.core.errors import UserError

TRAINER_STATE = (
    "trainer_state.json"  # the Trainer writes it last: its presence marks a whole checkpoint
)
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def last_checkpoint(output_dir: Path) -> Path:
    """The newest complete checkpoint-N folder in `output_dir`, or a UserError saying why not.

    A run killed while saving leaves a checkpoint without trainer_state.json; it is skipped.
    """
    found = sorted(
        (
            (int(m.group(1)), p)
            for p in output_dir.glob("checkpoint-*")
            if (m := _CHECKPOINT.match(p.name)) and p.is_dir()
        ),
        reverse=True,
    )
    complete = [path for _, path in found if (path / TRAINER_STATE).is_file()]
    if complete:
        return complete[0]
    if not output_dir.is_dir():
        why = "does not exist"
    elif found:
        why = f"holds only incomplete checkpoints ({', '.join(p.name for _, p in found)})"
    else:
        why = "holds no checkpoint-* folder (a finished run deletes its checkpoints)"
    raise UserError(
        f"Cannot resume: output_dir '{output_dir}' {why}. --resume continues a run "
        f"that was stopped before it finished; start a new run without --resume."
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


def train_loss_over_run(rows: list[dict[str, Any]], total_steps: int) -> float | None:
    """Mean training loss over every step of the run, from the logged losses.

    After a resume the Trainer's own `train_loss` covers only the steps of the last session;
    each logged loss is the mean over the steps since the previous log, so weighting by those
    intervals gives the whole run's mean.
    """
    previous, weighted = 0, 0.0
    for row in rows:
        if row.get("kind") == "train":
            weighted += row["loss"] * (row["step"] - previous)
            previous = row["step"]
    return weighted / previous if previous and previous == total_steps else None
