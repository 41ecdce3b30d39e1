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
        return options(**keywords)
    if keywords:
        raise TypeError(f"give options or {', '.join(keywords)}, not both")
    return given


def describe_options(options: type[RunOptions]) -> str:
    """The options as a docstring paragraph: `name` (default): help."""
    lines = [
        f"    {f.name} (default {f.default!r}): {f.metadata['help']}"
        for f in dataclasses.fields(options)
    ]
    return "Options:\n" + "\n".join(lines)
