"""Config values -> the types their keys declare, or an error that names the key.

YAML 1.1 (PyYAML) reads `2e-5` as a string and `no` as false; both are converted here, so a
recipe means what a person reading it would think it means.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

from toolkit.core.errors import UserError

WORDS_FOR_TRUE, WORDS_FOR_FALSE = ("true", "yes", "on"), ("false", "no", "off")


def coerce(value: Any, hint: Any, key: str, *, open_choices: bool = False) -> Any:
    """`value` converted to the type `hint`, or a UserError naming `key` and the expected type.

    `open_choices`: a `Literal[...]` takes any value of its choices' type; the section keys'
    declarations check the choices themselves (config/declare.py), on every validation."""
    converted, ok = _try_coerce(value, hint, open_choices)
    if not ok:
        raise UserError(
            f"Config key '{key}' must be {describe(hint)}, got {value!r} ({type(value).__name__})."
        )
    return converted


def _try_coerce(value: Any, hint: Any, open_choices: bool = False) -> tuple[Any, bool]:
    """(converted value, whether it fits `hint`)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value, True
    if origin in (Union, types.UnionType):
        return _to_union(value, typing.get_args(hint), open_choices)
    if origin is Literal:
        choices = typing.get_args(hint)
        if open_choices:
            return value, type(value) in {type(c) for c in choices}
        return value, value in choices
    if origin in (list, tuple):
        args = typing.get_args(hint)
        return _to_list(value, args[0] if args else Any, open_choices)
    if origin is dict or hint is dict:
        return value, isinstance(value, dict)
    if hint is type(None):
        return value, value is None
    if hint in SCALARS:
        return SCALARS[hint](value)
    if isinstance(hint, type) and issubclass(hint, str):  # str enums of TrainingArguments
        return _to_str(value)
    return value, True  # other rich types of TrainingArguments: it validates them itself


def _to_union(value: Any, args: tuple[Any, ...], open_choices: bool) -> tuple[Any, bool]:
    if value is None:
        return None, type(None) in args
    for arg in sorted(args, key=_specificity):
        converted, ok = _try_coerce(value, arg, open_choices)
        if ok:
            return converted, True
    return value, False


def _to_list(value: Any, item_hint: Any, open_choices: bool) -> tuple[Any, bool]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return value, False
    items = [_try_coerce(v, item_hint, open_choices) for v in value]
    return [v for v, _ in items], all(ok for _, ok in items)


def _to_bool(value: Any) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return value, True
    if isinstance(value, str) and value.lower() in WORDS_FOR_TRUE + WORDS_FOR_FALSE:
        return value.lower() in WORDS_FOR_TRUE, True
    return value, False


def _to_int(value: Any) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int):
        return value, True
    number = _number(value)
    if number is not None and number.is_integer():
        return int(number), True
    return value, False


def _to_float(value: Any) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return value, False
    number = _number(value)
    return (number, True) if number is not None else (value, False)


def _number(value: Any) -> float | None:
    """An int, float or numeric string (`2e-5`) as a float; None for anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _to_str(value: Any) -> tuple[Any, bool]:
    if value is False:  # YAML 1.1 reads `eval_strategy: no` in a file as false
        return "no", True
    return value, isinstance(value, str)


SCALARS: dict[Any, Callable[[Any], tuple[Any, bool]]] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
}


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
    names = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        type(None): "null",
        dict: "a mapping",
    }
    return names.get(hint, getattr(hint, "__name__", str(hint)))
