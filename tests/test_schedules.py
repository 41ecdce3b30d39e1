"""Schedules in real (tiny) Trainer runs: every shape's logged LR against its closed form, the
same LR sequence across a checkpoint resume, and layer-wise LR groups with their weight decay.

The closed forms are written out here on purpose, independently of toolkit/schedules.py.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pytest
from helpers import make_texts, write_csv, write_text_config
from transformers import TrainerCallback

TOTAL = 16  # max_steps of every run below
PEAK = 5e-3  # write_text_config's learning_rate
PER_EPOCH = 11  # 90 rows - 9 validation = 81 training rows, batch 8 -> 11 updates per epoch


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("schedule-data")
    return {
        "train": write_csv(folder / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }


def quick_config(
    folder: Path, model: Path, data: dict[str, Path], schedule: dict, **extra: str
) -> Path:
    """A few-step run without per-epoch evaluation or checkpoints (unless `extra` asks)."""
    settings = {
        "max_steps": TOTAL,
        "eval_strategy": "'no'",
        "save_strategy": "'no'",
        "load_best_model_at_end": "false",
        **extra,
    }
    path = write_text_config(folder / "tiny.yaml", model, data, folder / "run", **settings)
    flow = ", ".join(f"{k}: {v}" for k, v in schedule.items())
    text = path.read_text().replace(
        "schedule: {warmup_fraction: 0.2, decay: cosine}",
        f"schedule: {{{flow}}}\nearly_stopping: {{patience: null}}",
    )
    path.write_text(text)
    return path


def build(config_path: Path, overrides: list[str] | None = None):
    """What `ftk train` builds up to trainer.train(): config, data, model, trainer, history."""
    from toolkit.config.load import load_config
    from toolkit.run.assembly import assemble_trainer
    from toolkit.run.stages import build_model, plan_run, prepare_labelled

    plan = plan_run(load_config(config_path, overrides))
    prepared = prepare_labelled(plan)
    model = build_model(plan, prepared.data)
    # kept, not emptied: the resume test builds a second Trainer on the first one's checkpoint
    open_dir = partial(plan.output_dir.mkdir, parents=True, exist_ok=True)
    return assemble_trainer(plan, model, prepared, None, open_dir)


def logged_lrs(history) -> list[list[float]]:
    rows = [r for r in history.rows if r["kind"] == "step"]
    return [r["lr"] for r in rows]


# ----------------------------------------------------------------------------- closed forms


def cos_down(q: float) -> float:
    return 0.5 * (1 + math.cos(math.pi * q))


def restarts(s: int) -> float:  # warm-up 4, 3 cycles over 12 steps, each peak halved
    if s < 4:
        return s / 4
    k = min(2, (s - 4) * 3 // 12)
    u = ((s - 4) * 3 - 12 * k) / 12
    return 0.5**k * cos_down(u)


SHAPES = {
    "linear-warmup-cosine-floor": (
        {"warmup_steps": 4, "decay": "cosine", "min_lr_ratio": 0.1},
        lambda s: s / 4 if s < 4 else 0.1 + 0.9 * cos_down((s - 4) / 12),
    ),
    "cosine-warmup-linear": (  # warm-up 25% of 16 = 4 steps, starting at 20% of the peak
        {
            "warmup_fraction": 0.25,
            "warmup_shape": "cosine",
            "warmup_start_ratio": 0.2,
            "decay": "linear",
        },
        lambda s: 0.2 + 0.8 * 0.5 * (1 - math.cos(math.pi * s / 4)) if s < 4 else 1 - (s - 4) / 12,
    ),
    "exponential-warmup-polynomial": (  # warm-up 0.5 epoch = ceil(5.5) = 6 steps from 1e-3
        {
            "warmup_epochs": 0.5,
            "warmup_shape": "exponential",
            "decay": "polynomial",
            "power": 2,
            "min_lr_ratio": 0.05,
        },
        lambda s: 1e-3 ** (1 - s / 6) if s < 6 else 0.05 + 0.95 * (1 - (s - 6) / 10) ** 2,
    ),
    "constant": (
        {"warmup_steps": 3, "warmup_start_ratio": 0.5, "decay": "constant"},
        lambda s: 0.5 + 0.5 * s / 3 if s < 3 else 1.0,
    ),
    "cosine-restarts": (
        {"warmup_steps": 4, "decay": "cosine_restarts", "cycles": 3, "restart_decay": 0.5},
        restarts,
    ),
    "wsd-cosine": (  # decay over the last ceil(0.25 * 16) = 4 steps, from step 12
        {
            "warmup_steps": 2,
            "decay": "wsd",
            "decay_fraction": 0.25,
            "decay_shape": "cosine",
            "min_lr_ratio": 0.1,
        },
        lambda s: s / 2 if s < 2 else 1.0 if s < 12 else 0.1 + 0.9 * cos_down((s - 12) / 4),
    ),
    "wsd-sqrt": (
        {"warmup_steps": 2, "decay": "wsd", "decay_fraction": 0.5, "decay_shape": "sqrt"},
        lambda s: s / 2 if s < 2 else 1.0 if s < 8 else 1 - math.sqrt((s - 8) / 8),
    ),
    "wsd-linear": (
        {"warmup_steps": 0, "decay": "wsd", "decay_fraction": 0.5},
        lambda s: 1.0 if s < 8 else 1 - (s - 8) / 8,
    ),
    "inverse-sqrt": (  # timescale = warm-up = 4: sqrt(4 / (s - 4 + 4))
        {"warmup_steps": 4, "decay": "inverse_sqrt"},
        lambda s: s / 4 if s < 4 else math.sqrt(4 / s),
    ),
    "inverse-sqrt-timescale": (
        {"warmup_steps": 4, "decay": "inverse_sqrt", "timescale": 2},
        lambda s: s / 4 if s < 4 else math.sqrt(2 / (s - 2)),
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize("shape", list(SHAPES))
def test_logged_lr_equals_closed_form_at_every_step(shape, tiny_bert, tiny_data, tmp_path):
    schedule, closed_form = SHAPES[shape]
    trainer, history = build(quick_config(tmp_path, tiny_bert, tiny_data, schedule))
    trainer.train()
    lrs = logged_lrs(history)
    assert len(lrs) == TOTAL
    for s, row in enumerate(lrs):
        expected = PEAK * closed_form(s)
        for lr in row:  # the Trainer's two groups (with / without weight decay) move alike
            assert lr == pytest.approx(expected, rel=1e-9, abs=1e-15), (shape, s, row)


# ----------------------------------------------------------------------------- resume


class StopAt(TrainerCallback):
    """Ends training right after `step`, once its checkpoint is written: a killed run. (Told to
    stop before the save, the checkpoint would carry the stop, and a resume from it rightly
    trains no more: a run that ended there.)"""

    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


@pytest.mark.e2e
def test_resumed_run_logs_the_same_lr_sequence(tiny_bert, tiny_data, tmp_path):
    schedule = {
        "warmup_steps": 3,
        "warmup_shape": "cosine",
        "decay": "cosine_restarts",
        "cycles": 2,
        "restart_decay": 0.7,
        "min_lr_ratio": 0.1,
    }
    checkpoints = {"save_strategy": "steps", "save_steps": 5, "save_total_limit": 5}
    whole_dir, part_dir = tmp_path / "whole", tmp_path / "part"
    whole_dir.mkdir(), part_dir.mkdir()

    trainer, whole = build(quick_config(whole_dir, tiny_bert, tiny_data, schedule, **checkpoints))
    trainer.train()

    config = quick_config(part_dir, tiny_bert, tiny_data, schedule, **checkpoints)
    trainer, first = build(config)
    trainer.add_callback(StopAt(10))
    trainer.train()
    assert len(logged_lrs(first)) == 10
    assert (part_dir / "run" / "checkpoint-10").is_dir()
    trainer, second = build(config)
    trainer.train(resume_from_checkpoint=str(part_dir / "run" / "checkpoint-10"))

    assert [r["step"] for r in second.rows if r["kind"] == "step"] == list(range(11, TOTAL + 1))
    assert logged_lrs(first) + logged_lrs(second) == logged_lrs(whole)


# ----------------------------------------------------------------------------- layer decay


LAYER_DECAY = {
    "warmup_steps": 4,
    "warmup_start_ratio": 0.1,
    "decay": "cosine",
    "layer_decay": 0.5,
    "head_lr_multiplier": 4,
}
# tiny BERT: 2 layers -> embeddings 0.5^2, layer.0 0.5, layer.1 1, top (pooler) 1, head 4
MULTIPLIERS = {"embeddings": 0.25, "layer.0": 0.5, "layer.1": 1.0, "top": 1.0, "head": 4.0}


@pytest.mark.e2e
def test_layer_decay_groups_stand_in_ratio_and_skip_weight_decay(tiny_bert, tiny_data, tmp_path):
    trainer, history = build(quick_config(tmp_path, tiny_bert, tiny_data, LAYER_DECAY))
    trainer.train()
    names = next(r["names"] for r in history.rows if r["kind"] == "groups")
    assert set(names) == set(MULTIPLIERS)
    lrs = logged_lrs(history)
    assert len(lrs) == TOTAL
    for s, row in enumerate(lrs):
        factor = 0.1 + 0.9 * s / 4 if s < 4 else cos_down((s - 4) / 12)
        for name, lr in zip(names, row, strict=False):
            assert lr == pytest.approx(PEAK * MULTIPLIERS[name] * factor, rel=1e-9), (s, name)

    by_param = {
        id(p): (group["name"], group["weight_decay"])
        for group in trainer.optimizer.param_groups
        for p in group["params"]
    }
    model = trainer.model
    assert len(by_param) == sum(1 for p in model.parameters() if p.requires_grad)
    for name, param in model.named_parameters():
        group, decay = by_param[id(param)]
        no_decay = name.endswith(".bias") or "LayerNorm" in name
        assert decay == (0.0 if no_decay else 0.01), name
        expected_group = (
            "head"
            if name.startswith("classifier.")
            else "embeddings"
            if ".embeddings." in name
            else "top"
            if ".pooler." in name
            else f"layer.{name.split('.encoder.layer.')[1].split('.')[0]}"
        )
        assert group == expected_group, name


@pytest.mark.e2e
def test_head_multiplier_alone_splits_body_and_head(tiny_bert, tiny_data, tmp_path):
    trainer, _ = build(
        quick_config(tmp_path, tiny_bert, tiny_data, {"warmup_steps": 0, "head_lr_multiplier": 10})
    )
    optimizer = trainer.create_optimizer()
    peaks = {(g["name"], g["weight_decay"]): g["lr"] for g in optimizer.param_groups}
    assert peaks == {
        ("body", 0.01): PEAK,
        ("body", 0.0): PEAK,
        ("head", 0.01): 10 * PEAK,
        ("head", 0.0): 10 * PEAK,
    }


def test_layer_decay_on_a_model_without_known_layers_names_the_class():
    import torch

    from toolkit.config.schema import ScheduleConfig
    from toolkit.core.errors import UserError
    from toolkit.training.param_groups import group_specs

    class Blocks(torch.nn.Module):
        base_model_prefix = "body"

        def __init__(self):
            super().__init__()
            self.body = torch.nn.Module()
            self.body.blocks = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(2)])
            self.classifier = torch.nn.Linear(2, 2)

    with pytest.raises(UserError, match="Blocks has no parameters named like") as error:
        group_specs(Blocks(), ScheduleConfig(layer_decay=0.8))
    assert "schedule.layer_decay: null" in str(error.value)
