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
    wsd              warm-up, stable, decay: D = decay_steps, or ceil(decay_fraction T), steps
                     decay at the end,
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

from toolkit.config.schema import DEFAULT_WARMUP_FRACTION, ScheduleConfig

EXPONENTIAL_FLOOR = 1e-3  # start of an exponential warm-up whose start ratio is (near) 0


def fraction_of(fraction: float, steps: float) -> int:
    """ceil(fraction * steps), ignoring float noise (0.1 * 30 is 3, not 4)."""
    return math.ceil(round(fraction * steps, 9))


def warmup_steps(schedule: ScheduleConfig, total_steps: int, steps_per_epoch: float) -> int:
    """Warm-up length in optimizer steps, whichever way the config gave it."""
    if schedule.warmup_steps is not None:
        return schedule.warmup_steps
    if schedule.warmup_epochs is not None:
        return fraction_of(schedule.warmup_epochs, steps_per_epoch)
    fraction = (
        DEFAULT_WARMUP_FRACTION if schedule.warmup_fraction is None else schedule.warmup_fraction
    )
    return fraction_of(fraction, total_steps)


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
        return schedule.restart_decay**k * anneal("cosine", floor, position - k)
    if decay == "wsd":
        decaying = schedule.decay_steps
        if decaying is None:
            decaying = fraction_of(schedule.decay_fraction, total)
        start = max(warmup, total - decaying)
        if step < start:
            return 1.0
        return anneal(schedule.decay_shape, floor, min(1.0, (step - start) / max(1, total - start)))
    if decay == "inverse_sqrt":
        tau = schedule.timescale or max(warmup, 1)
        return math.sqrt(tau / (step - warmup + tau))
    return 1.0  # constant


def lr_factor(
    schedule: ScheduleConfig, total_steps: int, steps_per_epoch: float
) -> Callable[[int], float]:
    """The multiplier of the peak LR at each optimizer step (0-based)."""
    warmup = warmup_steps(schedule, total_steps, steps_per_epoch)

    def factor(step: int) -> float:
        if step < warmup:
            return warmup_factor(schedule.warmup_shape, schedule.warmup_start_ratio, step / warmup)
        return decay_factor(schedule, step, warmup, total_steps)

    return factor


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
    streamed: bool = False  # data.streaming: no epochs, the length is max_steps alone

    def lines(self) -> list[str]:
        warmup, total = self.warmup_steps, self.total_steps
        if self.streamed:
            return [
                f"Schedule: {total} optimizer steps (max_steps; a stream has no epochs)",
                f"  warm-up   {warmup} steps = {100 * warmup / max(1, total):.1f}% of training; "
                f"first step LR {self.first_lr:.3g}",
                f"  peak LR   {self.peak_lr:g}, then {self.decay} decay; last step LR "
                f"{self.final_lr:.3g}",
            ]
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


def summarize_schedule(
    schedule: ScheduleConfig,
    peak_lr: float,
    total_steps: int,
    steps_per_epoch: int,
    streamed: bool = False,
) -> ScheduleSummary:
    warmup = warmup_steps(schedule, total_steps, steps_per_epoch)
    factor = lr_factor(schedule, total_steps, steps_per_epoch)
    return ScheduleSummary(
        total_steps=total_steps,
        steps_per_epoch=steps_per_epoch,
        warmup_steps=warmup,
        peak_lr=peak_lr,
        first_lr=peak_lr * factor(0),
        final_lr=peak_lr * factor(max(0, total_steps - 1)),
        decay=schedule.decay,
        warnings=schedule_warnings(warmup, total_steps, steps_per_epoch),
        streamed=streamed,
    )


def schedule_warnings(warmup: int, total: int, per_epoch: int) -> list[str]:
    """Warm-ups that are probably a mistake: longer than training, an epoch, or 20% of it."""
    out = []
    if total < warmup:
        out.append(
            f"training has {total} optimizer steps, fewer than the {warmup} warm-up "
            f"steps: the LR never reaches its peak. Shorten the warm-up."
        )
    elif warmup > 0.2 * total:
        out.append(
            f"warm-up takes {100 * warmup / max(1, total):.0f}% of training "
            f"({warmup} of {total} steps); 5-10% is usual."
        )
    if warmup > per_epoch and total >= warmup:
        out.append(f"warm-up ({warmup} steps) is longer than one epoch ({per_epoch} steps).")
    return out
