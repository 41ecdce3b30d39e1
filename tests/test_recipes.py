"""Packaged recipes by name, from any folder: `--config NAME`, `ftk recipes` (list, copy,
path), the accelerate configs among them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from toolkit.cli import main
from toolkit.config.load import load_config
from toolkit.config.recipes import RECIPES


@pytest.mark.e2e
def test_config_by_name_from_an_empty_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for given in ("vit-fashion-mnist", "vit-fashion-mnist.yaml", "configs/vit-fashion-mnist.yaml"):
        config = load_config(given)
        assert config.task == "image-classification" and config.data.builtin == "fashion-mnist"
        assert config.training["output_dir"] == str(Path("runs") / "vit-fashion-mnist")
    assert main(["train", "--config", "text-bbc-minilm", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["data"]["builtin"] == "bbc-news"


def test_a_file_of_that_name_wins_over_the_packaged_recipe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text-bbc-minilm.yaml").write_text("data: {builtin: fashion-mnist}\n")
    assert load_config("text-bbc-minilm.yaml").data.builtin == "fashion-mnist"


@pytest.mark.e2e
def test_recipes_lists_copies_and_prints_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["recipes"]) == 0
    listing = capsys.readouterr().out
    assert "vit-fashion-mnist " in listing and "accelerate/fsdp " in listing
    assert "Fully Sharded Data Parallel" in listing  # each with its first comment line
    assert main(["recipes", "path", "accelerate/fsdp"]) == 0
    assert Path(capsys.readouterr().out.strip()) == RECIPES / "accelerate" / "fsdp.yaml"
    assert main(["recipes", "copy", "vit-fashion-mnist"]) == 0
    copied = tmp_path / "vit-fashion-mnist.yaml"
    assert copied.read_text() == (RECIPES / "vit-fashion-mnist.yaml").read_text()
    copied.write_text("# mine\n")
    assert main(["recipes", "copy", "vit-fashion-mnist"]) == 2  # never over a file
    assert "--force" in capsys.readouterr().err and copied.read_text() == "# mine\n"
    assert main(["recipes", "copy", "vit-fashion-mnist", "--force"]) == 0
    assert main(["recipes", "copy", "accelerate/fsdp", str(tmp_path / "sub")]) == 0
    assert (tmp_path / "sub").read_text().startswith("#")  # a new file named sub


@pytest.mark.e2e
def test_unknown_recipe_names_the_packaged_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["recipes", "copy", "vit-fashion"]) == 2
    assert "vit-fashion-mnist" in capsys.readouterr().err
    assert main(["train", "--config", "nope", "--print-config"]) == 2
    err = capsys.readouterr().err
    assert "no packaged recipe has that name" in err and "text-bbc-minilm" in err
