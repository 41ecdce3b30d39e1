"""Hold-outs: validation (and test) carved from the training split when the source lacks them.

One splitter serves labelled data (stratified by the label, so every class keeps its share; a
class too small to share stays whole in training) and unlabelled data (plain seeded split), in
the same order: test first, then validation, so a pre-training run on "the training split"
holds out the very rows fine-tuning later scores on.

Training always keeps at least one row (classification: one of each class), and a hold-out is
never empty: when no row can be held out (a single row; every class a single example) the run
stops before the model loads, naming the file and what to give instead, since an empty
validation split would only fail at the first evaluation.

Class sizes and row choices are computed on the label column's ids read from Arrow into one
numpy array: time O(n log n) and memory O(n) integers in the rows n, never a Python object per
row.
"""

from __future__ import annotations

import math

import datasets
import numpy as np
from datasets.utils.stratify import stratified_shuffle_split_generate_indices

from toolkit.config.schema import DataConfig
from toolkit.core.columns import column_array
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.data.sources import SPLITS, describe_split

CLASSES_SHOWN = 10  # class sizes listed in a message before "... and N more"


class NothingToHoldOut(Exception):
    """No row of the training split can be held out; the message says why (make_splits adds
    the file and what to give instead)."""


def make_splits(
    raw: dict[str, datasets.Dataset], cfg: DataConfig, seed: int, stratify_by: str | None
) -> datasets.DatasetDict:
    """Hold out test (when asked and absent) then validation (when absent); stratified by the
    column `stratify_by` when given (labelled data), else a plain seeded split."""
    train = raw["train"]
    out = {}
    kept_in_train: set[int] = set()  # classes too small to hold out (stratified splits only)
    if "test" in raw:
        out["test"] = raw["test"]
    elif cfg.test_size:
        train, out["test"] = carve(
            train, cfg, "test", cfg.test_size, seed, stratify_by, kept_in_train
        )
    if "validation" in raw:
        out["validation"] = raw["validation"]
    else:
        train, out["validation"] = carve(
            train, cfg, "validation", cfg.validation_size, seed, stratify_by, kept_in_train
        )
    out["train"] = train
    if kept_in_train and stratify_by is not None:  # only stratified splits keep classes back
        say_kept_in_train(train, stratify_by, kept_in_train)
    return datasets.DatasetDict({s: out[s] for s in SPLITS if s in out})


