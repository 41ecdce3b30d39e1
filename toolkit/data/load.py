"""Data: any supported source -> a DatasetDict with train / validation (/ test) and label names.

Sources, exactly one per config: a packaged demo set (`data.builtin`), a Hub data set
(`data.hub_id`), local files (`data.train_file`, optional `validation_file` / `test_file`), or
image folders with one subfolder per class (`data.train_dir`, optional `validation_dir` /
`test_dir`). When the task reads `data.image_column`, listed paths become images and every image
is decoded once up front (toolkit/images.py), so a corrupt file never stops a run midway.
Labels become a `ClassLabel` whose names come from the training split; a validation or test
label never seen in training is an error, not a silently wrong metric.
Text inputs must be plain strings (a nested JSON field or a column of numbers is an error,
data/text_columns.py); rows whose text is empty, blank or null are dropped with a warning, or
stop the run (`data.empty_texts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from toolkit.config.schema import DataConfig
from toolkit.config.taxonomy import CLASSES, TagScheme, TargetKind
from toolkit.core.columns import column_values
from toolkit.core.errors import UserError
from toolkit.core.log import say, warn
from toolkit.data.images import check_image_column, resolve_image_paths
from toolkit.data.label_sets import (
    describe_label_sets,
    encode_label_sets,
    label_set_names,
    row_label_sets,
)
from toolkit.data.label_variants import warn_label_variants
from toolkit.data.labels import check_labels, encode_labels, is_missing, train_label_names
from toolkit.data.sources import check_columns, describe_split, load_source
from toolkit.data.splits import cap_sizes, make_splits
from toolkit.data.tag_schemes import describe_scheme
from toolkit.data.targets import as_float_targets, check_targets, target_stats
from toolkit.data.text_columns import check_text_type, refuse_label_as_text


@dataclass
class LoadedData:
    splits: datasets.DatasetDict  # train, validation and (when there is one) test
    label_names: list[str]  # [] for numeric targets (regression)
    label_column: str
    report: dict[str, Any] = field(default_factory=dict)  # facts for metrics.json (skipped images)
    # how the label column is encoded: ClassLabel ids (classes), float32 (numbers), multi-hot
    # float32 vectors over label_names (label sets), a list of tag ids per sentence (tags,
    # data/tagged.py)
    target: TargetKind = CLASSES
    # how the tags read (data/tagged.py): an entity scheme or plain tags; None for other targets
    tag_scheme: TagScheme | None = None

    def describe(self) -> str:
        """One console line: split sizes and the classes (or the targets' spread)."""
        streamed = "streaming" in self.report  # data/streaming.py: train is the head sample
        sizes = ", ".join(
            f"train streamed (first {len(ds):,} read ahead)"
            if streamed and split == "train"
            else f"{split} {len(ds):,}"
            for split, ds in self.splits.items()
        )
        if self.target.numeric:
            s = target_stats(column_values(self.splits["train"], self.label_column))
            return (
                f"Data: {sizes} examples; numeric target '{self.label_column}' (training mean "
                f"{s['mean']:.4g}, std {s['std']:.4g}, range {s['min']:.4g} to {s['max']:.4g})"
            )
        if self.tag_scheme is not None:
            return (
                f"Data: {sizes} sentences; {len(self.label_names)} tags "
                f"({describe_scheme(self.tag_scheme)}): {', '.join(self.label_names)}"
            )
        if self.target.label_sets:
            train = column_values(self.splits["train"], self.label_column)
            return f"Data: {sizes} examples; {describe_label_sets(train, self.label_names)}"
        return (
            f"Data: {sizes} examples; {len(self.label_names)} classes: "
            f"{', '.join(self.label_names)}"
        )


def load_data(
    cfg: DataConfig, columns: list[str], seed: int, target: TargetKind = CLASSES
) -> LoadedData:
    """Load, check `columns` exist, encode labels, split what is missing, cap sizes.
    `target`: classes (labels -> ClassLabel, stratified hold-outs), numbers (finite numbers ->
    float32, plain seeded hold-outs) or label sets (lists of labels -> multi-hot float32, plain
    seeded hold-outs)."""
    raw = checked_splits(
        load_source(cfg, reads_images=cfg.image_column in columns), cfg, columns, target
    )
    report = prepare_images(raw, cfg) if cfg.image_column in columns else {}
    raw, label_names = encode_targets(raw, cfg, target)
    # datasets stratifies by a ClassLabel only: numbers and label sets are held out plainly
    stratify_by = cfg.label_column if target.single_class else None
    splits = cap_sizes(make_splits(raw, cfg, seed, stratify_by=stratify_by), cfg)
    return LoadedData(
        splits=splits,
        label_names=label_names,
        label_column=cfg.label_column,
        report=report,
        target=target,
    )


def checked_splits(
    raw: dict[str, datasets.Dataset], cfg: DataConfig, columns: list[str], target: TargetKind
) -> dict[str, datasets.Dataset]:
    """The raw splits with their columns, texts and label values checked, empty texts dropped
    (data.empty_texts), images not yet decoded."""
    text_columns = [c for c in columns if c != cfg.image_column]
    refuse_label_as_text(
        raw["train"],
        text_columns,
        cfg.label_column,
        text_key(cfg.label_column, cfg),
        describe_split(cfg, "train"),
    )
    for split, dataset in raw.items():
        check_columns(dataset, [*columns, cfg.label_column], describe_split(cfg, split))
        if len(dataset) == 0:
            raise UserError(
                f"The {describe_split(cfg, split)} holds no rows; give a file with data in it."
            )
        for column in text_columns:
            check_text_not_nested(dataset, column, cfg, split)
            check_text_type(dataset, column, text_key(column, cfg), describe_split(cfg, split))
        raw[split] = dataset = drop_empty_texts(dataset, text_columns, cfg, split)
        # before images are decoded: it costs nothing
        check_label_values(target)(dataset, cfg, split)
    return raw


def check_label_sets(dataset: datasets.Dataset, cfg: DataConfig, split: str) -> None:
    row_label_sets(dataset, cfg, split)  # raises on a value that is no label set


def check_label_values(target: TargetKind) -> Callable[[datasets.Dataset, DataConfig, str], None]:
    if target.numeric:
        return check_targets
    return check_label_sets if target.label_sets else check_labels


def encode_targets(
    raw: dict[str, datasets.Dataset],
    cfg: DataConfig,
    target: TargetKind,
    names_from: datasets.Dataset | None = None,
) -> tuple[datasets.DatasetDict, list[str]]:
    """Every split's label column in the form the loss takes, and the label names, read from
    the training split (or `names_from`: a streamed run's rows read ahead)."""
    if target.numeric:
        floats = {split: as_float_targets(ds, cfg) for split, ds in raw.items()}
        return datasets.DatasetDict(floats), []
    named = raw["train"] if names_from is None else names_from
    if target.label_sets:
        names = label_set_names(row_label_sets(named, cfg, "train"), cfg)
        encode = encode_label_sets
    else:
        names = train_label_names(named, cfg)
        encode = encode_labels
    encoded = {split: encode(ds, cfg, names, split) for split, ds in raw.items()}
    warn_label_variants(encoded["train"], cfg, names)
    return datasets.DatasetDict(encoded), names


def check_text_not_nested(
    dataset: datasets.Dataset, column: str, cfg: DataConfig, split: str
) -> None:
    """A text column of dicts or lists (nested JSON) would crash the tokenizer later on."""
    feature = dataset.features[column]
    if isinstance(feature, dict):
        kind = f"nested fields (dicts with keys {', '.join(repr(k) for k in feature)})"
    elif isinstance(feature, (datasets.List, datasets.LargeList, datasets.Sequence)):
        kind = "lists"
    else:
        return
    example = next((v for v in dataset[column][:100] if v is not None), None)
    raise UserError(
        f"Column '{column}' of the {describe_split(cfg, split)} holds {kind}, e.g. "
        f"{str(example)[:80]}, not one text per row. Flatten it into a text column (e.g. "
        f"join the fields into one string), or point {text_key(column, cfg)} at a string "
        f"field."
    )


def text_key(column: str, cfg: DataConfig) -> str:
    if column == cfg.text_pair_column and column != cfg.text_column:
        return "data.text_pair_column"
    return "data.text_column"


def drop_empty_texts(
    dataset: datasets.Dataset, columns: list[str], cfg: DataConfig, split: str
) -> datasets.Dataset:
    """The rows whose every text is non-empty (data.empty_texts: drop), or a UserError."""
    empty = {
        c: [i for i, v in enumerate(column_values(dataset, c)) if is_missing(v)] for c in columns
    }
    empty = {c: rows for c, rows in empty.items() if rows}
    if not empty:
        return dataset
    where = describe_split(cfg, split)
    bad = sorted(set().union(*empty.values()))
    if len(bad) == len(dataset):
        raise UserError(
            f"Every row of the {where} has an empty text in column(s) "
            f"{', '.join(repr(c) for c in empty)}; check that {text_key(next(iter(empty)), cfg)} "
            f"names the column that holds the texts."
        )
    if cfg.empty_texts == "error":
        listed = "; ".join(
            f"column '{c}' in {len(rows):,} row(s): {', '.join(str(i + 1) for i in rows[:10])}"
            f"{' ...' if len(rows) > 10 else ''}"
            for c, rows in empty.items()
        )
        raise UserError(
            f"The {where} has rows with an empty text (empty, blank or null) in {listed} "
            f"(rows counted from 1, the first data row). Fill in or remove those rows, or "
            f"set data.empty_texts: drop to drop them with a warning."
        )
    in_split = where if where.startswith(f"{split} split") else f"{split} split of {where}"
    warn(
        f"Dropped {len(bad):,} of {len(dataset):,} rows with an empty text in column(s) "
        f"{', '.join(repr(c) for c in empty)} in the {in_split} "
        f"(data.empty_texts: drop; set it to error to stop instead)."
    )
    keep = sorted(set(range(len(dataset))) - set(bad))
    return dataset.select(keep)


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
    if bad and len(kept) == 0:  # an empty split would fail at the first evaluation (or test)
        raise UserError(
            f"With data.bad_images: skip, no image of the {where} is readable ({len(bad)} "
            f"skipped), so the split holds no example. Replace the broken images, or give "
            f"the {split} split other images."
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
    return [named(v) for v in column_values(dataset, cfg.label_column) if v is not None]
