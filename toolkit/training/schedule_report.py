"""The schedule a run will follow, summarised from the real step count before training.

The step count comes from the training split's size and the same `steps_per_epoch` /
`total_steps` the Trainer uses; the per-group LRs come from the same `group_specs` the
optimizer is built from. `ftk train` and `ftk schedule` both print through `report_schedule`,
so the two can never disagree.
"""

from __future__ import annotations

from torch import nn
from transformers import TrainingArguments

from toolkit.config.schema import ScheduleConfig
from toolkit.core.log import say, warn
from toolkit.training.arguments import steps_per_epoch, total_steps
from toolkit.training.param_groups import group_specs, uses_param_groups
from toolkit.training.schedules import ScheduleSummary, summarize_schedule


def schedule_summary(
    schedule: ScheduleConfig,
    args: TrainingArguments,
    num_train: int,
    world_size: int | None = None,
    streamed: bool = False,
) -> ScheduleSummary:
    """`streamed`: data.streaming, whose summary speaks of steps only (no epochs)."""
    per_epoch = steps_per_epoch(num_train, args, world_size)
    steps = total_steps(num_train, args, world_size)
    return summarize_schedule(schedule, args.learning_rate, steps, per_epoch, streamed)


def group_multipliers(schedule: ScheduleConfig, model: nn.Module | None) -> list[tuple[str, float]]:
    """(name, LR multiplier) of each named optimizer group; one 'all' group without them (the
    only case where `model` may be None)."""
    if not uses_param_groups(schedule):
        return [("all", 1.0)]
    assert model is not None  # the groups are found among the model's parameter names
    return [(spec.name, spec.multiplier) for spec in group_specs(model, schedule)]


def report_schedule(
    summary: ScheduleSummary, groups: list[tuple[str, float]], layer_decay: str | None = None
) -> None:
    """The summary lines, what layer decay found (`layer_decay_line`), the per-group
    multipliers, and a WARNING line per warning."""
    for line in summary.lines():
        say(line)
    if layer_decay is not None:
        say(f"  {layer_decay}")
    if len(groups) > 1:
        say("  LR per group (x peak): " + ", ".join(f"{name} {m:.3g}" for name, m in groups))
    for message in summary.warnings:
        warn(message)
