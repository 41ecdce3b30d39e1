"""Run configuration: YAML file + `--key value` overrides -> one validated, typed `RunConfig`.

Layout of a config file (every key optional except what the task needs):

    task: text-classification        # which task module runs (see toolkit/tasks)
    metrics: [accuracy, f1_macro]    # validation/test metrics; the first picks the best model
    model:    {...}                  # ModelConfig
    data:     {...}                  # DataConfig
    augment:  {...}                  # AugmentConfig
    schedule: {...}                  # ScheduleConfig
    early_stopping: {...}            # EarlyStoppingConfig
    baseline: {...}                  # BaselineConfig: cheap baselines before training
    overfitting: {...}               # OverfittingConfig: training-sample scores, warning
    learning_rate: 5e-5              # any transformers.TrainingArguments field, under its own name
    num_train_epochs: 3

Overrides on the command line use the same names: `--learning_rate 5e-5` for TrainingArguments
fields and top-level keys, `--model.name_or_path DIR` for keys inside a section.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union

from toolkit.core.errors import UserError


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
