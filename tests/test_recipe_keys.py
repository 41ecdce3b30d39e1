"""A key written twice in a YAML recipe is refused with the key and both lines
(toolkit/config/unique_keys.py); before, PyYAML kept the second value without a word. The
reader stays as safe as yaml.safe_load and reads every packaged recipe exactly as it does."""

from __future__ import annotations

import pytest
import yaml

from toolkit.config.load import load_config
from toolkit.config.recipes import packaged_recipes
from toolkit.config.unique_keys import RepeatedKey, load_unique
from toolkit.core.errors import UserError


def refusal(tmp_path, text: str) -> str:
    recipe = tmp_path / "twice.yaml"
    recipe.write_text(text)
    with pytest.raises(UserError) as caught:
        load_config(recipe)
    message = str(caught.value)
    assert f"Config file '{recipe}'" in message
    return message


def test_a_top_level_key_twice(tmp_path):
    err = refusal(tmp_path, "learning_rate: 1e-3\nnum_train_epochs: 2\nlearning_rate: 1e-5\n")
    assert "writes key 'learning_rate' twice (lines 1 and 3)" in err
    assert "keep only the second value" in err


def test_a_section_twice(tmp_path):
    text = "data:\n  max_length: 32\nseed: 1\ndata:\n  text_column: body\n"
    err = refusal(tmp_path, text)
    assert "writes key 'data' twice (lines 1 and 4)" in err
    assert "every key of the first dropped" in err and "one 'data' section" in err


def test_a_key_twice_inside_a_section(tmp_path):
    err = refusal(
        tmp_path, "seed: 1\ndata:\n  max_length: 32\n  text_column: t\n  max_length: 64\n"
    )
    assert "writes key 'data.max_length' twice (lines 3 and 5)" in err


def test_a_key_twice_in_a_flow_mapping_on_one_line(tmp_path):
    err = refusal(tmp_path, "data: {max_length: 32, max_length: 64}\n")
    assert "writes key 'data.max_length' twice (line 1)" in err


def test_keys_equal_as_yaml_reads_them_are_one_key():
    with pytest.raises(RepeatedKey) as caught:
        load_unique("a:\n  1: x\n  0x1: y\n")
    assert caught.value.key == "a.1" and (caught.value.first, caught.value.second) == (2, 3)


def test_a_merged_mapping_may_be_overridden_and_recursion_ends():
    """`<<: *base` then a key of base: YAML's own override, not a key written twice."""
    text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\nloop: &l [1, *l]\n"
    loaded = load_unique(text)
    assert loaded["other"] == {"x": 3, "y": 2} and loaded["base"] == {"x": 1, "y": 2}
    assert loaded["loop"][1] is loaded["loop"]


def test_python_tags_are_still_refused(tmp_path):
    marker = tmp_path / "ran"
    text = f"a: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(yaml.constructor.ConstructorError):
        load_unique(text)
    assert not marker.exists()


@pytest.mark.parametrize("name", sorted(packaged_recipes()))
def test_every_packaged_recipe_reads_as_safe_load_reads_it(name):
    text = packaged_recipes()[name].read_text()
    assert load_unique(text) == yaml.safe_load(text)
