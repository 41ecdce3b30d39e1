"""A run whose every optimizer step has learning rate 0 is refused before the model loads;
a short run that moves the weights is not (training/still_schedule.py)."""

from __future__ import annotations

import pytest
from helpers import expect_user_error, make_texts, write_csv, write_text_config

from toolkit.config.load import load_config
from toolkit.core.errors import UserError
from toolkit.run.stages import plan_run
from toolkit.training.schedule_report import schedule_summary
from toolkit.training.schedules import lr_factor
from toolkit.training.still_schedule import refuse_still_schedule

TRAIN = 81  # write_text_config's data below: 90 rows less a 10% validation split; batch 8


@pytest.fixture()
def recipe(tiny_bert, tmp_path):
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(10, seed=2)),
    }
    return write_text_config(tmp_path / "r.yaml", tiny_bert, data, tmp_path / "run")


def check(recipe, *overrides: str) -> None:
    plan = plan_run(load_config(recipe, list(overrides)))
    refuse_still_schedule(plan.config.schedule, plan.args, TRAIN)


def every_lr(recipe, *overrides: str) -> list[float]:
    """The LR of each step as `ftk schedule` computes it."""
    plan = plan_run(load_config(recipe, list(overrides)))
    summary = schedule_summary(plan.config.schedule, plan.args, TRAIN)
    factor = lr_factor(plan.config.schedule, summary.total_steps, summary.steps_per_epoch)
    return [summary.peak_lr * factor(step) for step in range(summary.total_steps)]


STILL = [
    # 0.01 epochs of 11 steps: 1 step, the warm-up's first, at LR 0
    (["--num_train_epochs", "0.01"], "raise num_train_epochs (now 0.01)"),
    # 11 batches joined by 1000: 1 step an epoch
    (
        ["--num_train_epochs", "1", "--gradient_accumulation_steps", "1000"],
        "lower gradient_accumulation_steps (now 1000, against 11 batches an epoch)",
    ),
    (["--max_steps", "1"], "raise max_steps (now 1)"),
    (["--max_steps", "1", "--schedule.decay", "wsd"], "raise max_steps (now 1)"),
]


@pytest.mark.parametrize(("overrides", "fix"), STILL, ids=[" ".join(o) for o, _ in STILL])
def test_a_run_whose_every_step_has_lr_0_is_refused_with_its_numbers(recipe, overrides, fix):
    assert set(every_lr(recipe, *overrides)) == {0.0}  # what `ftk schedule` shows
    with pytest.raises(UserError) as refused:
        check(recipe, *overrides)
    message = str(refused.value)
    assert "its 1 optimizer step runs at learning rate 0" in message
    assert "the saved model would be the base model" in message
    assert fix in message
    # the warm-up key the recipe uses, so following the advice gives no two-warm-ups error
    assert "set schedule.warmup_fraction: 0 so the first step uses the peak" in message


def test_the_numbers_of_the_refusal_are_this_runs(recipe):
    with pytest.raises(UserError) as refused:
        check(recipe, "--num_train_epochs", "1", "--gradient_accumulation_steps", "1000")
    assert (
        "81 training examples in batches of 8 are 11 batches an epoch, 1 optimizer step with "
        "gradient_accumulation_steps 1000; num_train_epochs 1 makes that 1 step in all"
    ) in str(refused.value)


MOVING = [
    ["--max_steps", "1", "--schedule.warmup_fraction", "0"],  # the one step at the peak
    ["--max_steps", "1", "--schedule.warmup_start_ratio", "0.1"],
    ["--max_steps", "1", "--schedule.warmup_shape", "exponential"],  # starts at 1e-3
    ["--max_steps", "2"],  # warm-up's LR 0, then the peak
    ["--num_train_epochs", "0.1"],  # 2 steps
    ["--num_train_epochs", "8", "--gradient_accumulation_steps", "1000"],  # 8 steps
]


@pytest.mark.parametrize("overrides", MOVING, ids=[" ".join(o) for o in MOVING])
def test_a_short_run_that_moves_the_weights_is_not_refused(recipe, overrides):
    assert max(every_lr(recipe, *overrides)) > 0
    check(recipe, *overrides)


@pytest.mark.e2e
def test_the_cli_refuses_before_the_model_loads_and_writes_nothing(recipe, tmp_path, capsys):
    err = expect_user_error(
        ["train", "--config", str(recipe), "--num_train_epochs", "0.01"], capsys
    )
    assert "The run would not change the model" in err
    assert not (tmp_path / "run").exists()  # nothing saved, let alone a "fine-tuned" card


@pytest.mark.e2e
def test_pretraining_is_refused_too(tiny_bert, tmp_path, capsys, repetitive_corpus):
    from helpers import write_mlm_config

    mlm = write_mlm_config(tmp_path / "mlm.yaml", tiny_bert, repetitive_corpus, tmp_path / "p")
    err = expect_user_error(["pretrain", "--config", str(mlm), "--max_steps", "1"], capsys)
    assert "The run would not change the model" in err and not (tmp_path / "p").exists()
