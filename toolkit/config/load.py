"""Reading a config: YAML file + `--key value` overrides -> one validated, typed `RunConfig`.

Overrides on the command line use the recipe's names: `--learning_rate 5e-5` for
TrainingArguments fields and top-level keys, `--model.name_or_path DIR` for keys inside a
section. Unknown keys are an error naming the closest valid one; renamed keys say what to write.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from toolkit.config.coerce import coerce
from toolkit.config.declare import key_hints
from toolkit.config.derive import EPOCHS, derivable, read_for_this_data, set_by
from toolkit.config.hf_schedule import apply_hf_schedule, pop_hf_schedule_keys
from toolkit.config.recipes import find_recipe, packaged_recipes
from toolkit.config.schema import (
    RENAMED_KEYS,
    SECTIONS,
    TRAINING_DEFAULTS,
    RunConfig,
    all_valid_keys,
    training_argument_names,
)
from toolkit.config.taxonomy import task_kind
from toolkit.config.unique_keys import RepeatedKey, load_unique
from toolkit.config.validate import validate
from toolkit.core.errors import UserError, did_you_mean
from toolkit.core.log import note
from toolkit.core.run_files import RUN_CONFIG


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read `path` (YAML; a packaged recipe's name works too), apply `--key value` overrides,
    validate, and fill defaults."""
    path = find_recipe(path) if path is not None else None
    raw = read_yaml(path) if path is not None else {}
    return config_from_raw(raw, parse_overrides(overrides or []), path)


def config_from_raw(
    raw: dict[str, Any], pairs: list[tuple[str, Any]], source: str | Path | None = None
) -> RunConfig:
    """A recipe as a mapping (read from YAML, or given from Python) plus (dotted key, value)
    overrides -> a validated RunConfig. `source`: the file it came from, which also names the
    default output_dir (runs/<file stem>)."""
    raw = copy.deepcopy(raw)  # a caller's dict is never changed
    release_for_this_data(raw, pairs)  # before the recipe's own source goes
    replace_recipe_sources(raw, [key for key, _ in pairs])
    hf_schedule_in_file = pop_hf_schedule_keys(raw)
    for key, value in pairs:
        set_dotted(raw, key, value)
    mapping = apply_hf_schedule(raw, hf_schedule_in_file, pop_hf_schedule_keys(raw))
    if mapping:
        note(mapping)
    config = build_config(raw)
    config.source = str(source) if source is not None else None
    if config.training.get("output_dir") is None:
        stem = Path(source).stem if source is not None else "run"
        config.training["output_dir"] = str(Path("runs") / stem)
    return config


# A source and the keys that only mean something with it. A source named on the command line
# replaces the recipe's (its keys removed); two sources in one file stay an error (validate).
SOURCE_FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "data": {
        "builtin": ("builtin",),
        "hub_id": (
            "hub_id",
            "hub_config",
            "hub_revision",
            "train_split",
            "validation_split",
            "test_split",
        ),
        "train_file": ("train_file", "validation_file", "test_file"),
        "train_dir": ("train_dir", "validation_dir", "test_dir"),
    },
    "model": {"name_or_path": ("name_or_path", "revision"), "from_config": ("from_config",)},
}


def replace_recipe_sources(raw: dict[str, Any], override_keys: list[str]) -> None:
    """`--data.train_file my.csv` over a recipe with `data.builtin`: the recipe's source (and
    the keys that belong to it) goes, and one line says so."""
    for section, families in SOURCE_FAMILIES.items():
        named = {k.split(".")[1] for k in override_keys if k.startswith(f"{section}.")}
        chosen = [source for source in families if source in named]
        recipe = raw.get(section)
        if len(chosen) != 1 or not isinstance(recipe, dict):
            continue  # none named, or two (validate refuses them)
        for source, keys in families.items():
            if source == chosen[0] or recipe.get(source) is None:
                continue
            note(
                f"--{section}.{chosen[0]} replaces the recipe's {section}.{source} "
                f"({recipe[source]!r})"
            )
            for key in keys:
                if key not in named:
                    recipe.pop(key, None)


