"""Data sources, exactly one per config: a packaged demo set (`data.builtin`), a Hub data set
(`data.hub_id`), local files (`data.train_file`, optional `validation_file` / `test_file`), or
image folders with one subfolder per class (`data.train_dir`, optional `validation_dir` /
`test_dir`) -> raw splits, with the columns a task needs checked.
"""

from __future__ import annotations

from pathlib import Path

import datasets

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.builtin import load_builtin_dataset
from toolkit.data.images import load_image_folder

FILE_BUILDERS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
}


SPLITS = ("train", "validation", "test")


def load_source(cfg: DataConfig) -> dict[str, datasets.Dataset]:
    if cfg.builtin:
        return load_builtin_dataset(cfg.builtin)
    if cfg.hub_id:
        return load_hub(cfg)
    if cfg.train_dir:
        folders = {"train": cfg.train_dir, "validation": cfg.validation_dir, "test": cfg.test_dir}
        return {
            split: load_image_folder(Path(path), f"data.{split}_dir", split == "train")
            for split, path in folders.items()
            if path
        }
    if cfg.train_file:
        files = {"train": cfg.train_file, "validation": cfg.validation_file, "test": cfg.test_file}
        return {
            split: load_file(Path(path), f"data.{split}_file")
            for split, path in files.items()
            if path
        }
    raise UserError(
        "The config names no data: set data.builtin (a packaged demo set, e.g. "
        "bbc-news), data.hub_id (a Hub data set), data.train_file (a CSV, JSON, "
        "JSONL or Parquet file) or data.train_dir (an image folder)."
    )


def load_file(path: Path, key: str) -> datasets.Dataset:
    if not path.is_file():
        raise UserError(
            f"{key} '{path}' does not exist; check the path (relative paths are "
            f"read from the directory you run ftk in)."
        )
    builder = FILE_BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise UserError(
            f"{key} '{path}' has an extension ftk does not read; use one of "
            f"{', '.join(FILE_BUILDERS)}."
        )
    if path.stat().st_size == 0:
        raise UserError(f"{key} '{path}' is empty; it needs a header and at least one row.")
    kwargs = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
    try:
        return datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as exc:  # the readers raise many types; all mean "cannot read this file"
        if "corresponds to no data" in str(exc):
            raise UserError(
                f"{key} '{path}' holds no rows (only a header?); give a file with data in it."
            ) from None
        raise UserError(
            f"{key} '{path}' could not be read as {builder}: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None


def load_hub(cfg: DataConfig) -> dict[str, datasets.Dataset]:
    try:
        loaded = datasets.load_dataset(cfg.hub_id, cfg.hub_config)
    except Exception as exc:
        raise UserError(
            f"data.hub_id '{cfg.hub_id}' could not be loaded "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
            f"Check the name and config, and that the Hub is reachable (or the set "
            f"is in the local datasets cache)."
        ) from None
    wanted = {"train": cfg.train_split, "validation": cfg.validation_split, "test": cfg.test_split}
    if cfg.train_split not in loaded:
        raise UserError(
            f"data.hub_id '{cfg.hub_id}' has no split '{cfg.train_split}' "
            f"(data.train_split); its splits: {', '.join(loaded)}."
        )
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
        raise UserError(
            f"The {where} has no column {', '.join(repr(c) for c in missing)}; its "
            f"columns are {', '.join(dataset.column_names)}. Point "
            f"data.text_column / data.image_column / data.label_column at the right ones."
        )
