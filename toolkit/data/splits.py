"""Hold-outs: validation (and test) carved from the training split when the source lacks them.

One splitter serves labelled data (stratified by the label, so every class keeps its share; a
class too small to share stays whole in training) and unlabelled data (plain seeded split), in
the same order: test first, then validation, so a pre-training run on "the training split"
holds out the very rows fine-tuning later scores on.
"""

from __future__ import annotations

from collections import Counter

import datasets

from toolkit.config.schema import DataConfig
from toolkit.core.log import say
from toolkit.data.sources import SPLITS


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
        parts = hold_out(train, cfg.test_size, stratify_by, seed, kept_in_train, "test")
        train, out["test"] = parts["train"], parts["test"]
    if "validation" in raw:
        out["validation"] = raw["validation"]
    else:
        parts = hold_out(train, cfg.validation_size, stratify_by, seed, kept_in_train, "validation")
        train, out["validation"] = parts["train"], parts["test"]
    out["train"] = train
    if kept_in_train and stratify_by is not None:  # only stratified splits keep classes back
        say_kept_in_train(train, stratify_by, kept_in_train)
    return datasets.DatasetDict({s: out[s] for s in SPLITS if s in out})


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
    (the model must see it to ever predict it); its id is added to `kept_in_train`."""
    if stratify_by is None:
        return dataset.train_test_split(test_size=fraction, seed=seed)
    labels = dataset[stratify_by]
    single = {label for label, n in Counter(labels).items() if n < 2}
    rest = dataset
    if single:
        rest = dataset.select([i for i, label in enumerate(labels) if label not in single])
    try:
        parts = rest.train_test_split(test_size=fraction, seed=seed, stratify_by_column=stratify_by)
    except ValueError as too_small:
        # e.g. fewer rows to hold out than there are classes: a plain seeded split still works
        say(
            f"The {held_out} split is held out at random, not stratified by class "
            f"({too_small}); with so few examples per class its class shares will differ "
            f"from training's."
        )
        parts = rest.train_test_split(test_size=fraction, seed=seed)
    if single:
        kept = dataset.select([i for i, label in enumerate(labels) if label in single])
        parts["train"] = datasets.concatenate_datasets([parts["train"], kept])
        kept_in_train.update(single)
    return parts


def say_kept_in_train(train: datasets.Dataset, label_column: str, ids: set[int]) -> None:
    names = train.features[label_column].names
    counts = Counter(train[label_column])
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
