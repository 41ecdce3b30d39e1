"""Bad image inputs: one clear message naming the folder, file, column or key; exit status 2."""

from __future__ import annotations

import csv
import json

import pytest
from helpers import TINY_VIT_SIZES, make_image_folder, write_corrupt_image, write_image_config
from helpers import expect_user_error as run_cli

SCRATCH = json.dumps({"from_config": TINY_VIT_SIZES})


def folder_config(tmp_path, train, **extra):
    return write_image_config(
        tmp_path / "c.yaml", SCRATCH, f"{{train_dir: '{train}'}}", tmp_path / "run", **extra
    )


def test_folder_without_class_subfolders(tmp_path, capsys):
    flat = tmp_path / "flat"
    make_image_folder(tmp_path / "src", 2, seed=0)
    flat.mkdir()
    for i, image in enumerate(sorted((tmp_path / "src").rglob("*.png"))):
        image.rename(flat / f"{i}.png")
    err = run_cli(["train", "--config", str(folder_config(tmp_path, flat))], capsys)
    assert str(flat) in err and "no subfolders with images" in err and "0.png" in err
    assert "one subfolder of images per class" in err


def test_folder_with_one_class(tmp_path, capsys):
    train = make_image_folder(tmp_path / "train", 3, seed=0, classes=("circle",))
    err = run_cli(["train", "--config", str(folder_config(tmp_path, train))], capsys)
    assert "only the class folder 'circle'" in err and "at least two classes" in err


def test_missing_train_dir(tmp_path, capsys):
    err = run_cli(["train", "--config", str(folder_config(tmp_path, tmp_path / "nope"))], capsys)
    assert "data.train_dir" in err and "is not a folder" in err


def test_listing_with_missing_files(tmp_path, capsys):
    make_image_folder(tmp_path / "imgs", 3, seed=0)
    rows = [
        ("imgs/circle/0.png", "circle"),
        ("imgs/square/0.png", "square"),
        ("imgs/circle/gone.png", "circle"),
        ("/abs/lost.jpg", "square"),
    ]
    with (tmp_path / "list.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("image", "label"), *rows])
    config = write_image_config(
        tmp_path / "c.yaml", SCRATCH, f"{{train_file: '{tmp_path / 'list.csv'}'}}", tmp_path / "run"
    )
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "2 image file(s) that do not exist" in err
    assert "imgs/circle/gone.png" in err and "/abs/lost.jpg" in err
    assert "imgs/square/0.png" not in err and str(tmp_path) in err


def test_image_size_not_divisible_by_patch(tmp_path, capsys):
    train = make_image_folder(tmp_path / "train", 2, seed=0)
    config = folder_config(tmp_path, train)
    err = run_cli(["train", "--config", str(config), "--model.from_config.patch_size", "5"], capsys)
    assert "image_size 16 is not a multiple of patch_size 5" in err and "patch_size 4" in err


def test_corrupt_images_stop_the_run_with_their_paths(tmp_path, capsys):
    train = make_image_folder(tmp_path / "train", 3, seed=0)
    broken = write_corrupt_image(train / "square" / "broken.png")
    (train / "circle" / "text.jpg").write_text("not an image")
    err = run_cli(["train", "--config", str(folder_config(tmp_path, train))], capsys)
    assert "2 image(s) that cannot be read" in err
    assert str(broken) in err and "text.jpg" in err and "data.bad_images: skip" in err
    assert not (tmp_path / "run").exists(), "stopped before training"


def test_corrupt_images_skipped_when_configured(tmp_path):
    """bad_images: skip drops the unreadable rows (counted) and keeps the rest."""
    from toolkit.config.load import load_config
    from toolkit.data.load import load_data

    train = make_image_folder(tmp_path / "train", 3, seed=0)
    write_corrupt_image(train / "square" / "broken.png")
    config = load_config(folder_config(tmp_path, train), ["--data.bad_images", "skip"])
    data = load_data(config.data, ["image"], seed=0)
    assert data.report == {"skipped_images": 1}
    assert sum(len(ds) for ds in data.splits.values()) == 9


@pytest.mark.parametrize(
    "override, words",
    [
        (  # the checkpoint named on the command line replaces the recipe's from_config
            ["--model.name_or_path", "x"],
            ["replaces the recipe's model.from_config", "Check the Hub id"],
        ),
        (["--model.from_config.hidden_sise", "8"], ["hidden_sise", "hidden_size"]),
        (["--model.from_config.model_type", "vitt"], ["'vitt'", "'vit'"]),
        (
            ["--augment.image", "trivialaugment"],
            ["augment.image", "'trivialaugment'", "valid: trivial"],
        ),
        (["--augment.horizontal_flip", "2"], ["augment.horizontal_flip", "[0, 1]"]),
        (["--remove_unused_columns", "true"], ["remove_unused_columns", "image column"]),
        (["--data.bad_images", "ignore"], ["data.bad_images", "'skip'"]),
        (["--data.image_column", "picture"], ["'picture'", "image, label"]),
    ],
)
def test_bad_keys(tmp_path, capsys, override, words):
    train = make_image_folder(tmp_path / "train", 2, seed=0)
    err = run_cli(["train", "--config", str(folder_config(tmp_path, train)), *override], capsys)
    for word in words:
        assert word in err, (word, err)


def test_no_model_at_all(tmp_path, capsys):
    train = make_image_folder(tmp_path / "train", 2, seed=0)
    config = write_image_config(
        tmp_path / "c.yaml", "{}", f"{{train_dir: '{train}'}}", tmp_path / "run"
    )
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "model.name_or_path" in err and "model.from_config" in err
