"""The valid range of every numeric config key, checked once when the config loads.

A value outside its range is an error naming the key, the range and what it means, before any
data or model loads: `num_train_epochs: 0` would otherwise save an untrained model with a
"Fine-tuned" card, and a batch size of 0 would pass `--print-config` and die mid-run.
"""

from __future__ import annotations

import dataclasses
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
        if isinstance(value, float) and math.isnan(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def text(self) -> str:
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            shown = f"in {left}{self.low:g}, {self.high:g}{right}"
        elif self.low is not None:
            shown = f"{'>' if self.low_open else '>='} {self.low:g}"
        else:
            shown = f"{'<' if self.high_open else '<='} {self.high:g}"
        extra = " or ".join(repr(a) for a in self.allowed)
        return f"{shown}{f' (or {extra})' if extra else ''}"


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
    "seed": NOT_NEGATIVE,
    "data_seed": NOT_NEGATIVE,
    "dataloader_num_workers": NOT_NEGATIVE,
    "dataloader_prefetch_factor": AT_LEAST_ONE,
    "eval_accumulation_steps": AT_LEAST_ONE,
}

# Section keys, "section.key". Keys with a cross-key rule (schedule warm-up, masking) are
# checked where that rule lives (config/validate.py); these are the plain ranges.
SECTION_RANGES: dict[str, Range] = {
    "data.validation_size": Range(0, 1, low_open=True, high_open=True),
    "data.test_size": Range(0, 1, low_open=True, high_open=True),
    "data.max_length": Range(8),
    "data.max_train_samples": AT_LEAST_ONE,
    "data.max_eval_samples": AT_LEAST_ONE,
    "data.split_seed": NOT_NEGATIVE,
    "augment.randaugment_num_ops": AT_LEAST_ONE,
    "augment.randaugment_magnitude": Range(0, 30),
    "augment.horizontal_flip": FRACTION,
    "augment.random_erasing": FRACTION,
    "augment.random_resized_crop": Range(0, 1, low_open=True),
    "augment.mixup": FRACTION,
    "augment.cutmix": FRACTION,
    "augment.mixup_alpha": POSITIVE,
    "augment.cutmix_alpha": POSITIVE,
    "early_stopping.patience": AT_LEAST_ONE,
    "early_stopping.threshold": NOT_NEGATIVE,
    "baseline.cnn_epochs": AT_LEAST_ONE,
    "overfitting.train_sample_size": NOT_NEGATIVE,  # 0 turns the training-sample scoring off
    "overfitting.max_epoch_share": Range(0, 1, low_open=True),  # null: no cap
    "overfitting.patience": AT_LEAST_ONE,
    "peft.r": AT_LEAST_ONE,
    "peft.alpha": POSITIVE,
    "peft.dropout": PROBABILITY_BELOW_ONE,
    "search.startup_trials": NOT_NEGATIVE,
    "search.folds": Range(2),
}


def check_range(key: str, value: Any, valid: Range) -> None:
    """A UserError when the number `value` of config key `key` lies outside `valid`."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return  # null means "off" or "default" for the keys that allow it; types are checked
    if not valid.contains(value):
        raise UserError(f"Config key '{key}' must be {valid.text()}, got {value}.")


def check_numeric_ranges(training: dict[str, Any], sections: dict[str, Any]) -> None:
    """Every TrainingArguments number and every section number against its range."""
    for key, valid in TRAINING_RANGES.items():
        check_range(key, training.get(key), valid)
    for dotted, valid in SECTION_RANGES.items():
        section, _, key = dotted.partition(".")
        check_range(dotted, getattr(sections[section], key), valid)


def section_values(config: Any) -> dict[str, Any]:
    """The section dataclasses of a RunConfig by name (for check_numeric_ranges)."""
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if dataclasses.is_dataclass(getattr(config, f.name))
    }
