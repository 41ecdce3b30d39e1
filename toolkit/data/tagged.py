"""Tagged text for token classification (NER, POS): a column of token lists and a column of
tag lists of the same length (`TagColumns`: tokens, ner_tags by default), from a table
(JSON/JSONL/Parquet, or a Hub set whose tags are a Sequence of ClassLabel) or from CoNLL-style
files (data/conll.py). The tag names come from the training split ("O" first, then sorted); a
validation or test tag never seen in training is an error, as for class labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.conll import CONLL_SUFFIXES, read_conll
from toolkit.data.load import LoadedData
from toolkit.data.sources import check_columns, describe_split, load_source
from toolkit.data.splits import cap_sizes, make_splits


@dataclass(frozen=True)
class TagColumns:
    """Where the words and their tags are (the token-classification task is not registered
    yet: its data keys will set these; issue #17 item 3)."""

    tokens: str = "tokens"
    tags: str = "ner_tags"


def load_tagged(cfg: DataConfig, seed: int, columns: TagColumns = TagColumns()) -> LoadedData:
    """train / validation (/ test) with the tags as ids over the training tag names."""
    raw = load_tagged_source(cfg, columns)
    for split, dataset in raw.items():
        check_columns(dataset, [columns.tokens, columns.tags], describe_split(cfg, split))
        raw[split] = dataset.select_columns([columns.tokens, columns.tags])
        check_rows(raw[split], cfg, columns, split)
    names = tag_names(raw["train"], cfg, columns)
    encoded = {split: encode_tags(ds, cfg, columns, names, split) for split, ds in raw.items()}
    splits = cap_sizes(make_splits(encoded, cfg, seed, stratify_by=None), cfg)
    return LoadedData(splits=splits, label_names=names, label_column=columns.tags)


def load_tagged_source(cfg: DataConfig, columns: TagColumns) -> dict[str, datasets.Dataset]:
    """CoNLL-style files are read here; every other source as for classification."""
    if not (cfg.train_file and Path(cfg.train_file).suffix.lower() in CONLL_SUFFIXES):
        return load_source(cfg)
    files = {"train": cfg.train_file, "validation": cfg.validation_file, "test": cfg.test_file}
    out = {}
    for split, name in files.items():
        if not name:
            continue
        path, key = Path(name), f"data.{split}_file"
        if not path.is_file():
            raise UserError(f"{key} '{path}' does not exist; check the path.")
        out[split] = read_conll(path, key, cfg.encoding, columns.tokens, columns.tags)
    return out


def tags_as_names(dataset: datasets.Dataset, columns: TagColumns) -> list[list[str]]:
    """Every row's tags as strings (a Hub set's ClassLabel ids named)."""
    feature = dataset.features[columns.tags]
    inner = getattr(feature, "feature", None)
    rows = dataset[columns.tags]
    if isinstance(inner, datasets.ClassLabel):
        return [[inner.int2str(i) for i in row] for row in rows]
    return [[str(tag) for tag in row] for row in rows]


def check_rows(dataset: datasets.Dataset, cfg: DataConfig, columns: TagColumns, split: str) -> None:
    """Token and tag lists, of equal length, in every row."""
    where = describe_split(cfg, split)
    tokens, tags = dataset[columns.tokens], dataset[columns.tags]
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
    unseen = sorted({tag for row in rows for tag in row} - set(index))
    if unseen:
        raise UserError(
            f"The {describe_split(cfg, split)} has tag(s) {', '.join(map(repr, unseen[:10]))} "
            f"in column '{columns.tags}' that never occur in the training data (known: "
            f"{', '.join(names)}); the model cannot learn them. Fix the tags or add such "
            f"examples to the training data."
        )
    features = datasets.Features(
        {
            columns.tokens: datasets.List(datasets.Value("string")),
            columns.tags: datasets.List(datasets.ClassLabel(names=names)),
        }
    )
    ids: list[Any] = [[index[tag] for tag in row] for row in rows]
    tokens = [[str(t) for t in row] for row in dataset[columns.tokens]]
    return datasets.Dataset.from_dict({columns.tokens: tokens, columns.tags: ids}, features)
