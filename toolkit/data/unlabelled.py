"""Inputs without labels, for pre-training: any supported source -> train / validation splits.

Labels are never used. When the source has labels, the hold-out is made exactly as
`data.load.load_data` makes it for fine-tuning (same stratified split, same seed), so
pre-training on "the training split" sees none of the test inputs the fine-tuned model is later
scored on. The test split's inputs join pre-training only when `data.pretrain_include_test`
says so.
"""

from __future__ import annotations

import datasets

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.load import check_text_not_nested, drop_empty_texts, load_data
from toolkit.data.sources import check_columns, describe_split, load_source
from toolkit.data.splits import cap_sizes, make_splits
from toolkit.data.text_columns import check_text_type


def load_unlabelled(cfg: DataConfig, column: str, key: str, seed: int) -> datasets.DatasetDict:
    """train / validation holding only `column` (the text or image input named by `key`)."""
    raw = load_source(cfg, reads_images=column == cfg.image_column)
    for split, dataset in raw.items():
        require_column(dataset, column, key, describe_split(cfg, split))
    if all(cfg.label_column in ds.column_names for ds in raw.values()):
        splits = load_data(cfg, [column], seed).splits  # the fine-tuning hold-out, to the row
    else:
        if column != cfg.image_column:  # the text checks load_data makes for labelled data
            for split, dataset in raw.items():
                check_text_not_nested(dataset, column, cfg, split)
                check_text_type(dataset, column, key, describe_split(cfg, split))
                raw[split] = drop_empty_texts(dataset, [column], cfg, split)
        splits = cap_sizes(make_splits(raw, cfg, seed, stratify_by=None), cfg)
    if cfg.pretrain_include_test and "test" in splits:
        splits["train"] = datasets.concatenate_datasets(
            [splits["train"].select_columns([column]), splits["test"].select_columns([column])]
        )
    kept = {split: splits[split].select_columns([column]) for split in ("train", "validation")}
    return datasets.DatasetDict(kept)


def require_column(dataset: datasets.Dataset, column: str, key: str, where: str) -> None:
    if column not in dataset.column_names:
        raise UserError(
            f"The {where} has no column '{column}' to pre-train on; its columns are "
            f"{', '.join(dataset.column_names)}. Set {key} to the column that holds "
            f"the inputs."
        )
    check_columns(dataset, [column], where)
