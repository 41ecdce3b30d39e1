"""Console output for people: one voice, and only from the main process under accelerate."""

from __future__ import annotations

import os
import sys


def is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def say(message: str = "") -> None:
    if is_main_process():
        print(message, flush=True)


def note(message: str) -> None:
    """A line about how the command line was read, on stderr: stdout may be YAML
    (`--print-config`)."""
    if is_main_process():
        print(message, file=sys.stderr, flush=True)


# Every warning of the current run, in order: the run report lists them (reset per run).
WARNINGS: list[str] = []


def warn(message: str) -> None:
    WARNINGS.append(message)
    if is_main_process():
        print(f"WARNING: {message}", file=sys.stderr, flush=True)


def reset_warnings() -> None:
    WARNINGS.clear()
