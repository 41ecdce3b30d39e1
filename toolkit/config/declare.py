"""One declaration per config key: `option(...)` holds its default, its --help text and its
valid range; its type annotation holds the rest (a `Literal[...]` for a closed vocabulary names
the choices). From the declaration alone come the key's check (`check_section`, choices and
range, when the config loads) and its --help entry (`key_facts`).

    warmup_fraction: float | None = option(None, "warm-up length ...", low=0, high=1,
                                           high_open=True)
    decay_shape: Literal["linear", "cosine", "sqrt"] = option("linear", "wsd: ...")
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, Literal, Union

from toolkit.config.coerce import describe
from toolkit.config.ranges import OUT_OF_RANGE, Range, check_range
from toolkit.core.errors import UserError, did_you_mean


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    default_factory: Any = dataclasses.MISSING,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    refusal: str | None = None,
) -> Any:
    """A config key: its default (or default_factory, for lists), the meaning --help prints, and
    the numbers it accepts: [low, high], either end left out (None: unbounded) or open.

    `refusal`: the message for a value outside the choices or the range, when the generic one
    ("Config key 'k' must be ..., got v.") is not what users are told; {key} (dotted), {value},
    {range}, {choices} and {did_you_mean} are filled in."""
    if not help.strip():
        raise ValueError("every config key needs a help text")
    valid = None if low is None and high is None else Range(low, high, low_open, high_open)
    return dataclasses.field(
        default=default,
        default_factory=default_factory,
        metadata={"help": help, "range": valid, "refusal": refusal},
    )


def literal_choices(hint: Any) -> tuple[Any, ...]:
    """The values a `Literal[...]` in `hint` names (inside a union too); () when none."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return tuple(c for arg in typing.get_args(hint) for c in literal_choices(arg))
    return ()


@functools.cache
def key_hints(section: type) -> dict[str, Any]:
    """Field name -> resolved type hint of a section dataclass (its annotations are strings)."""
    return typing.get_type_hints(section)


def check_section(name: str, section: Any) -> None:
    """Every key of the section `name` against its declaration: a value of a closed
    vocabulary's type among its choices, a number inside its range."""
    hints = key_hints(section.__class__)
    for f in dataclasses.fields(section):
        check_key(f"{name}.{f.name}", getattr(section, f.name), hints[f.name], f.metadata)


def check_key(key: str, value: Any, hint: Any, metadata: typing.Mapping[str, Any]) -> None:
    refusal = metadata.get("refusal")
    choices = literal_choices(hint)
    # values of another type (true for augment.image, null) are the type check's business
    if choices and type(value) in {type(c) for c in choices} and value not in choices:
        if refusal is None:  # as the type check words it (config/coerce.py)
            got = f"{value!r} ({type(value).__name__})"
            raise UserError(f"Config key '{key}' must be {describe(hint)}, got {got}.")
        words = [str(c) for c in choices]
        raise UserError(
            refusal.format(
                key=key,
                value=value,
                choices=", ".join(words),
                did_you_mean=did_you_mean(str(value), words),
            )
        )
    valid = metadata.get("range")
    if valid is not None:
        check_range(key, value, valid, refusal or OUT_OF_RANGE)


def declared_range(section: type, key: str) -> Range | None:
    """The range a section's key declares."""
    return next(f.metadata["range"] for f in dataclasses.fields(section) if f.name == key)


def type_text(hint: Any) -> str:
    """`float | null`, `list[str]`: a type as --help shows it (a Literal as its values' type)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " | ".join(dict.fromkeys(type_text(a) for a in args))
    if origin is Literal:
        return " | ".join(dict.fromkeys(type(a).__name__ for a in args))
    if origin in (list, tuple):
        return f"list[{type_text(args[0])}]" if args else "list"
    if origin is dict or hint is dict:
        return "mapping"
    if hint is type(None):
        return "null"
    return getattr(hint, "__name__", str(hint))


def key_facts(hint: Any, metadata: typing.Mapping[str, Any]) -> str:
    """`type: float | null; range: (0, 1]`, `type: str; choices: a | b`: what --help shows of a
    key's declaration besides its default and help ('' for a key of any type)."""
    facts = [] if hint is Any else [f"type: {type_text(hint)}"]
    choices = literal_choices(hint)
    if choices:
        facts.append(f"choices: {' | '.join(str(c) for c in choices)}")
    valid = metadata.get("range")
    if valid is not None:
        facts.append(f"range: {valid.bounds()}")
    return "; ".join(facts)
