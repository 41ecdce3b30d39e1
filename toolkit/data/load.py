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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.data.images import check_image_column, resolve_image_paths
from toolkit.data.labels import check_labels, encode_labels, train_label_names
from toolkit.data.sources import check_columns, describe_split, load_source
from toolkit.data.splits import cap_sizes, make_splits


@dataclass
class LoadedData:
    splits: datasets.DatasetDict  # train, validation and (when there is one) test
    label_names: list[str]
    label_column: str
    report: dict[str, Any] = field(default_factory=dict)  # facts for metrics.json (skipped images)

    def describe(self) -> str:
        """One console line: split sizes and the classes."""
        sizes = ", ".join(f"{split} {len(ds):,}" for split, ds in self.splits.items())
        return (
            f"Data: {sizes} examples; {len(self.label_names)} classes: "
            f"{', '.join(self.label_names)}"
        )


def load_data(cfg: DataConfig, columns: list[str], seed: int) -> LoadedData:
    """Load, check `columns` exist, encode labels, split what is missing, cap sizes."""
    raw = load_source(cfg)
    for split, dataset in raw.items():
        check_columns(dataset, [*columns, cfg.label_column], describe_split(cfg, split))
        if len(dataset) == 0:
            raise UserError(
                f"The {describe_split(cfg, split)} holds no rows; give a file with data in it."
            )
        check_labels(dataset, cfg, split)  # before images are decoded: it costs nothing
    report = prepare_images(raw, cfg) if cfg.image_column in columns else {}
    label_names = train_label_names(raw["train"], cfg)
    raw = datasets.DatasetDict(
        {split: encode_labels(ds, cfg, label_names, split) for split, ds in raw.items()}
    )
    splits = make_splits(raw, cfg, seed, stratify_by=cfg.label_column)
    splits = cap_sizes(splits, cfg)
    return LoadedData(
        splits=splits, label_names=label_names, label_column=cfg.label_column, report=report
    )


def prepare_images(raw: dict[str, datasets.Dataset], cfg: DataConfig) -> dict[str, Any]:
    """Listed paths -> Image columns; decode each image once (the packaged set is trusted)."""
    skipped = 0
    for split, dataset in raw.items():
        raw[split] = image_split(dataset, cfg, split)
        if not cfg.builtin:
            raw[split], bad = readable_rows(raw[split], cfg, split)
            skipped += bad
    return {"skipped_images": skipped}


def image_split(dataset: datasets.Dataset, cfg: DataConfig, split: str) -> datasets.Dataset:
    """The split with `data.image_column` as an Image column (listed paths resolved)."""
    column, where = cfg.image_column, describe_split(cfg, split)
    if cfg.train_file:
        base = Path(getattr(cfg, f"{split}_file")).parent
        dataset = resolve_image_paths(dataset, column, base, where)
    if not isinstance(dataset.features[column], datasets.Image):
        raise UserError(
            f"Column '{column}' of the {where} holds "
            f"{dataset.features[column]}, not images; point data.image_column "
            f"at the image column."
        )
    return dataset


def readable_rows(
    dataset: datasets.Dataset, cfg: DataConfig, split: str
) -> tuple[datasets.Dataset, int]:
    """The rows whose image decodes (data.bad_images: skip) and how many were dropped."""
    where = describe_split(cfg, split)
    kept, bad = check_image_column(dataset, cfg.image_column, cfg.bad_images, where)
    if bad:
        say(
            f"Skipped {len(bad)} unreadable image(s) in the {where} "
            f"(data.bad_images: skip): {', '.join(bad[:10])}"
            f"{' ...' if len(bad) > 10 else ''}"
        )
    if bad and split == "train":
        check_no_class_lost(dataset, kept, cfg)
    return kept, len(bad)


def check_no_class_lost(before: datasets.Dataset, after: datasets.Dataset, cfg: DataConfig) -> None:
    """A class whose every image was skipped would silently leave the model (one class fewer)."""
    lost = sorted(set(class_names(before, cfg)) - set(class_names(after, cfg)))
    if not lost:
        return
    if cfg.train_dir:
        named = ", ".join(f"class folder '{Path(cfg.train_dir) / name}'" for name in lost)
    else:
        named = f"class(es) {', '.join(map(repr, lost))} of column '{cfg.label_column}'"
    raise UserError(
        f"With data.bad_images: skip, {named} of the {describe_split(cfg, 'train')} has "
        f"no readable image left, so the model would never see that class. Replace the "
        f"broken images or add readable ones; remove the class from the data if it is "
        f"not wanted."
    )


def class_names(dataset: datasets.Dataset, cfg: DataConfig) -> list[str]:
    """The label of every row as a class name (ClassLabel ids named; missing labels left out)."""
    feature = dataset.features[cfg.label_column]
    named = feature.int2str if isinstance(feature, datasets.ClassLabel) else str
    return [named(v) for v in dataset[cfg.label_column] if v is not None]
