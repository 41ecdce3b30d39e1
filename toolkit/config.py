"""Run configuration: YAML file + `--key value` overrides -> one validated, typed `RunConfig`.

Layout of a config file (every key optional except what the task needs):

    task: text-classification        # which task module runs (see toolkit/tasks)
    metrics: [accuracy, f1_macro]    # validation/test metrics; the first picks the best model
    model:    {...}                  # ModelConfig
    data:     {...}                  # DataConfig
    augment:  {...}                  # AugmentConfig
    schedule: {...}                  # ScheduleConfig
    early_stopping: {...}            # EarlyStoppingConfig
    learning_rate: 5e-5              # any transformers.TrainingArguments field, under its own name
    num_train_epochs: 3

Overrides on the command line use the same names: `--learning_rate 5e-5` for TrainingArguments
fields and top-level keys, `--model.name_or_path DIR` for keys inside a section.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from toolkit.errors import UserError, did_you_mean

TASKS = ("text-classification",)


@dataclass
class ModelConfig:
    name_or_path: str | None = None  # Hub id or local folder of a pretrained checkpoint
    revision: str | None = None  # Hub branch, tag or commit (ignored for local folders)
    trust_remote_code: bool = False  # run modelling code shipped with the checkpoint (opt-in)
    allow_pickle: bool = False  # accept pickled .bin weights when a checkpoint has no safetensors


@dataclass
class DataConfig:
    builtin: str | None = None  # packaged demo set: "bbc-news"
    hub_id: str | None = None  # a data set on the Hub, loaded with datasets.load_dataset
    hub_config: str | None = None  # its configuration name, if it has several
    train_split: str = "train"  # split names inside a Hub data set
    validation_split: str | None = "validation"
    test_split: str | None = "test"
    train_file: str | None = None  # local CSV / JSON / JSONL / Parquet files
    validation_file: str | None = None
    test_file: str | None = None
    text_column: str = "text"
    text_pair_column: str | None = None  # second text of a sentence pair (NLI, paraphrase)
    label_column: str = "label"
    validation_size: float = 0.1  # fraction of train held out (stratified) when no validation
    test_size: float | None = None  # fraction of train held out as test when there is no test
    max_length: int = 256  # tokens per example after truncation
    max_train_samples: int | None = None  # cap for quick runs (taken after the split)
    max_eval_samples: int | None = None  # caps validation and test alike


@dataclass
class AugmentConfig:
    text: list[str] | str | None = None  # text augmentation policy (issue #5); off when empty


@dataclass
class ScheduleConfig:
    warmup_steps: int | None = None  # warm-up length in optimizer steps ...
    warmup_fraction: float | None = None  # ... or as a fraction of all steps (default 0.06) ...
    warmup_epochs: float | None = None  # ... or in epochs (give exactly one of the three)
    decay: str = "cosine"  # shape after warm-up: cosine | linear | constant
    min_lr_ratio: float = 0.0  # floor of the decay, as a fraction of the peak LR


@dataclass
class EarlyStoppingConfig:
    patience: int | None = 2  # evaluations without improvement before stopping; null = off
    threshold: float = 0.0  # smallest change of the metric that counts as improvement


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "augment": AugmentConfig,
    "schedule": ScheduleConfig,
    "early_stopping": EarlyStoppingConfig,
}

# TrainingArguments values the toolkit uses unless the config says otherwise: what practitioners
# set by hand for every fine-tune (evaluate and checkpoint each epoch, keep the best model).
TRAINING_DEFAULTS: dict[str, Any] = {
    "output_dir": None,  # filled from the config file name: runs/<name>
    "learning_rate": 5e-5,
    "weight_decay": 0.01,
    "num_train_epochs": 3,
    "per_device_train_batch_size": 16,
    "per_device_eval_batch_size": 64,
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "save_total_limit": 2,
    "load_best_model_at_end": True,
    "logging_strategy": "steps",
    "logging_steps": 10,
    "report_to": "none",
    "seed": 42,
}

# Keys people carry over from older transformers versions or other tools, with what to write.
RENAMED_KEYS: dict[str, str] = {
    "warmup_ratio": "transformers 5 removed `warmup_ratio`; write `schedule.warmup_fraction`",
    "evaluation_strategy": "transformers 5 renamed it; write `eval_strategy`",
    "overwrite_output_dir": "transformers 5 removed it; pass `--overwrite` to `ftk train`",
    "logging_dir": "transformers 5 removed it; the history is written into output_dir",
    "save_safetensors": "transformers 5 removed it; the toolkit always writes safetensors",
    "no_cuda": "transformers 5 removed it; write `use_cpu: true`",
    "tokenizer": "transformers 5 calls it `processing_class`; the toolkit sets it for you",
    "lr_scheduler_type": "the LR schedule lives in the `schedule` section (`schedule.decay`)",
    "warmup_steps": "warm-up lives in the `schedule` section: `schedule.warmup_steps`, "
    "`schedule.warmup_fraction` or `schedule.warmup_epochs`",
    "lr": "write `learning_rate`",
    "epochs": "write `num_train_epochs`",
    "batch_size": "write `per_device_train_batch_size`",
}

TOP_LEVEL_KEYS = ("task", "metrics")


@dataclass
class RunConfig:
    task: str = "text-classification"
    metrics: list[str] = field(default_factory=lambda: ["accuracy", "f1_macro"])
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    training: dict[str, Any] = field(default_factory=dict)  # TrainingArguments kwargs
    source: str | None = None  # the file this config came from (not saved)

    def to_dict(self) -> dict[str, Any]:
        """The YAML-ready form: sections nested, TrainingArguments fields at the top level."""
        out: dict[str, Any] = {"task": self.task, "metrics": list(self.metrics)}
        for name in SECTIONS:
            out[name] = dataclasses.asdict(getattr(self, name))
        out.update(self.training)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)


def training_argument_names() -> dict[str, Any]:
    """TrainingArguments field name -> type hint (transformers is imported lazily: it is slow)."""
    from transformers import TrainingArguments

    hints = typing.get_type_hints(TrainingArguments)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(TrainingArguments) if f.init}


def all_valid_keys() -> list[str]:
    keys = list(TOP_LEVEL_KEYS) + list(training_argument_names())
    for name, section in SECTIONS.items():
        keys.append(name)
        keys += [f"{name}.{f.name}" for f in dataclasses.fields(section)]
    return keys


# ----------------------------------------------------------------------------- loading


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read `path` (YAML), apply `--key value` overrides, validate, and fill defaults."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = read_yaml(Path(path))
    for key, value in parse_overrides(overrides or []):
        set_dotted(raw, key, value)
    config = build_config(raw)
    config.source = str(path) if path is not None else None
    if config.training.get("output_dir") is None:
        stem = Path(path).stem if path is not None else "run"
        config.training["output_dir"] = str(Path("runs") / stem)
    return config


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(
            f"Config file '{path}' does not exist. Give the path of a YAML recipe, for example "
            f"one from configs/ (ls configs/)."
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"Config file '{path}' is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"Config file '{path}' must hold a mapping of keys to values, not a "
                        f"{type(data).__name__}.")
    return data


def parse_overrides(args: list[str]) -> list[tuple[str, Any]]:
    """`--key value`, `--key=value` and bare `--flag` (true) -> (key, YAML-parsed value) pairs."""
    pairs = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise UserError(f"Unexpected argument '{arg}': overrides look like `--key value`.")
        key = arg[2:]
        if "=" in key:
            key, text = key.split("=", 1)
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            text = args[i + 1]
            i += 2
        else:
            text = "true"
            i += 1
        pairs.append((key, parse_value(text)))
    return pairs


def parse_value(text: str) -> Any:
    """YAML-parse a command-line value, except that yes/no/on/off stay words: YAML 1.1 reads
    `--eval_strategy no` as False. (`coerce` still accepts them for true/false keys.)"""
    if text == "" or text.lower() in ("yes", "no", "on", "off"):
        return text
    return yaml.safe_load(text)


def set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    """raw['model']['name_or_path'] = value for key 'model.name_or_path'."""
    head, _, rest = key.partition(".")
    if not rest:
        raw[key] = value
        return
    section = raw.setdefault(head, {})
    if not isinstance(section, dict):
        raise UserError(f"Cannot set '{key}': '{head}' is not a section.")
    set_dotted(section, rest, value)


def build_config(raw: dict[str, Any]) -> RunConfig:
    config = RunConfig()
    training_fields = training_argument_names()
    for key, value in raw.items():
        if key in RENAMED_KEYS:
            raise UserError(f"Config key '{key}' is not accepted: {RENAMED_KEYS[key]}.")
        if key in SECTIONS:
            setattr(config, key, build_section(key, value))
        elif key == "task":
            config.task = coerce(value, str, key)
            if config.task not in TASKS:
                raise UserError(f"Config key 'task' is '{config.task}'; valid tasks: "
                                f"{', '.join(TASKS)}.{did_you_mean(config.task, TASKS)}")
        elif key == "metrics":
            config.metrics = coerce(value, list[str], key)
        elif key in training_fields:
            config.training[key] = coerce(value, training_fields[key], key)
        else:
            raise UserError(f"Unknown config key '{key}'.{did_you_mean(key, all_valid_keys())} "
                            f"See `ftk train --help` for the sections and their keys.")
    config.training = {**TRAINING_DEFAULTS, **config.training}
    validate(config)
    return config


def build_section(name: str, value: Any) -> Any:
    cls = SECTIONS[name]
    if value is None:
        return cls()
    if not isinstance(value, dict):
        raise UserError(f"Config key '{name}' must be a mapping of keys, not {value!r}.")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, item in value.items():
        dotted = f"{name}.{key}"
        if key not in known:
            raise UserError(f"Unknown config key '{dotted}'."
                            f"{did_you_mean(dotted, all_valid_keys())}")
        kwargs[key] = coerce(item, hints[key], dotted)
    return cls(**kwargs)


# ----------------------------------------------------------------------------- types


def coerce(value: Any, hint: Any, key: str) -> Any:
    """`value` converted to the type `hint`, or a UserError naming `key` and the expected type.

    YAML 1.1 (PyYAML) reads `2e-5` as a string; numbers written that way are converted here.
    """
    converted, ok = _try_coerce(value, hint)
    if not ok:
        raise UserError(f"Config key '{key}' must be {describe(hint)}, got {value!r} "
                        f"({type(value).__name__}).")
    return converted


def _try_coerce(value: Any, hint: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value, True
    if origin in (Union, types.UnionType):
        if value is None:
            return None, type(None) in args
        for arg in sorted(args, key=_specificity):
            converted, ok = _try_coerce(value, arg)
            if ok:
                return converted, True
        return value, False
    if origin is Literal:
        return value, value in args
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return value, False
        item_hint = args[0] if args else Any
        items = [_try_coerce(v, item_hint) for v in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    if origin is dict or hint is dict:
        return value, isinstance(value, dict)
    if hint is type(None):
        return value, value is None
    if hint is bool:
        if isinstance(value, bool):
            return value, True
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off"):
            return value.lower() in ("true", "yes", "on"), True
        return value, False
    if hint is int:
        if isinstance(value, bool):
            return value, False
        if isinstance(value, int):
            return value, True
        if isinstance(value, float) and value.is_integer():
            return int(value), True
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return value, False
            return (int(number), True) if number.is_integer() else (value, False)
        return value, False
    if hint is float:
        if isinstance(value, bool):
            return value, False
        if isinstance(value, (int, float)):
            return float(value), True
        if isinstance(value, str):
            try:
                return float(value), True
            except ValueError:
                return value, False
        return value, False
    if hint is str or (isinstance(hint, type) and issubclass(hint, str)):  # incl. str enums
        if value is False:  # YAML 1.1 reads `eval_strategy: no` in a file as false
            return "no", True
        return value, isinstance(value, str)
    return value, True  # other rich types of TrainingArguments: it validates them itself


def _specificity(hint: Any) -> int:
    """Try stricter types first inside a Union, so '3' becomes 3 for `int | str`, not '3'."""
    order = {type(None): 0, bool: 1, int: 2, float: 3}
    return order.get(hint, 5)


def describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple):
        return f"a list of {describe(args[0]) if args else 'values'}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             type(None): "null", dict: "a mapping"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


# ----------------------------------------------------------------------------- validation


def validate(config: RunConfig) -> None:
    """Checks that span several keys; single-key type checks happened while building."""
    data = config.data
    sources = [k for k in ("builtin", "hub_id", "train_file") if getattr(data, k)]
    if len(sources) > 1:
        raise UserError(f"Config keys {' and '.join('data.' + s for s in sources)} both name a "
                        f"data source; keep exactly one.")
    if not 0 < data.validation_size < 1:
        raise UserError(f"Config key 'data.validation_size' must lie in (0, 1), got "
                        f"{data.validation_size}.")
    if data.test_size is not None and not 0 < data.test_size < 1:
        raise UserError(f"Config key 'data.test_size' must lie in (0, 1), got {data.test_size}.")
    if data.max_length < 8:
        raise UserError(f"Config key 'data.max_length' is {data.max_length}; use at least 8.")
    if not config.metrics:
        raise UserError("Config key 'metrics' is empty; list at least one, e.g. [accuracy].")
    if config.training.get("load_best_model_at_end") and \
            config.training.get("eval_strategy") != config.training.get("save_strategy"):
        raise UserError("load_best_model_at_end needs eval_strategy and save_strategy to match "
                        "(both 'epoch' or both 'steps'); set them equal or set "
                        "load_best_model_at_end: false.")
    from toolkit.schedules import validate_schedule

    validate_schedule(config.schedule)


def describe_keys() -> str:
    """Text for `--help`: every section key with its default."""
    lines = []
    for name, section in SECTIONS.items():
        lines.append(f"  {name}:")
        for f in dataclasses.fields(section):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            lines.append(f"    {name}.{f.name} (default {default!r})")
    return "\n".join(lines)
