"""Learning-rate schedules: warm-up then decay, as pure functions of the optimizer step.

Each schedule is a multiplier of the peak LR, `factor(s)`, handed to `torch.optim.LambdaLR`.
Because the factor depends on the step alone, a checkpoint (which stores the step) restores the
schedule exactly. Step `s` counts optimizer updates from 0: the s-th update uses `factor(s)`.

Notation: T total optimizer steps, W warm-up steps, r = warmup_start_ratio, m = min_lr_ratio.
W = warmup_steps, or ceil(warmup_fraction T), or ceil(warmup_epochs x steps per epoch).

Warm-up, for s < W, with p = s / W:
    linear       r + (1 - r) p
    cosine       r + (1 - r) (1 - cos(pi p)) / 2
    exponential  r0^(1 - p), r0 = max(r, 1e-3): geometric growth from r0 to 1. A geometric
                 ramp cannot start at 0, so a start ratio below 1e-3 starts at 1e-3.

Decay, for s >= W, with q = min(1, (s - W) / max(1, T - W)):
    cosine           m + (1 - m) (1 + cos(pi q)) / 2
    linear           m + (1 - m) (1 - q)
    polynomial       m + (1 - m) (1 - q)^power
    constant         1
    cosine_restarts  C = cycles, k = min(C - 1, floor(q C)), u = q C - k:
                     restart_decay^k (m + (1 - m) (1 + cos(pi u)) / 2)
                     (each cycle restarts at a peak, shrunk by restart_decay per cycle)
    wsd              warm-up, stable, decay: D = ceil(decay_fraction T) steps decay at the end,
                     starting at S = max(W, T - D); before S the factor is 1, after it
                     v = min(1, (s - S) / max(1, T - S)) and
                     linear m + (1 - m)(1 - v), cosine m + (1 - m)(1 + cos(pi v)) / 2,
                     sqrt m + (1 - m)(1 - sqrt(v))
    inverse_sqrt     sqrt(tau / (s - W + tau)), tau = timescale or max(W, 1)
                     (1 at the end of warm-up; min_lr_ratio does not apply)

Layer-wise decay (`layer_decay`, `head_lr_multiplier`) scales each parameter group's peak LR;
the factor above then multiplies every group alike (see toolkit/param_groups.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from toolkit.config import ScheduleConfig
from toolkit.errors import UserError, did_you_mean

DEFAULT_WARMUP_FRACTION = 0.06
EXPONENTIAL_FLOOR = 1e-3  # start of an exponential warm-up whose start ratio is (near) 0
WARMUP_SHAPES = ("linear", "cosine", "exponential")
DECAYS = ("cosine", "linear", "polynomial", "constant", "cosine_restarts", "wsd", "inverse_sqrt")
WSD_DECAY_SHAPES = ("linear", "cosine", "sqrt")
WARMUP_KEYS = ("warmup_steps", "warmup_fraction", "warmup_epochs")


# ----------------------------------------------------------------------------- validation


def resolve_schedule(schedule: ScheduleConfig) -> None:
    """Validate the section and fill the default warm-up when none is given (in place)."""
    given = [k for k in WARMUP_KEYS if getattr(schedule, k) is not None]
    if len(given) > 1:
        raise UserError(f"Warm-up is given two ways at once ({' and '.join('schedule.' + k for k in given)}); "
                        f"keep one of them. To replace a recipe's warm-up from the command line, "
                        f"null the other: --schedule.{given[0]} null --schedule.{given[1]} ...")
    if not given:
        schedule.warmup_fraction = DEFAULT_WARMUP_FRACTION
    check_shape("warmup_shape", schedule.warmup_shape, WARMUP_SHAPES)
    check_shape("decay", schedule.decay, DECAYS)
    check_shape("decay_shape", schedule.decay_shape, WSD_DECAY_SHAPES)
    check_range(schedule, "warmup_steps", 0, None)
    check_range(schedule, "warmup_epochs", 0, None)
    check_range(schedule, "warmup_fraction", 0, 1, high_open=True)
    for key in ("warmup_start_ratio", "min_lr_ratio", "decay_fraction"):
        check_range(schedule, key, 0, 1)
    check_positive(schedule, "power")
    check_positive(schedule, "head_lr_multiplier")
    if schedule.timescale is not None:
        check_positive(schedule, "timescale")
    if schedule.cycles < 1:
        raise UserError(f"schedule.cycles is {schedule.cycles}; cosine_restarts needs at least "
                        f"1 cycle (1 = plain cosine, 3 = two restarts).")
    if not 0 < schedule.restart_decay <= 1:
        raise UserError(f"schedule.restart_decay must lie in (0, 1] (1 = every cycle restarts "
                        f"at the full peak), got {schedule.restart_decay}.")
    if schedule.layer_decay is not None and not 0 < schedule.layer_decay <= 1:
        raise UserError(f"schedule.layer_decay must lie in (0, 1] (each layer below the top gets "
                        f"the LR times this factor; typical 0.65-0.95), got "
                        f"{schedule.layer_decay}. Set it to null to turn layer decay off.")


validate_schedule = resolve_schedule


def check_shape(key: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UserError(f"schedule.{key} '{value}' is not a known shape; valid: "
                        f"{', '.join(valid)}.{did_you_mean(value, valid)}")


def check_range(schedule: ScheduleConfig, key: str, low: float, high: float | None,
                high_open: bool = False) -> None:
    value = getattr(schedule, key)
    if value is None:
        return
    too_high = high is not None and (value >= high if high_open else value > high)
    if value < low or too_high:
        bounds = f"[{low}, {high}{')' if high_open else ']'}" if high is not None else f">= {low}"
        raise UserError(f"schedule.{key} must be {'in ' if high is not None else ''}{bounds}, "
                        f"got {value}.")


def check_positive(schedule: ScheduleConfig, key: str) -> None:
    if getattr(schedule, key) <= 0:
        raise UserError(f"schedule.{key} must be > 0, got {getattr(schedule, key)}.")


# ----------------------------------------------------------------------------- lengths


def fraction_of(fraction: float, steps: float) -> int:
    """ceil(fraction * steps), ignoring float noise (0.1 * 30 is 3, not 4)."""
    return math.ceil(round(fraction * steps, 9))


def warmup_steps(schedule: ScheduleConfig, total_steps: int, steps_per_epoch: float) -> int:
    """Warm-up length in optimizer steps, whichever way the config gave it."""
    if schedule.warmup_steps is not None:
        return schedule.warmup_steps
    if schedule.warmup_epochs is not None:
        return fraction_of(schedule.warmup_epochs, steps_per_epoch)
    fraction = DEFAULT_WARMUP_FRACTION if schedule.warmup_fraction is None else schedule.warmup_fraction
    return fraction_of(fraction, total_steps)


# ----------------------------------------------------------------------------- shapes


def warmup_factor(shape: str, start: float, p: float) -> float:
    """Multiplier at progress p in [0, 1) through warm-up, rising from `start` towards 1."""
    if shape == "linear":
        return start + (1 - start) * p
    if shape == "cosine":
        return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * p))
    return max(start, EXPONENTIAL_FLOOR) ** (1 - p)  # exponential


def anneal(shape: str, floor: float, q: float) -> float:
    """From 1 at q = 0 down to `floor` at q = 1."""
    if shape == "cosine":
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * q))
    if shape == "sqrt":
        return floor + (1 - floor) * (1 - math.sqrt(q))
    return floor + (1 - floor) * (1 - q)  # linear


def decay_factor(schedule: ScheduleConfig, step: int, warmup: int, total: int) -> float:
    """Multiplier at step >= warmup."""
    floor, decay = schedule.min_lr_ratio, schedule.decay
    q = min(1.0, (step - warmup) / max(1, total - warmup))
    if decay in ("cosine", "linear"):
        return anneal(decay, floor, q)
    if decay == "polynomial":
        return floor + (1 - floor) * (1 - q) ** schedule.power
    if decay == "cosine_restarts":
        cycles = schedule.cycles
        # q * C, with the product taken in integers first so cycle boundaries land exactly.
        position = min(cycles, (step - warmup) * cycles / max(1, total - warmup))
        k = min(cycles - 1, math.floor(position))
        return schedule.restart_decay ** k * anneal("cosine", floor, position - k)
    if decay == "wsd":
        start = max(warmup, total - fraction_of(schedule.decay_fraction, total))
        if step < start:
            return 1.0
        return anneal(schedule.decay_shape, floor, min(1.0, (step - start) / max(1, total - start)))
    if decay == "inverse_sqrt":
        tau = schedule.timescale or max(warmup, 1)
        return math.sqrt(tau / (step - warmup + tau))
    return 1.0  # constant


def lr_factor(schedule: ScheduleConfig, total_steps: int,
              steps_per_epoch: float) -> Callable[[int], float]:
    """The multiplier of the peak LR at each optimizer step (0-based)."""
    warmup = warmup_steps(schedule, total_steps, steps_per_epoch)

    def factor(step: int) -> float:
        if step < warmup:
            return warmup_factor(schedule.warmup_shape, schedule.warmup_start_ratio, step / warmup)
        return decay_factor(schedule, step, warmup, total_steps)

    return factor


# ----------------------------------------------------------------------------- summary


@dataclass
class ScheduleSummary:
    """What a person checks before training: lengths, the LR at its ends, and warnings."""

    total_steps: int
    steps_per_epoch: int
    warmup_steps: int
    peak_lr: float
    first_lr: float  # LR of the first update
    final_lr: float  # LR of the last update
    decay: str
    warnings: list[str]

    def lines(self) -> list[str]:
        warmup, total = self.warmup_steps, self.total_steps
        return [
            f"Schedule: {total} optimizer steps ({self.steps_per_epoch} per epoch, "
            f"{total / self.steps_per_epoch:.2f} epochs)",
            f"  warm-up   {warmup} steps = {100 * warmup / max(1, total):.1f}% of training = "
            f"{warmup / self.steps_per_epoch:.2f} epochs; first step LR {self.first_lr:.3g}",
            f"  peak LR   {self.peak_lr:g}, then {self.decay} decay; last step LR "
            f"{self.final_lr:.3g}",
        ]

    def text(self) -> str:
        return "\n".join(self.lines())


def summarize(schedule: ScheduleConfig, peak_lr: float, total_steps: int,
              steps_per_epoch: int) -> ScheduleSummary:
    warmup = warmup_steps(schedule, total_steps, steps_per_epoch)
    factor = lr_factor(schedule, total_steps, steps_per_epoch)
    return ScheduleSummary(
        total_steps=total_steps, steps_per_epoch=steps_per_epoch, warmup_steps=warmup,
        peak_lr=peak_lr, first_lr=peak_lr * factor(0),
        final_lr=peak_lr * factor(max(0, total_steps - 1)), decay=schedule.decay,
        warnings=schedule_warnings(warmup, total_steps, steps_per_epoch))


def schedule_warnings(warmup: int, total: int, per_epoch: int) -> list[str]:
    """Warm-ups that are probably a mistake: longer than training, an epoch, or 20% of it."""
    out = []
    if total < warmup:
        out.append(f"training has {total} optimizer steps, fewer than the {warmup} warm-up "
                   f"steps: the LR never reaches its peak. Shorten the warm-up.")
    elif warmup > 0.2 * total:
        out.append(f"warm-up takes {100 * warmup / max(1, total):.0f}% of training "
                   f"({warmup} of {total} steps); 5-10% is usual.")
    if warmup > per_epoch and total >= warmup:
        out.append(f"warm-up ({warmup} steps) is longer than one epoch ({per_epoch} steps).")
    return out
