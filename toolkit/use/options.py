"""The options of `ftk predict` and `ftk evaluate`, declared once: each is a field with its
default and its help text, which the command line's flags (`--top-k`, from `top_k`), the Python
API's keyword arguments (`toolkit.predict(..., top_k=2)`) and the use/ functions all read.

Imports nothing heavy: `ftk --help` builds its parser from these classes.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# a field with its default and its help text, as the config's keys are declared
from toolkit.config.declare import option
from toolkit.core.errors import UserError, did_you_mean


@dataclass
class RunOptions:
    """What every command that runs a finished model on new data takes."""

    revision: str | None = option(
        None, "branch, tag or commit of a Hub repo RUN (default: its main branch)"
    )
    batch_size: int = option(32, "inputs per forward pass")
    text_column: str | None = option(
        None, "text column of the new data (default: the run's data.text_column)"
    )
    encoding: str | None = option(
        None, "text encoding of a table, e.g. latin-1 (default: the run's data.encoding, utf-8)"
    )

    output: Path | None = option(None, "write the results here")

    def __post_init__(self) -> None:
        if self.output is not None and not isinstance(self.output, Path):
            self.output = Path(self.output)  # the API takes a str too


@dataclass
class PredictOptions(RunOptions):
    output: Path | None = option(None, "predictions file, .csv or .jsonl (default: print a table)")
    top_k: int = option(1, "labels per input")
    threshold: float | None = option(
        None,
        "multi-label runs: list every label whose score exceeds this (default: the "
        "threshold the run tuned on validation, saved in config.json; 0.5 without one)",
    )


@dataclass
class EvaluateOptions(RunOptions):
    batch_size: int = option(64, "inputs per forward pass")
    output: Path | None = option(None, "also write the metrics here as JSON")
    label_column: str | None = option(None, "default: the run's data.label_column")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Naming:
    """How a message names what was given: the command line's flags (`--input`, `--top-k 2`)
    or the Python API's arguments (`data`, `top_k=2`), so each caller reads its own words."""

    inputs: str  # the argument the inputs came in
    python: bool
    path_shown: bool = True  # False: data handed over in memory, saved to a file of ftk's

    def where(self, path: Path) -> str:
        """The inputs as a message names them: `--data 'new.csv'`, or `data`."""
        return f"{self.inputs} '{path}'" if self.path_shown else self.inputs

    def option(self, name: str) -> str:
        return name if self.python else flag(name)

    def given(self, name: str, value: Any) -> str:
        return f"{name}={value!r}" if self.python else f"{flag(name)} {value}"


COMMAND_LINE = Naming("--input", python=False)


def add_option_arguments(parser: argparse.ArgumentParser, options: type[RunOptions]) -> None:
    """One flag per option of `options` (`top_k` -> `--top-k`), typed and with its help and
    default."""
    hints = typing.get_type_hints(options)
    for item in dataclasses.fields(options):
        hint = hints[item.name]  # `Path | None` -> Path
        kind = next((t for t in typing.get_args(hint) if t is not type(None)), hint)
        said = item.metadata["help"]
        if item.default is not None:
            said = f"{said} (default {item.default})"
        parser.add_argument(flag(item.name), type=kind, default=item.default, help=said)


def options_from(options: type[RunOptions], namespace: argparse.Namespace) -> Any:
    """The parsed flags as an options object of class `options`."""
    return options(**{f.name: getattr(namespace, f.name) for f in dataclasses.fields(options)})


def given_options(
    options: type[RunOptions], given: RunOptions | None, keywords: dict[str, Any]
) -> Any:
    """An options object, given whole or as keyword arguments (not both)."""
    if given is None:
        return options_from_keywords(options, keywords)
    if keywords:
        raise TypeError(f"give options or {', '.join(keywords)}, not both")
    return given


def options_from_keywords(options: type[RunOptions], keywords: dict[str, Any]) -> Any:
    """The Python API's keyword options as an options object: an unknown name or a value of
    the wrong type is a UserError naming the option (the command line's flags are typed by
    argparse)."""
    hints = typing.get_type_hints(options)
    for name, value in keywords.items():
        if name not in hints:
            raise UserError(
                f"There is no option '{name}'.{did_you_mean(name, hints)} The options: "
                f"{', '.join(hints)}."
            )
        check_option_type(name, value, hints[name])
    return options(**keywords)


# what a keyword option of each declared type may be given as
ACCEPTED: dict[type, tuple[type, ...]] = {float: (int, float), Path: (str, Path)}


def check_option_type(name: str, value: Any, hint: Any) -> None:
    declared = typing.get_args(hint) or (hint,)  # `int`, or the members of `str | None`
    if value is None and type(None) in declared:
        return
    kinds = [kind for kind in declared if kind is not type(None)]
    accepted = tuple(dict.fromkeys(t for kind in kinds for t in ACCEPTED.get(kind, (kind,))))
    if isinstance(value, accepted) and not (isinstance(value, bool) and bool not in kinds):
        return  # (True is an int to isinstance, not a number of inputs)
    raise UserError(
        f"Option '{name}' must be {' or '.join(t.__name__ for t in accepted)}, got "
        f"{value!r} ({type(value).__name__})."
    )


def describe_options(options: type[RunOptions]) -> str:
    """The options as a docstring paragraph: `name` (default): help."""
    lines = [
        f"    {f.name} (default {f.default!r}): {f.metadata['help']}"
        for f in dataclasses.fields(options)
    ]
    return "Options:\n" + "\n".join(lines)
