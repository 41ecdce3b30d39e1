"""Hold-outs: validation (and test) carved from the training split when the source lacks them.

One splitter serves labelled data (stratified by the label, so every class keeps its share)
and unlabelled data (plain seeded split), in the same order: test first, then validation, so a
pre-training run on "the training split" holds out the very rows fine-tuning later scores on.
"""

from __future__ import annotations

import datasets

from toolkit.config.schema import DataConfig
from toolkit.data.sources import SPLITS


def make_splits(
    raw: dict[str, datasets.Dataset], cfg: DataConfig, seed: int, stratify_by: str | None
) -> datasets.DatasetDict:
    """Hold out test (when asked and absent) then validation (when absent); stratified by the
    column `stratify_by` when given (labelled data), else a plain seeded split."""
    train = raw["train"]
    out = {}
    if "test" in raw:
        out["test"] = raw["test"]
    elif cfg.test_size:
        parts = hold_out(train, cfg.test_size, stratify_by, seed)
        train, out["test"] = parts["train"], parts["test"]
    if "validation" in raw:
        out["validation"] = raw["validation"]
    else:
        parts = hold_out(train, cfg.validation_size, stratify_by, seed)
        train, out["validation"] = parts["train"], parts["test"]
    out["train"] = train
    return datasets.DatasetDict({s: out[s] for s in SPLITS if s in out})


def hold_out(
    dataset: datasets.Dataset, fraction: float, stratify_by: str | None, seed: int
) -> datasets.DatasetDict:
    """`fraction` of `dataset` as "test", the rest as "train"."""
    if stratify_by is None:
        return dataset.train_test_split(test_size=fraction, seed=seed)
    try:
        return dataset.train_test_split(
            test_size=fraction, seed=seed, stratify_by_column=stratify_by
        )
    except ValueError:
        # Too few examples of some class to stratify: a plain seeded split still works.
        return dataset.train_test_split(test_size=fraction, seed=seed)


def cap_sizes(splits: datasets.DatasetDict, cfg: DataConfig) -> datasets.DatasetDict:
    caps = {
        "train": cfg.max_train_samples,
        "validation": cfg.max_eval_samples,
        "test": cfg.max_eval_samples,
    }
    return datasets.DatasetDict(
        {
            split: ds.select(range(min(len(ds), caps[split]))) if caps[split] else ds
            for split, ds in splits.items()
        }
    )
