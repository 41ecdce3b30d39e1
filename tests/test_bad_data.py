"""Data a classifier cannot take gets one clear message naming the file, split, column or folder:
regression targets, lists of labels, unlabelled (-1) splits, hidden or imageless class folders,
and a class whose every image was skipped as unreadable."""

from __future__ import annotations

import json
import shutil

import datasets
import pytest
from helpers import expect_user_error as run_cli
from helpers import (
    make_image_folder,
    make_texts,
    write_corrupt_image,
    write_csv,
    write_text_config,
)

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.load import load_data

TOPICS = datasets.ClassLabel(names=["business", "sport", "tech"])


def load_error(cfg: DataConfig) -> str:
    with pytest.raises(UserError) as caught:
        load_data(cfg, ["text"], seed=0)
    return str(caught.value)


def write_jsonl(path, rows: list[dict]):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_labelled_parquet(path, labels: list[int]):
    """Texts with a ClassLabel column, as a Hub set stores them (-1 = no label)."""
    texts = [text for text, _ in make_texts(len(labels), seed=3)][: len(labels)]
    features = datasets.Features({"text": datasets.Value("string"), "label": TOPICS})
    datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features).to_parquet(
        str(path)
    )
    return path


def labelled_ids(n: int) -> list[int]:
    return [i % 3 for i in range(n)]


# ----------------------------------------------------------------------------- label values


def test_fractional_labels_are_a_regression_error(tmp_path):
    rows = [(text, str(0.5 + (i % 4) * 0.6)) for i, (text, _) in enumerate(make_texts(5, 0))]
    train = write_csv(tmp_path / "scores.csv", rows)
    err = load_error(DataConfig(train_file=str(train)))
    assert "'label'" in err and "scores.csv" in err and "data.train_file" in err
    assert "holds numbers like 0.5" in err and "set task: text-regression" in err


def test_integer_valued_float_labels_stay_classes(tmp_path):
    """1.0 / 2.0 (an int column as a float) name classes '1' and '2', as an int test file does."""
    texts = [text for text, _ in make_texts(10, seed=0)]
    train = tmp_path / "train.parquet"
    datasets.Dataset.from_dict(
        {"text": texts, "label": [float(1 + i % 2) for i in range(len(texts))]}
    ).to_parquet(str(train))
    test = write_csv(tmp_path / "test.csv", [(t, str(1 + i % 2)) for i, t in enumerate(texts)])
    data = load_data(DataConfig(train_file=str(train), test_file=str(test)), ["text"], seed=0)
    assert data.label_names == ["1", "2"]
    assert len(data.splits["test"]) == len(texts)


def test_spaces_around_labels_do_not_make_new_classes(tmp_path, capsys):
    """'sport ' typed in a spreadsheet is 'sport', in training and in the test file alike."""
    rows = make_texts(6, seed=0)
    padded = [(text, label + " " if i % 3 == 0 else label) for i, (text, label) in enumerate(rows)]
    train = write_csv(tmp_path / "train.csv", padded)
    test = write_csv(tmp_path / "test.csv", [(t, " " + label) for t, label in rows[:6]])
    data = load_data(DataConfig(train_file=str(train), test_file=str(test)), ["text"], seed=0)
    assert data.label_names == ["business", "sport", "tech"]
    assert len(data.splits["test"]) == 6
    said = capsys.readouterr().out
    assert "6 label(s) in column 'label'" in said and "'business '" in said


def test_a_class_with_one_example_stays_in_training_and_the_rest_stay_stratified(tmp_path, capsys):
    """One example of a class cannot be in training and a hold-out at once: it trains, it is
    said, and the other classes are still held out by their shares (before, the one example
    turned every hold-out into a plain random split)."""
    rows = [*make_texts(40, seed=0), ("a lone example of its class", "weather")]
    train = write_csv(tmp_path / "train.csv", rows)
    data = load_data(DataConfig(train_file=str(train), test_size=0.2), ["text"], seed=0)
    names = data.label_names
    weather = names.index("weather")
    assert data.splits["train"]["label"].count(weather) == 1
    for split in ("validation", "test"):
        held = data.splits[split]["label"]
        assert weather not in held
        shares = [held.count(names.index(topic)) for topic in ("business", "sport", "tech")]
        assert max(shares) - min(shares) <= 1, (split, shares)  # stratified: 40 each in all
    said = capsys.readouterr().out
    assert "kept whole in the training split (examples): 'weather' (1)" in said


