"""What a text column must hold for the tokenizer: strings, read from a column other than the
labels. A column of numbers (a CSV column of ids or scores named as the text), numbers among
the texts (which a JSON Lines reader keeps as they are) or the label column itself would
otherwise reach the tokenizer, whose ValueError or TypeError names no column.
"""

from __future__ import annotations

import datasets

from toolkit.core.columns import column_values
from toolkit.core.errors import UserError
from toolkit.data.labels import is_missing
from toolkit.data.value_kinds import kind_of

# arrow types a text column may have: strings, or nothing at all (every row empty: the
# empty-text check names that)
TEXT_TYPES = ("string", "large_string", "null")


def refuse_label_as_text(
    dataset: datasets.Dataset, text_columns: list[str], label_column: str, key: str, where: str
) -> None:
    """`key` (data.text_column or data.text_pair_column) must not name the label column."""
    if label_column in text_columns:
        raise UserError(
            f"{key} and data.label_column both name column '{label_column}' of the {where}: "
            f"the model would read the very answer it is to predict. Point {key} at the "
            f"column that holds the texts (its columns are {', '.join(dataset.column_names)})."
        )


def check_text_type(dataset: datasets.Dataset, column: str, key: str, where: str) -> None:
    """A text column of numbers or booleans, or one that mixes them with texts (as a JSON
    Lines file can), is refused with a few of its values."""
    feature = dataset.features[column]
    if isinstance(feature, datasets.Value) and feature.dtype in TEXT_TYPES:
        return
    present = [
        (row, v) for row, v in enumerate(column_values(dataset, column)) if not is_missing(v)
    ]
    others = [(row, v) for row, v in present if not isinstance(v, str)]
    if not others:  # a CSV column of empty cells reads as NaN floats: the empty-text check
        return
    if len(others) < len(present):
        row, value = others[0]
        raise UserError(
            f"Column '{column}' of the {where} holds {len(others):,} value(s) that are not "
            f"texts among its texts, e.g. {value!r} ({kind_of(value)}) in row {row + 1} "
            f"(counted from 1, the first data row). Write them as strings (quoted, in JSON) "
            f"or remove those rows."
        )
    shown = ", ".join(repr(v) for _, v in present[:3])
    raise UserError(
        f"Column '{column}' of the {where} holds {kind_of(present[0][1])} (e.g. {shown}), "
        f"not texts, so there is nothing for the tokenizer to read. Point {key} at the "
        f"column that holds the texts (its columns are {', '.join(dataset.column_names)}). "
        f"Numbers meant as texts need a file that stores them as strings (JSON Lines with "
        f"quoted values, or Parquet): a CSV column of numbers reads as numbers."
    )