def carve(
    train: datasets.Dataset,
    cfg: DataConfig,
    split: str,
    fraction: float,
    seed: int,
    stratify_by: str | None,
    kept_in_train: set[int],
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """(training rows left, `fraction` of them held out as `split`), or a UserError saying why
    no row can be."""
    try:
        parts = hold_out(train, fraction, stratify_by, seed, kept_in_train, split)
    except NothingToHoldOut as why:
        raise UserError(nothing_to_hold_out(cfg, split, str(why))) from None
    return parts["train"], parts["test"]


def nothing_to_hold_out(cfg: DataConfig, split: str, why: str) -> str:
    source = describe_split(cfg, "train")
    fix = f"give the {split} examples in {own_split_key(cfg, split)}"
    if split == "test":
        fix += ", or leave data.test_size out (no test split)"
    elif cfg.test_size:  # the test split was carved first and took what validation lacks
        source += f" after data.test_size ({cfg.test_size}) held out the test split"
        fix += ", or lower data.test_size"
    return f"No {split} split can be held out of the {source}: {why}. Add examples, or {fix}."


def own_split_key(cfg: DataConfig, split: str) -> str:
    """The key that gives `split` its own data, for the source the config reads."""
    if cfg.train_dir:
        return f"data.{split}_dir"
    if cfg.hub_id:
        return f"data.{split}_split"
    return f"data.{split}_file"


def hold_out(
    dataset: datasets.Dataset,
    fraction: float,
    stratify_by: str | None,
    seed: int,
    kept_in_train: set[int],
    held_out: str,
) -> datasets.DatasetDict:
    """`fraction` of `dataset` as "test", the rest as "train". Stratified by `stratify_by`:
    every class keeps its share, except a class with a single example, which stays in "train"
    (the model must see it to ever predict it); its id is added to `kept_in_train`.
    NothingToHoldOut when no row can go."""
    if stratify_by is None:
        return plain_hold_out(dataset, fraction, seed)
    sizes = class_sizes(dataset, stratify_by)
    single = {label for label, n in sizes.items() if n < 2}
    if len(single) == len(sizes):
        names = dataset.features[stratify_by].names
        raise NothingToHoldOut(
            f"each of the {len(sizes):,} classes left to train on has a single example "
            f"({listed_sizes(sizes, names)}), and a class's only example stays in training, "
            f"where the model learns it; a class can lend one to the {held_out} split once "
            f"it has 2"
        )
    rest = dataset.select(rows_of(dataset, stratify_by, single, False)) if single else dataset
    try:
        parts = stratified_split(rest, fraction, seed, stratify_by)
    except ValueError as too_small:
        # e.g. fewer rows to hold out than there are classes
        say(
            f"The {held_out} split is held out at random, not stratified by class "
            f"({too_small}); with so few examples per class its class shares will differ "
            f"from training's (each class keeps at least one training example)."
        )
        parts = random_keeping_each_class(rest, fraction, stratify_by, seed)
    if single:
        kept = dataset.select(rows_of(dataset, stratify_by, single, True))
        parts["train"] = datasets.concatenate_datasets([parts["train"], kept])
        kept_in_train.update(single)
    return parts


def stratified_split(
    dataset: datasets.Dataset, fraction: float, seed: int, column: str
) -> datasets.DatasetDict:
    """`dataset.train_test_split(test_size=fraction, seed=seed, stratify_by_column=column)`,
    row for row (the same sizes, draw and ValueErrors), with the class ids read by Arrow in one
    pass: datasets 5 reads them one formatted row at a time, 35 s per 100,000 rows."""
    n = len(dataset)
    if not 0 < fraction < 1:
        raise ValueError(f"test_size={fraction} should be a float in the (0, 1) range")
    n_test = math.ceil(fraction * n)
    if n - n_test <= 0:
        raise ValueError(f"With n_samples={n} and test_size={fraction}, the train set is empty")
    draws = stratified_shuffle_split_generate_indices(
        column_array(dataset, column), n - n_test, n_test, rng=np.random.default_rng(seed)
    )
    try:
        train, test = next(draws)
    except ValueError as error:  # datasets words the too-small class its own way
        if str(error) == "Minimum class count error":
            raise ValueError(
                f"The least populated class in {column} column has only 1 member"
            ) from None
        raise
    return datasets.DatasetDict(train=dataset.select(train), test=dataset.select(test))


def plain_hold_out(dataset: datasets.Dataset, fraction: float, seed: int) -> datasets.DatasetDict:
    """A seeded random hold-out that leaves training at least one row."""
    if len(dataset) < 2:
        raise NothingToHoldOut(
            f"it has {len(dataset)} row, which training needs; holding one out takes 2"
        )
    # datasets takes ceil(fraction * n) rows; an int of the same count draws the same rows
    count = min(math.ceil(fraction * len(dataset)), len(dataset) - 1)
    return dataset.train_test_split(test_size=count, seed=seed)


def random_keeping_each_class(
    dataset: datasets.Dataset, fraction: float, column: str, seed: int
) -> datasets.DatasetDict:
    """ceil(fraction * n) rows held out at random, never a class's last one: a plain random
    split can take every example of a small class, which the model then never trains on while
    validation still counts it."""
    ids = column_array(dataset, column)
    order = np.random.default_rng(seed).permutation(len(ids))
    _, first = np.unique(ids[order], return_index=True)  # one row of each class stays
    pool = np.delete(order, first)
    count = min(math.ceil(fraction * len(ids)), len(pool))
    held = pool[:count]
    # both parts in the permutation's order, as datasets' train_test_split leaves them: the
    # first rows of a split are not one class (`ftk augment` previews the first rows)
    train = order[~np.isin(order, held)]
    return datasets.DatasetDict(train=dataset.select(train), test=dataset.select(held))


def sample_rows(
    dataset: datasets.Dataset, size: int, seed: int, stratify_by: str | None = None
) -> datasets.Dataset:
    """At most `size` rows of `dataset`, drawn with `seed`, in their original order: by the
    class column `stratify_by` each class keeps its share (rounded by largest remainder), else
    at random. Time and memory grow with the rows as one int array, never Python objects."""
    n = len(dataset)
    if n <= size:
        return dataset
    rng = np.random.default_rng(seed)
    if stratify_by is None:
        return dataset.select(np.sort(rng.choice(n, size, replace=False)))
    _, classes, counts = np.unique(
        column_array(dataset, stratify_by), return_inverse=True, return_counts=True
    )
    quota = counts * size / n
    take = np.floor(quota).astype(int)
    take[np.argsort(take - quota, kind="stable")[: size - take.sum()]] += 1
    order = rng.permutation(n)  # rows in random order; each class's first `take` are kept
    in_class = classes[order]
    grouped = np.argsort(in_class, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[grouped] = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    return dataset.select(np.sort(order[rank < take[in_class]]))


def class_sizes(dataset: datasets.Dataset, column: str) -> dict[int, int]:
    """Rows per class id."""
    ids, counts = np.unique(column_array(dataset, column), return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


def rows_of(dataset: datasets.Dataset, column: str, ids: set[int], inside: bool) -> np.ndarray:
    """The row numbers whose class is in `ids` (`inside`) or is not."""
    found = np.isin(column_array(dataset, column), sorted(ids))
    return np.flatnonzero(found == inside)


def listed_sizes(sizes: dict[int, int], names: list[str]) -> str:
    shown = ", ".join(f"'{names[i]}' {n:,}" for i, n in sorted(sizes.items())[:CLASSES_SHOWN])
    more = len(sizes) - CLASSES_SHOWN
    return shown + (f" ... and {more:,} more" if more > 0 else "")


def say_kept_in_train(train: datasets.Dataset, label_column: str, ids: set[int]) -> None:
    names = train.features[label_column].names
    counts = class_sizes(train, label_column)
    listed = ", ".join(f"'{names[i]}' ({counts[i]})" for i in sorted(ids))
    say(
        f"Classes too small to hold out, kept whole in the training split (examples): "
        f"{listed}. Validation and test have none of them, so no score there tells how well "
        f"the model learned them; add examples, or give data.validation_file / data.test_file."
    )


def cap_sizes(splits: datasets.DatasetDict, cfg: DataConfig) -> datasets.DatasetDict:
    caps = {
        "train": cfg.max_train_samples,
        "validation": cfg.max_eval_samples,
        "test": cfg.max_eval_samples,
    }
    return datasets.DatasetDict(
        {
            split: ds.select(range(min(len(ds), cap))) if (cap := caps[split]) else ds
            for split, ds in splits.items()
        }
    )
