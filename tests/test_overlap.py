"""Held-out texts that also sit in training, and training texts with two labels, are warned
about before training (data/overlap.py), with counts and examples; clean data says nothing."""

from __future__ import annotations

import datasets
import pytest
from helpers import make_texts

from toolkit.core import log
from toolkit.data.overlap import warn_about_overlap

NAMES = ["business", "sport", "tech"]


def split(rows: list[tuple[str, str]]) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {"text": [t for t, _ in rows], "label": [NAMES.index(label) for _, label in rows]}
    )


@pytest.fixture()
def warnings():
    log.reset_warnings()
    yield log.WARNINGS
    log.reset_warnings()


def check(splits: dict[str, datasets.Dataset], columns=("text",), classes=True) -> None:
    warn_about_overlap(datasets.DatasetDict(splits), list(columns), "label", NAMES, classes)


def test_clean_splits_say_nothing(warnings):
    check({"train": split(make_texts(20, 1)), "test": split(make_texts(5, 2))})
    assert warnings == []


def test_test_texts_seen_in_training_are_counted_up_to_spaces_and_case(warnings):
    train = make_texts(20, 1)
    test = make_texts(5, 2)[:9] + [(f"  {t.upper()} ", label) for t, label in train[:2]]
    test.append(train[0])  # the same text twice in test: counted twice, shown once
    check({"train": split(train), "validation": split(make_texts(3, 3)), "test": split(test)})
    assert len(warnings) == 1
    assert warnings[0].startswith("3 of the 12 test examples (25.0%) also appear in the training")
    assert f"e.g. '{train[0][0][:30]}" in warnings[0]  # the training text, shortened
    assert warnings[0].count(train[0][0][:30]) == 1


def test_a_text_with_two_labels_in_training_is_named_with_both(warnings):
    train = make_texts(10, 1)
    text, label = train[0]
    other = next(name for name in NAMES if name != label)
    check({"train": split([*train, (text, other)])})
    assert len(warnings) == 1 and "1 training text(s) appear with different labels" in warnings[0]
    assert " and ".join(sorted([label, other])) in warnings[0]


def test_a_pair_matches_only_when_both_texts_do(warnings):
    def pairs(rows, second):
        return datasets.Dataset.from_dict(
            {
                "text": [t for t, _ in rows],
                "text_b": [second] * len(rows),
                "label": [NAMES.index(label) for _, label in rows],
            }
        )

    train = make_texts(5, 1)
    check(
        {"train": pairs(train, "same"), "test": pairs(train[:3], "different")},
        columns=("text", "text_b"),
    )
    assert warnings == []


def test_numeric_targets_are_not_called_conflicting(warnings):
    """Two scores for one text is what a regression data set with raters looks like."""
    train = make_texts(5, 1)
    check({"train": split([*train, train[0]])}, classes=False)
    assert warnings == []


def test_image_columns_are_skipped_without_decoding(warnings, tmp_path):
    from PIL import Image

    path = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(path)
    images = datasets.Dataset.from_dict(
        {"image": [str(path)] * 4, "label": [0, 1, 0, 1]}
    ).cast_column("image", datasets.Image())
    check({"train": images, "test": images}, columns=("image",))
    assert warnings == []
