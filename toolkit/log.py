"""Console output for people: one voice, and only from the main process under accelerate."""

from __future__ import annotations

import os
import sys


def is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def say(message: str = "") -> None:
    if is_main_process():
        print(message, flush=True)


def warn(message: str) -> None:
    if is_main_process():
        print(f"WARNING: {message}", file=sys.stderr, flush=True)
