"""What `ftk search` varies: the `search` section -> a list of `Param`, and one trial's values ->
the RunConfig that trains it. Also the `--budget` parser. Pure Python: optuna is imported by the
command (toolkit/commands/search.py) only, so `ftk --help` stays instant.

Default ranges follow common fine-tuning practice around the recipe's own values: the BERT
paper's grid (LR 2e-5..5e-5, batch 16/32, 2-4 epochs) is a factor of ~3 around its middle; a
warm-up of 0-20% of the steps and weight decay 0-0.1 cover what recipes use; layer-wise LR
decay of 0.7-1.0 spans ELECTRA/DeBERTa-style settings and "off" (1.0).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from toolkit.config.coerce import coerce
from toolkit.config.declare import declared_range
from toolkit.config.ranges import AT_LEAST_ONE, NOT_NEGATIVE, POSITIVE, Range
from toolkit.config.schema import RunConfig, ScheduleConfig
from toolkit.config.validate import validate
from toolkit.core.errors import UserError

# search key -> where a trial's value goes: a TrainingArguments key, or schedule.<key>
TRAINING_PARAMS = (
    "learning_rate",
    "num_train_epochs",
    "weight_decay",
    "per_device_train_batch_size",
)
SCHEDULE_PARAMS = ("warmup_fraction", "layer_decay")
SEARCHED = TRAINING_PARAMS + SCHEDULE_PARAMS
INTEGER_PARAMS = ("num_train_epochs", "per_device_train_batch_size")
# the values each parameter may take at all (the schedule's keys as they declare them)
VALID: dict[str, Range | None] = {
    "learning_rate": POSITIVE,
    "num_train_epochs": AT_LEAST_ONE,
    "weight_decay": NOT_NEGATIVE,
    "per_device_train_batch_size": AT_LEAST_ONE,
    "warmup_fraction": declared_range(ScheduleConfig, "warmup_fraction"),
    "layer_decay": declared_range(ScheduleConfig, "layer_decay"),
}


@dataclass(frozen=True)
class Param:
    """One searched hyper-parameter: a range (low..high, log-uniform when `log`) or choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    @property
    def integer(self) -> bool:
        return self.name in INTEGER_PARAMS

    def describe(self) -> str:
        if self.choices is not None:
            return f"{self.name} in {{{', '.join(str(c) for c in self.choices)}}}"
        scale = ", log" if self.log else ""
        return f"{self.name} in [{self.low:g}, {self.high:g}{scale}]"


def search_space(config: RunConfig) -> list[Param]:
    """The searched parameters of `config` (its `search` section over the recipe's values), each
    range checked; an empty space, a bad range or a pre-training task is a UserError."""
    if config.kind.pretraining:
        raise UserError(
            f"ftk search tunes fine-tuning runs, and task '{config.task}' is pre-training "
            f"(no labels to score trials on). Search the fine-tuning recipe instead; "
            f"`ftk train --pretrain` chains the two."
        )
    section = config.search
    params = [p for name in SEARCHED if (p := read_param(name, getattr(section, name), config))]
    if not params:
        raise UserError(
            "The search section turns every hyper-parameter off: nothing is left to search. "
            f"Leave at least one of {', '.join(SEARCHED)} at auto or give it a range."
        )
    return params


def read_param(name: str, value: Any, config: RunConfig) -> Param | None:
    key = f"search.{name}"
    if value is False or value == "off" or value is None:
        return None
    if value == "auto":
        return default_param(name, config)
    if name == "layer_decay" and config.peft.method is not None:
        raise UserError(
            f"{key} cannot be searched with peft.method {config.peft.method}: layer-wise decay "
            f"scales the frozen encoder's LR. Set {key}: off."
        )
    if isinstance(value, list):
        value = {"low": value[0], "high": value[1]} if len(value) == 2 else {"bad": value}
    if not isinstance(value, dict) or not (set(value) <= {"low", "high", "log", "choices"}):
        raise UserError(
            f"Config key '{key}' is {value!r}; write auto, off, [low, high], "
            f"{{low: L, high: H, log: true}} or {{choices: [a, b, ...]}}."
        )
    if "choices" in value:
        return read_choices(name, value)
    return read_range(name, value)


