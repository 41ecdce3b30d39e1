"""Resuming on another number of processes: the global batch must stay what it was.

The Trainer counts everything a checkpoint restores in optimizer steps: the LR schedule's
position, the epoch (global_step // steps per epoch) and the batches to skip in it. Those
counts mean the same examples only while one step reads the same global batch (per-process
batch x processes x gradient_accumulation_steps). Then the data order is the same too: the
Trainer draws one permutation per epoch whatever the processes, and process i of N reads
batches i, i+N, ... of it, so one global batch holds the same examples on 1 process as on N
(tests/test_distributed.py: equal loss histories). The Trainer itself checks none of this
(it logs a warning at most), so each checkpoint records the launch it was trained with, and a
resume whose global batch differs is refused with the batch that keeps it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolkit.core.errors import UserError

LAUNCH_FILE = "ftk_launch.json"  # in each checkpoint: the processes and batch it trained with
# The keys that may change on resume when the global batch stays the same (the others may not).
BATCH_KEYS = ("per_device_train_batch_size", "gradient_accumulation_steps")
TRAINER_DEFAULT_BATCH = 8  # TrainingArguments.per_device_train_batch_size when unset


@dataclass(frozen=True)
class Launch:
    processes: int
    per_device_train_batch_size: int
    gradient_accumulation_steps: int

    @property
    def global_batch(self) -> int:
        return self.processes * self.per_device_train_batch_size * self.gradient_accumulation_steps

    def describe(self) -> str:
        return (
            f"{self.processes} process{'es' if self.processes != 1 else ''} x batch "
            f"{self.per_device_train_batch_size} x {self.gradient_accumulation_steps} "
            f"accumulation = global batch {self.global_batch}"
        )


def write_launch(checkpoint: Path, launch: Launch) -> None:
    (checkpoint / LAUNCH_FILE).write_text(json.dumps(asdict(launch)) + "\n")


def saved_launch(checkpoint: Path) -> Launch | None:
    """The launch `checkpoint` was trained with; None for a checkpoint written without it."""
    path = checkpoint / LAUNCH_FILE
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
        return Launch(**{k: int(saved[k]) for k in Launch.__dataclass_fields__})
    except (ValueError, KeyError, TypeError):
        return None


def launch_from_trainer_files(checkpoint: Path, accumulation: int) -> Launch | None:
    """The launch of a checkpoint an older ftk wrote without LAUNCH_FILE, from the Trainer's
    own files: one RNG state per process (rng_state_I.pth on N > 1 processes, rng_state.pth on
    one) and the per-process batch in trainer_state.json. `accumulation`: the config's (the
    config check keeps it equal to the start's)."""
    per_process = sorted(checkpoint.glob("rng_state_*.pth"))
    processes = len(per_process) or (1 if (checkpoint / "rng_state.pth").is_file() else 0)
    try:
        batch = int(json.loads((checkpoint / "trainer_state.json").read_text())["train_batch_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Launch(processes, batch, accumulation) if processes else None


def missing_random_states(checkpoint: Path, saved: Launch | None) -> list[int]:
    """The processes of a multi-process checkpoint whose RNG file is not in it.

    Each process writes its own (on its own machine, in a multi-node run), and the main process
    writes trainer_state.json without waiting for the others, so a machine lost at that moment
    leaves a checkpoint whole but for its processes' random states. The Trainer then starts
    those afresh, saying so only at info level. A checkpoint with no RNG file at all was saved
    without them (save_only_model)."""
    if saved is None or saved.processes < 2 or not any(checkpoint.glob("rng_state_*.pth")):
        return []
    return [i for i in range(saved.processes) if not (checkpoint / f"rng_state_{i}.pth").is_file()]


def say_missing_random_states(checkpoint: Path, missing: list[int]) -> str:
    which = ", ".join(map(str, missing))
    return (
        f"{checkpoint.name} holds no random state of process {which} (its machine stopped "
        f"while the checkpoint was saved). The weights, optimizer, schedule and data position "
        f"are whole, so the run goes on from it; dropout on process {which} starts afresh, so "
        f"the run is not bit for bit the one never interrupted."
    )


def launch_now(training: dict[str, Any], processes: int, saved: Launch) -> Launch:
    """The launch a resume would train with. With auto_find_batch_size the Trainer restores
    the per-process batch the checkpoint settled on, whatever the config says."""
    batch = (
        saved.per_device_train_batch_size
        if training.get("auto_find_batch_size")
        else int(training.get("per_device_train_batch_size", TRAINER_DEFAULT_BATCH))
    )
    return Launch(processes, batch, int(training.get("gradient_accumulation_steps", 1)))


def check_global_batch(checkpoint: Path, saved: Launch, now: Launch) -> None:
    if now.global_batch == saved.global_batch:
        return
    keep = saved.global_batch / (now.processes * now.gradient_accumulation_steps)
    advice = (
        f"--per_device_train_batch_size {int(keep)} keeps it on {now.processes} "
        f"process{'es' if now.processes != 1 else ''}, or resume"
        if keep.is_integer() and keep >= 1
        else "Resume"
    )
    raise UserError(
        f"--resume: {checkpoint} was trained on {saved.describe()}; this launch has "
        f"{now.describe()}. The Trainer counts the schedule, the epoch and the data position "
        f"in optimizer steps, so with another global batch they would no longer match the "
        f"examples trained. {advice} on {saved.processes} "
        f"process{'es' if saved.processes != 1 else ''} as it started."
    )