@pytest.mark.parametrize("split", ["train", "test"])
def test_list_labels_are_a_multi_label_error(tmp_path, split):
    single = [{"text": t, "label": label} for t, label in make_texts(5, seed=0)]
    several = [{"text": r["text"], "label": [r["label"], "politics"]} for r in single]
    files = {"train": single, "test": single, split: several}
    paths = {s: write_jsonl(tmp_path / f"{s}.jsonl", rows) for s, rows in files.items()}
    err = load_error(DataConfig(train_file=str(paths["train"]), test_file=str(paths["test"])))
    assert f"'{paths[split]}' (data.{split}_file)" in err and "'label'" in err
    assert "holds lists (several labels per example)" in err
    assert "task: text-multilabel (image-multilabel for images)" in err
    assert "give one label per row" in err


def test_list_labels_through_the_cli(tmp_path, tiny_bert, capsys):
    rows = [{"text": t, "label": [label]} for t, label in make_texts(5, seed=0)]
    data = {"train": write_jsonl(tmp_path / "multi.jsonl", rows)}
    data["test"] = data["train"]
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "multi.jsonl" in err and "holds lists (several labels per example)" in err
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- -1 = no label


def test_unlabelled_test_file_names_the_split_and_the_fix(tmp_path):
    train = write_labelled_parquet(tmp_path / "train.parquet", labelled_ids(30))
    test = write_labelled_parquet(tmp_path / "test.parquet", [-1] * 9)
    err = load_error(DataConfig(train_file=str(train), test_file=str(test)))
    assert "test.parquet" in err and "has no labels" in err and "9 of 9 rows" in err
    assert "--data.test_file null" in err and "data.test_size" in err


@pytest.mark.parametrize("split", ["validation", "test"])
def test_unlabelled_hub_split_names_the_split_and_the_fix(tmp_path, split):
    """A Hub set read from a local folder (train / validation / test Parquet files)."""
    hub = tmp_path / "glue-like"
    hub.mkdir()
    for name in ("train", "validation", "test"):
        labels = [-1] * 6 if name == split else labelled_ids(12)
        write_labelled_parquet(hub / f"{name}.parquet", labels)
    err = load_error(DataConfig(hub_id=str(hub)))
    assert f"{split} split of {hub}" in err and "has no labels" in err and "GLUE" in err
    assert f"--data.{split}_split null" in err


def test_train_rows_without_label_are_counted(tmp_path):
    train = write_labelled_parquet(tmp_path / "train.parquet", [*labelled_ids(28), -1, -1])
    err = load_error(DataConfig(train_file=str(train)))
    assert "train.parquet" in err and "no label (-1) in 2 of 30 rows" in err


def test_unlabelled_test_file_through_the_cli(tmp_path, tiny_bert, text_data, capsys):
    test = write_labelled_parquet(tmp_path / "test.parquet", [-1] * 9)
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config), "--data.test_file", str(test)], capsys)
    assert "has no labels" in err and "--data.test_file null" in err
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- image folders


def load_images(**keys: str) -> list[str]:
    return load_data(DataConfig(**keys), ["image"], seed=0).label_names


def test_hidden_folders_and_files_are_never_classes(tmp_path):
    train = make_image_folder(tmp_path / "train", 4, seed=0)
    for copy in (".ipynb_checkpoints/circle", "circle/.ipynb_checkpoints"):
        shutil.copytree(train / "circle", train / copy)  # Jupyter's copies: never data
    (train / "square" / "0.png").rename(train / "square" / ".hidden.png")
    cfg = DataConfig(train_dir=str(train))
    data = load_data(cfg, ["image"], seed=0)
    assert data.label_names == ["circle", "square", "triangle"]
    assert sum(len(ds) for ds in data.splits.values()) == 11  # 12 visible images, one hidden


