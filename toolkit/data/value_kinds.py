"""The kinds of the values in a column (numbers, strings, true/false, lists, objects), for the
messages about a column that mixes them: pyarrow cannot make one column of such Python values
(data handed over in Python), and a JSON Lines reader hands them back as they are, where
sorting them as labels or tokenizing them as texts fails with an error that names no column.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

# bool before numbers: True is an int to isinstance
KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "true/false values"),
    ((int, float), "numbers"),
    (str, "strings"),
    ((list, tuple), "lists"),
    (dict, "objects"),
)


def kind_of(value: Any) -> str:
    return next((name for types, name in KINDS if isinstance(value, types)), type(value).__name__)


def mixed_kinds(values: Iterable[Any]) -> str | None:
    """'numbers (e.g. 3, row 1) and strings (e.g. 'b', row 2)' for the first two kinds among
    `values` (rows counted from 1; missing values passed over); None when there is one kind."""
    first: dict[str, tuple[int, Any]] = {}
    for row, value in enumerate(values, start=1):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        first.setdefault(kind_of(value), (row, value))
        if len(first) == 2:
            return " and ".join(
                f"{kind} (e.g. {value!r}, row {row})" for kind, (row, value) in first.items()
            )
    return None
