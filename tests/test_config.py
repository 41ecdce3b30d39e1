"""Config loading: YAML + overrides, type conversion, and the errors users see."""

from __future__ import annotations

import pytest
import yaml

from toolkit.config.load import load_config, parse_overrides
from toolkit.core.errors import UserError


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path, text, overrides=None) -> str:
    with pytest.raises(UserError) as info:
        load_config(write(tmp_path, text), overrides)
    return str(info.value)


def test_yaml_string_numbers_are_converted(tmp_path):
    config = load_config(write(tmp_path, "learning_rate: 2e-5\nnum_train_epochs: '3'\n"))
    assert config.training["learning_rate"] == 2e-5
    assert isinstance(config.training["learning_rate"], float)
    assert config.training["num_train_epochs"] == 3.0


def test_overrides_flat_and_dotted(tmp_path):
    path = write(tmp_path, "model: {name_or_path: a}\nlearning_rate: 1e-4\n")
    config = load_config(
        path,
        [
            "--learning_rate",
            "5e-5",
            "--model.name_or_path",
            "b",
            "--data.max_length=64",
            "--model.trust_remote_code",
        ],
    )
    assert config.training["learning_rate"] == 5e-5
    assert config.model.name_or_path == "b"
    assert config.data.max_length == 64
    assert config.model.trust_remote_code is True


def test_unknown_key_names_it_and_suggests_the_closest(tmp_path):
    message = error_of(tmp_path, "learning_rat: 1e-4\n")
    assert "'learning_rat'" in message and "Did you mean 'learning_rate'" in message
    message = error_of(tmp_path, "model: {name_or_pth: x}\n")
    assert "'model.name_or_pth'" in message and "'model.name_or_path'" in message


def test_wrong_type_names_the_expected_type(tmp_path):
    message = error_of(tmp_path, "data: {max_length: lots}\n")
    assert "'data.max_length'" in message and "an integer" in message and "'lots'" in message
    message = error_of(tmp_path, "num_train_epochs: three\n")
    assert "'num_train_epochs'" in message and "a number" in message


@pytest.mark.parametrize(
    "key, hint",
    [
        ("evaluation_strategy", "eval_strategy"),
        ("overwrite_output_dir", "--overwrite"),
        ("no_cuda", "use_cpu"),
        ("lr", "learning_rate"),
    ],
)
def test_keys_removed_by_transformers_5_say_what_to_write(tmp_path, key, hint):
    message = error_of(tmp_path, f"{key}: 1\n")
    assert f"'{key}'" in message and hint in message


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_warmup_given_two_ways_is_rejected(tmp_path):
    message = error_of(tmp_path, "schedule: {warmup_steps: 10, warmup_fraction: 0.1}\n")
    assert "two ways" in message and "schedule.warmup_steps" in message


def test_output_dir_defaults_to_runs_and_the_config_name(tmp_path):
    config = load_config(write(tmp_path, "seed: 1\n"))
    assert config.training["output_dir"] == "runs/c"


def test_resolved_config_round_trips(tmp_path):
    config = load_config(
        write(tmp_path, "learning_rate: 3e-4\ndata: {max_length: 99}\n"), ["--seed", "7"]
    )
    again = load_config(write(tmp_path, config.to_yaml()))
    assert again.to_dict() == config.to_dict()
    assert yaml.safe_load(config.to_yaml())["seed"] == 7


def test_bare_flag_means_true_and_malformed_arguments_are_rejected():
    assert parse_overrides(["--push_to_hub"]) == [("push_to_hub", True)]
    with pytest.raises(UserError, match="--key value"):
        parse_overrides(["stray"])


def test_no_stays_a_word_for_string_keys_and_false_for_flags(tmp_path):
    config = load_config(
        write(tmp_path, "save_strategy: no\nload_best_model_at_end: no\n"),
        ["--eval_strategy", "no", "--model.trust_remote_code", "no"],
    )
    assert config.training["eval_strategy"] == "no"
    assert config.training["save_strategy"] == "no"
    assert config.training["load_best_model_at_end"] is False
    assert config.model.trust_remote_code is False


