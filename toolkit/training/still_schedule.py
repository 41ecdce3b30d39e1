"""A run whose every optimizer step has learning rate 0 is refused before any model loads.

`--num_train_epochs 0.01` or `--gradient_accumulation_steps 1000` on a small data set leaves
one optimizer step, and the warm-up's first step runs at `warmup_start_ratio` x the peak LR,
0 by default: the weights never change, yet the run would save the base model as fine-tuned.
The step count and the LR of each step come from the code the Trainer follows
(`training/arguments.py`, `training/schedules.py`), so this check and `ftk schedule` agree.
"""

from __future__ import annotations

from transformers import TrainingArguments

from toolkit.config.schema import WARMUP_KEYS, ScheduleConfig
from toolkit.core.errors import UserError
from toolkit.training.arguments import batches_per_epoch, steps_per_epoch, total_steps
from toolkit.training.schedules import lr_factor, warmup_steps


def refuse_still_schedule(
    schedule: ScheduleConfig, args: TrainingArguments, num_train: int
) -> None:
    """A UserError when no optimizer step of the planned run has a learning rate above 0."""
    steps, per_epoch = total_steps(num_train, args), steps_per_epoch(num_train, args)
    factor = lr_factor(schedule, steps, per_epoch)
    # stops at the first moving step: step 1 at the latest for every schedule ftk has
    if any(factor(step) > 0 for step in range(steps)):
        return
    warmup = warmup_steps(schedule, steps, per_epoch)
    raise UserError(
        f"The run would not change the model: its {plural(steps, 'optimizer step')} "
        f"{'runs' if steps == 1 else 'run'} at learning rate 0 (the warm-up, "
        f"{plural(warmup, 'step')}, starts at schedule.warmup_start_ratio "
        f"{schedule.warmup_start_ratio:g} x the peak), so the saved model would be the base "
        f"model. {arithmetic(args, num_train)} To train, {fixes(args, num_train)}, or set "
        f"schedule.{warmup_key(schedule)}: 0 so the first step uses the peak learning rate."
    )


def arithmetic(args: TrainingArguments, num_train: int) -> str:
    """How the step count comes about, in the numbers of this run."""
    steps = total_steps(num_train, args)
    if args.max_steps > 0:
        return f"max_steps is {args.max_steps}."
    processes = f" x {args.world_size} processes" if args.world_size > 1 else ""
    return (
        f"{plural(num_train, 'training example')} in batches of "
        f"{args.per_device_train_batch_size}{processes} are "
        f"{plural(batches_per_epoch(num_train, args), 'batch', 'es')} an epoch, "
        f"{plural(steps_per_epoch(num_train, args), 'optimizer step')} with "
        f"gradient_accumulation_steps {args.gradient_accumulation_steps}; num_train_epochs "
        f"{args.num_train_epochs:g} makes that {plural(steps, 'step')} in all."
    )


def fixes(args: TrainingArguments, num_train: int) -> str:
    """The keys that give the run more steps."""
    if args.max_steps > 0:
        return f"raise max_steps (now {args.max_steps})"
    wanted = [f"raise num_train_epochs (now {args.num_train_epochs:g})"]
    if args.gradient_accumulation_steps > 1:
        batches = batches_per_epoch(num_train, args)
        wanted.append(
            f"lower gradient_accumulation_steps (now {args.gradient_accumulation_steps}, "
            f"against {plural(batches, 'batch', 'es')} an epoch)"
        )
    return " or ".join(wanted)


def warmup_key(schedule: ScheduleConfig) -> str:
    """The warm-up key in use (a loaded config has exactly one: the default fills
    warmup_fraction), so setting it to 0 replaces the warm-up rather than adding a second."""
    return next(key for key in WARMUP_KEYS if getattr(schedule, key) is not None)


def plural(count: int, noun: str, ending: str = "s") -> str:
    return f"{count:,} {noun}{'' if count == 1 else ending}"
