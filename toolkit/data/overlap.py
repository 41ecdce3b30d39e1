"""Two silent data problems, found before training: texts of the validation or test split that
also appear in training (their scores are memory, not generalization), and training texts that
appear with different labels (the model cannot fit both). Texts match up to spaces and case.

Both are warnings, not errors: a few duplicates are common in real data and the run is still
worth having, but the user must know the held-out scores are optimistic, and by how much.

Memory stays at 8 bytes a row: each example's texts are normalized by Arrow, a batch at a time,
and kept as a 64-bit hash; only the rows whose hashes match are read again, and their texts
compared, so a hash collision never counts as a duplicate. Time is linear in the rows.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.core.columns import column_array
from toolkit.core.log import warn
from toolkit.data.check_cache import remembered

# Raise it whenever what the check finds or says changes: runs on data checked before would
# otherwise replay the old findings (data/check_cache.py).
CHECK_VERSION = 1
EXAMPLES_SHOWN = 3
BATCH_ROWS = 50_000  # rows normalized at once: their texts are the only ones held
SEPARATOR = "\x1f"  # between a pair's texts, so ('a b', 'c') and ('a', 'b c') differ
# White space as str.split() sees it (Unicode): a run of two or more, or one that is not a plain
# space. Matching only those leaves the single spaces alone, 10x faster than matching every one.
NOT_ONE_SPACE = (
    r"[\s\x{85}\pZ]{2,}"
    r"|[\t\n\v\f\r\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)


def is_text(feature: Any) -> bool:
    """A column of strings, or of lists of strings (the words of a tagging example)."""
    if isinstance(feature, datasets.Value):
        return feature.dtype in ("string", "large_string")
    inner = getattr(feature, "feature", None)  # List / Sequence
    return inner is not None and is_text(inner)


def normalized(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each value's text (a word list joined by spaces), runs of white space as one space,
    trimmed, in lower case; a missing text is ''."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        column = pc.binary_join(column, " ")
    column = pc.fill_null(column, "")
    spaced = pc.replace_substring_regex(column, pattern=NOT_ONE_SPACE, replacement=" ")
    return pc.utf8_lower(pc.utf8_trim_whitespace(spaced))


def example_keys(table: pa.Table, columns: list[str]) -> pa.Array:
    """One normalized string per row: its texts joined by SEPARATOR."""
    parts = [normalized(table.column(c)) for c in columns]
    if len(parts) == 1:
        return parts[0]
    # one string type for the parts and the separator: Arrow has no join of large_string
    # columns (datasets' CSV reader gives them) with a plain string
    wide = [part.cast(pa.large_string()) for part in parts]
    return pc.binary_join_element_wise(*wide, pa.scalar(SEPARATOR, pa.large_string()))


def key_hashes(dataset: datasets.Dataset, columns: list[str]) -> np.ndarray:
    """A 64-bit hash of every row's normalized texts, in row order."""
    hashes = [np.zeros(0, dtype=np.uint64)]
    for batch in dataset.select_columns(columns).with_format("arrow").iter(BATCH_ROWS):
        # a split's rows picked by an index mapping come one chunk per row: one chunk is far
        # quicker to normalize than 50,000 of them
        keys = example_keys(batch.combine_chunks(), columns).to_numpy(zero_copy_only=False)
        hashes.append(pd.util.hash_array(np.asarray(keys, dtype=object), categorize=False))
    return np.concatenate(hashes)


def keys_at(dataset: datasets.Dataset, columns: list[str], rows: np.ndarray) -> list[str]:
    """The normalized texts of the given rows (few: those whose hashes matched)."""
    if not len(rows):
        return []
    table = dataset.select(rows.tolist()).select_columns(columns).with_format("arrow")[:]
    return example_keys(table.combine_chunks(), columns).to_pylist()


