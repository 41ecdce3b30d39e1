"""What a text column must hold for the tokenizer: strings, read from a column other than the
labels. A column of numbers (a CSV column of ids or scores named as the text) or the label
column itself would otherwise reach the tokenizer, whose ValueError names neither.
"""

from __future__ import annotations

import datasets

from toolkit.core.errors import UserError
from toolkit.data.labels import is_missing

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
    """A text column of numbers or booleans is refused, with a few of its values."""
    feature = dataset.features[column]
    if not isinstance(feature, datasets.Value) or feature.dtype in TEXT_TYPES:
        return
    present = [v for v in dataset[column] if not is_missing(v)]
    if not present:  # a CSV column of empty cells reads as NaN floats: the empty-text check
        return
    shown = ", ".join(repr(v) for v in present[:3])
    raise UserError(
        f"Column '{column}' of the {where} holds {feature.dtype} values (e.g. {shown}), not "
        f"texts, so there is nothing for the tokenizer to read. Point {key} at the column "
        f"that holds the texts (its columns are {', '.join(dataset.column_names)}). Numbers "
        f"meant as texts need a file that stores them as strings (JSON Lines with quoted "
        f"values, or Parquet): a CSV column of numbers reads as numbers."
    )
