"""The run directory: the guard against clobbering one, an empty one for a new run, the files a
finished run leaves (core/run_files.py lists them), and the check that a folder is one.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.core.run_files import (
    BASELINE_FILE,
    HISTORY,
    METRICS,
    RUN_CONFIG,
    STARTED_CONFIG,
    read_history,
    write_json,
    write_text_whole,
)
from toolkit.core.run_state import checkpoints, is_unfinished, unfinished_run
from toolkit.outputs.plots import plot_learning_rate, plot_loss


def check_output_dir_free(path: Path, overwrite: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuse a non-empty run directory unless told to replace it (checked before slow work);
    with `overwrite`, refuse anything but an earlier ftk run (see refuse_to_delete). `inputs`:
    the files and folders the run reads."""
    if path.exists() and not path.is_dir():
        raise UserError(f"output_dir '{path}' is a file; choose a directory path.")
    if path.is_symlink() and not path.exists():  # mkdir would fail on it after the model loads
        raise UserError(
            f"output_dir '{path}' is a symbolic link to '{path.readlink()}', which does not "
            f"exist. Create that folder, or give --output_dir a folder path."
        )
    # baseline.json alone is what `ftk baseline` leaves: train reuses or replaces it.
    left = [p for p in path.iterdir() if p.name != BASELINE_FILE] if path.is_dir() else []
    if not left:
        return
    if overwrite:
        refuse_to_delete(path, left, inputs)
        return
    if is_unfinished(path):  # the same way on as --resume and `ftk predict` give
        raise UserError(f"output_dir {unfinished_run(path)}")
    raise UserError(
        f"output_dir '{path}' already holds files from an earlier run. Choose another with "
        f"--output_dir, or pass --overwrite to delete it and start again."
    )


def is_ftk_run(path: Path) -> bool:
    """A folder an ftk run wrote: its resolved config, its history or its checkpoints."""
    return any((path / name).is_file() for name in (RUN_CONFIG, HISTORY, METRICS)) or bool(
        checkpoints(path)
    )


def refuse_to_delete(path: Path, contents: list[Path], inputs: Sequence[Path]) -> None:
    """--overwrite deletes `path`: allowed only for an earlier ftk run, and never for the
    working directory or a folder above it, the home folder, or a folder this run reads from."""
    target = path.resolve()
    here = Path.cwd().resolve()
    why = None
    if path.is_symlink():  # rmtree would fail on the link, after the model has loaded
        raise UserError(
            f"--overwrite would delete output_dir '{path}', which is a symbolic link to "
            f"'{target}'. ftk does not delete through a link (the folder it points to may "
            f"hold more than this run, or be shared); nothing was deleted. Give that folder "
            f"itself as --output_dir to replace the run in it, or remove the link."
        )
    if target == here or target in here.parents:
        why = "is the working directory or a folder above it"
    elif target == Path.home().resolve() or target == Path(target.anchor):
        why = "is your home folder or the file-system root"
    else:
        held = [p for p in inputs if target == p.resolve() or target in p.resolve().parents]
        if held:
            why = f"holds an input of this run ({held[0]})"
        elif not is_ftk_run(path):
            shown = ", ".join(sorted(p.name for p in contents)[:5])
            why = (
                f"is not an earlier ftk run (no {RUN_CONFIG}, {HISTORY} or checkpoint-* in "
                f"it; it holds {shown}{' ...' if len(contents) > 5 else ''})"
            )
    if why:
        raise UserError(
            f"--overwrite would delete output_dir '{path}', which {why}. ftk deletes only the "
            f"folder of an earlier ftk run; give --output_dir a new folder (e.g. runs/NAME)."
        )


def prepare_output_dir(path: Path, overwrite: bool, inputs: Sequence[Path] = ()) -> Path:
    """Create the run directory empty (deleting an old run only when `overwrite`)."""
    check_output_dir_free(path, overwrite, inputs)
    if path.is_dir() and any(path.iterdir()):
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_run_files(output_dir: Path, config: RunConfig, metrics: dict[str, Any]) -> None:
    """Resolved config, metrics and the plots drawn from history.jsonl."""
    write_text_whole(output_dir / RUN_CONFIG, config.to_yaml())
    write_json(output_dir / METRICS, metrics)
    rows = read_history(output_dir / HISTORY)
    plot_loss(rows, output_dir / "loss.png")
    lrs = [r["lr"] for r in rows if r["kind"] == "step"]
    names = [r["names"] for r in rows if r["kind"] == "groups"]
    if lrs:
        plot_learning_rate(
            lrs, output_dir / "learning_rate.png", group_names=names[-1] if names else None
        )


def remove_checkpoints(output_dir: Path) -> None:
    """Intermediate checkpoints, and the config they were checked against, serve resuming a
    killed run; a finished run needs none (run_config.yaml holds its config)."""
    for checkpoint in output_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint, ignore_errors=True)
    (output_dir / STARTED_CONFIG).unlink(missing_ok=True)


def check_run_dir(path: Path) -> None:
    """A finished run: for `ftk push`, and for `ftk predict` / `ftk evaluate` on a folder with
    run_config.yaml. An unfinished one says how to go on (core/run_state.py)."""
    if not path.is_dir():
        raise UserError(
            f"'{path}' is not a directory. Give the output_dir of a finished `ftk train` run."
        )
    refuse_unfinished(path)
    needed = ["config.json", "model.safetensors", "run_config.yaml"]
    missing = [
        name
        for name in needed
        if not (path / name).is_file()
        and not (name == "model.safetensors" and any(path.glob("model*.safetensors")))
    ]
    if missing:
        raise UserError(
            f"'{path}' is not a finished ftk run directory: it has no {', '.join(missing)}. "
            f"Give the output_dir of a finished `ftk train` run."
        )


def refuse_unfinished(path: Path) -> None:
    """A run stopped while training or saving is never read as a finished one."""
    if is_unfinished(path):
        raise UserError(unfinished_run(path))
