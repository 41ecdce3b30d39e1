"""Where a JSON Lines (or JSON) file stops being readable, found only once the `datasets` reader
has failed on it: its error says "An error occurred while generating the dataset", and the
pyarrow error chained below it (never shown) counts rows from 0 within the block it was
reading. So the file is read again here, line by line, on that error path only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

SHOWN = 80  # characters of a bad line quoted in the message
JSON_NAMES = {list: "an array", str: "a string", int: "a number", float: "a number"}


def json_problem(path: Path, encoding: str) -> str | None:
    """What is wrong with `path`, naming the line (from 1) and the cause; None when it reads as
    JSON after all (then the reader failed for another reason)."""
    if path.suffix.lower() == ".json":  # one document, or JSON Lines named .json
        text = path.read_text(encoding=encoding)
        try:
            json.loads(text)
            return None
        except json.JSONDecodeError as exc:
            if not first_line_is_a_record(text):
                return (
                    f"is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}. "
                    f"Fix the file there"
                )
    with path.open(encoding=encoding) as lines:  # streamed: a JSON Lines file can be large
        return bad_line(lines)


def first_line_is_a_record(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def bad_line(lines: Iterable[str]) -> str | None:
    """The first line that is not one JSON object, and why (blank and null lines are read
    past, as the reader reads them: as nothing, and as a row of nulls)."""
    for number, ended in enumerate(lines, start=1):
        line = ended.rstrip("\r\n")  # columns as an editor shows them
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            cause = f"{exc.msg} at column {exc.colno}"
        else:
            if value is None or isinstance(value, dict):
                continue
            what = JSON_NAMES.get(type(value), json.dumps(value))  # true, false
            cause = f"it holds {what}, not an object {{...}}"
        shown = line.strip()[:SHOWN] + ("..." if len(line.strip()) > SHOWN else "")
        return (
            f"is not valid JSON Lines: line {number:,} cannot be read as a row ({cause}): "
            f"{shown}. Each line must hold one JSON object (one row); fix or remove that line"
        )
    return None
