"""Two silent data problems, found before training: texts of the validation or test split that
also appear in training (their scores are memory, not generalization), and training texts that
appear with different labels (the model cannot fit both). Texts match up to spaces and case.

Both are warnings, not errors: a few duplicates are common in real data and the run is still
worth having, but the user must know the held-out scores are optimistic, and by how much.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import datasets

from toolkit.core.log import warn

EXAMPLES_SHOWN = 3


def is_text(feature: Any) -> bool:
    """A column of strings, or of lists of strings (the words of a tagging example)."""
    if isinstance(feature, datasets.Value):
        return feature.dtype in ("string", "large_string")
    inner = getattr(feature, "feature", None)  # List / Sequence
    return inner is not None and is_text(inner)


def text_key(row: tuple[Any, ...]) -> tuple[str, ...]:
    """The texts of one example (a text, a text pair, or a word list), normalized."""
    return tuple(
        " ".join((" ".join(value) if isinstance(value, list) else value or "").split()).casefold()
        for value in row
    )


def keys(dataset: datasets.Dataset, columns: list[str]) -> list[tuple[str, ...]]:
    return [text_key(row) for row in zip(*(dataset[c] for c in columns), strict=True)]


def warn_about_overlap(
    splits: datasets.DatasetDict,
    columns: list[str],
    label_column: str,
    label_names: list[str],
    classes: bool,
) -> None:
    """`columns`: the input columns; `classes`: single-label classification (class ids in
    `label_column`), the only target where one text with two labels is a contradiction."""
    if not all(is_text(splits["train"].features[c]) for c in columns):
        return  # images: not compared (decoding every one would cost more than training)
    train_keys = keys(splits["train"], columns)
    seen = set(train_keys)
    for split in ("validation", "test"):
        if split in splits and len(splits[split]):
            warn_held_out_overlap(split, keys(splits[split], columns), seen)
    if classes:
        warn_conflicting_labels(train_keys, splits["train"][label_column], label_names)


def warn_held_out_overlap(split: str, held_out: list[Any], seen: set[Any]) -> None:
    shared = [key for key in held_out if key in seen]
    if not shared:
        return
    distinct = list(dict.fromkeys(shared))[:EXAMPLES_SHOWN]
    examples = "; ".join(repr(shorten(key)) for key in distinct)
    warn(
        f"{len(shared):,} of the {len(held_out):,} {split} examples "
        f"({100 * len(shared) / len(held_out):.1f}%) also appear in the training split "
        f"(the same text up to spaces and case), e.g. {examples}. The {split} scores are "
        f"optimistic by what the model memorised of them: remove the duplicates from the data "
        f"(or from the {split} file) for a score on unseen texts."
    )


def warn_conflicting_labels(train_keys: list[Any], labels: list[int], names: list[str]) -> None:
    labels_of: dict[Any, set[int]] = defaultdict(set)
    for key, label in zip(train_keys, labels, strict=True):
        labels_of[key].add(label)
    torn = [(key, ids) for key, ids in labels_of.items() if len(ids) > 1]
    if not torn:
        return
    examples = "; ".join(
        f"{shorten(key)!r} as {' and '.join(sorted(names[i] for i in ids))}"
        for key, ids in torn[:EXAMPLES_SHOWN]
    )
    warn(
        f"{len(torn):,} training text(s) appear with different labels, e.g. {examples}. The "
        f"model cannot fit both, and they cap the accuracy it can reach; check the labelling."
    )


def shorten(key: tuple[str, ...], width: int = 60) -> str:
    text = " | ".join(key)
    return text if len(text) <= width else text[: width - 3] + "..."
