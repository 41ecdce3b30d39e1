"""Regression targets: one finite number per row, stored as float32 for the MSE loss.

`check_targets` runs on the raw values of every split: text like "high" (a column of classes,
or the wrong column), empty cells, NaN and inf stop the run with the file, the column and the
rows, since one NaN target turns every later loss into NaN and a silently wrong model.
"""

from __future__ import annotations

import math
import re
from numbers import Real
from typing import Any

import datasets
import numpy as np

from toolkit.config.schema import DataConfig
from toolkit.core.columns import column_values
from toolkit.core.errors import UserError
from toolkit.data.sources import describe_split


def rows_text(rows: list[int]) -> str:
    """Rows as a user counts them (from 1, the first data row), at most ten."""
    return ", ".join(str(r + 1) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")


def is_number(value: Any) -> bool:
    """A number, or a text that reads as one ("1.5" in a JSON string field)."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return isinstance(value, Real) and not isinstance(value, bool)


def not_numbers(values: list[Any]) -> list[int]:
    """Rows (0-based) whose value is neither empty nor a number ("high", True, [1, 2])."""
    return [i for i, v in enumerate(values) if v is not None and not is_number(v)]


def not_finite(values: list[Any]) -> list[int]:
    """Rows (0-based) of numbers whose value is empty, NaN or inf."""
    return [i for i, v in enumerate(values) if v is None or not math.isfinite(float(v))]


DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


def check_targets(dataset: datasets.Dataset, cfg: DataConfig, split: str) -> None:
    """Raise when the label column of `split` holds anything but finite numbers."""
    column, where = cfg.label_column, describe_split(cfg, split)
    feature = dataset.features[column]
    values = column_values(dataset, column)
    if isinstance(feature, datasets.ClassLabel):
        raise UserError(
            f"Column '{column}' of the {where} holds classes ({', '.join(feature.names[:5])}"
            f"), not numbers; a regression task needs one number per row. Use "
            f"task: text-classification / image-classification for classes."
        )
    words = not_numbers(values)
    if words:
        shown = ", ".join(list(dict.fromkeys(repr(values[i]) for i in words))[:3])
        fix = (
            "They look like numbers written with a decimal comma, as a spreadsheet in a "
            "European locale saves them: write them with a decimal point (e.g. 0.75)."
            if all(DECIMAL_COMMA.fullmatch(str(values[i]).strip()) for i in words)
            else "Write the targets as numbers (e.g. 0.75), or, if the labels are classes, "
            "use task: text-classification / image-classification."
        )
        raise UserError(
            f"Column '{column}' of the {where} holds {len(words):,} value(s) that are not "
            f"numbers (e.g. {shown}; row(s) {rows_text(words)}), and a regression task "
            f"needs one number per row. {fix}"
        )
    bad = not_finite(values)
    if bad:
        kinds = sorted({"empty" if values[i] is None else str(values[i]) for i in bad})
        raise UserError(
            f"Column '{column}' of the {where} has {len(bad):,} of {len(values):,} "
            f"target(s) that are not finite numbers ({', '.join(kinds)}) in row(s) "
            f"{rows_text(bad)} (counted from 1, the first data row); a NaN or inf target "
            f"makes every loss NaN. Fill in or remove those rows."
        )


def as_float_targets(dataset: datasets.Dataset, cfg: DataConfig) -> datasets.Dataset:
    """The label column as float32: the loss is MSE (`problem_type: regression`)."""
    features = dataset.features.copy()
    features[cfg.label_column] = datasets.Value("float32")
    return dataset.cast(features)


def target_stats(values: Any) -> dict[str, float]:
    """Mean, spread and range of the targets, for the console and report.md."""
    array = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(array.mean()),
        "std": float(array.std()),
        "min": float(array.min()),
        "max": float(array.max()),
    }
