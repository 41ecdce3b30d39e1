"""`ftk search`'s data parameters (issue 36 item 5): data.max_length and class_weights in the
space, their `auto` resolved from the data's facts, and a trial's config. Pure Python: no model."""

from __future__ import annotations

import pytest

from toolkit.config.derive import derived_max_length
from toolkit.config.load import config_from_raw
from toolkit.config.search_space import DataFacts, length_choices, search_space, trial_config
from toolkit.core.errors import UserError
from toolkit.run.derived import with_derived

UNEVEN, EVEN = DataFacts(True, 512), DataFacts(False, 512)


def config_for(task: str = "text-classification", **search):
    raw = {"model": {"name_or_path": "m"}, "task": task, "data": {"train_file": "x.csv"}}
    return config_from_raw(raw, [(f"search.{key}", value) for key, value in search.items()])


def described(config, facts):
    return {p.name: p.describe() for p in search_space(config, facts)}


def with_length(config, lengths=(100,) * 10, limit=None):
    """`config` once data.max_length is chosen for the data (as plan_for_data leaves it)."""
    return with_derived(config, derived_max_length(list(lengths), limit))


def test_the_default_space_holds_max_length_and_on_uneven_classes_class_weights():
    config = with_length(config_for())  # 100 tokens -> data.max_length 128
    space = described(config, UNEVEN)
    assert space["max_length"] == "max_length in {64, 128, 256}"
    assert space["class_weights"] == "class_weights in {none, balanced}"
    assert "class_weights" not in described(config, EVEN)  # even classes: auto leaves it off
    # a recipe's mapping of weights is its own: auto does not replace it
    weighted = with_length(config_for())
    weighted.class_weights = {"a": 2.0}
    assert "class_weights" not in described(weighted, UNEVEN)


def test_before_the_data_the_data_parameters_wait_for_it():
    """The first space (settings checked before the data loads) leaves the data's auto open:
    data.max_length is still a placeholder, the classes are unread."""
    config = config_for()
    assert "data.max_length" in config.derive
    assert not {"max_length", "class_weights"} & set(described(config, None))
    # nothing else searched: not empty yet, the data's parameters may still be
    off = dict.fromkeys(("learning_rate", "num_train_epochs", "weight_decay"), "off")
    off |= dict.fromkeys(("per_device_train_batch_size", "warmup_fraction", "layer_decay"), "off")
    assert search_space(config_for(**off), None) == []
    with pytest.raises(UserError, match="nothing is left to search"):
        search_space(config_for(**off, max_length="off", class_weights="off"), None)
    # even classes at a length of its own: nothing at all, found with the data
    with pytest.raises(UserError, match="nothing is left to search"):
        search_space(with_length(config_for(**off, max_length="off")), EVEN)


@pytest.mark.parametrize(
    ("length", "limit", "choices"),
    [
        (128, None, (64, 128, 256)),
        (96, None, (32, 96, 192)),
        (32, 128, (32, 64)),
        (40, None, (32, 40, 80)),
        (16, None, (16, 32)),  # below 32: L / 2 is raised to 32, no further than L
        (256, None, (128, 256, 512)),
        (384, None, (192, 384, 512)),  # 2 L capped at 512
        (512, 512, (256, 512)),  # at the model's limit: no longer choice
    ],
)
def test_auto_max_length_choices(length, limit, choices):
    assert length_choices(length, limit) == choices


def test_auto_max_length_is_built_from_the_derived_length_and_the_model_limit():
    short = with_length(config_for(), lengths=[20] * 10)  # 20 tokens -> 32
    assert described(short, DataFacts(False, 128))["max_length"] == "max_length in {32, 64}"
    long = with_length(config_for(), lengths=[900] * 10, limit=512)  # capped at 256
    assert described(long, DataFacts(False, 300))["max_length"] == "max_length in {128, 256, 300}"


@pytest.mark.parametrize("task", ["image-classification", "token-classification"])
def test_max_length_is_not_offered_for_images_or_tagged_words(task):
    config = config_for(task)
    assert "max_length" not in described(config, UNEVEN)
    with pytest.raises(UserError, match=r"search\.max_length varies the tokens"):
        search_space(config_for(task, max_length={"choices": [64, 128]}), None)


@pytest.mark.parametrize("task", ["token-classification", "text-multilabel", "text-regression"])
def test_class_weights_only_for_single_label_classification(task):
    config = config_for(task)
    if "data.max_length" in config.derive:
        config = with_length(config)
    assert "class_weights" not in described(config, UNEVEN)
    with pytest.raises(UserError, match=r"search\.class_weights varies the class weights"):
        search_space(config_for(task, class_weights={"choices": ["none", "balanced"]}), None)
    assert "class_weights" in described(with_length(config_for()), UNEVEN)
    image = described(config_for("image-classification"), UNEVEN)
    assert image["class_weights"] == "class_weights in {none, balanced}"


@pytest.mark.parametrize(
    ("search", "says"),
    [
        ({"max_length": {"choices": [0]}}, "Config key 'search.max_length' holds 0"),
        ({"max_length": [4, 64]}, "Config key 'search.max_length' holds 4"),
        ({"class_weights": {"choices": ["none", "inverse"]}}, "'search.class_weights' holds"),
        ({"class_weights": [0, 1]}, "Config key 'search.class_weights' takes choices"),
    ],
)
def test_bad_data_parameters_are_refused_naming_the_key(search, says):
    with pytest.raises(UserError, match=says):
        search_space(config_for(**search), None)


def test_a_max_length_past_the_model_limit_is_refused_once_the_model_is_known():
    config = with_length(config_for(max_length={"choices": [128, 1024]}))
    search_space(config, None)  # the limit is the tokenizer's: known with the data
    with pytest.raises(UserError, match=r"'search\.max_length' reaches 1024 tokens.*at most 512"):
        search_space(config, UNEVEN)


def test_a_trial_config_sets_max_length_and_class_weights_and_drops_them_as_derived():
    config = with_length(config_for())
    assert [d.key for d in config.derived] == ["data.max_length"]
    trial = trial_config(config, {"max_length": 64, "class_weights": "balanced"}, "out")
    assert (trial.data.max_length, trial.class_weights) == (64, "balanced")
    assert trial.derived == ()  # the trial's value, not the data's
    assert config.data.max_length == 128  # the search's config is left alone
    assert trial_config(config, {"class_weights": "none"}, "out").class_weights is None
