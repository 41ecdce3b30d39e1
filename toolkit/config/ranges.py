"""Valid ranges of numbers: the `Range` a config key declares (config/schema.py, `option`), and
the ranges of the TrainingArguments fields, which have no declaration of ours to carry them.

A value outside its range is an error naming the key, the range and what it means, before any
data or model loads: `num_train_epochs: 0` would otherwise save an untrained model with a
"Fine-tuned" card, and a batch size of 0 would pass `--print-config` and die mid-run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from toolkit.core.errors import UserError


@dataclass(frozen=True)
class Range:
    low: float | None = None  # None: unbounded below
    high: float | None = None  # None: unbounded above
    low_open: bool = False  # True: the value must be greater than `low`, not equal to it
    high_open: bool = False
    allowed: tuple[Any, ...] = ()  # special values outside the range that mean something

    def contains(self, value: float) -> bool:
        if value in self.allowed:
            return True
        if isinstance(value, float) and not math.isfinite(value):
            return False  # NaN, and infinities: no setting means "infinitely many" here
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def bounds(self) -> str:
        """`(0, 1]`, `>= 1`, `> 0`: the range as --help shows it."""
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"{left}{shown(self.low)}, {shown(self.high)}{right}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {shown(self.low)}"
        assert self.high is not None, "a range has at least one end"
        return f"{'<' if self.high_open else '<='} {shown(self.high)}"

    def interval(self) -> str:
        """`[1, inf)`: the range as an interval, unbounded ends written as infinities."""
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"{left}{low:g}, {high:g}{right}"

    def text(self) -> str:
        """`in (0, 1]`, `>= 1 (or -1)`: the range as an error message says it."""
        both = self.low is not None and self.high is not None
        extra = " or ".join(repr(a) for a in self.allowed)
        return f"{'in ' if both else ''}{self.bounds()}{f' (or {extra})' if extra else ''}"


def shown(bound: float) -> str:
    """A range's end as people write it: 4294967295, not 4.29497e+09; 0.5 as 0.5."""
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


POSITIVE = Range(0, low_open=True)
AT_LEAST_ONE = Range(1)
NOT_NEGATIVE = Range(0)
FRACTION = Range(0, 1)
PROBABILITY_BELOW_ONE = Range(0, 1, high_open=True)

# TrainingArguments fields that take numbers (the rest are checked by transformers itself).
TRAINING_RANGES: dict[str, Range] = {
    "learning_rate": POSITIVE,
    "num_train_epochs": POSITIVE,
    "max_steps": Range(1, allowed=(-1,)),  # -1: train for num_train_epochs
    "per_device_train_batch_size": AT_LEAST_ONE,
    "per_device_eval_batch_size": AT_LEAST_ONE,
    "gradient_accumulation_steps": AT_LEAST_ONE,
    "weight_decay": NOT_NEGATIVE,
    "max_grad_norm": NOT_NEGATIVE,
    "adam_beta1": PROBABILITY_BELOW_ONE,
    "adam_beta2": PROBABILITY_BELOW_ONE,
    "adam_epsilon": POSITIVE,
    "label_smoothing_factor": PROBABILITY_BELOW_ONE,
    "logging_steps": POSITIVE,
    "eval_steps": POSITIVE,
    "save_steps": POSITIVE,
    "save_total_limit": AT_LEAST_ONE,
    # numpy and torch take seeds below 2**32
    "seed": Range(0, 2**32 - 1),
    "data_seed": Range(0, 2**32 - 1),
    "dataloader_num_workers": NOT_NEGATIVE,
    "dataloader_prefetch_factor": AT_LEAST_ONE,
    "eval_accumulation_steps": AT_LEAST_ONE,
}

# What a config key's value outside its range is told, unless its declaration words it itself.
OUT_OF_RANGE = "Config key '{key}' must be {range}, got {value}."


def is_number(value: Any) -> bool:
    """An int or float that a range applies to (null means "off" or "default" for the keys that
    allow it; true/false and other types are the type check's business)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_range(key: str, value: Any, valid: Range, refusal: str = OUT_OF_RANGE) -> None:
    """A UserError when the number `value` of config key `key` lies outside `valid`; `refusal`
    words it, with {key}, {value} and {range} filled in."""
    if is_number(value) and not valid.contains(value):
        finite = "" if math.isfinite(value) else "a finite number "
        raise UserError(refusal.format(key=key, value=value, range=finite + valid.text()))


def check_training_ranges(training: dict[str, Any]) -> None:
    """Every TrainingArguments number against its range."""
    for key, valid in TRAINING_RANGES.items():
        check_range(key, training.get(key), valid)
