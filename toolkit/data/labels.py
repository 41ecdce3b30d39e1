"""Labels become a `ClassLabel` whose names come from the training split; a validation or test
label never seen in training is an error, not a silently wrong metric.
"""

from __future__ import annotations

import datasets

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.sources import describe_split


def train_label_names(train: datasets.Dataset, cfg: DataConfig) -> list[str]:
    feature = train.features[cfg.label_column]
    if isinstance(feature, datasets.ClassLabel):
        names = list(feature.names)
        present = set(train[cfg.label_column])
        if len(present) < 2:
            raise_too_few_classes(cfg, [names[i] for i in present])
        return names
    values = train[cfg.label_column]
    missing = [
        i for i, v in enumerate(values) if v is None or (isinstance(v, str) and not v.strip())
    ]
    if missing:
        rows = ", ".join(str(i + 1) for i in missing[:10])
        raise UserError(
            f"Column '{cfg.label_column}' of the {describe_split(cfg, 'train')} has "
            f"empty labels in rows {rows}{' ...' if len(missing) > 10 else ''}; fill "
            f"or drop those rows."
        )
    names = [str(v) for v in sorted(set(values))]
    if len(names) < 2:
        raise_too_few_classes(cfg, names)
    return names


def raise_too_few_classes(cfg: DataConfig, names: list[str]) -> None:
    raise UserError(
        f"Column '{cfg.label_column}' of the {describe_split(cfg, 'train')} holds "
        f"{len(names)} class{'es' if len(names) != 1 else ''} ({', '.join(names)}); "
        f"classification needs at least two. Check data.label_column."
    )


def encode_labels(
    dataset: datasets.Dataset, cfg: DataConfig, names: list[str], split: str
) -> datasets.Dataset:
    """Labels -> ClassLabel ids over the training names; unseen labels are an error."""
    column = cfg.label_column
    feature = dataset.features[column]
    if isinstance(feature, datasets.ClassLabel) and list(feature.names) == names:
        return dataset
    if isinstance(feature, datasets.ClassLabel):
        values = [feature.names[i] for i in dataset[column]]
    else:
        values = ["" if v is None else str(v) for v in dataset[column]]
    index = {name: i for i, name in enumerate(names)}
    unseen = sorted(set(values) - set(index))
    if unseen:
        raise UserError(
            f"The {describe_split(cfg, split)} has label(s) {', '.join(map(repr, unseen[:10]))} "
            f"in column '{column}' that never occur in the training data "
            f"(known: {', '.join(names)}); the model cannot learn them. Fix the "
            f"labels or add such examples to the training data."
        )
    features = dataset.features.copy()
    features[column] = datasets.ClassLabel(names=names)
    ids = [index[v] for v in values]
    return dataset.remove_columns(column).add_column(column, ids).cast(features)