def warn_about_overlap(
    splits: datasets.DatasetDict,
    columns: list[str],
    label_column: str,
    label_names: list[str],
    classes: bool,
) -> None:
    """`columns`: the input columns; `classes`: single-label classification (class ids in
    `label_column`), the only target where one text with two labels is a contradiction. Splits
    checked before (same data, hold-outs and columns) replay their findings."""
    if not all(is_text(splits["train"].features[c]) for c in columns):
        return  # images: not compared (decoding every one would cost more than training)
    inputs = {
        "version": CHECK_VERSION,
        "columns": columns,
        "label_column": label_column,
        "label_names": label_names,
        "one_class_per_text": classes,
    }
    check = partial(overlap_findings, splits, columns, label_column, label_names, classes)
    for finding in remembered("overlap", splits, inputs, check):
        warn(finding)


def overlap_findings(
    splits: datasets.DatasetDict,
    columns: list[str],
    label_column: str,
    label_names: list[str],
    classes: bool,
) -> list[str]:
    """The warnings: held-out texts seen in training, training texts with two labels."""
    train = splits["train"]
    train_hashes = key_hashes(train, columns)
    findings = [
        held_out_overlap(split, splits[split], train, columns, train_hashes)
        for split in ("validation", "test")
        if split in splits and len(splits[split])
    ]
    if classes:
        labels = column_array(train, label_column)
        findings.append(conflicting_labels(train, columns, train_hashes, labels, label_names))
    return [finding for finding in findings if finding]


def held_out_overlap(
    split: str,
    held_out: datasets.Dataset,
    train: datasets.Dataset,
    columns: list[str],
    train_hashes: np.ndarray,
) -> str | None:
    hashes = key_hashes(held_out, columns)
    candidates = np.flatnonzero(np.isin(hashes, train_hashes))
    if not len(candidates):
        return None
    same_hash = np.flatnonzero(np.isin(train_hashes, hashes[candidates]))
    seen = set(keys_at(train, columns, same_hash))
    shared = [key for key in keys_at(held_out, columns, candidates) if key in seen]
    if not shared:
        return None
    distinct = list(dict.fromkeys(shared))[:EXAMPLES_SHOWN]
    examples = "; ".join(repr(shorten(key)) for key in distinct)
    return (
        f"{len(shared):,} of the {len(held_out):,} {split} examples "
        f"({100 * len(shared) / len(held_out):.1f}%) also appear in the training split "
        f"(the same text up to spaces and case), e.g. {examples}. The {split} scores are "
        f"optimistic by what the model memorised of them: remove the duplicates from the data "
        f"(or from the {split} file) for a score on unseen texts."
    )


def conflicting_labels(
    train: datasets.Dataset,
    columns: list[str],
    hashes: np.ndarray,
    labels: np.ndarray,
    names: list[str],
) -> str | None:
    """Hashes seen with two labels are candidates; their rows' texts decide."""
    pairs = np.unique(np.stack([hashes, labels.astype(np.uint64)], axis=1), axis=0)
    torn_hashes, counts = np.unique(pairs[:, 0], return_counts=True)
    rows = np.flatnonzero(np.isin(hashes, torn_hashes[counts > 1]))
    labels_of: dict[str, set[int]] = defaultdict(set)
    for key, label in zip(keys_at(train, columns, rows), labels[rows], strict=True):
        labels_of[key].add(int(label))
    torn = [(key, ids) for key, ids in labels_of.items() if len(ids) > 1]
    if not torn:
        return None
    examples = "; ".join(
        f"{shorten(key)!r} as {' and '.join(sorted(names[i] for i in ids))}"
        for key, ids in torn[:EXAMPLES_SHOWN]
    )
    return (
        f"{len(torn):,} training text(s) appear with different labels, e.g. {examples}. The "
        f"model cannot fit both, and they cap the accuracy it can reach; check the labelling."
    )


def shorten(key: str, width: int = 60) -> str:
    text = key.replace(SEPARATOR, " | ")
    return text if len(text) <= width else text[: width - 3] + "..."
