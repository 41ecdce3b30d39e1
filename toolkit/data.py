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

from toolkit.builtin import load_builtin_dataset
from toolkit.config import DataConfig
from toolkit.errors import UserError
from toolkit.images import check_images, load_image_folder, resolve_image_paths
from toolkit.log import say

FILE_BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json",
                 ".parquet": "parquet"}
SPLITS = ("train", "validation", "test")


@dataclass
class LoadedData:
    splits: datasets.DatasetDict  # train, validation and (when there is one) test
    label_names: list[str]
    label_column: str
    report: dict[str, Any] = field(default_factory=dict)  # facts for metrics.json (skipped images)


def load_data(cfg: DataConfig, columns: list[str], seed: int) -> LoadedData:
    """Load, check `columns` exist, encode labels, split what is missing, cap sizes."""
    raw = load_source(cfg)
    for split, dataset in raw.items():
        check_columns(dataset, columns + [cfg.label_column], describe_split(cfg, split))
        if len(dataset) == 0:
            raise UserError(f"The {describe_split(cfg, split)} holds no rows; give a file with "
                            f"data in it.")
    report = prepare_images(raw, cfg) if cfg.image_column in columns else {}
    label_names = train_label_names(raw["train"], cfg)
    raw = datasets.DatasetDict({split: encode_labels(ds, cfg, label_names, split)
                                for split, ds in raw.items()})
    splits = make_splits(raw, cfg, seed)
    splits = cap_sizes(splits, cfg)
    return LoadedData(splits=splits, label_names=label_names, label_column=cfg.label_column,
                      report=report)


# ----------------------------------------------------------------------------- sources


def load_source(cfg: DataConfig) -> dict[str, datasets.Dataset]:
    if cfg.builtin:
        return load_builtin_dataset(cfg.builtin)
    if cfg.hub_id:
        return load_hub(cfg)
    if cfg.train_dir:
        folders = {"train": cfg.train_dir, "validation": cfg.validation_dir,
                   "test": cfg.test_dir}
        return {split: load_image_folder(Path(path), f"data.{split}_dir", split == "train")
                for split, path in folders.items() if path}
    if cfg.train_file:
        files = {"train": cfg.train_file, "validation": cfg.validation_file,
                 "test": cfg.test_file}
        return {split: load_file(Path(path), f"data.{split}_file")
                for split, path in files.items() if path}
    raise UserError("The config names no data: set data.builtin (a packaged demo set, e.g. "
                    "bbc-news), data.hub_id (a Hub data set), data.train_file (a CSV, JSON, "
                    "JSONL or Parquet file) or data.train_dir (an image folder).")


