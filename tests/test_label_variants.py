"""Training labels spelt two ways ('Sport' and 'sport') stay separate classes, with a warning
naming each spelling and its rows (toolkit/data/label_variants.py), in text and image
classification and in label sets; before, they became separate classes without a word.
Spaces around a label are read off, as before, and are no variant."""

from __future__ import annotations

import json

from helpers import make_image_folder, write_csv

from toolkit.config.schema import DataConfig
from toolkit.config.taxonomy import TASK_KINDS
from toolkit.data.load import load_data

SPORT_THREE_WAYS = [("goal", "Sport")] * 4 + [("cup", "sport")] * 3 + [("win", "sport ")] * 2
TECH = [("chip", "tech")] * 5


def test_case_variants_of_a_text_class_are_named_with_their_rows(tmp_path, capsys):
    train = write_csv(tmp_path / "train.csv", SPORT_THREE_WAYS + TECH)
    data = load_data(DataConfig(train_file=str(train)), ["text"], seed=0)
    assert data.label_names == ["Sport", "sport", "tech"]  # 'sport ' is 'sport'
    err = capsys.readouterr().err
    assert f"WARNING: Labels of the file '{train}' (data.train_file)" in err
    assert "differ only in letter case or spacing (rows each): 'Sport' (4) and 'sport' (5)" in err
    assert "trained as separate classes" in err and "of column 'label'" in err


def test_spacing_inside_a_label_is_a_variant(tmp_path, capsys):
    rows = [("a", "sci fi")] * 3 + [("b", "sci  fi")] * 2 + TECH
    train = write_csv(tmp_path / "train.csv", rows)
    load_data(DataConfig(train_file=str(train)), ["text"], seed=0)
    assert "'sci  fi' (2) and 'sci fi' (3)" in capsys.readouterr().err


def test_case_variants_in_label_sets(tmp_path, capsys):
    rows = [["Sport", "tech"], ["sport"], ["Tech"], ["sport"], ["tech"], ["sport", " Tech"]] * 3
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"text": "x", "label": r}) + "\n" for r in rows))
    target = TASK_KINDS["text-multilabel"].target
    data = load_data(DataConfig(train_file=str(train)), ["text"], 0, target)
    assert data.label_names == ["Sport", "Tech", "sport", "tech"]
    err = capsys.readouterr().err
    assert "'Sport' (3) and 'sport' (9); 'Tech' (6) and 'tech' (6)" in err


def test_case_variants_of_class_folders(tmp_path, capsys):
    train = make_image_folder(tmp_path / "train", 2, seed=0, classes=("circle", "square"))
    (train / "circle").rename(train / "Circle")  # the same shapes, under a second spelling
    make_image_folder(train, 2, seed=1, classes=("circle",))
    load_data(DataConfig(train_dir=str(train)), ["image"], seed=0)
    err = capsys.readouterr().err
    assert f"folder '{train}' (data.train_dir)" in err and "'Circle' (2) and 'circle' (2)" in err
    assert "move each group's images into one class folder" in err


def test_distinct_labels_draw_no_warning(tmp_path, capsys):
    train = write_csv(tmp_path / "train.csv", [("goal", "sport")] * 4 + TECH)
    load_data(DataConfig(train_file=str(train)), ["text"], seed=0)
    assert "differ only in letter case" not in capsys.readouterr().err


def test_a_class_folder_named_with_a_trailing_space_joins_the_plain_one_said(tmp_path, capsys):
    """'circle ' and 'circle' are one class (spaces around a label are read off), and the
    note names the folder, not a column."""
    train = make_image_folder(tmp_path / "train", 2, seed=0, classes=("circle", "square"))
    make_image_folder(tmp_path / "more", 3, seed=1, classes=("circle",))
    (tmp_path / "more" / "circle").rename(train / "circle ")
    data = load_data(DataConfig(train_dir=str(train)), ["image"], seed=0)
    assert data.label_names == ["circle", "square"]
    assert sum(len(split) for split in data.splits.values()) == 7
    said = capsys.readouterr().out
    assert f"Class folder(s) 'circle ' of the folder '{train}' (data.train_dir)" in said
    assert "their 3 image(s) are read as the class without the spaces" in said
