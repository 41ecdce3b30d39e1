"""Multi-label targets: any number of labels per row, stored as a multi-hot float32 vector over
the training split's label names (sorted), the target of a sigmoid + binary cross-entropy head.

A row's labels are a list (JSON `["sport", "politics"]`, a Hub `List(ClassLabel)` column) or
one string split on `data.label_separator` ("sport,politics"). A row with no label at all (an
empty list, an empty string, null) is allowed: it says "none of the labels applies", which is
common in tagging data; `describe_label_sets` counts such rows so they are never a surprise.
A validation or test label never seen in training is an error, not a silently dropped label.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import datasets
import numpy as np

from toolkit.config.schema import DataConfig
from toolkit.core.columns import column_values
from toolkit.core.errors import UserError
from toolkit.data.labels import label_name, refuse_unseen
from toolkit.data.sources import describe_split

LIST_FEATURES = (datasets.List, datasets.LargeList, datasets.Sequence)


class NotALabelSet(ValueError):
    """A value that is no set of labels; the message says what it holds and what to write."""


def row_label_sets(dataset: datasets.Dataset, cfg: DataConfig, split: str) -> list[list[str]]:
    """Every row's labels as names (duplicates dropped, order kept); a UserError that names
    the split, column and row for a value that is not a label set."""
    feature = dataset.features[cfg.label_column]
    inner = getattr(feature, "feature", None)
    class_names = inner.names if isinstance(inner, datasets.ClassLabel) else None
    sets = []
    for row, value in enumerate(column_values(dataset, cfg.label_column)):
        try:
            sets.append(parse_label_set(value, cfg.label_separator, class_names))
        except NotALabelSet as problem:
            raise UserError(
                f"Row {row + 1} of column '{cfg.label_column}' in the "
                f"{describe_split(cfg, split)} {problem}"
            ) from None
    return sets


def parse_label_set(
    value: Any, separator: str | None, class_names: list[str] | None = None
) -> list[str]:
    """One row's labels: a list of names (or of ClassLabel ids, named by `class_names`), or one
    string split on `separator`; null or empty is the empty set."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        if separator is None:
            raise NotALabelSet(
                f"holds text ({value[:60]!r}), not a list of labels. Set "
                f"data.label_separator to the character between labels (e.g. --data."
                f'label_separator ","; a row with one label is then a set of one), or write '
                f"the labels as JSON lists."
            )
        return list(dict.fromkeys(p.strip() for p in value.split(separator) if p.strip()))
    if isinstance(value, (list, tuple)):
        labels = [item_name(item, class_names) for item in value]
        return list(dict.fromkeys(label for label in labels if label))
    raise NotALabelSet(
        f"holds {value!r}; a multi-label task needs a list of labels per row (JSON "
        f'["a", "b"]) or one string of labels split by data.label_separator (e.g. "a,b").'
    )


def item_name(item: Any, class_names: list[str] | None) -> str:
    if class_names is not None and isinstance(item, int):
        return class_names[item]
    if isinstance(item, str) or (isinstance(item, (int, float)) and not isinstance(item, bool)):
        return label_name(item).strip()
    raise NotALabelSet(
        f"holds the label {item!r} inside its list; labels must be names or integer ids."
    )


def label_set_names(train_sets: list[list[str]], cfg: DataConfig) -> list[str]:
    """The training split's labels, sorted; at least two, and not every row without one."""
    names = sorted({label for labels in train_sets for label in labels})
    if len(names) < 2:
        raise UserError(
            f"Column '{cfg.label_column}' of the {describe_split(cfg, 'train')} holds "
            f"{len(names)} distinct label(s) ({', '.join(names) or 'none'}); a multi-label "
            f"task needs at least two. Check data.label_column and data.label_separator."
        )
    return names


def multi_hot(sets: list[list[str]], names: list[str]) -> np.ndarray:
    """One float32 vector per row, 1.0 where the label applies (every label in `names`)."""
    index = {name: i for i, name in enumerate(names)}
    vectors = np.zeros((len(sets), len(names)), dtype=np.float32)
    for row, labels in enumerate(sets):
        vectors[row, [index[label] for label in labels]] = 1.0
    return vectors


def encode_label_sets(
    dataset: datasets.Dataset, cfg: DataConfig, names: list[str], split: str
) -> datasets.Dataset:
    """The label column replaced by its multi-hot float32 vectors; a label never seen in
    training is an error."""
    sets = row_label_sets(dataset, cfg, split)
    found = (label for labels in sets for label in labels)
    refuse_unseen(found, names, "label", cfg, split, cfg.label_column)
    vectors = multi_hot(sets, names).tolist()
    feature = datasets.List(datasets.Value("float32"), length=len(names))
    return dataset.remove_columns(cfg.label_column).add_column(
        cfg.label_column, vectors, feature=feature
    )


def label_counts(vectors: Any, names: list[str]) -> dict[str, int]:
    """Rows carrying each label (multi-hot vectors in, counts by name out)."""
    totals = np.asarray(vectors, dtype=np.float32).reshape(-1, len(names)).sum(axis=0)
    return {name: int(total) for name, total in zip(names, totals, strict=True)}


def describe_label_sets(vectors: Any, names: list[str]) -> str:
    """Labels per row and the rows with none, for the console's data line."""
    array = np.asarray(vectors, dtype=np.float32).reshape(-1, len(names))
    per_row = array.sum(axis=1)
    sets = Counter(map(int, per_row))
    return (
        f"{len(names)} labels: {', '.join(names)}; {per_row.mean():.2f} labels per example in "
        f"train ({sets.get(0, 0):,} with none)"
    )