def load_file(path: Path, key: str) -> datasets.Dataset:
    if not path.is_file():
        raise UserError(f"{key} '{path}' does not exist; check the path (relative paths are "
                        f"read from the directory you run ftk in).")
    builder = FILE_BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise UserError(f"{key} '{path}' has an extension ftk does not read; use one of "
                        f"{', '.join(FILE_BUILDERS)}.")
    if path.stat().st_size == 0:
        raise UserError(f"{key} '{path}' is empty; it needs a header and at least one row.")
    kwargs = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
    try:
        return datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as exc:  # the readers raise many types; all mean "cannot read this file"
        if "corresponds to no data" in str(exc):
            raise UserError(f"{key} '{path}' holds no rows (only a header?); give a file with "
                            f"data in it.") from None
        raise UserError(f"{key} '{path}' could not be read as {builder}: "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def load_hub(cfg: DataConfig) -> dict[str, datasets.Dataset]:
    try:
        loaded = datasets.load_dataset(cfg.hub_id, cfg.hub_config)
    except Exception as exc:
        raise UserError(f"data.hub_id '{cfg.hub_id}' could not be loaded "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
                        f"Check the name and config, and that the Hub is reachable (or the set "
                        f"is in the local datasets cache).") from None
    wanted = {"train": cfg.train_split, "validation": cfg.validation_split,
              "test": cfg.test_split}
    if cfg.train_split not in loaded:
        raise UserError(f"data.hub_id '{cfg.hub_id}' has no split '{cfg.train_split}' "
                        f"(data.train_split); its splits: {', '.join(loaded)}.")
    return {ours: loaded[theirs] for ours, theirs in wanted.items() if theirs in loaded}


def describe_split(cfg: DataConfig, split: str) -> str:
    if cfg.train_dir:
        return f"folder '{getattr(cfg, f'{split}_dir')}' (data.{split}_dir)"
    if cfg.train_file:
        return f"file '{getattr(cfg, f'{split}_file')}' (data.{split}_file)"
    return f"{split} split of {cfg.builtin or cfg.hub_id}"


def check_columns(dataset: datasets.Dataset, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise UserError(f"The {where} has no column {', '.join(repr(c) for c in missing)}; its "
                        f"columns are {', '.join(dataset.column_names)}. Point "
                        f"data.text_column / data.image_column / data.label_column at the right ones.")


def prepare_images(raw: dict[str, datasets.Dataset], cfg: DataConfig) -> dict[str, Any]:
    """Listed paths -> Image columns; decode each image once (the packaged set is trusted)."""
    column, skipped = cfg.image_column, 0
    for split, dataset in raw.items():
        where = describe_split(cfg, split)
        if cfg.train_file:
            base = Path(getattr(cfg, f"{split}_file")).parent
            dataset = resolve_image_paths(dataset, column, base, where)
        if not isinstance(dataset.features[column], datasets.Image):
            raise UserError(f"Column '{column}' of the {where} holds "
                            f"{dataset.features[column]}, not images; point data.image_column "
                            f"at the image column.")
        if not cfg.builtin:
            dataset, bad = check_images(dataset, column, cfg.bad_images, where)
            if bad:
                say(f"Skipped {len(bad)} unreadable image(s) in the {where} "
                    f"(data.bad_images: skip): {', '.join(bad[:10])}"
                    f"{' ...' if len(bad) > 10 else ''}")
            skipped += len(bad)
        raw[split] = dataset
    return {"skipped_images": skipped}


# ----------------------------------------------------------------------------- labels


def train_label_names(train: datasets.Dataset, cfg: DataConfig) -> list[str]:
    feature = train.features[cfg.label_column]
    if isinstance(feature, datasets.ClassLabel):
        names = list(feature.names)
        present = set(train[cfg.label_column])
        if len(present) < 2:
            raise_too_few_classes(cfg, [names[i] for i in present])
        return names
    values = train[cfg.label_column]
    missing = [i for i, v in enumerate(values) if v is None or (isinstance(v, str) and not v.strip())]
    if missing:
        rows = ", ".join(str(i + 1) for i in missing[:10])
        raise UserError(f"Column '{cfg.label_column}' of the {describe_split(cfg, 'train')} has "
                        f"empty labels in rows {rows}{' ...' if len(missing) > 10 else ''}; fill "
                        f"or drop those rows.")
    names = [str(v) for v in sorted(set(values))]
    if len(names) < 2:
        raise_too_few_classes(cfg, names)
    return names


def raise_too_few_classes(cfg: DataConfig, names: list[str]) -> None:
    raise UserError(f"Column '{cfg.label_column}' of the {describe_split(cfg, 'train')} holds "
                    f"{len(names)} class{'es' if len(names) != 1 else ''} ({', '.join(names)}); "
                    f"classification needs at least two. Check data.label_column.")


def encode_labels(dataset: datasets.Dataset, cfg: DataConfig, names: list[str],
                  split: str) -> datasets.Dataset:
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
        raise UserError(f"The {describe_split(cfg, split)} has label(s) {', '.join(map(repr, unseen[:10]))} "
                        f"in column '{column}' that never occur in the training data "
                        f"(known: {', '.join(names)}); the model cannot learn them. Fix the "
                        f"labels or add such examples to the training data.")
    features = dataset.features.copy()
    features[column] = datasets.ClassLabel(names=names)
    ids = [index[v] for v in values]
    return dataset.remove_columns(column).add_column(column, ids).cast(features)


# ----------------------------------------------------------------------------- splits


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