def new_data_source(raw: dict[str, Any], pairs: list[tuple[str, Any]]) -> str | None:
    """The data source the command line names (`--data.train_file`), when it is not the
    recipe's own (a recipe without one counts as another); None: the recipe's data."""
    data = raw.get("data")
    recipe: dict[str, Any] = data if isinstance(data, dict) else {}
    for key, value in pairs:
        section, _, source = key.partition(".")
        named = section == "data" and source in SOURCE_FAMILIES["data"] and value is not None
        if named and recipe.get(source) != value:
            return source
    return None


def release_for_this_data(raw: dict[str, Any], pairs: list[tuple[str, Any]]) -> None:
    """The recipe's `for_this_data` keys, chosen for its own data, removed when the command
    line replaces its data source (each one the command line sets itself stays that value), so
    they are chosen for the new data (config/derive.py); one line says so."""
    listed = read_for_this_data(raw.get("for_this_data"))
    source = new_data_source(raw, pairs)
    if not listed or source is None:
        return
    on_command_line = {key for key, _ in pairs}
    released = [key for key in listed if key not in on_command_line and has_dotted(raw, key)]
    if not released:
        return
    steps = dict(pairs).get("max_steps", raw.get("max_steps"))
    by_steps = steps is not None and coerce(steps, int, "max_steps") > 0
    values = ", ".join(
        f"{key} {pop_dotted(raw, key)!r}"
        + (
            f" (none chosen: max_steps {steps} sets the run's length)"
            if by_steps and key == EPOCHS
            else ""
        )
        for key in released
    )
    note(
        f"--data.{source} replaces the recipe's data, so the values the recipe chose for its "
        f"own data (for_this_data) are released, to be chosen for this data: {values}"
    )


def has_dotted(raw: dict[str, Any], key: str) -> bool:
    """Whether the mapping sets the dotted key (`data.max_length`), null included."""
    head, _, rest = key.partition(".")
    if not rest:
        return key in raw
    section = raw.get(head)
    return isinstance(section, dict) and has_dotted(section, rest)


def pop_dotted(raw: dict[str, Any], key: str) -> Any:
    head, _, rest = key.partition(".")
    return raw.pop(key) if not rest else pop_dotted(raw[head], rest)


def read_yaml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise folder_as_config(path)
    if not path.is_file():
        raise UserError(
            f"Config file '{path}' does not exist, and no packaged recipe has that name. "
            f"Give the path of a YAML recipe, or the name of one ftk ships: "
            f"{', '.join(n for n in packaged_recipes() if not n.startswith('accelerate/'))} "
            f"(`ftk recipes` lists them)."
        )
    try:
        data = load_unique(path.read_text())
    except RepeatedKey as twice:
        raise UserError(repeated_key_message(path, twice)) from None
    except yaml.YAMLError as exc:
        raise UserError(f"Config file '{path}' is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(
            f"Config file '{path}' must hold a mapping of keys to values, not a "
            f"{type(data).__name__}."
        )
    return data


def repeated_key_message(path: Path, twice: RepeatedKey) -> str:
    kept = (
        f"YAML would keep only the second section, every key of the first dropped; merge "
        f"them into one '{twice.key}' section"
        if twice.section
        else "YAML would keep only the second value; write it once, with the value you mean"
    )
    return f"Config file '{path}' writes key '{twice.key}' twice ({twice.lines}): {kept}."


def folder_as_config(path: Path) -> UserError:
    """A folder given as the config (it "did not exist"): the recipe in it to give instead."""
    recipes = sorted(p.name for p in path.glob("*.yaml")) + sorted(
        p.name for p in path.glob("*.yml")
    )
    if RUN_CONFIG in recipes:
        hint = (
            f"it is the folder of a run: --config {path / RUN_CONFIG} trains again with that "
            f"run's config"
        )
    elif recipes:
        shown = ", ".join(recipes[:5])
        hint = f"it holds {shown}: give one of them, e.g. --config {path / recipes[0]}"
    else:
        hint = "it holds no .yaml file"
    return UserError(f"Config file '{path}' is a folder, not a YAML recipe; {hint}.")


def parse_overrides(args: list[str]) -> list[tuple[str, Any]]:
    """`--key value`, `--key=value` and bare `--flag` (true) -> (key, YAML-parsed value) pairs;
    dashes in a key are read as underscores (`--learning-rate` is `--learning_rate`)."""
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
        # HF scripts' habit, `--learning-rate`: every ftk key is spelt with underscores
        pairs.append((key.replace("-", "_"), parse_value(text)))
    return pairs


