"""One image file reached from two class folders is refused with both folders named
(toolkit/data/shared_images.py); before, a class folder linked to another trained the same
images under two labels without a word."""

from __future__ import annotations

import os
import shutil

import pytest
from helpers import make_image_folder

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.load import load_data
from toolkit.data.new_data import labelled_image_folder


def train_error(train) -> str:
    with pytest.raises(UserError) as caught:
        load_data(DataConfig(train_dir=str(train)), ["image"], seed=0)
    return str(caught.value)


def test_a_class_folder_linked_to_another_is_refused(tmp_path):
    train = make_image_folder(tmp_path / "train", 3, seed=0)
    (train / "Circle").symlink_to("circle", target_is_directory=True)
    err = train_error(train)
    assert f"data.train_dir '{train}'" in err
    assert f"'{train / 'Circle'}' and '{train / 'circle'}' hold the same image file" in err
    assert f"'{train / 'Circle'}' is a link to 'circle'" in err
    assert "two labels, 'Circle' and 'circle'" in err


def test_an_image_linked_into_a_second_class_is_refused(tmp_path):
    train = make_image_folder(tmp_path / "train", 3, seed=0)
    (train / "square" / "also.png").symlink_to(train / "circle" / "0.png")
    err = train_error(train)
    assert f"'{train / 'circle'}' and '{train / 'square'}' hold the same image file" in err
    assert f"'{train / 'square' / 'also.png'}' is a link to" in err


def test_a_hard_link_across_classes_is_refused(tmp_path):
    train = make_image_folder(tmp_path / "train", 3, seed=0)
    os.link(train / "circle" / "0.png", train / "triangle" / "same.png")
    assert "are hard links to one file" in train_error(train)


def test_a_linked_validation_folder_is_refused_too(tmp_path):
    train = make_image_folder(tmp_path / "train", 3, seed=0)
    validation = make_image_folder(tmp_path / "val", 2, seed=1, classes=("circle",))
    (validation / "square").symlink_to(validation / "circle", target_is_directory=True)
    cfg = DataConfig(train_dir=str(train), validation_dir=str(validation))
    with pytest.raises(UserError) as caught:
        load_data(cfg, ["image"], seed=0)
    assert f"data.validation_dir '{validation}'" in str(caught.value)


def test_copies_and_a_class_folder_linked_from_elsewhere_are_fine(tmp_path):
    """A copy is another file, and a class folder may live outside the tree: no merge."""
    train = make_image_folder(tmp_path / "train", 3, seed=0, classes=("circle", "square"))
    shutil.copy(train / "circle" / "0.png", train / "square" / "copy.png")
    elsewhere = make_image_folder(tmp_path / "store", 3, seed=1, classes=("triangle",))
    (train / "triangle").symlink_to(elsewhere / "triangle", target_is_directory=True)
    data = load_data(DataConfig(train_dir=str(train)), ["image"], seed=0)
    assert data.label_names == ["circle", "square", "triangle"]


def test_evaluate_data_with_an_image_in_two_classes_is_refused(tmp_path):
    folder = make_image_folder(tmp_path / "new", 2, seed=0, classes=("circle", "square"))
    (folder / "square" / "also.png").symlink_to(folder / "circle" / "1.png")
    with pytest.raises(UserError) as caught:
        labelled_image_folder(folder)
    assert f"--data '{folder}'" in str(caught.value) and "two labels" in str(caught.value)
