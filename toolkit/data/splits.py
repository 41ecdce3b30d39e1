"""Data: any supported source -> a DatasetDict with train / validation (/ test) and label names.

Sources, exactly one per config: a packaged demo set (`data.builtin`), a Hub data set
(`data.hub_id`), local files (`data.train_file`, optional `validation_file` / `test_file`), or
image folders with one subfolder per class (`data.train_dir`, optional `validation_dir` /
`test_dir`). When the task reads `data.image_column`, listed paths become images and every image
is decoded once up front (toolkit/images.py), so a corrupt file never stops a run midway.
Labels become a `ClassLabel` whose names come from the training split; a validation or test
label never seen in training is an error, not a silently wrong metric.
"""

from __future__ import annotations

import datasets
from toolkit.config.schema import DataConfig
from toolkit.data.sources import SPLITS


def make_splits(raw: datasets.DatasetDict, cfg: DataConfig, seed: int) -> datasets.DatasetDict:
    """Hold out test (when asked and absent) then validation (when absent), stratified."""
    train = raw["train"]
    out = {}
    if "test" in raw:
        out["test"] = raw["test"]
    elif cfg.test_size:
        parts = stratified_split(train, cfg.test_size, cfg.label_column, seed)
        train, out["test"] = parts["train"], parts["test"]
    if "validation" in raw:
        out["validation"] = raw["validation"]
    else:
        parts = stratified_split(train, cfg.validation_size, cfg.label_column, seed)
        train, out["validation"] = parts["train"], parts["test"]
    out["train"] = train
    return datasets.DatasetDict({s: out[s] for s in SPLITS if s in out})


def stratified_split(dataset: datasets.Dataset, fraction: float, label_column: str,
                     seed: int) -> datasets.DatasetDict:
    try:
        return dataset.train_test_split(test_size=fraction, seed=seed,
                                        stratify_by_column=label_column)
    except ValueError:
        # Too few examples of some class to stratify: a plain seeded split still works.
        return dataset.train_test_split(test_size=fraction, seed=seed)


def cap_sizes(splits: datasets.DatasetDict, cfg: DataConfig) -> datasets.DatasetDict:
    caps = {"train": cfg.max_train_samples, "validation": cfg.max_eval_samples,
            "test": cfg.max_eval_samples}
    return datasets.DatasetDict({
        split: ds.select(range(min(len(ds), caps[split]))) if caps[split] else ds
        for split, ds in splits.items()})
