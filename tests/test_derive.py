"""Values chosen for the data (issue 36 item 2): the rules on numbers (config/derive.py), which
keys a config leaves to derive (set nowhere, or released by a recipe's for_this_data when the
command line replaces its data source), and one real run that says and records them."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import (
    TINY_VIT_SIZES,
    ftk,
    history_rows,
    make_image_folder,
    make_texts,
    write_csv,
    write_image_config,
    write_text_config,
)

from toolkit.config.derive import (
    FINE_TUNE,
    FROM_SCRATCH,
    LONGEST_EVALUATION_GAP,
    LONGEST_LENGTH,
    MAX_STEPS,
    MIN_EPOCHS,
    MOST_EVALUATIONS,
    derived_epochs,
    derived_eval_steps,
    derived_max_length,
)
from toolkit.config.load import config_from_raw, load_config
from toolkit.config.recipes import DEFAULT_RECIPE
from toolkit.core.errors import UserError

BOTH = ("num_train_epochs", "data.max_length")
CADENCE = "eval_steps"  # chosen with the epochs, for an epoch too long to wait for

# ----------------------------------------------------------------------------- the rules


def test_epochs_are_the_fewest_that_reach_the_minimum_steps():
    # 600 examples, batch 16: 38 steps an epoch; 8 epochs = 304 >= 300, 7 = 266 < 300
    derived = derived_epochs(600, 38)
    assert (derived.key, derived.value) == ("num_train_epochs", 8)
    assert "600 training examples, 38 optimizer steps an epoch: 8 epochs = 304 steps" in (
        derived.why
    )
    assert f"the fewest epochs reaching {FINE_TUNE.min_steps} steps" in derived.why


def test_a_set_that_reaches_the_minimum_in_one_epoch_still_trains_the_fewest_passes():
    derived = derived_epochs(4800, 300)  # exactly the minimum steps in one epoch
    assert derived.value == MIN_EPOCHS == 3
    assert "3 epochs = 900 steps, at least 3 epochs" in derived.why


def test_epochs_stop_at_the_ceilings():
    tiny = derived_epochs(40, 3)
    assert tiny.value == FINE_TUNE.max_epochs == 20 and "at most 20 epochs" in tiny.why
    # 80,000 rows: 5,000 steps an epoch; 3 would pass 10,000 steps, 2 stay within
    large = derived_epochs(80_000, 5_000)
    assert large.value == 2 and MAX_STEPS == 10_000
    assert "2 epochs = 10,000 steps, the most whole epochs within 10,000 steps" in large.why
    huge = derived_epochs(1_000_000, 62_500)
    assert huge.value == 1
    assert "1 epoch = 62,500 steps" in huge.why and "set max_steps to stop sooner" in huge.why


def test_a_model_from_scratch_needs_thousands_of_steps():
    # 10,000 images at batch 128: 79 steps an epoch; a fine-tune's rule gave 4 epochs (316 steps)
    derived = derived_epochs(10_000, 79, FROM_SCRATCH)
    assert derived.value == 26 and FROM_SCRATCH.min_steps == 2_000
    assert derived.why == (
        "10,000 training examples, 79 optimizer steps an epoch: 26 epochs = 2,054 steps, the "
        "fewest epochs reaching 2,000 steps, as a model trained from scratch needs"
    )
    tiny = derived_epochs(60, 4, FROM_SCRATCH)
    assert tiny.value == FROM_SCRATCH.max_epochs == 200 and "at most 200 epochs" in tiny.why
    # the ceiling still holds: 9,000 steps an epoch from scratch is one epoch
    assert derived_epochs(1_000_000, 9_000, FROM_SCRATCH).value == 1
    assert derived_epochs(600, 38).value == 8  # a fine-tune's rule is unchanged


def test_max_length_fits_the_share_rounded_up_to_a_multiple_of_32():
    lengths = list(range(1, 201))  # 95% fit in 190 tokens
    derived = derived_max_length(lengths, model_limit=512)
    assert (derived.key, derived.value) == ("data.max_length", 192)
    assert derived.why == (
        "95% of 200 training texts fit in 190 tokens, rounded up to a multiple of 32"
    )
    assert derived_max_length([64] * 10, None).value == 64  # a multiple stays
    assert derived_max_length([5, 7, 9], None).value == 32  # at least 32, said
    assert "; at least 32" in derived_max_length([5, 7, 9], None).why


def test_max_length_is_capped_for_time_and_by_the_model():
    long = derived_max_length([700] * 2000, model_limit=512)
    assert long.value == LONGEST_LENGTH
    assert long.why == (
        "95% of 2,000 sampled training texts fit in 700 tokens; capped at 256 for time"
    )
    small_model = derived_max_length([700] * 10, model_limit=128)
    assert small_model.value == 128 and "capped at 128, the model's limit" in small_model.why


def test_an_epoch_too_long_to_wait_for_is_evaluated_within():
    assert (
        derived_eval_steps(LONGEST_EVALUATION_GAP, LONGEST_EVALUATION_GAP) is None
    )  # evaluated at its end
    two = derived_eval_steps(2_001, 2_001)
    assert two is not None and two.value == 1_001
    huge = derived_eval_steps(62_500, 62_500)  # 1M rows at batch 16
    assert huge is not None and huge.value == 1_954  # 32 parts of at most 2,000 steps
    assert huge.why == (
        "an epoch is 62,500 optimizer steps: evaluated and saved every 1,954 steps, 32 times "
        "an epoch, so early stopping and the kept model have evaluations to choose from and "
        "a stopped run loses at most 1,954 steps"
    )
    assert huge.settings() == {
        "eval_strategy": "steps",
        "save_strategy": "steps",
        "eval_steps": 1_954,
        "save_steps": 1_954,
    }


def test_a_run_of_many_short_epochs_is_evaluated_every_few():
    assert derived_eval_steps(38, 20 * 38) is None  # a fine-tune's 20 epochs: one each
    assert derived_eval_steps(38, 8 * 38 + 1) is None
    many = derived_eval_steps(11, 182 * 11)  # 1,334 images from scratch at batch 128
    assert many is not None and many.value == 110  # every 10 epochs, 19 times
    assert many.why == (
        "182 epochs of 11 optimizer steps: evaluated and saved every 10 epochs (110 steps), 19 "
        "times, so early stopping's patience spans a share of the run, not one short epoch's "
        "noise"
    )
    just_over = derived_eval_steps(5, (MOST_EVALUATIONS + 1) * 5)
    assert just_over is not None and just_over.value == 10  # every 2 epochs
    # a long epoch is split however many epochs there are
    assert derived_eval_steps(2_001, 3 * 2_001).value == 1_001  # type: ignore[union-attr]


def test_the_line_says_the_value_why_and_how_to_choose():
    line = derived_epochs(600, 38).line()
    assert line.startswith("Chosen for this data: num_train_epochs 8 (600 training examples")
    assert line.endswith("; set num_train_epochs to choose)")


# ----------------------------------------------------------------------------- the config


def source_recipe(**data) -> dict:
    return {
        "task": "text-classification",
        "for_this_data": list(BOTH),
        "model": {"name_or_path": "m"},
        "data": {"builtin": "bbc-news", "max_length": 96, **data},
        "num_train_epochs": 2,
    }


def test_keys_set_nowhere_are_derived_and_set_ones_win():
    bare = config_from_raw({"model": {"name_or_path": "m"}}, [])
    assert bare.derive == (*BOTH, CADENCE)
    file_sets = config_from_raw({"model": {"name_or_path": "m"}, "num_train_epochs": 4}, [])
    assert file_sets.derive == ("data.max_length", CADENCE)
    line_sets = config_from_raw({"model": {"name_or_path": "m"}}, [("data.max_length", 64)])
    assert line_sets.derive == ("num_train_epochs", CADENCE) and line_sets.data.max_length == 64


def test_the_recipe_s_own_data_keeps_its_values():
    for pairs in ([], [("data.builtin", "bbc-news")], [("learning_rate", 1e-4)]):
        config = config_from_raw(source_recipe(), pairs)
        assert config.derive == (CADENCE,)  # chosen only should an epoch be long
        assert (config.training["num_train_epochs"], config.data.max_length) == (2, 96)
    demo = load_config(DEFAULT_RECIPE)  # `ftk train` with no arguments: as before
    assert demo.derive == (CADENCE,)
    assert (demo.training["num_train_epochs"], demo.data.max_length) == (2, 96)


def test_a_replaced_data_source_releases_the_listed_keys(capsys):
    pairs = [("data.train_file", "mine.csv"), ("data.builtin", None)]
    config = config_from_raw(source_recipe(), pairs)
    assert config.derive == (*BOTH, CADENCE)
    said = capsys.readouterr().err
    assert "--data.train_file replaces the recipe's data" in said
    assert "num_train_epochs 2, data.max_length 96" in said
    # a listed key the command line sets itself stays that value
    pinned = config_from_raw(source_recipe(), [*pairs, ("num_train_epochs", 5)])
    assert (
        pinned.derive == ("data.max_length", CADENCE) and pinned.training["num_train_epochs"] == 5
    )
    # another builtin set is another data source too
    other = config_from_raw(source_recipe(), [("data.builtin", "bbc-news-mixtures")])
    assert other.derive == (*BOTH, CADENCE)


def test_the_release_line_says_max_steps_sets_the_length_instead_of_epochs(capsys):
    pairs = [("data.train_file", "mine.csv"), ("data.builtin", None), ("max_steps", 50)]
    config = config_from_raw(source_recipe(), pairs)
    assert config.derive == ("data.max_length", CADENCE)
    said = capsys.readouterr().err
    assert "num_train_epochs 2 (none chosen: max_steps 50 sets the run's length)" in said


def test_a_key_not_listed_is_kept_when_the_source_is_replaced():
    raw = {**source_recipe(), "for_this_data": ["num_train_epochs"]}
    config = config_from_raw(raw, [("data.train_file", "mine.csv"), ("data.builtin", None)])
    assert config.derive == ("num_train_epochs", CADENCE) and config.data.max_length == 96


def test_for_this_data_is_not_saved_so_a_rerun_keeps_the_values():
    config = config_from_raw(source_recipe(), [("data.train_file", "mine.csv")])
    saved = yaml.safe_load(config.to_yaml())
    assert "for_this_data" not in saved
    again = config_from_raw(saved, [])
    assert again.derive == ()  # and run_config.yaml sets eval_strategy: no cadence either


def test_what_derives_nothing():
    model = {"model": {"name_or_path": "m"}}
    assert config_from_raw(model, [("max_steps", 50)]).derive == ("data.max_length", CADENCE)
    images = {"task": "image-classification", **model}
    assert config_from_raw(images, []).derive == ("num_train_epochs", CADENCE)
    tags = {"task": "token-classification", **model}  # sentences are measured in words
    assert config_from_raw(tags, []).derive == ("num_train_epochs", CADENCE)
    pretraining = {"task": "masked-lm", "metrics": ["loss"], **model}
    assert config_from_raw(pretraining, []).derive == ()


def test_any_cadence_key_set_keeps_the_cadence_set():
    model = {"model": {"name_or_path": "m"}}
    for key, value in [
        ("eval_strategy", "epoch"),
        ("save_strategy", "epoch"),
        ("eval_steps", 500),
        ("save_steps", 500),
    ]:
        assert CADENCE not in config_from_raw(model, [(key, value)]).derive, key


def test_for_this_data_refuses_a_key_ftk_cannot_derive():
    with pytest.raises(UserError, match="lists 'learning_rate', which ftk cannot derive"):
        config_from_raw({**source_recipe(), "for_this_data": ["learning_rate"]}, [])
    with pytest.raises(UserError, match="'for_this_data' must be"):
        config_from_raw({**source_recipe(), "for_this_data": 3}, [])


def test_every_packaged_fine_tuning_recipe_lists_only_keys_it_sets():
    from toolkit.config.recipes import packaged_recipes

    for name, path in packaged_recipes().items():
        if name.startswith("accelerate/"):
            continue
        raw = yaml.safe_load(path.read_text())
        for key in raw.get("for_this_data") or []:
            head, _, rest = key.partition(".")
            assert (rest in raw[head]) if rest else (key in raw), (name, key)


def test_a_chosen_value_is_written_as_a_plain_value_and_a_searched_one_is_the_trial_s():
    from toolkit.config.search_space import trial_config
    from toolkit.run.derived import with_derived

    config = config_from_raw({"model": {"name_or_path": "m"}}, [])
    config = with_derived(config, derived_max_length([100] * 10, None))
    config = with_derived(config, derived_epochs(600, 38))
    assert config.derive == (CADENCE,) and config.data.max_length == 128
    assert config.training["num_train_epochs"] == 8
    saved = yaml.safe_load(config.to_yaml())
    assert (saved["num_train_epochs"], saved["data"]["max_length"]) == (8, 128)
    trial = trial_config(config, {"num_train_epochs": 3}, "out")
    assert trial.training["num_train_epochs"] == 3
    assert [d.key for d in trial.derived] == ["data.max_length"]


def test_print_config_says_which_values_a_run_will_choose(capsys):
    from toolkit.cli import main

    assert main(["train", "--data.train_file", "mine.csv", "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert printed.rstrip().endswith(
        "# chosen for the data when training starts: num_train_epochs, data.max_length; "
        "eval_steps too, should an epoch pass 2,000 steps or the run 20 epochs (the values above "
        "are placeholders a run replaces; set them to choose)"
    )
    assert "for_this_data" not in yaml.safe_load(printed)
    assert main(["train", "--print-config"]) == 0  # the recipe's own data: nothing to choose
    assert "# chosen for the data" not in capsys.readouterr().out


# ----------------------------------------------------------------------------- a real run


@pytest.mark.e2e
def test_a_run_says_records_and_reproduces_the_values_chosen(tiny_bert, text_data, tmp_path):
    recipe = write_text_config(
        tmp_path / "r.yaml", tiny_bert, text_data, tmp_path / "run", baseline="{enabled: false}"
    )
    # the helper's recipe sets both; this run leaves them to the data
    text = recipe.read_text().replace("num_train_epochs: 8\n", "").replace(", max_length: 32", "")
    recipe.write_text(text)
    run = ftk("train", "--config", str(recipe), "--early_stopping.patience", "1")
    said = run.stderr + run.stdout
    # 81 training rows, batch 8: 11 steps an epoch, 20 epochs at most
    assert (
        "Chosen for this data: data.max_length 32 (95% of 81 training texts fit in 17 tokens; "
        "at least 32; set data.max_length to choose)"
    ) in said
    assert (
        "Chosen for this data: num_train_epochs 20 (81 training examples, 11 optimizer steps an "
        "epoch: 20 epochs = 220 steps, at most 20 epochs; early stopping ends sooner; set "
        "num_train_epochs to choose)"
    ) in said
    saved = yaml.safe_load((tmp_path / "run" / "run_config.yaml").read_text())
    assert (saved["num_train_epochs"], saved["data"]["max_length"]) == (20, 32)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {k: v["value"] for k, v in metrics["derived"].items()} == {
        "data.max_length": 32,
        "num_train_epochs": 20,
    }
    report = (tmp_path / "run" / "report.md").read_text()
    assert "- `num_train_epochs` 20: 81 training examples" in report
    # the saved config sets both: a rerun from it chooses nothing
    rerun = load_config(tmp_path / "run" / "run_config.yaml")
    assert rerun.derive == ()


@pytest.mark.e2e
def test_ftk_schedule_chooses_the_epochs_as_train_will(tiny_bert, text_data, tmp_path, capsys):
    from toolkit.commands.schedule import preview_schedule

    recipe = write_text_config(tmp_path / "r.yaml", tiny_bert, text_data, tmp_path / "run")
    recipe.write_text(recipe.read_text().replace("num_train_epochs: 8\n", ""))
    preview = preview_schedule(load_config(recipe), png=tmp_path / "lr.png")
    # 81 training rows, batch 8: 11 steps an epoch, 20 epochs at most
    assert preview.summary.total_steps == 220
    assert "Chosen for this data: num_train_epochs 20" in capsys.readouterr().out


@pytest.mark.e2e
def test_a_long_epoch_is_evaluated_and_saved_within(tiny_bert, tmp_path):
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(700, seed=1)),  # 2,100 rows
        "test": write_csv(tmp_path / "test.csv", make_texts(4, seed=2)),
    }
    recipe = write_text_config(
        tmp_path / "r.yaml", tiny_bert, data, tmp_path / "run", baseline="{enabled: false}"
    )
    text = recipe.read_text().replace("num_train_epochs: 8", "num_train_epochs: 1")
    recipe.write_text(
        text.replace("per_device_train_batch_size: 8", "per_device_train_batch_size: 1")
    )
    # 2,100 rows less a 1% validation split, batch 1: 2,079 steps an epoch, over 2,000
    run = ftk(
        "train", "--config", str(recipe), "--logging_steps", "500", "--data.max_length", "16",
        "--data.validation_size", "0.01",
    )  # fmt: skip
    assert (
        "Chosen for this data: eval_steps 1040 (an epoch is 2,079 optimizer steps: evaluated "
        "and saved every 1,040 steps, 2 times an epoch"
    ) in run.stdout + run.stderr
    rows = history_rows(tmp_path / "run")
    evaluations = [r["step"] for r in rows if r["kind"] == "eval" and not r.get("after_training")]
    assert evaluations == [1040, 2079]  # and at the last step
    saved = yaml.safe_load((tmp_path / "run" / "run_config.yaml").read_text())
    assert (saved["eval_strategy"], saved["eval_steps"], saved["save_steps"]) == (
        "steps",
        1040,
        1040,
    )


@pytest.mark.e2e
def test_a_model_from_scratch_is_planned_with_its_own_rule(tmp_path, capsys):
    from toolkit.commands.schedule import preview_schedule

    images = make_image_folder(tmp_path / "images", n_per_class=10, seed=0, size=16)
    recipe = write_image_config(
        tmp_path / "r.yaml",
        "{from_config: " + json.dumps(TINY_VIT_SIZES) + "}",
        f"{{train_dir: '{images}', validation_size: 0.2, test_size: 0.1}}",
        tmp_path / "run",
    )
    recipe.write_text(recipe.read_text().replace("num_train_epochs: 6\n", ""))
    preview = preview_schedule(load_config(recipe), png=tmp_path / "lr.png")
    said = capsys.readouterr().out
    # 21 training images, batch 16: 2 steps an epoch; 2,000 steps would be 1,000 epochs
    assert preview.summary.total_steps == 400
    assert "Chosen for this data: num_train_epochs 200 (21 training examples, 2 optimizer" in said
    assert "at most 200 epochs; early stopping ends sooner" in said
    assert "Chosen for this data: eval_steps 20 (200 epochs of 2 optimizer steps" in said


@pytest.mark.e2e
def test_a_run_of_many_short_epochs_evaluates_every_few(tiny_bert, text_data, tmp_path):
    recipe = write_text_config(
        tmp_path / "r.yaml", tiny_bert, text_data, tmp_path / "run", baseline="{enabled: false}"
    )
    recipe.write_text(
        recipe.read_text().replace(
            "per_device_train_batch_size: 8", "per_device_train_batch_size: 32"
        )
    )
    # epochs set, the cadence chosen: 81 rows at batch 32 are 3 steps an epoch, 21 epochs
    run = ftk(
        "train", "--config", str(recipe), "--num_train_epochs", "21",
        "--early_stopping.patience", "null", "--data.max_length", "16",
    )  # fmt: skip
    assert "Chosen for this data: eval_steps 6 (21 epochs of 3 optimizer steps: evaluated" in (
        run.stdout + run.stderr
    )
    rows = history_rows(tmp_path / "run")
    evaluations = [r["step"] for r in rows if r["kind"] == "eval" and not r.get("after_training")]
    assert evaluations == [*range(6, 63, 6), 63]  # every 2 epochs, and the last step
