"""Labels are named once per distinct value and mapped to class ids by Arrow (data/labels.py):
the ids, the column order and every refusal must be what a row-by-row reading gives, on splits
that went through a hold-out (an index mapping), for string, integer and float labels."""

from __future__ import annotations

import datasets
import pytest

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.labels import check_labels, encode_labels, train_label_names


def config() -> DataConfig:
    return DataConfig(train_file="train.csv")


def dataset(labels: list, **columns) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {"text": [f"t{i}" for i in range(len(labels))], "label": labels, **columns}
    )


def test_string_labels_become_sorted_class_ids_in_row_order_after_a_hold_out():
    labels = ["sport", "tech", "business", "sport", "tech", "business"] * 5
    split = dataset(labels, extra=list(range(30))).shuffle(seed=3).select(range(20))
    names = train_label_names(split, config())
    assert names == ["business", "sport", "tech"]
    encoded = encode_labels(split, config(), names, "train")
    assert encoded.column_names == ["text", "label", "extra"]
    assert encoded.features["label"] == datasets.ClassLabel(names=names)
    expected = [names.index(v) for v in split["label"][:]]
    assert encoded["label"][:] == expected
    assert encoded["extra"][:] == split["extra"][:]


def test_whole_floats_name_integer_classes():
    split = dataset([1.0, 2.0, 3.0, 1.0])
    check_labels(split, config(), "train")
    names = train_label_names(split, config())
    assert names == ["1", "2", "3"]
    assert encode_labels(split, config(), names, "train")["label"][:] == [0, 1, 2, 0]


def test_fractions_are_refused_as_a_regression_target():
    with pytest.raises(UserError, match=r"numbers like 0.5 and 2.5 \(2 distinct"):
        check_labels(dataset([1.0, 0.5, 2.5, 0.5]), config(), "train")


def test_an_unseen_validation_label_is_named():
    with pytest.raises(UserError, match=r"label\(s\) 'art' in column 'label'"):
        encode_labels(dataset(["sport", "art"]), config(), ["sport", "tech"], "validation")


def test_class_ids_of_another_class_list_are_renamed_by_name():
    feature = datasets.ClassLabel(names=["tech", "sport"])
    split = dataset([0, 1, 1]).cast_column("label", feature)
    encoded = encode_labels(split, config(), ["sport", "tech"], "test")
    assert encoded["label"][:] == [1, 0, 0]


def test_unlabelled_class_ids_are_counted():
    split = dataset([0, -1, 1, -1]).cast_column("label", datasets.ClassLabel(names=["a", "b"]))
    with pytest.raises(UserError, match=r"no label \(-1\) in 2 of 4 rows"):
        check_labels(split, config(), "train")


def test_padded_labels_are_counted_per_row(capsys):
    train_label_names(dataset(["a ", "a ", "b", " c"]), config())
    assert "3 label(s) in column 'label'" in capsys.readouterr().out
