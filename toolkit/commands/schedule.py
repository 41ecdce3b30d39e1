"""`ftk schedule`: the learning rate a run will use, computed and drawn before any training.

The step count comes from the real training split (loaded with the run's split seed, not
tokenized) through the same stages `ftk train` uses; the per-group LRs come from the same
`group_specs` the optimizer is built from, on the real model when layer groups are asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toolkit.config.schema import RunConfig, ScheduleConfig
from toolkit.core.log import say
from toolkit.outputs.plots import plot_learning_rate
from toolkit.run.derived import with_length
from toolkit.run.stages import build_model, load_labelled_data, plan_run, streamed_rows
from toolkit.training.param_groups import layer_decay_line, uses_param_groups
from toolkit.training.schedule_report import group_multipliers, schedule_summary
from toolkit.training.schedules import ScheduleSummary, lr_factor


@dataclass
class SchedulePreview:
    summary: ScheduleSummary
    groups: list[tuple[str, float]]  # (group name, multiplier of the peak LR)
    layer_decay: str | None  # what layer decay found (`layer_decay_line`); None when it is off
    lrs: list[list[float]]  # lrs[s][g]: group g's LR at the s-th update (0-based)
    png: Path
    num_train: int
    world_size: int


def preview_schedule(
    config: RunConfig, world_size: int | None = None, png: Path | None = None
) -> SchedulePreview:
    plan = plan_run(config)
    data = load_labelled_data(config, plan.task)
    world = processes(world_size)
    # a stream has no length: its "epoch" is what max_steps reads
    num_train = (
        streamed_rows(plan.args, world) if config.data.streaming else len(data.splits["train"])
    )
    config, chosen = with_length(config, plan.args, num_train, world)  # as `ftk train` does
    for derived in chosen:
        say(derived.line())
    if chosen:
        plan = plan_run(config)
    streamed = config.data.streaming
    summary = schedule_summary(config.schedule, plan.args, num_train, world, streamed)
    # Layer groups need the real parameter names: build the model rather than guess them.
    model = build_model(plan, data) if uses_param_groups(config.schedule) else None
    groups = group_multipliers(config.schedule, model)
    lrs = lr_table(summary, config.schedule, groups)
    png = png or default_png(config)
    png.parent.mkdir(parents=True, exist_ok=True)
    plot_learning_rate(
        lrs,
        png,
        [name for name, _ in groups],
        title=f"Learning rate: {config.schedule.decay}, {summary.total_steps} steps",
    )
    depths = layer_decay_line(model, config.schedule)
    return SchedulePreview(summary, groups, depths, lrs, png, num_train, world)


def lr_table(
    summary: ScheduleSummary, schedule: ScheduleConfig, groups: list[tuple[str, float]]
) -> list[list[float]]:
    factor = lr_factor(schedule, summary.total_steps, summary.steps_per_epoch)
    return [
        [summary.peak_lr * m * factor(s) for _, m in groups] for s in range(summary.total_steps)
    ]


def default_png(config: RunConfig) -> Path:
    """Beside the run directory, not inside it: `ftk train` wants that directory empty."""
    output_dir = Path(config.training["output_dir"])
    return output_dir.parent / f"{output_dir.name}-schedule.png"


def processes(requested: int | None) -> int:
    """Processes of the planned launch: asked for, or what accelerate/torchrun set, or 1."""
    return requested or int(os.environ.get("WORLD_SIZE", "1"))
