"""Tagged text for token classification (NER, POS): a column of token lists and a column of
tag lists of the same length (`data.tokens_column`, `data.tags_column`), from a table
(JSON/JSONL/Parquet, or a Hub set whose tags are a Sequence of ClassLabel), from CoNLL-style
files (data/conll.py) or from a packaged set (`data.builtin: wnut16-ner`). The tag names come
from the training split ("O" first, then sorted); a validation or test tag never seen in
training is an error, as for class labels. The training tags also say how they read
(data/tag_schemes.py): an entity scheme (IOB1, IOB2, IOBES, BILOU) or plain tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from toolkit.config.schema import DataConfig
from toolkit.config.taxonomy import TAGS, TagScheme
from toolkit.core.columns import column_values
from toolkit.core.errors import UserError
from toolkit.data.conll import CONLL_SUFFIXES, read_conll
from toolkit.data.labels import refuse_unseen
from toolkit.data.load import LoadedData
from toolkit.data.sources import (
    FILE_BUILDERS,
    check_columns,
    describe_split,
    load_file,
    load_source,
    refuse_folder,
)
from toolkit.data.splits import cap_sizes, make_splits
from toolkit.data.tag_schemes import resolve_scheme


@dataclass(frozen=True)
class TagColumns:
    """Where the words and their tags are: the data section's keys."""

    tokens: str
    tags: str

    @classmethod
    def of(cls, cfg: DataConfig) -> TagColumns:
        return cls(cfg.tokens_column, cfg.tags_column)


def load_tagged(cfg: DataConfig, seed: int) -> LoadedData:
    """train / validation (/ test) with the tags as ids over the training tag names."""
    columns = TagColumns.of(cfg)
    raw = load_tagged_source(cfg, columns)
    for split, dataset in raw.items():
        check_columns(dataset, [columns.tokens, columns.tags], describe_split(cfg, split))
        if len(dataset) == 0:
            raise UserError(f"The {describe_split(cfg, split)} holds no sentences.")
        raw[split] = dataset.select_columns([columns.tokens, columns.tags])
        check_rows(raw[split], cfg, columns, split)
    names = tag_names(raw["train"], cfg, columns)
    scheme = tag_scheme(raw["train"], cfg, columns, names)
    encoded = {split: encode_tags(ds, cfg, columns, names, split) for split, ds in raw.items()}
    splits = cap_sizes(make_splits(encoded, cfg, seed, stratify_by=None), cfg)
    return LoadedData(
        splits=splits, label_names=names, label_column=columns.tags, target=TAGS, tag_scheme=scheme
    )


def tag_scheme(
    train: datasets.Dataset, cfg: DataConfig, columns: TagColumns, names: list[str]
) -> TagScheme:
    """How the training tags read (data.tag_scheme: detected, or named and checked), and
    whether data.label_all_tokens can tag a word's later pieces in that scheme."""
    where = describe_split(cfg, "train")
    scheme = resolve_scheme(cfg.tag_scheme, names, tags_as_names(train, columns), where)
    if cfg.label_all_tokens and not scheme.continues_over_pieces:
        raise UserError(
            f"data.label_all_tokens tags a word's later pieces with the tag that continues "
            f"it (B- becomes I-); the {where} is tagged in {scheme.title}, whose one-word "
            f"entities (S-/U-) and last words (E-/L-) would need their first piece retagged "
            f"too. Set data.label_all_tokens: false (each word tagged on its first piece)."
        )
    return scheme


def load_tagged_source(cfg: DataConfig, columns: TagColumns) -> dict[str, datasets.Dataset]:
    """Local files one by one (each a CoNLL-style file or a table); every other source as for
    classification."""
    if not cfg.train_file:
        return load_source(cfg)
    files = {"train": cfg.train_file, "validation": cfg.validation_file, "test": cfg.test_file}
    return {
        split: read_tagged_file(Path(name), f"data.{split}_file", cfg, columns)
        for split, name in files.items()
        if name
    }


