"""One split seed for every command: `ftk baseline`, `ftk schedule`, `ftk augment` and
`ftk train` hold out the same validation/test rows (`RunConfig.split_seed`: data.split_seed when
set, else `seed`), and a saved baseline.json is reused only for the rows it was fitted on."""

from __future__ import annotations

import json

import pytest
from helpers import write_text_config

from toolkit.advice.baselines.fit import fingerprint
from toolkit.cli import main
from toolkit.config.load import load_config
from toolkit.data.load import load_data


def test_split_seed_defaults_to_the_training_seed(tiny_bert, text_data, tmp_path):
    recipe = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    assert load_config(recipe, ["--seed", "7"]).split_seed == 7
    assert load_config(recipe, ["--seed", "7", "--data.split_seed", "3"]).split_seed == 3


@pytest.mark.e2e
def test_baseline_fits_on_the_split_seed_not_the_training_seed(
    tiny_bert, text_data, tmp_path, monkeypatch
):
    """`ftk baseline --seed 1` with data.split_seed 42 holds out what `ftk train` holds out
    (it used to split with `seed`, under the same fingerprint, so `ftk train` reused baselines
    fitted on other validation rows)."""
    import toolkit.commands.baseline as command

    fitted_on = []
    real_run = command.run_baselines

    def recording_run(config, data):
        fitted_on.append(data)
        return real_run(config, data)

    monkeypatch.setattr(command, "run_baselines", recording_run)
    recipe = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    overrides = ["--seed", "1", "--data.split_seed", "42", "--data.validation_size", "0.3"]
    assert main(["baseline", "--config", str(recipe), *overrides]) == 0
    train_holds_out = load_data(load_config(recipe, overrides).data, ["text"], seed=42)
    assert fitted_on[0].splits["validation"]["text"] == train_holds_out.splits["validation"]["text"]
    saved = json.loads((tmp_path / "run" / "baseline.json").read_text())
    config = load_config(recipe, overrides)
    expected = real_run(config, train_holds_out)
    assert saved["split_seed"] == 42
    assert [b["validation"] for b in saved["baselines"]] == [
        score.validation for score in expected.scores
    ]


def test_the_fingerprint_covers_the_split_seed(tiny_bert, text_data, tmp_path):
    recipe = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    base = fingerprint(load_config(recipe, ["--seed", "1", "--data.split_seed", "42"]))
    assert fingerprint(load_config(recipe, ["--seed", "1", "--data.split_seed", "43"])) != base
    assert fingerprint(load_config(recipe, ["--seed", "1", "--data.split_seed", "42"])) == base
