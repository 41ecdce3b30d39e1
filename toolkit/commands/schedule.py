"""`ftk schedule`: the learning rate a run will use, computed and drawn before any training.

The step count comes from the real training split (loaded, not tokenized) and the same
`steps_per_epoch` / `total_steps` the trainer uses; the per-group LRs come from the same
`group_specs` the optimizer is built from. `ftk train` prints the same summary through
`report_schedule`, so the two can never disagree.
"""

from __future__ import annotations

from pathlib import Path
from toolkit.config.schema import RunConfig
from toolkit.training.param_groups import uses_param_groups
from toolkit.training.arguments import build_training_arguments
from toolkit.training.schedule_report import Preview, default_png, group_multipliers, lr_table, processes, schedule_summary


def preview(config: RunConfig, world_size: int | None = None,
            png: Path | None = None) -> Preview:
    from toolkit.data.load import load_data
    from toolkit.outputs.plots import plot_learning_rate
    from toolkit.tasks import get_task

    task = get_task(config.task)
    args = build_training_arguments(config)
    data = load_data(config.data, task.input_columns(config), seed=args.seed)
    num_train = len(data.splits["train"])
    world = processes(world_size)
    summary = schedule_summary(config, args, num_train, world)
    # Layer groups need the real parameter names: build the model rather than guess them.
    model = task.load_model(config, data.label_names) if uses_param_groups(config.schedule) \
        else None
    groups = group_multipliers(config, model)
    lrs = lr_table(summary, config, groups)
    png = png or default_png(config)
    png.parent.mkdir(parents=True, exist_ok=True)
    plot_learning_rate(lrs, png, [name for name, _ in groups],
                       title=f"Learning rate: {config.schedule.decay}, {summary.total_steps} steps")
    return Preview(summary, groups, lrs, png, num_train, world)