def parse_value(text: str) -> Any:
    """YAML-parse a command-line value, except that yes/no/on/off stay words: YAML 1.1 reads
    `--eval_strategy no` as False; a value YAML cannot read stays the plain text. (`coerce`
    still accepts them for true/false keys.)"""
    if text == "" or text.lower() in ("yes", "no", "on", "off"):
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # not YAML (`--data.label_separator ,`): the text as it is
    # `|` and `>` open an (empty) YAML block: a separator, not an empty string
    return text if value == "" and text.strip() not in ('""', "''") else value


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


# the keys outside the sections and TrainingArguments, each with its reader
TOP_LEVEL_KEYS: dict[str, Callable[[Any], Any]] = {
    "task": lambda value: task_kind(coerce(value, str, "task")).name,
    "metrics": lambda value: coerce(value, list[str], "metrics"),
    "trust_metric_code": lambda value: coerce(value, bool, "trust_metric_code"),
    "class_weights": lambda value: read_class_weights(value),
    "for_this_data": read_for_this_data,
}


def build_config(raw: dict[str, Any]) -> RunConfig:
    """A config mapping as a validated RunConfig; an unknown key is an error."""
    config = read_keys(raw)
    config.training = {**TRAINING_DEFAULTS, **config.training}
    validate(config)
    # set nowhere (or released): chosen for the data once it is read, not the schema default
    config.derive = tuple(
        key
        for key in derivable_now(config)
        if not any(has_dotted(raw, name) for name in set_by(key))
    )
    return config


def derivable_now(config: RunConfig) -> tuple[str, ...]:
    return derivable(config.kind, config.data.streaming, config.training.get("max_steps"))


def read_keys(raw: dict[str, Any], skip_unknown: bool = False) -> RunConfig:
    """Every key of `raw` typed as the schema types it, into a RunConfig, without the rules
    between keys (config/validate.py). An unknown key is an error, or passed over with
    `skip_unknown` (run_config.yaml written by another ftk version or transformers)."""
    config = RunConfig()
    training_fields = training_argument_names()
    for key, value in raw.items():
        if key in RENAMED_KEYS and not skip_unknown:
            raise UserError(f"Config key '{key}' is not accepted: {RENAMED_KEYS[key]}.")
        if key in SECTIONS:
            setattr(config, key, build_section(key, value, skip_unknown))
        elif key in TOP_LEVEL_KEYS:
            setattr(config, key, TOP_LEVEL_KEYS[key](value))
        elif key in training_fields:
            config.training[key] = coerce(value, training_fields[key], key)
        elif not skip_unknown:
            raise UserError(
                f"Unknown config key '{key}'.{did_you_mean(key, all_valid_keys())} "
                f"See `ftk train --help` for the sections and their keys."
            )
    config.metrics_chosen = "metrics" in raw
    if not config.metrics_chosen:
        config.metrics = list(config.default_metrics)
    return config


def build_section(name: str, value: Any, skip_unknown: bool = False) -> Any:
    cls = SECTIONS[name]
    if value is None:
        return cls()
    if not isinstance(value, dict):
        raise UserError(f"Config key '{name}' must be a mapping of keys, not {value!r}.")
    hints = key_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, item in value.items():
        dotted = f"{name}.{key}"
        if key not in known:
            if skip_unknown:
                continue
            raise UserError(
                f"Unknown config key '{dotted}'.{did_you_mean(dotted, all_valid_keys())}"
            )
        # the choices of a Literal are checked with the key's range (config/declare.py)
        kwargs[key] = coerce(item, hints[key], dotted, open_choices=True)
    return cls(**kwargs)


def read_class_weights(value: Any) -> str | dict[str, float] | None:
    """None | 'balanced' | {label: weight > 0}; labels are strings, as ftk names classes."""
    if value is None or value in ("none", False):
        return None
    if value == "balanced":
        return "balanced"
    if not isinstance(value, dict) or not value:
        raise UserError(
            f"Config key 'class_weights' is {value!r}; write none, balanced, or a mapping of "
            f"labels to weights, e.g. {{spam: 5.0}} (labels left out weigh 1)."
        )
    weights = {str(label): coerce(w, float, f"class_weights.{label}") for label, w in value.items()}
    bad = {label: w for label, w in weights.items() if not w > 0}
    if bad:
        raise UserError(f"class_weights must be positive; got {bad}.")
    return weights
