"""Hold-outs carved from training (toolkit/data/splits.py) are never empty and never take a
class's last training example: data too small to hold anything out stops before the model
loads, naming the file, the counts and what to give instead (before, an empty validation split
died with the Trainer's KeyError at the first evaluation, and one row a ValueError)."""

from __future__ import annotations

import datasets
import pytest
from helpers import make_image_folder, write_corrupt_image, write_csv

from toolkit.config.schema import DataConfig
from toolkit.config.taxonomy import TASK_KINDS
from toolkit.core.errors import UserError
from toolkit.data.load import load_data
from toolkit.data.splits import hold_out

ONE_EACH = [("goal match team", "sport"), ("market profit bank", "business"), ("chip app", "tech")]


def load_error(rows, task: str = "text-classification", **keys) -> str:
    with pytest.raises(UserError) as caught:
        load_data(DataConfig(**keys, train_file=str(rows)), ["text"], 0, TASK_KINDS[task].target)
    return str(caught.value)


def test_every_class_with_one_example_is_refused_naming_file_and_counts(tmp_path):
    train = write_csv(tmp_path / "train.csv", ONE_EACH)
    err = load_error(train)
    assert f"No validation split can be held out of the file '{train}'" in err
    assert "each of the 3 classes left to train on has a single example" in err
    assert "'business' 1, 'sport' 1, 'tech' 1" in err
    assert "data.validation_file" in err


def test_two_rows_of_two_classes_are_refused(tmp_path):
    train = write_csv(tmp_path / "two.csv", ONE_EACH[:2])
    assert "each of the 2 classes left to train on has a single example" in load_error(train)


def test_two_numeric_rows_split_one_and_one(tmp_path):
    """Without classes a plain split needs only two rows: one trains, one validates."""
    train = write_csv(tmp_path / "two.csv", [("goal", "1.0"), ("market", "2.0")])
    regression = TASK_KINDS["text-regression"].target
    data = load_data(DataConfig(train_file=str(train)), ["text"], 0, regression)
    assert {split: len(ds) for split, ds in data.splits.items()} == {"train": 1, "validation": 1}


@pytest.mark.parametrize("task, label", [("text-regression", "1.5"), ("text-multilabel", "a,b")])
def test_one_row_without_classes_is_refused(tmp_path, task, label):
    train = write_csv(tmp_path / "one.csv", [("goal match", label)])
    err = load_error(train, task, label_separator=",")
    assert f"held out of the file '{train}'" in err and "it has 1 row" in err
    assert "data.validation_file" in err


def test_a_test_split_that_would_be_empty_is_refused(tmp_path):
    train = write_csv(tmp_path / "train.csv", ONE_EACH)
    err = load_error(train, test_size=0.2)
    assert "No test split can be held out" in err
    assert "data.test_file" in err and "leave data.test_size out" in err


def test_validation_left_empty_by_the_test_split_names_test_size(tmp_path):
    """Two of each class: test takes one of each, which leaves validation nothing to take."""
    train = write_csv(tmp_path / "train.csv", ONE_EACH * 2)
    err = load_error(train, test_size=0.5)
    assert "No validation split can be held out" in err
    assert "after data.test_size (0.5) held out the test split" in err
    assert "lower data.test_size" in err


def test_a_random_hold_out_never_takes_a_class_s_last_training_example():
    """Ten classes of two rows: 2 rows to hold out are fewer than the classes, so the split is
    random; it must still leave every class a training example (before: 1 seed in 40 held out
    both rows of a class, which the model then never trained on)."""
    names = [f"c{i}" for i in range(10)]
    features = datasets.Features({"label": datasets.ClassLabel(names=names)})
    rows = datasets.Dataset.from_dict({"label": [i % 10 for i in range(20)]}, features=features)
    for seed in range(40):
        parts = hold_out(rows, 0.1, "label", seed, set(), "validation")
        assert len(parts["test"]) == 2 and len(parts["train"]) == 18
        assert set(parts["train"]["label"]) == set(range(10)), seed


def test_a_validation_folder_with_no_readable_image_is_refused(tmp_path):
    train = make_image_folder(tmp_path / "train", 3, seed=0)
    validation = tmp_path / "val"
    for name in ("circle", "square"):
        write_corrupt_image(validation / name / "0.png")
    cfg = DataConfig(train_dir=str(train), validation_dir=str(validation), bad_images="skip")
    with pytest.raises(UserError) as caught:
        load_data(cfg, ["image"], seed=0)
    err = str(caught.value)
    assert f"folder '{validation}' (data.validation_dir)" in err
    assert "no image of the" in err and "holds no example" in err


def test_a_small_but_possible_hold_out_still_works(tmp_path):
    """Two rows of one class and one of another: the pair lends one to validation."""
    rows = [ONE_EACH[0], ONE_EACH[0], ONE_EACH[1]]
    data = load_data(DataConfig(train_file=str(write_csv(tmp_path / "t.csv", rows))), ["text"], 0)
    assert len(data.splits["validation"]) == 1 and len(data.splits["train"]) == 2


@pytest.mark.parametrize(
    ("counts", "fraction", "seed"),
    [((50, 30, 20), 0.2, 42), ((7, 5, 3, 2), 0.25, 1), ((400, 13, 2), 0.1, 7), ((3, 3), 0.5, 0)],
)
def test_the_stratified_split_is_datasets_own_row_for_row(counts, fraction, seed):
    """splits.stratified_split reads the labels through Arrow instead of a row at a time, and
    must hold out exactly the rows datasets' train_test_split does, so earlier runs keep
    their splits (and their scores)."""
    from toolkit.data.splits import stratified_split

    labels = [label for label, n in enumerate(counts) for _ in range(n)]
    rows = datasets.Dataset.from_dict({"row": list(range(len(labels))), "label": labels})
    rows = rows.cast_column("label", datasets.ClassLabel(num_classes=len(counts)))
    rows = rows.shuffle(seed=3)  # an index mapping, as a held-out split has
    ours = stratified_split(rows, fraction, seed, "label")
    theirs = rows.train_test_split(test_size=fraction, seed=seed, stratify_by_column="label")
    for part in ("train", "test"):
        assert ours[part]["row"][:] == theirs[part]["row"][:]


def test_the_stratified_split_refuses_what_datasets_refuses():
    from toolkit.data.splits import stratified_split

    rows = datasets.Dataset.from_dict({"label": [0, 0, 1, 1, 2, 2]})
    rows = rows.cast_column("label", datasets.ClassLabel(num_classes=3))
    with pytest.raises(ValueError) as ours:
        stratified_split(rows, 0.2, 0, "label")  # 2 rows to hold out for 3 classes
    with pytest.raises(ValueError) as theirs:
        rows.train_test_split(test_size=0.2, seed=0, stratify_by_column="label")
    assert str(ours.value) == str(theirs.value)
