"""A checkpoint that ships its own modelling code (config.json's auto_map for a model type
transformers does not know) is refused by name, and its code never runs: `ftk train` names
model.trust_remote_code, `ftk predict` / `ftk evaluate` keep remote code off even when the
terminal would answer yes to transformers' question. (A Hub repo of that kind:
tests/test_hub.py.)"""

from __future__ import annotations

import builtins
import json
import shutil

import pytest
from helpers import expect_user_error, with_shipped_code, write_text_config

from toolkit.model.remote_code import custom_code_needed


@pytest.fixture()
def yes_on_the_terminal(monkeypatch):
    """transformers asks `input()` whether to run shipped code when trust_remote_code is
    unset; a user who answers yes must still not get it from ftk predict."""
    monkeypatch.setattr(builtins, "input", lambda *_: "y")


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_use_refuses_a_run_that_ships_code_and_never_runs_it(
    command, tiny_bert, text_data, tmp_path, capsys, yes_on_the_terminal
):
    run = with_shipped_code(tiny_bert, tmp_path / "run")
    (run / "run_config.yaml").write_text("task: text-classification\nmetrics: [accuracy]\n")
    given = ["--text", "a"] if command == "predict" else ["--data", str(text_data["test"])]
    err = expect_user_error([command, str(run), *given], capsys)
    assert "trust_remote_code stays off" in err and "shipped.ShippedModel" in err
    assert not (run / "CODE_RAN").exists()


@pytest.mark.e2e
def test_train_from_a_checkpoint_that_ships_code_names_the_key(
    tiny_bert, text_data, tmp_path, capsys
):
    model = with_shipped_code(tiny_bert, tmp_path / "model")
    recipe = write_text_config(tmp_path / "r.yaml", model, text_data, tmp_path / "run")
    err = expect_user_error(["train", "--config", str(recipe)], capsys)
    assert "set model.trust_remote_code: true" in err and "'shipped'" in err
    assert "Check the Hub id" not in err
    assert not (model / "CODE_RAN").exists()
    assert not (tmp_path / "run").exists()


def test_a_model_type_transformers_ships_is_loaded_with_its_own_code(tiny_bert, tmp_path):
    """An auto_map beside a known model type (a bert) loads with transformers' classes when
    remote code is off: nothing to refuse. Only an unknown type needs the shipped code."""
    folder = tmp_path / "bert"
    shutil.copytree(tiny_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "custom.Model"}
    (folder / "config.json").write_text(json.dumps(config))
    assert custom_code_needed(folder) is None
    config["model_type"] = "custom"
    (folder / "config.json").write_text(json.dumps(config))
    assert "custom.Model" in (custom_code_needed(folder) or "")