def read_tagged_file(
    path: Path, key: str, cfg: DataConfig, columns: TagColumns
) -> datasets.Dataset:
    refuse_folder(path, key)
    suffix = path.suffix.lower()
    if suffix not in CONLL_SUFFIXES and suffix not in FILE_BUILDERS:
        raise UserError(
            f"{key} '{path}' has an extension ftk does not read for token classification; "
            f"use a CoNLL-style file ({', '.join(CONLL_SUFFIXES)}: token and tag per line) "
            f"or a table with token and tag lists (.json, .jsonl, .parquet)."
        )
    if suffix in FILE_BUILDERS:
        return load_file(path, key, cfg.encoding)
    if not path.is_file():
        raise UserError(f"{key} '{path}' does not exist; check the path.")
    return read_conll(path, key, cfg.encoding, columns.tokens, columns.tags)


def tags_as_names(dataset: datasets.Dataset, columns: TagColumns) -> list[list[str]]:
    """Every row's tags as strings (a Hub set's ClassLabel ids named)."""
    feature = dataset.features[columns.tags]
    inner = getattr(feature, "feature", None)
    rows = column_values(dataset, columns.tags)
    if isinstance(inner, datasets.ClassLabel):
        return [[inner.int2str(i) for i in row] for row in rows]
    return [[str(tag) for tag in row] for row in rows]


def check_rows(dataset: datasets.Dataset, cfg: DataConfig, columns: TagColumns, split: str) -> None:
    """Token and tag lists, of equal length, in every row."""
    where = describe_split(cfg, split)
    tokens, tags = column_values(dataset, columns.tokens), column_values(dataset, columns.tags)
    for name, column, values in (
        ("tokens", columns.tokens, tokens),
        ("tags", columns.tags, tags),
    ):
        bad = next((i for i, v in enumerate(values) if not isinstance(v, list)), None)
        if bad is not None:
            raise UserError(
                f"Column '{column}' of the {where} must hold a list of {name} per row; row "
                f"{bad + 1} holds {str(values[bad])[:60]!r}. Point data.{name}_column at the "
                f"column of {name} lists (a CoNLL file: one token and its tag per line)."
            )
    uneven = [i for i, (a, b) in enumerate(zip(tokens, tags, strict=True)) if len(a) != len(b)]
    if uneven:
        first = uneven[0]
        raise UserError(
            f"The {where} has {len(uneven):,} row(s) whose tag list is not as long as its "
            f"token list; row {first + 1} has {len(tokens[first])} tokens and "
            f"{len(tags[first])} tags. Each token needs exactly one tag."
        )


def tag_names(train: datasets.Dataset, cfg: DataConfig, columns: TagColumns) -> list[str]:
    inner = getattr(train.features[columns.tags], "feature", None)
    if isinstance(inner, datasets.ClassLabel):
        return list(inner.names)
    seen = {tag for row in tags_as_names(train, columns) for tag in row}
    if len(seen) < 2:
        raise UserError(
            f"Column '{columns.tags}' of the {describe_split(cfg, 'train')} holds "
            f"{len(seen)} distinct tag(s) ({', '.join(sorted(seen))}); token classification "
            f"needs at least two. Check data.tags_column."
        )
    return sorted(seen, key=lambda tag: (tag != "O", tag))


def encode_tags(
    dataset: datasets.Dataset, cfg: DataConfig, columns: TagColumns, names: list[str], split: str
) -> datasets.Dataset:
    index = {name: i for i, name in enumerate(names)}
    rows = tags_as_names(dataset, columns)
    refuse_unseen((tag for row in rows for tag in row), names, "tag", cfg, split, columns.tags)
    features = datasets.Features(
        {
            columns.tokens: datasets.List(datasets.Value("string")),
            columns.tags: datasets.List(datasets.ClassLabel(names=names)),
        }
    )
    ids: list[Any] = [[index[tag] for tag in row] for row in rows]
    tokens = [[str(t) for t in row] for row in column_values(dataset, columns.tokens)]
    return datasets.Dataset.from_dict({columns.tokens: tokens, columns.tags: ids}, features)
