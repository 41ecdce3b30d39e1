"""What `ftk search` varies: the `search` section -> a list of `Param`, and one trial's values ->
the RunConfig that trains it. Also the `--budget` parser. Pure Python: optuna is imported by the
command (toolkit/commands/search.py) only, so `ftk --help` stays instant.

Default ranges follow common fine-tuning practice around the recipe's own values: the BERT
paper's grid (LR 2e-5..5e-5, batch 16/32, 2-4 epochs) is a factor of ~3 around its middle; a
warm-up of 0-20% of the steps and weight decay 0-0.1 cover what recipes use; layer-wise LR
decay of 0.7-1.0 spans ELECTRA/DeBERTa-style settings and "off" (1.0).

Two parameters depend on the data (issue 36: what matters on small, uneven data): data.max_length
(`max_length`: for tasks that read whole texts) and `class_weights` (none or balanced: for
single-label classification). Their `auto` is resolved once the data is prepared, so
`search_space` runs twice: before the data (every setting read and checked, so a bad one exits
before anything loads; the data's `auto` left open) and after it (`DataFacts`: the run's
data.max_length as derived for the data, whether the training classes are uneven, how far the
model reads). The second space is the one searched, printed and recorded in search.json.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from toolkit.config.coerce import coerce
from toolkit.config.declare import declared_range
from toolkit.config.derive import LENGTH_STEP, MAX_LENGTH
from toolkit.config.ranges import AT_LEAST_ONE, NOT_NEGATIVE, POSITIVE, Range
from toolkit.config.schema import DataConfig, RunConfig, ScheduleConfig
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
# data.max_length (a trial at another length trains on its splits tokenized at that length) and
# the loss's class_weights: their `auto` needs the data (DataFacts)
DATA_PARAMS = ("max_length", "class_weights")
SEARCHED = TRAINING_PARAMS + SCHEDULE_PARAMS + DATA_PARAMS
INTEGER_PARAMS = ("num_train_epochs", "per_device_train_batch_size", "max_length")
# search key -> the config key it sets, where the two differ (a Derived's key, run_config.yaml)
CONFIG_KEYS = {"max_length": MAX_LENGTH}
# class_weights' searchable values (an explicit mapping of weights is the recipe's to set)
CLASS_WEIGHT_CHOICES = ("none", "balanced")
# auto's longest max_length: twice the run's, within this and the model's own limit
LONGEST_SEARCHED_LENGTH = 512
# the values each parameter may take at all (the schedule's keys as they declare them)
VALID: dict[str, Range | None] = {
    "learning_rate": POSITIVE,
    "num_train_epochs": AT_LEAST_ONE,
    "weight_decay": NOT_NEGATIVE,
    "per_device_train_batch_size": AT_LEAST_ONE,
    "warmup_fraction": declared_range(ScheduleConfig, "warmup_fraction"),
    "layer_decay": declared_range(ScheduleConfig, "layer_decay"),
    "max_length": declared_range(DataConfig, "max_length"),
    "class_weights": None,  # choices only, of CLASS_WEIGHT_CHOICES (read_class_weight_choices)
}


@dataclass(frozen=True)
class DataFacts:
    """What the data's `auto` needs, known once the data is prepared (run/search/trials.py
    `data_facts`): the run's data.max_length is then the value it trains at (derived for the
    data where it was set nowhere)."""

    uneven_classes: bool  # the training classes are uneven (advice/data_size.uneven)
    model_limit: int | None  # how far the model reads, in tokens (None: unknown, or no text)


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


def search_space(config: RunConfig, facts: DataFacts | None = None) -> list[Param]:
    """The searched parameters of `config` (its `search` section over the recipe's values), each
    range checked; an empty space, a bad range or a pre-training task is a UserError.
    `facts` None: before the data is read; max_length's and class_weights' `auto` are left out
    (resolved by the call with the data's facts), and the space is found empty only if nothing
    could still be searched."""
    if config.kind.pretraining:
        raise UserError(
            f"ftk search tunes fine-tuning runs, and task '{config.task}' is pre-training "
            f"(no labels to score trials on). Search the fine-tuning recipe instead; "
            f"`ftk train --pretrain` chains the two."
        )
    section = config.search
    params = [
        p for name in SEARCHED if (p := read_param(name, getattr(section, name), config, facts))
    ]
    pending = facts is None and any(
        getattr(section, name) == "auto" and applies(name, config) is None for name in DATA_PARAMS
    )
    if not params and not pending:
        auto = [n for n in DATA_PARAMS if getattr(section, n) == "auto"]
        why = (
            f" ({' and '.join(auto)} at auto searched nothing for this data and task: "
            f"class_weights only on uneven classes of a single-label classification)"
            if auto and facts is not None
            else ""
        )
        raise UserError(
            "The search section turns every hyper-parameter off: nothing is left to search"
            f"{why}. Leave at least one of {', '.join(SEARCHED)} at auto or give it a range."
        )
    return params


def applies(name: str, config: RunConfig) -> str | None:
    """Why search key `name` does not apply to the task (None: it does)."""
    kind = config.kind
    if name == "max_length" and (kind.modality.reads_images or kind.modality.per_word):
        what = "images" if kind.modality.reads_images else "sentences of tagged words"
        return (
            f"search.max_length varies the tokens a whole text is cut at; task '{config.task}' "
            f"reads {what}. Set search.max_length: off."
        )
    if name == "class_weights" and not kind.target.single_class:
        return (
            f"search.class_weights varies the class weights of a single-label classification "
            f"loss (none or balanced); task '{config.task}' predicts a {kind.target.predicts}. "
            f"Set search.class_weights: off."
        )
    return None


def read_param(
    name: str, value: Any, config: RunConfig, facts: DataFacts | None = None
) -> Param | None:
    key = f"search.{name}"
    if value is False or value == "off" or value is None:
        return None
    if value == "auto":
        if name in DATA_PARAMS:
            return data_default(name, config, facts) if applies(name, config) is None else None
        return default_param(name, config)
    refusal = applies(name, config) if name in DATA_PARAMS else None
    if refusal is not None:
        raise UserError(refusal)
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
    if name == "class_weights":
        return read_class_weight_choices(value)
    param = read_choices(name, value) if "choices" in value else read_range(name, value)
    if name == "max_length" and facts is not None:
        check_model_limit(param, facts.model_limit)
    return param


def read_class_weight_choices(value: dict[str, Any]) -> Param:
    """search.class_weights: {choices: [...]} of none and balanced only."""
    key = "search.class_weights"
    choices = value.get("choices")
    if set(value) != {"choices"} or not isinstance(choices, list) or not choices:
        raise UserError(
            f"Config key '{key}' takes choices of {' and '.join(CLASS_WEIGHT_CHOICES)}: "
            f"{{choices: [none, balanced]}} (or auto, or off), got {value!r}."
        )
    named = ["none" if c is None or c is False else c for c in choices]
    bad = [c for c in named if c not in CLASS_WEIGHT_CHOICES]
    if bad:
        raise UserError(
            f"Config key '{key}' holds {bad[0]!r}; its choices may be none and balanced only "
            f"(a mapping of weights is the recipe's class_weights to set, with {key}: off)."
        )
    return Param("class_weights", choices=tuple(dict.fromkeys(named)))


def check_model_limit(param: Param, limit: int | None) -> None:
    """A searched max_length no longer than the model reads."""
    longest = max(param.choices) if param.choices is not None else param.high
    if limit is not None and longest is not None and longest > limit:
        raise UserError(
            f"Config key 'search.max_length' reaches {longest:g} tokens, and the model reads at "
            f"most {limit}; keep its choices (or high) at {limit} or below."
        )


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


def data_default(name: str, config: RunConfig, facts: DataFacts | None) -> Param | None:
    """`auto` for the data's parameters; None before the data is read (facts None), and where
    auto leaves it alone: class_weights on even classes, or set to a mapping by the recipe."""
    if facts is None:
        return None
    if name == "max_length":
        # facts come with the data, once data.max_length is chosen for it (plan_for_data):
        # before, the config holds the schema's placeholder, no length to search around
        assert MAX_LENGTH not in config.derive, "data.max_length is derived before the space"
        return Param(name, choices=length_choices(config.data.max_length, facts.model_limit))
    if not facts.uneven_classes or config.class_weights not in (None, "balanced"):
        return None
    return Param(name, choices=CLASS_WEIGHT_CHOICES)


def length_choices(length: int, model_limit: int | None) -> tuple[int, ...]:
    """auto's max_length choices around the run's L: L / 2 rounded down to a multiple of
    LENGTH_STEP (at least that, at most L), L, and 2 L within LONGEST_SEARCHED_LENGTH and the
    model's limit; distinct, shortest first."""
    shorter = min(length, max(LENGTH_STEP, length // 2 // LENGTH_STEP * LENGTH_STEP))
    ceiling = min(LONGEST_SEARCHED_LENGTH, model_limit or LONGEST_SEARCHED_LENGTH)
    longer = max(length, min(2 * length, ceiling))
    return tuple(sorted({shorter, length, longer}))


def trial_config(config: RunConfig, values: dict[str, Any], output_dir: str) -> RunConfig:
    """`config` with one trial's values set (a copy), training into `output_dir`."""
    trial = copy.deepcopy(config)
    for name, value in values.items():
        if name in TRAINING_PARAMS:
            trial.training[name] = value
        elif name == "warmup_fraction":
            trial.schedule.warmup_steps = trial.schedule.warmup_epochs = None
            trial.schedule.warmup_fraction = value
        elif name == "max_length":
            trial.data.max_length = int(value)
        elif name == "class_weights":
            trial.class_weights = None if value == "none" else value
        else:
            trial.schedule.layer_decay = value
    trial.training["output_dir"] = output_dir
    # a value chosen for the data and then searched is the trial's, not the data's
    searched = {CONFIG_KEYS.get(name, name) for name in values}
    trial.derived = tuple(d for d in trial.derived if d.key not in searched)
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
