"""Learning-rate schedules: warm-up then decay, as pure functions of the optimizer step.

Each schedule is a multiplier of the peak LR, `factor(step)`, handed to `torch.optim.LambdaLR`.
Because the factor depends on the step alone, a checkpoint (which stores the step) restores the
schedule exactly. Step `s` counts optimizer updates from 0: the s-th update uses `factor(s)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from toolkit.config import ScheduleConfig
from toolkit.errors import UserError

DEFAULT_WARMUP_FRACTION = 0.06
DECAYS = ("cosine", "linear", "constant")


def resolve_schedule(schedule: ScheduleConfig) -> None:
    """Validate the section and fill the default warm-up when none is given (in place)."""
    given = [k for k in ("warmup_steps", "warmup_fraction", "warmup_epochs")
             if getattr(schedule, k) is not None]
    if len(given) > 1:
        raise UserError(f"Warm-up is given two ways at once ({' and '.join('schedule.' + k for k in given)}); "
                        f"keep one of them.")
    if not given:
        schedule.warmup_fraction = DEFAULT_WARMUP_FRACTION
    if schedule.warmup_steps is not None and schedule.warmup_steps < 0:
        raise UserError(f"schedule.warmup_steps must be >= 0, got {schedule.warmup_steps}.")
    if schedule.warmup_fraction is not None and not 0 <= schedule.warmup_fraction < 1:
        raise UserError(f"schedule.warmup_fraction must lie in [0, 1), got {schedule.warmup_fraction}.")
    if schedule.warmup_epochs is not None and schedule.warmup_epochs < 0:
        raise UserError(f"schedule.warmup_epochs must be >= 0, got {schedule.warmup_epochs}.")
    if schedule.decay not in DECAYS:
        raise UserError(f"schedule.decay '{schedule.decay}' is not a known shape; valid: "
                        f"{', '.join(DECAYS)}.")
    if not 0 <= schedule.min_lr_ratio <= 1:
        raise UserError(f"schedule.min_lr_ratio must lie in [0, 1], got {schedule.min_lr_ratio}.")


validate_schedule = resolve_schedule


def warmup_steps(schedule: ScheduleConfig, total_steps: int, steps_per_epoch: float) -> int:
    """Warm-up length in optimizer steps, whichever way the config gave it."""
    if schedule.warmup_steps is not None:
        return schedule.warmup_steps
    if schedule.warmup_epochs is not None:
        return round(schedule.warmup_epochs * steps_per_epoch)
    return math.ceil((schedule.warmup_fraction or 0.0) * total_steps)


def lr_factor(schedule: ScheduleConfig, total_steps: int,
              steps_per_epoch: float) -> Callable[[int], float]:
    """The multiplier of the peak LR at each optimizer step (0-based)."""
    warmup = warmup_steps(schedule, total_steps, steps_per_epoch)
    floor = schedule.min_lr_ratio

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        if schedule.decay == "cosine":
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        if schedule.decay == "linear":
            return floor + (1 - floor) * (1 - progress)
        return 1.0

    return factor