def test_train_subfolder_without_images_warns_it_is_not_a_class(tmp_path, capsys):
    train = make_image_folder(tmp_path / "train", 4, seed=0)
    (train / "notes").mkdir()
    (train / "notes" / "readme.txt").write_text("labels were checked by hand")
    (train / "empty").mkdir()
    assert load_images(train_dir=str(train)) == ["circle", "square", "triangle"]
    err = capsys.readouterr().err
    for name in ("notes", "empty"):
        assert f"'{train / name}' holds no image files" in err
    assert "not a class" in err and "data.train_dir" in err


def test_empty_validation_class_folder_warns(tmp_path, capsys):
    train = make_image_folder(tmp_path / "train", 4, seed=0)
    validation = make_image_folder(tmp_path / "val", 2, seed=1, classes=("circle", "square"))
    (validation / "triangle").mkdir()
    load_images(train_dir=str(train), validation_dir=str(validation))
    err = capsys.readouterr().err
    assert f"'{validation / 'triangle'}' holds no image files" in err
    assert "data.validation_dir" in err and "no examples of 'triangle'" in err


def test_skipping_every_image_of_a_class_is_an_error(tmp_path):
    train = make_image_folder(tmp_path / "train", 4, seed=0)
    for image in (train / "triangle").iterdir():
        write_corrupt_image(image)
    with pytest.raises(UserError) as caught:
        load_images(train_dir=str(train), bad_images="skip")
    err = str(caught.value)
    assert f"class folder '{train / 'triangle'}'" in err and "no readable image left" in err
    assert "data.bad_images: skip" in err


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_folder_given_as_a_data_file_is_named_a_folder(tmp_path, split):
    """It said the folder did not exist."""
    folder = tmp_path / "data"
    folder.mkdir()
    train = write_csv(folder / "train.csv", make_texts(5, seed=0))
    files = {"train_file": str(train), f"{split}_file": str(folder)}
    err = load_error(DataConfig(**files))
    assert f"data.{split}_file '{folder}' is a folder (holding train.csv), not a file" in err
    assert "data.train_dir" not in err  # a text task reads no folder


def test_an_image_task_given_a_folder_as_its_file_is_pointed_at_train_dir(tmp_path):
    make_image_folder(tmp_path / "shapes", 2, seed=0)
    with pytest.raises(UserError) as caught:
        load_data(DataConfig(train_file=str(tmp_path / "shapes")), ["image"], seed=0)
    assert "is a folder (holding circle, square, triangle), not a file" in str(caught.value)
    assert "read from a folder with data.train_dir" in str(caught.value)


def test_a_tagger_given_a_folder_as_its_file_is_named_a_folder(tmp_path):
    from toolkit.data.tagged import TagColumns, read_tagged_file

    (tmp_path / "conll").mkdir()
    with pytest.raises(UserError, match=r"'.*conll' is a folder \(empty\), not a file"):
        read_tagged_file(
            tmp_path / "conll", "data.train_file", DataConfig(), TagColumns("tokens", "tags")
        )


@pytest.mark.parametrize("split", ["train", "test"])
def test_labels_mixing_numbers_and_strings_name_the_rows(tmp_path, split):
    """A JSON Lines reader hands back 3 and "sport" as they are; sorting them into classes
    ended in a TypeError."""
    rows = [{"text": t, "label": label} for t, label in make_texts(5, seed=0)]
    rows[3]["label"] = 3
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    good = write_csv(tmp_path / "good.csv", make_texts(5, seed=1))
    files = {"train_file": str(good), f"{split}_file": str(mixed)}
    err = load_error(DataConfig(**files))
    assert f"Column 'label' of the file '{mixed}' (data.{split}_file) mixes strings" in err
    assert "numbers (e.g. 3, row 4)" in err and "all as strings" in err


def test_a_column_named_with_a_space_or_another_case_is_pointed_at(tmp_path):
    """A header written 'text, label' names ' label': the refusal says which column it is."""
    from toolkit.data.sources import check_columns

    table = datasets.Dataset.from_dict({"text": ["a"], " Label": ["b"]})
    with pytest.raises(UserError, match=r"column ' Label' differs from 'label' only in spaces"):
        check_columns(table, ["text", "label"], "file 'x.csv' (data.train_file)")