def read_choices(name: str, value: dict[str, Any]) -> Param:
    key = f"search.{name}"
    if set(value) != {"choices"} or not isinstance(value["choices"], list) or not value["choices"]:
        raise UserError(f"Config key '{key}' needs a non-empty list: {{choices: [a, b, ...]}}.")
    hint = int if name in INTEGER_PARAMS else float
    choices = tuple(coerce(c, hint, f"{key}.choices") for c in value["choices"])
    for choice in choices:
        check_valid(name, choice)
    return Param(name, choices=tuple(dict.fromkeys(choices)))


def read_range(name: str, value: dict[str, Any]) -> Param:
    key = f"search.{name}"
    if "low" not in value or "high" not in value:
        raise UserError(f"Config key '{key}' needs both low and high, got {value!r}.")
    hint = int if name in INTEGER_PARAMS else float
    low, high = coerce(value["low"], hint, f"{key}.low"), coerce(value["high"], hint, f"{key}.high")
    log = coerce(value.get("log", name == "learning_rate"), bool, f"{key}.log")
    if not low < high:
        raise UserError(
            f"Config key '{key}' is an empty range: low {low} must be below high {high} "
            f"(to fix the value, set {key}: off and the recipe's own key)."
        )
    check_valid(name, low)
    check_valid(name, high)
    if log and low <= 0:
        raise UserError(f"Config key '{key}' is log-scaled, so low must be above 0, got {low}.")
    return Param(name, low, high, log)


def check_valid(name: str, value: float) -> None:
    valid = VALID[name]
    if valid is not None and not valid.contains(value):
        raise UserError(
            f"Config key 'search.{name}' holds {value}, outside the values {name} may take: "
            f"{valid.interval()}."
        )


def default_param(name: str, config: RunConfig) -> Param | None:
    """The default range, around the recipe's value (None: not searched for this recipe)."""
    training = config.training
    if name == "learning_rate":
        lr = float(training["learning_rate"])
        return Param(name, lr / 3, lr * 3, log=True)
    if name == "num_train_epochs":
        epochs = max(1, round(float(training["num_train_epochs"])))
        return Param(name, max(1, epochs - 1), epochs + 1)
    if name == "warmup_fraction":
        return Param(name, 0.0, 0.2)
    if name == "weight_decay":
        return Param(name, 0.0, 0.1)
    if name == "per_device_train_batch_size":
        batch = int(training["per_device_train_batch_size"])
        return Param(name, choices=tuple(dict.fromkeys((max(1, batch // 2), batch, batch * 2))))
    # layer_decay: LoRA freezes the encoder, so there is nothing to scale
    return None if config.peft.method is not None else Param(name, 0.7, 1.0)


def trial_config(config: RunConfig, values: dict[str, Any], output_dir: str) -> RunConfig:
    """`config` with one trial's values set (a copy), training into `output_dir`."""
    trial = copy.deepcopy(config)
    for name, value in values.items():
        if name in TRAINING_PARAMS:
            trial.training[name] = value
        elif name == "warmup_fraction":
            trial.schedule.warmup_steps = trial.schedule.warmup_epochs = None
            trial.schedule.warmup_fraction = value
        else:
            trial.schedule.layer_decay = value
    trial.training["output_dir"] = output_dir
    # a value chosen for the data and then searched is the trial's, not the data's
    trial.derived = tuple(d for d in trial.derived if d.key not in values)
    validate(trial)
    return trial


# `--budget`: a number with a unit, or several (1h30m); plain seconds are not accepted, so that
# `--budget 30` (minutes? seconds?) cannot be misread.
BUDGET_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


def parse_budget(text: str) -> float:
    """'30m' -> 1800.0 seconds; '2h', '90s', '1h30m' alike; anything else a UserError."""
    compact = text.strip().lower().replace(" ", "")
    parts = BUDGET_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise UserError(
            f"--budget '{text}' is not a duration; write a number with a unit: 90s, 30m, 2h, "
            f"or 1h30m."
        )
    seconds = sum(float(number) * UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise UserError(f"--budget '{text}' is no time at all; give a positive duration.")
    return seconds
