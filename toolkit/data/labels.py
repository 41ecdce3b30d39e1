"""Labels become a `ClassLabel` whose names come from the training split; a validation or test
label never seen in training is an error, not a silently wrong metric.

`check_labels` runs first, on the raw values: a column a classifier cannot take (numbers like
0.5, lists of labels, ClassLabel rows marked -1 = "no label") stops the run before any
set() or sort could crash on it or turn it into a silently wrong set of classes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.config.schema import DataConfig
from toolkit.core.columns import column_chunks, column_values
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.data.sources import describe_split
from toolkit.data.value_kinds import mixed_kinds


def check_labels(dataset: datasets.Dataset, cfg: DataConfig, split: str) -> None:
    """Raise when the label column of `split` holds values a classifier cannot take."""
    feature = dataset.features[cfg.label_column]
    if isinstance(feature, datasets.ClassLabel):
        check_class_ids(column_chunks(dataset, cfg.label_column), cfg, split)
        return
    if isinstance(feature, datasets.Value):
        # one Arrow type: no lists, no mix of kinds; only a float column can hold fractions
        if pa.types.is_floating(feature.pa_type):
            distinct = pc.unique(column_chunks(dataset, cfg.label_column)).to_pylist()
            check_not_fractional(distinct, cfg, split)
        return
    values = column_values(dataset, cfg.label_column)
    check_not_nested(values, cfg, split)
    check_one_kind(values, cfg, split)
    check_not_fractional(values, cfg, split)


def check_not_nested(values: list[Any], cfg: DataConfig, split: str) -> None:
    nested = next((v for v in values if isinstance(v, (list, dict))), None)
    if nested is None:
        return
    where = f"Column '{cfg.label_column}' of the {describe_split(cfg, split)}"
    if isinstance(nested, dict):
        raise UserError(
            f"{where} holds dicts, e.g. {str(nested)[:60]}; a classifier needs one label "
            f"per row. Point data.label_column at a column of labels."
        )
    raise UserError(
        f"{where} holds lists (several labels per example), e.g. {str(nested)[:60]}, and "
        f"this task takes one label per row. For multi-label data use task: "
        f"text-multilabel (image-multilabel for images); else give one label per row (or "
        f"point data.label_column at a one-label column)."
    )


def check_one_kind(values: list[Any], cfg: DataConfig, split: str) -> None:
    """Labels written as numbers in some rows and strings in others (a JSON Lines file can mix
    them) cannot be sorted into one list of classes."""
    mixed = mixed_kinds(values)
    if mixed:
        raise UserError(
            f"Column '{cfg.label_column}' of the {describe_split(cfg, split)} mixes {mixed}. "
            f"Write every label the same way: all as strings, or all as integer class ids."
        )


def check_not_fractional(values: list[Any], cfg: DataConfig, split: str) -> None:
    # Integer-valued floats (1.0, 2.0: an int column with a gap, as CSV reads it; 1.0..5.0 star
    # ratings) stay classes: whole numbers are what class ids look like, and a classifier of
    # ratings is a sound choice. Only a fraction (0.5, 3.7) proves the column is a measurement.
    fractions = sorted(
        {v for v in values if isinstance(v, float) and math.isfinite(v) and not v.is_integer()}
    )
    if not fractions:
        return
    shown = " and ".join(f"{v:g}" for v in fractions[:2])
    raise UserError(
        f"Column '{cfg.label_column}' of the {describe_split(cfg, split)} holds numbers "
        f"like {shown} ({len(fractions)} distinct non-integer values): that is a "
        f"regression target, and a classification task needs class labels. To predict "
        f"the number, set task: text-regression (image-regression for images); else give "
        f"one class name or integer class id per row, or point data.label_column at the "
        f"column of classes."
    )


def check_class_ids(ids: pa.ChunkedArray, cfg: DataConfig, split: str) -> None:
    """ClassLabel -1 (or null) means "no label": Hub sets keep it in unlabelled test splits."""
    missing = ids.null_count + (pc.sum(pc.less(ids, 0)).as_py() or 0)
    if not missing:
        return
    where = describe_split(cfg, split)
    counted = f"{missing:,} of {len(ids):,} rows"
    if split == "train":
        raise UserError(
            f"Column '{cfg.label_column}' of the {where} has no label (-1) in {counted}; "
            f"ftk cannot train on unlabelled rows. Drop those rows (e.g. "
            f"dataset.filter(lambda row: row['{cfg.label_column}'] != -1)), or train on a "
            f"split that has labels."
        )
    has = "no labels" if missing == len(ids) else "rows without a label"
    raise UserError(
        f"The {where} has {has}: column '{cfg.label_column}' holds -1 (no label) in "
        f"{counted}, as in GLUE test sets, so it cannot score the model. "
        f"{unlabelled_split_fix(cfg, split)}"
    )


def unlabelled_split_fix(cfg: DataConfig, split: str) -> str:
    key = f"data.{split}_file" if cfg.train_file else f"data.{split}_split"
    if split == "test":
        return (
            f"Leave it out with --{key} null, and hold out a test split from train "
            f"with data.test_size instead (e.g. --data.test_size 0.1)."
        )
    return (
        f"Leave it out with --{key} null; validation is then held out from train "
        f"(data.validation_size)."
    )


def label_name(value: Any) -> str:
    """The class name of a raw label; 1.0 (an int column with a gap) names class '1'; spaces
    around a label are dropped ('sport ' is 'sport', as typed by hand in a spreadsheet)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def train_label_names(train: datasets.Dataset, cfg: DataConfig) -> list[str]:
    feature = train.features[cfg.label_column]
    if isinstance(feature, datasets.ClassLabel):
        names = list(feature.names)
        present = pc.unique(column_chunks(train, cfg.label_column)).to_pylist()
        if len(present) < 2:
            raise_too_few_classes(cfg, [names[i] for i in present])
        return names
    counts = label_counts(train, cfg.label_column)
    if any(is_missing(v) for v in counts):
        values = column_values(train, cfg.label_column)  # to name the rows
        missing = [i for i, v in enumerate(values) if is_missing(v)]
        rows = ", ".join(str(i + 1) for i in missing[:10])
        raise UserError(
            f"Column '{cfg.label_column}' of the {describe_split(cfg, 'train')} has "
            f"empty labels in rows {rows}{' ...' if len(missing) > 10 else ''}; fill "
            f"or drop those rows."
        )
    names = list(dict.fromkeys(label_name(v) for v in sorted(counts)))
    say_stripped_labels(counts, cfg, "train")
    if len(names) < 2:
        raise_too_few_classes(cfg, names)
    return names


