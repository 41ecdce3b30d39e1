"""Whether a run directory is finished, and the one thing to do with one that is not.

A run is unfinished while it trains (checkpoint-N folders, started_config.yaml) and while it
writes its final files (model, config, metrics, card): `.ftk-saving` is written before the
first of them and removed after the last, so a kill half-way never leaves a folder that reads
as a finished run. A checkpoint is complete once the Trainer wrote its trainer_state.json
(last) whole; `--resume` continues from the newest complete one. `ftk train`, `--resume`,
`ftk predict`, `ftk evaluate` and `ftk push` all describe an unfinished folder through
`unfinished_run`, so they point to the same way on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from toolkit.core.run_files import RUN_CONFIG, STARTED_CONFIG

SAVING = ".ftk-saving"  # present while the final files are written
TRAINER_STATE = "trainer_state.json"  # the Trainer writes it last into a checkpoint
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoints(output_dir: Path) -> list[Path]:
    """The checkpoint-N folders, newest (highest N) first."""
    found = [
        (int(m.group(1)), path)
        for path in output_dir.glob("checkpoint-*")
        if (m := _CHECKPOINT.match(path.name)) and path.is_dir()
    ]
    return [path for _, path in sorted(found, reverse=True)]


def is_complete(checkpoint: Path) -> bool:
    """Its trainer_state.json is there and whole (a kill while writing it leaves a torn one)."""
    try:
        state = json.loads((checkpoint / TRAINER_STATE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and isinstance(state.get("global_step"), int)


def last_complete_checkpoint(output_dir: Path) -> Path | None:
    return next((path for path in checkpoints(output_dir) if is_complete(path)), None)


def is_unfinished(output_dir: Path) -> bool:
    """A run stopped while saving its final files, or while training (the config it started
    with is still there, or its checkpoints are and nothing else; a finished run removes both).
    A transformers Trainer's folder, checkpoints beside the final weights, is no ftk run."""
    if (output_dir / SAVING).exists() or (output_dir / STARTED_CONFIG).is_file():
        return True
    return (
        bool(checkpoints(output_dir))
        and not (output_dir / RUN_CONFIG).is_file()
        and not any(output_dir.glob("model*.safetensors"))
    )


def unfinished_run(output_dir: Path) -> str:
    """What an unfinished run directory is, and the one command that goes on from it."""
    when = "while saving its final files" if (output_dir / SAVING).exists() else "while training"
    return f"'{output_dir}' is an unfinished run (it stopped {when}). {way_on(output_dir)}"


def way_on(output_dir: Path) -> str:
    """Resume from the last complete checkpoint, or, with none, start again (--overwrite: the
    folder is taken, so a plain rerun is refused)."""
    again = f"`ftk train --overwrite --output_dir {output_dir}`"
    checkpoint = last_complete_checkpoint(output_dir)
    if checkpoint is not None:
        return (
            f"Resume it from {checkpoint.name} with `ftk train --resume --output_dir "
            f"{output_dir}` and the config it started with, or start again with {again}."
        )
    cut = [path.name for path in checkpoints(output_dir)]
    why = (
        f"it holds only incomplete checkpoints ({', '.join(cut)}, cut off while being saved)"
        if cut
        else "it stopped before its first checkpoint"
    )
    return f"There is nothing to resume: {why}. Start again with {again}."


def mark_saving(output_dir: Path) -> None:
    (output_dir / SAVING).write_text(
        "ftk is writing this run's final files; if this file is left, the run stopped "
        "before it finished.\n"
    )


def mark_finished(output_dir: Path) -> None:
    (output_dir / SAVING).unlink(missing_ok=True)
