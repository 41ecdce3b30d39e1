"""Labels spelt two ways: training class names that differ only in letter case or in the spaces
inside them ('Sport' and 'sport', 'sci fi' and 'sci  fi') are trained as separate classes,
which is rarely what the data means and never visible in the scores. They stay separate (two
spellings can be two classes), with a warning naming each spelling and its rows.

Spaces around a label are not a variant: `labels.label_name` and `label_sets.parse_label_set`
read them off ('sport ' is 'sport'), since a spreadsheet cell, a ", " separator or a folder name
typed with a trailing space carries no meaning in them; single-label data says so
(`labels.say_stripped_labels`).

The names are compared once (O(classes)); only when two collide are the rows counted, from
the label column's Arrow data as numpy (O(rows x labels) time, one array).
"""

from __future__ import annotations

import datasets
import numpy as np

from toolkit.config.schema import DataConfig
from toolkit.core.log import warn
from toolkit.data.sources import describe_split

GROUPS_SHOWN = 10  # groups of spellings listed before "... and N more"


def spelling(name: str) -> str:
    """What two spellings of one label share: lower case, single spaces."""
    return " ".join(name.split()).casefold()


def variant_groups(names: list[str]) -> list[list[str]]:
    """The names that share a spelling with another, in groups (each in `names` order)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(spelling(name), []).append(name)
    return [group for group in groups.values() if len(group) > 1]


def warn_label_variants(train: datasets.Dataset, cfg: DataConfig, names: list[str]) -> None:
    """Warn about training labels spelt two ways, with the rows of each (`train`: the training
    file before any hold-out, its label column encoded as ClassLabel ids or multi-hot vectors
    over `names`)."""
    groups = variant_groups(names)
    if not groups:
        return
    counts = examples_per_label(train, cfg.label_column, names)
    listed = "; ".join(
        " and ".join(f"'{name}' ({counts[name]:,})" for name in group)
        for group in groups[:GROUPS_SHOWN]
    )
    more = f" ... and {len(groups) - GROUPS_SHOWN:,} more" if len(groups) > GROUPS_SHOWN else ""
    fix = (
        "move each group's images into one class folder"
        if cfg.train_dir
        else f"write each such label one way in every row of column '{cfg.label_column}'"
    )
    warn(
        f"Labels of the {describe_split(cfg, 'train')} differ only in letter case or spacing "
        f"(rows each): {listed}{more}. They are trained as separate classes; if they "
        f"name one class, {fix}, then train again."
    )


def examples_per_label(train: datasets.Dataset, column: str, names: list[str]) -> dict[str, int]:
    """Training rows carrying each label: class ids counted, or multi-hot vectors summed."""
    values = train.with_format("arrow")[column].combine_chunks()
    if isinstance(train.features[column], datasets.ClassLabel):
        totals = np.bincount(values.to_numpy(), minlength=len(names))
    else:  # fixed-length float vectors, one slot per name
        totals = values.flatten().to_numpy().reshape(-1, len(names)).sum(axis=0)
    return {name: int(total) for name, total in zip(names, totals, strict=True)}