def label_counts(dataset: datasets.Dataset, column: str) -> dict[Any, int]:
    """Rows per distinct raw label, in the order each first occurs (Arrow's value_counts)."""
    counted = pc.value_counts(column_chunks(dataset, column))
    values, counts = counted.field("values").to_pylist(), counted.field("counts").to_pylist()
    return dict(zip(values, counts, strict=True))


def say_stripped_labels(counts: dict[Any, int], cfg: DataConfig, split: str) -> None:
    """`counts`: rows per distinct raw label (label_counts)."""
    padded = [v for v in counts if isinstance(v, str) and v != v.strip()]
    if not padded:
        return
    rows = sum(counts[v] for v in padded)
    if cfg.train_dir:  # a class folder's name is the label: its images join the plain name
        names = ", ".join(repr(name) for name in sorted(set(padded))[:10])
        say(
            f"Class folder(s) {names} of the {describe_split(cfg, split)} have spaces around "
            f"their names; their {rows} image(s) are read as the class without the "
            f"spaces, together with any folder of that name."
        )
        return
    say(
        f"{rows} label(s) in column '{cfg.label_column}' of the "
        f"{describe_split(cfg, split)} have spaces around them (e.g. {padded[0]!r}); read "
        f"without the spaces, as the same class."
    )


def class_counts(labels: list[int], label_names: list[str]) -> dict[str, int]:
    """Examples per class name, from class ids (every class, even one never seen)."""
    counts = Counter(labels)
    return {name: counts.get(i, 0) for i, name in enumerate(label_names)}


def is_missing(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or (isinstance(value, str) and not value.strip())


def raise_too_few_classes(cfg: DataConfig, names: list[str]) -> None:
    raise UserError(
        f"Column '{cfg.label_column}' of the {describe_split(cfg, 'train')} holds "
        f"{len(names)} class{'es' if len(names) != 1 else ''} ({', '.join(names)}); "
        f"classification needs at least two. Check data.label_column."
    )


def encode_labels(
    dataset: datasets.Dataset, cfg: DataConfig, names: list[str], split: str
) -> datasets.Dataset:
    """Labels -> ClassLabel ids over the training names; unseen labels are an error. Each
    distinct label is named once, and Arrow maps the rows to them (a million rows in well
    under a second, where a Python list per row took seconds and its fingerprint more)."""
    column = cfg.label_column
    feature = dataset.features[column]
    if isinstance(feature, datasets.ClassLabel) and list(feature.names) == names:
        return dataset
    stored = column_chunks(dataset, column)
    distinct = pc.unique(stored)
    if isinstance(feature, datasets.ClassLabel):
        found = [feature.names[i] for i in distinct.to_pylist()]
    else:
        found = ["" if v is None else label_name(v) for v in distinct.to_pylist()]
    refuse_unseen(found, names, "label", cfg, split, column)
    index = {name: i for i, name in enumerate(names)}
    id_of_distinct = np.array([index[name] for name in found], dtype=np.int64)
    ids = id_of_distinct[pc.index_in(stored, value_set=distinct).to_numpy()]
    order = list(dataset.column_names)
    encoded = dataset.remove_columns(column).add_column(
        column, ids, feature=datasets.ClassLabel(names=names)
    )
    return encoded.select_columns(order)


def refuse_unknown(found: Iterable[str], names: list[str], what: str, where: str, why: str) -> None:
    """Names in `found` that `names` lacks are an error: "`where` has `what`(s) 'x', 'y'
    `why`"."""
    unknown = sorted(set(found) - set(names))
    if unknown:
        raise UserError(f"{where} has {what}(s) {', '.join(map(repr, unknown[:10]))} {why}")


def refuse_unseen(
    found: Iterable[str], names: list[str], what: str, cfg: DataConfig, split: str, column: str
) -> None:
    """A validation/test split's labels (or tags) that the training split never holds."""
    refuse_unknown(
        found,
        names,
        what,
        f"The {describe_split(cfg, split)}",
        f"in column '{column}' that never occur in the training data (known: "
        f"{', '.join(names)}); the model cannot learn them. Fix the {what}s or add such "
        f"examples to the training data.",
    )


def refuse_unknown_to_model(found: Iterable[str], names: list[str], what: str, where: str) -> None:
    """New data's labels (or tags) that the finished model never learnt."""
    refuse_unknown(
        found,
        names,
        what,
        where,
        f"the model does not know (it predicts: {', '.join(names)}). Map them onto the "
        f"model's {what}s or drop those rows.",
    )
