"""Held-out texts that also sit in training, and training texts with two labels, are warned
about before training (data/overlap.py), with counts and examples; clean data says nothing."""

from __future__ import annotations

import datasets
import numpy as np
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


def test_pairs_in_large_string_columns_are_joined(warnings):
    """datasets' CSV reader gives large_string columns; a pair's key joins them all the same
    (it crashed: Arrow joins no large_string with a plain-string separator)."""

    def pairs(rows):
        table = datasets.Dataset.from_dict(
            {
                "text": [t for t, _ in rows],
                "text_b": ["second"] * len(rows),
                "label": [NAMES.index(label) for _, label in rows],
            }
        )
        for column in ("text", "text_b"):
            table = table.cast_column(column, datasets.Value("large_string"))
        return table

    train = make_texts(5, 1)
    check({"train": pairs(train), "test": pairs(train[:3])}, columns=("text", "text_b"))
    assert len(warnings) == 1 and "3 of the 3 test" in warnings[0], warnings


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


def test_a_hash_collision_is_never_counted_as_a_duplicate(warnings, monkeypatch):
    """Every text hashed alike: only the texts compared decide, so clean data stays clean and
    the one real duplicate and the one real contradiction are still found."""
    import toolkit.data.overlap as overlap

    monkeypatch.setattr(overlap.pd.util, "hash_array", lambda keys, **_: np.zeros(len(keys), "u8"))
    check({"train": split(make_texts(20, 1)), "test": split(make_texts(5, 2))})
    assert warnings == []
    train = make_texts(20, 1)
    text, label = train[0]
    other = next(name for name in NAMES if name != label)
    check({"train": split([*train, (text, other)]), "test": split([train[3], *make_texts(3, 2)])})
    assert len(warnings) == 2
    assert warnings[0].startswith("1 of the 10 test examples (10.0%) also appear in the training")
    assert warnings[1].startswith("1 training text(s) appear with different labels")


def test_tagged_words_match_as_their_running_text(warnings):
    words = [["Paris", "is", "big"], ["so", "is", "Rome"], ["a", "b"]]
    train = datasets.Dataset.from_dict({"tokens": words, "label": [0, 1, 2]})
    test = datasets.Dataset.from_dict(
        {"tokens": [["PARIS", "is", " big"], ["a", "c"]], "label": [0, 0]}
    )
    check({"train": train, "test": test}, columns=("tokens",), classes=False)
    assert len(warnings) == 1 and warnings[0].startswith("1 of the 2 test examples (50.0%)")
    assert "e.g. 'paris is big'" in warnings[0]


def test_rows_picked_by_a_held_out_split_are_read_through_its_indices(warnings):
    """A split made by select/shuffle holds an indices mapping over the file's table: the
    hashes must follow the split's rows, not the table's."""
    rows = make_texts(20, 1)
    whole = split(rows)
    train = whole.select(range(10, 60))
    test = whole.select([0, 1, 2, 10])  # only row 10 is also in train
    check({"train": train, "test": test})
    assert len(warnings) == 1 and warnings[0].startswith("1 of the 4 test examples (25.0%)")


def test_white_space_is_normalized_as_python_splits_it():
    import pyarrow as pa

    from toolkit.data.overlap import normalized

    texts = ["a \t b", "x\u00a0Y", "  lead  trail ", "n\u3000\u3000m", "a\u2003 b\n", "É\r\nok", ""]
    expected = [" ".join(t.split()).lower() for t in texts]
    assert normalized(pa.array(texts)).to_pylist() == expected
    assert normalized(pa.array([None, ["Two", " words"]][:1], pa.string())).to_pylist() == [""]
