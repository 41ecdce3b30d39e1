"""The run directory: the guard against clobbering one, an empty one for a new run, the files a
finished run leaves (core/run_files.py lists them), and the check that a folder is one.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.core.run_files import (
    BASELINE_FILE,
    HISTORY,
    METRICS,
    RUN_CONFIG,
    read_history,
    write_json,
)
from toolkit.outputs.plots import plot_learning_rate, plot_loss


def check_output_dir_free(path: Path, overwrite: bool) -> None:
    """Refuse a non-empty run directory unless told to replace it (checked before slow work)."""
    if path.exists() and not path.is_dir():
        raise UserError(f"output_dir '{path}' is a file; choose a directory path.")
    # baseline.json alone is what `ftk baseline` leaves: train reuses or replaces it.
    left = [p for p in path.iterdir() if p.name != BASELINE_FILE] if path.is_dir() else []
    if left and not overwrite:
        raise UserError(
            f"output_dir '{path}' already holds files from an earlier run. "
            f"Choose another with --output_dir, or pass --overwrite to delete it "
            f"and start again."
        )


def prepare_output_dir(path: Path, overwrite: bool) -> Path:
    """Create the run directory empty (deleting an old one only when `overwrite`)."""
    check_output_dir_free(path, overwrite)
    if path.is_dir():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_run_files(output_dir: Path, config: RunConfig, metrics: dict[str, Any]) -> None:
    """Resolved config, metrics and the plots drawn from history.jsonl."""
    (output_dir / RUN_CONFIG).write_text(config.to_yaml())
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
    """Intermediate checkpoints serve resuming a killed run; a finished run needs none."""
    for checkpoint in output_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint, ignore_errors=True)


def check_run_dir(path: Path) -> None:
    if not path.is_dir():
        raise UserError(
            f"'{path}' is not a directory. Give the output_dir of a finished `ftk train` run."
        )
    needed = ["config.json", "model.safetensors", "run_config.yaml"]
    missing = [
        name
        for name in needed
        if not (path / name).is_file()
        and not (name == "model.safetensors" and any(path.glob("model*.safetensors")))
    ]
    if missing:
        hint = (
            " It holds checkpoints: the run has not finished; `ftk train --resume` continues it."
            if any(path.glob("checkpoint-*"))
            else ""
        )
        raise UserError(
            f"'{path}' is not a finished ftk run directory: it has no "
            f"{', '.join(missing)}.{hint} Give the output_dir of a finished "
            f"`ftk train` run."
        )
