"""The files of a checkpoint that `ftk train --resume` reads, checked before anything loads: a
damaged or changed file is named with what is wrong with it, instead of a traceback from deep
in the Trainer once the data and the model have loaded.

The pickled files (optimizer, scheduler, gradient scaler, RNG states) are read as the Trainer
reads them, by torch's weights-only unpickler, which never runs code and refuses a file that
would; memory-mapped, so the check unpickles the small index and leaves the tensors on disk.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from transformers import TrainerState
from transformers.trainer_pt_utils import safe_globals

from toolkit.core.errors import UserError
from toolkit.training.resume import TRAINER_STATE

PICKLED = ("optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state*.pth")
WEIGHTS = ("model.safetensors", "adapter_model.safetensors")


def check_checkpoint_files(checkpoint: Path) -> None:
    """A UserError naming the first file of `checkpoint` that cannot be read, and why."""
    for path, problem in file_problems(checkpoint):
        if problem:
            raise UserError(
                f"Cannot resume from {checkpoint}: its file {path.name} {problem}. It was "
                f"damaged or changed after the run wrote it. Delete {checkpoint.name} to "
                f"resume from the checkpoint before it (when output_dir holds one), or start "
                f"the run again with --overwrite."
            )


def file_problems(checkpoint: Path) -> Iterator[tuple[Path, str | None]]:
    """(file, what is wrong with it or None) for each file a resume reads, in that order."""
    yield checkpoint / TRAINER_STATE, trainer_state_problem(checkpoint / TRAINER_STATE)
    for pattern in PICKLED:
        for path in sorted(checkpoint.glob(pattern)):
            yield path, pickle_problem(path)
    for name in WEIGHTS:
        if (checkpoint / name).is_file():
            yield checkpoint / name, safetensors_problem(checkpoint / name)


def trainer_state_problem(path: Path) -> str | None:
    """Read as the Trainer reads it (every key a TrainerState field), with a whole step count."""
    try:
        state = TrainerState.load_from_json(str(path))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        return f"is not valid JSON ({exc})"
    except TypeError as exc:  # keys that are no TrainerState field, or not a JSON object
        return f"does not hold a trainer state ({exc})"
    if not isinstance(state.global_step, int):
        return f"holds no whole step count (global_step: {state.global_step!r})"
    return None


def pickle_problem(path: Path) -> str | None:
    mmap = zipfile.is_zipfile(path)  # as torch.save writes it: its tensors can stay on disk
    try:
        with safe_globals():  # the NumPy types the Trainer allows in RNG states
            torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except (pickle.UnpicklingError, EOFError) as exc:  # EOFError: an empty file
        refused = re.search(r"GLOBAL (\S+)", str(exc))
        if refused:
            return (
                f"holds pickled code that torch's safe loader refuses to run ({refused.group(1)})"
            )
        return "cannot be unpickled: it is cut short, or not a file torch.save wrote"
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        return f"cannot be read by torch.load ({type(exc).__name__}: {first_line(exc)})"
    return None


def safetensors_problem(path: Path) -> str | None:
    try:
        with safe_open(str(path), framework="pt"):
            return None
    except (SafetensorError, OSError) as exc:
        return f"is not a readable safetensors file ({first_line(exc)})"


def first_line(exc: BaseException) -> str:
    """The first sentence of the error: the rest of torch's and safetensors' is advice."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
    return text.split(". ")[0].rstrip(".")
