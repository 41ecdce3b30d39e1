"""transformers' scheduler keys (`lr_scheduler_type`, `lr_scheduler_kwargs`, `warmup_ratio`,
`warmup_steps`) become the `schedule` section: every step's LR equals what transformers'
`get_scheduler` gives, the mapping is said on stderr, and what cannot be reproduced is refused."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import get_scheduler

from toolkit.config.load import config_from_raw, load_config
from toolkit.core.errors import UserError
from toolkit.training.schedules import lr_factor

TOTAL, PEAK = 60, 1e-3

CASES = [
    ("linear", {}, {"warmup_ratio": 0.1}),
    ("cosine", {}, {"warmup_steps": 7}),
    ("cosine", {"num_cycles": 0.5}, {"warmup_steps": 0.25}),  # a float below 1: a fraction
    ("cosine_with_restarts", {"num_cycles": 3}, {"warmup_ratio": 0.1}),
    ("polynomial", {"power": 2.0, "lr_end": 1e-5}, {"warmup_steps": 5}),
    ("polynomial", {}, {}),
    ("constant", {}, {}),
    ("constant_with_warmup", {}, {"warmup_steps": 9}),
    ("inverse_sqrt", {}, {"warmup_steps": 6}),
    ("inverse_sqrt", {}, {}),  # no warm-up: transformers' timescale 10,000
    ("inverse_sqrt", {"timescale": 20}, {"warmup_ratio": 0.05}),
    ("cosine_with_min_lr", {"min_lr_rate": 0.1}, {"warmup_ratio": 0.1}),
    ("cosine_with_min_lr", {"min_lr": 2e-4}, {"warmup_steps": 3}),
    ("warmup_stable_decay", {"num_decay_steps": 20}, {"warmup_steps": 5}),
    (
        "warmup_stable_decay",
        {
            "num_decay_steps": 15,
            "decay_type": "1-sqrt",
            "warmup_type": "cosine",
            "min_lr_ratio": 0.1,
        },
        {"warmup_ratio": 0.1},
    ),
]


def transformers_factors(name, kwargs, warmup) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=PEAK)
    # the Trainer's get_warmup_steps: a count, or ceil(fraction x total steps)
    fraction = warmup.get("warmup_ratio", warmup.get("warmup_steps", 0))
    steps = fraction if fraction >= 1 else math.ceil(fraction * TOTAL)
    scheduler = get_scheduler(
        name,
        optimizer,
        num_warmup_steps=int(steps),
        num_training_steps=TOTAL,
        scheduler_specific_kwargs=dict(kwargs),
    )
    return [scheduler.lr_lambdas[0](step) for step in range(TOTAL)]


@pytest.mark.parametrize(("name", "kwargs", "warmup"), CASES)
def test_every_step_equals_transformers_scheduler(name, kwargs, warmup, capsys):
    raw = {"learning_rate": PEAK, "lr_scheduler_type": name, **warmup}
    if kwargs:
        raw["lr_scheduler_kwargs"] = kwargs
    config = config_from_raw(raw, [])
    factor = lr_factor(config.schedule, TOTAL, steps_per_epoch=TOTAL / 3)
    ours = [factor(step) for step in range(TOTAL)]
    assert ours == pytest.approx(transformers_factors(name, kwargs, warmup), abs=1e-9)
    said = capsys.readouterr().err
    assert f"lr_scheduler_type {name}" in said and "-> schedule.decay" in said
    assert "lr_scheduler_type" not in config.training and "warmup_steps" not in config.training


def test_the_command_line_replaces_the_recipes_schedule(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("schedule: {warmup_fraction: 0.2, decay: cosine, layer_decay: 0.8}\n")
    config = load_config(recipe, ["--lr_scheduler_type", "linear", "--warmup-steps", "4"])
    schedule = config.schedule
    assert (schedule.decay, schedule.warmup_steps, schedule.warmup_fraction) == ("linear", 4, None)
    assert schedule.layer_decay == 0.8, "keys transformers has no word for stay"
    err = capsys.readouterr().err
    assert (
        "lr_scheduler_type linear, warmup_steps 4 -> schedule.decay linear, schedule.warmup_steps 4"
        in err
    )
    only_warmup = load_config(recipe, ["--warmup_ratio", "0.1"]).schedule
    assert (only_warmup.warmup_fraction, only_warmup.decay) == (0.1, "cosine")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"lr_scheduler_type": "reduce_lr_on_plateau"}, "follows the validation metric"),
        ({"lr_scheduler_type": "cosin"}, "Did you mean 'cosine'"),
        ({"lr_scheduler_type": "constant", "warmup_ratio": 0.1}, "constant_with_warmup"),
        ({"lr_scheduler_type": "cosine", "lr_scheduler_kwargs": {"num_cycles": 2}}, "restarts"),
        ({"lr_scheduler_type": "linear", "lr_scheduler_kwargs": {"power": 2}}, "not read for"),
        ({"lr_scheduler_type": "warmup_stable_decay"}, "num_decay_steps"),
        ({"warmup_ratio": 0.1, "warmup_steps": 5}, "keep one"),
        ({"lr_scheduler_kwargs": {"num_cycles": 1}}, "needs lr_scheduler_type"),
        (
            {"lr_scheduler_type": "cosine", "schedule": {"decay": "linear"}},
            "given two ways: lr_scheduler_type and schedule.decay",
        ),
        (
            {"warmup_ratio": 0.1, "schedule": {"warmup_steps": 3}},
            "warmup_ratio and schedule.warmup_s",
        ),
    ],
)
def test_what_cannot_be_reproduced_is_refused_by_name(raw, message):
    with pytest.raises(UserError, match=message):
        config_from_raw(raw, [])
