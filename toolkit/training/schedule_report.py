"""`ftk schedule`: the learning rate a run will use, computed and drawn before any training.

The step count comes from the real training split (loaded, not tokenized) and the same
`steps_per_epoch` / `total_steps` the trainer uses; the per-group LRs come from the same
`group_specs` the optimizer is built from. `ftk train` prints the same summary through
`report_schedule`, so the two can never disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from toolkit.config.schema import RunConfig
from toolkit.core.log import say, warn
from toolkit.training.param_groups import group_specs, uses_param_groups
from toolkit.training.schedules import ScheduleSummary, lr_factor, summarize
from toolkit.training.arguments import steps_per_epoch, total_steps


@dataclass
class Preview:
    summary: ScheduleSummary
    groups: list[tuple[str, float]]  # (group name, multiplier of the peak LR)
    lrs: list[list[float]]  # lrs[s][g]: group g's LR at the s-th update (0-based)
    png: Path
    num_train: int
    world_size: int


def schedule_summary(config: RunConfig, args: Any, num_train: int,
                     world_size: int | None = None) -> ScheduleSummary:
    per_epoch = steps_per_epoch(num_train, args, world_size)
    steps = total_steps(num_train, args, world_size)
    return summarize(config.schedule, args.learning_rate, steps, per_epoch)


def group_multipliers(config: RunConfig, model: Any) -> list[tuple[str, float]]:
    """(name, LR multiplier) of each named optimizer group; one 'all' group without them."""
    if not uses_param_groups(config.schedule):
        return [("all", 1.0)]
    return [(spec.name, spec.multiplier) for spec in group_specs(model, config.schedule)]


def report_schedule(summary: ScheduleSummary, groups: list[tuple[str, float]]) -> None:
    """The summary lines, the per-group multipliers, and a WARNING line per warning."""
    for line in summary.lines():
        say(line)
    if len(groups) > 1:
        say("  LR per group (x peak): " + ", ".join(f"{name} {m:.3g}" for name, m in groups))
    for message in summary.warnings:
        warn(message)


def lr_table(summary: ScheduleSummary, config: RunConfig,
             groups: list[tuple[str, float]]) -> list[list[float]]:
    factor = lr_factor(config.schedule, summary.total_steps, summary.steps_per_epoch)
    return [[summary.peak_lr * m * factor(s) for _, m in groups]
            for s in range(summary.total_steps)]


def default_png(config: RunConfig) -> Path:
    """Beside the run directory, not inside it: `ftk train` wants that directory empty."""
    output_dir = Path(config.training["output_dir"])
    return output_dir.parent / f"{output_dir.name}-schedule.png"


def processes(requested: int | None) -> int:
    """Processes of the planned launch: asked for, or what accelerate/torchrun set, or 1."""
    return requested or int(os.environ.get("WORLD_SIZE", "1"))