def test_dashed_keys_are_the_underscored_ones(tmp_path):
    """HF scripts' spelling: `--learning-rate`, `--per-device-train-batch-size`, dotted too."""
    config = load_config(
        write(tmp_path, "learning_rate: 1e-4\n"),
        [
            "--learning-rate",
            "5e-5",
            "--per-device-train-batch-size=4",
            "--data.max-length",
            "64",
            "--early-stopping.patience",
            "null",
        ],
    )
    assert config.training["learning_rate"] == 5e-5
    assert config.training["per_device_train_batch_size"] == 4
    assert config.data.max_length == 64 and config.early_stopping.patience is None
    assert "Did you mean 'learning_rate'?" in error_of(tmp_path, "", ["--learnig-rate", "1"])


def test_a_data_source_on_the_command_line_replaces_the_recipes(tmp_path, capsys):
    recipe = write(tmp_path, "data: {builtin: bbc-news, max_length: 64}\n")
    config = load_config(recipe, ["--data.train_file", "my.csv", "--data.test_file", "t.csv"])
    assert (config.data.builtin, config.data.train_file) == (None, "my.csv")
    assert config.data.test_file == "t.csv" and config.data.max_length == 64  # the rest stays
    assert "--data.train_file replaces the recipe's data.builtin ('bbc-news')" in (
        capsys.readouterr().err
    )
    hub = write(tmp_path, "data: {hub_id: me/set, hub_config: en, hub_revision: v1}\n")
    config = load_config(hub, ["--data.train_file", "my.csv"])
    assert (config.data.hub_id, config.data.hub_config, config.data.hub_revision) == (None,) * 3
    folders = write(tmp_path, "data: {train_dir: a, test_dir: b}\n")
    config = load_config(folders, ["--data.hub_id", "me/set"])
    assert (config.data.hub_id, config.data.train_dir, config.data.test_dir) == (
        "me/set",
        None,
        None,
    )


def test_two_sources_in_one_file_or_on_one_command_line_stay_an_error(tmp_path):
    both = "data: {builtin: bbc-news, train_file: x.csv}\n"
    assert "both name a data source" in error_of(tmp_path, both)
    twice = ["--data.train_file", "a.csv", "--data.hub_id", "me/set"]
    assert "both name a data source" in error_of(tmp_path, "data: {builtin: bbc-news}\n", twice)


def test_a_checkpoint_on_the_command_line_replaces_the_recipes_from_config(tmp_path, capsys):
    recipe = write(
        tmp_path,
        "task: image-classification\nmodel: {from_config: {model_type: vit, image_size: 28, "
        "patch_size: 4}}\n",
    )
    config = load_config(recipe, ["--model.name_or_path", "runs/earlier"])
    assert config.model.from_config is None and config.model.name_or_path == "runs/earlier"
    assert "replaces the recipe's model.from_config" in capsys.readouterr().err
    sized = load_config(recipe, ["--model.from_config.hidden_size", "32"])
    assert sized.model.from_config["hidden_size"] == 32  # a size, not a new source


def test_the_loader_knows_whether_metrics_were_chosen(tmp_path):
    from toolkit.advice.data_size import metrics_for_classes

    recipe = tmp_path / "r.yaml"
    recipe.write_text("task: text-classification\n")
    default = load_config(recipe)
    assert default.metrics == ["accuracy", "f1_macro"] and not default.metrics_chosen
    in_file = tmp_path / "m.yaml"
    in_file.write_text("task: text-classification\nmetrics: [accuracy, f1_macro]\n")
    assert load_config(in_file).metrics_chosen
    assert load_config(recipe, ["--metrics", "[accuracy]"]).metrics_chosen
    uneven, even = {"a": 64, "b": 27, "c": 9}, {"a": 34, "b": 33, "c": 33}
    assert metrics_for_classes(default.metrics, uneven, chosen=False) == ["f1_macro", "accuracy"]
    assert metrics_for_classes(default.metrics, uneven, chosen=True) == ["accuracy", "f1_macro"]
    assert metrics_for_classes(default.metrics, even, chosen=False) == ["accuracy", "f1_macro"]
    assert metrics_for_classes(["rmse", "mae"], {}, chosen=False) == ["rmse", "mae"]
