"""Inputs without labels, for pre-training: any supported source -> train / validation splits.

Labels are never used. When the source has labels, the hold-out is made exactly as
`data.load_data` makes it for fine-tuning (same stratified split, same seed), so pre-training on
"the training split" sees none of the test inputs the fine-tuned model is later scored on. The
test split's inputs join pre-training only when `data.pretrain_include_test` says so.
"""

from __future__ import annotations

import datasets

from toolkit.config.schema import DataConfig
from toolkit.data.splits import cap_sizes
from toolkit.data.sources import check_columns, describe_split, load_source
from toolkit.data.load import load_data
from toolkit.core.errors import UserError


def load_unlabelled(cfg: DataConfig, column: str, key: str, seed: int) -> datasets.DatasetDict:
    """train / validation holding only `column` (the text or image input named by `key`)."""
    raw = load_source(cfg)
    for split, dataset in raw.items():
        require_column(dataset, column, key, describe_split(cfg, split))
    if all(cfg.label_column in ds.column_names for ds in raw.values()):
        splits = load_data(cfg, [column], seed).splits  # the fine-tuning hold-out, to the row
    else:
        splits = split_without_labels(raw, cfg, seed)
    if cfg.pretrain_include_test and "test" in splits:
        splits["train"] = datasets.concatenate_datasets(
            [splits["train"].select_columns([column]), splits["test"].select_columns([column])])
    kept = {split: splits[split].select_columns([column]) for split in ("train", "validation")}
    return datasets.DatasetDict(kept)


def require_column(dataset: datasets.Dataset, column: str, key: str, where: str) -> None:
    if column not in dataset.column_names:
        raise UserError(f"The {where} has no column '{column}' to pre-train on; its columns are "
                        f"{', '.join(dataset.column_names)}. Set {key} to the column that holds "
                        f"the inputs.")
    check_columns(dataset, [column], where)


def split_without_labels(raw: dict[str, datasets.Dataset], cfg: DataConfig,
                         seed: int) -> datasets.DatasetDict:
    """Seeded random hold-outs (nothing to stratify by), in the order load_data uses."""
    train = raw["train"]
    out = {}
    if "test" in raw:
        out["test"] = raw["test"]
    elif cfg.test_size:
        parts = train.train_test_split(test_size=cfg.test_size, seed=seed)
        train, out["test"] = parts["train"], parts["test"]
    if "validation" in raw:
        out["validation"] = raw["validation"]
    else:
        parts = train.train_test_split(test_size=cfg.validation_size, seed=seed)
        train, out["validation"] = parts["train"], parts["test"]
    out["train"] = train
    return cap_sizes(datasets.DatasetDict(out), cfg)
