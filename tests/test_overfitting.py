"""Overfitting watch: the warning logic on crafted histories, and a real run that overfits."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from helpers import history_rows, make_texts, write_csv, write_text_config

from toolkit.advice.overfitting import (
    MIN_SAMPLE_SIZE,
    best_evaluation,
    describe_watch,
    overfitting_onset,
    summarize_overfitting,
    training_sample,
    watch_cost_share,
    watch_sample_size,
)


def test_healthy_history_does_not_warn():
    validation = [1.10, 0.80, 0.62, 0.55, 0.56, 0.52, 0.53, 0.51]  # single bumps, no streak
    training = [1.10, 0.75, 0.50, 0.38, 0.30, 0.25, 0.22, 0.20]
    assert overfitting_onset(validation, training, patience=2) is None


def test_rising_validation_with_falling_training_warns_after_patience():
    validation = [1.0, 0.7, 0.6, 0.65, 0.72, 0.80]
    training = [1.0, 0.6, 0.4, 0.30, 0.20, 0.10]
    assert overfitting_onset(validation, training, patience=2) == 4  # rises at 3 and 4
    assert overfitting_onset(validation, training, patience=3) == 5
    assert overfitting_onset(validation, training, patience=4) is None


def test_both_losses_rising_is_not_overfitting():
    # Diverging training too (LR too high) is a different problem: no overfitting warning.
    assert overfitting_onset([0.5, 0.6, 0.7, 0.8], [0.4, 0.5, 0.6, 0.7], patience=2) is None


def test_a_streak_must_be_consecutive():
    validation = [1.0, 1.1, 1.0, 1.1, 1.0, 1.1]
    training = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
    assert overfitting_onset(validation, training, patience=2) is None


ROWS = [
    {"kind": "eval", "step": 10, "epoch": 1.0, "eval_loss": 0.9, "eval_accuracy": 0.70},
    {
        "kind": "train_sample",
        "step": 10,
        "epoch": 1.0,
        "train_sample_loss": 0.8,
        "train_sample_accuracy": 0.75,
    },
    {"kind": "eval", "step": 20, "epoch": 2.0, "eval_loss": 0.6, "eval_accuracy": 0.85},
    {
        "kind": "train_sample",
        "step": 20,
        "epoch": 2.0,
        "train_sample_loss": 0.3,
        "train_sample_accuracy": 0.97,
    },
    {"kind": "eval", "step": 30, "epoch": 3.0, "eval_loss": 0.7, "eval_accuracy": 0.85},
    {
        "kind": "train_sample",
        "step": 30,
        "epoch": 3.0,
        "train_sample_loss": 0.1,
        "train_sample_accuracy": 1.0,
    },
]


def test_summary_names_the_first_best_epoch_and_the_gap():
    summary = summarize_overfitting(ROWS, "accuracy", greater_is_better=True, warning=None)
    assert summary.best_epoch == 2.0 and summary.best_step == 20  # tie at 3: first kept
    assert summary.gap_points == pytest.approx(12.0)
    assert summary.loss_gap == pytest.approx(0.3)
    assert best_evaluation(ROWS, "loss", greater_is_better=False)["epoch"] == 2.0


def test_training_sample_is_fixed_and_capped():
    from datasets import Dataset

    train = Dataset.from_dict({"x": list(range(50))})
    first, second = training_sample(train, 20, seed=3), training_sample(train, 20, seed=3)
    assert len(first) == 20 and first["x"] == second["x"]
    assert len(training_sample(train, 500, seed=3)) == 50
    assert training_sample(train, 0, seed=3) is None


@pytest.mark.parametrize(
    "ceiling, num_train, share, expected",
    [
        (1000, 1530, 0.05, 229),  # BBC: 5% of an epoch buys 0.15 x 1,530 forward passes
        (1000, 5000, 0.05, 750),
        (1000, 10000, 0.05, 1000),  # the ceiling binds: 1,000 cost only 3.3% here
        (1000, 1000, 0.05, MIN_SAMPLE_SIZE),  # 150 affordable: the floor keeps the signal
        (1000, 120, 0.05, 120),  # tiny data: every example, floor or not
        (1000, 1530, 0.1, 459),
        (1000, 1530, None, 1000),  # max_epoch_share null: train_sample_size as set
        (100, 1530, 0.05, 100),  # a ceiling below the floor is still a ceiling
        (0, 1530, 0.05, 0),  # train_sample_size 0: the watch scores no sample
        (0, 1530, None, 0),
    ],
)
def test_watch_sample_size(ceiling, num_train, share, expected):
    assert watch_sample_size(ceiling, num_train, share) == expected


def test_the_chosen_sample_costs_at_most_the_share_above_the_floor():
    for num_train in (1400, 1530, 2000, 4321, 6666, 9999):
        size = watch_sample_size(1000, num_train, 0.05)
        assert size > MIN_SAMPLE_SIZE and watch_cost_share(size, num_train) <= 0.05
        assert watch_cost_share(size + 1, num_train) > 0.05 or size == 1000


def test_a_smaller_training_sample_is_a_prefix_of_a_larger_one():
    from datasets import Dataset

    train = Dataset.from_dict({"x": list(range(300))})
    large = training_sample(train, 200, seed=7)["x"]
    assert training_sample(train, 60, seed=7)["x"] == large[:60]
    assert training_sample(train, 500, seed=7)["x"][:200] == large  # all 300, same order
    assert large != list(range(200))  # shuffled, not the first rows of the file


def test_describe_watch_says_size_cost_and_the_keys():
    line = describe_watch(229, 1530, 1000, 0.05)
    assert line.startswith("Overfitting watch: 229 of 1530 training examples")
    assert "about 5.0% of an epoch" in line and "`overfitting.max_epoch_share` 0.05" in line
    assert "`overfitting.train_sample_size` 1000" in line
    assert "no training sample" in describe_watch(0, 1530, 0, 0.05)


@pytest.mark.e2e
def test_tiny_run_on_random_labels_overfits_and_warns(tiny_bert, tmp_path):
    """Labels that carry no signal, 24 examples, many epochs, high LR, no weight decay: the
    model memorises the training set, so validation loss climbs while training loss falls."""

    def random_labels(rows, seed):
        rng = random.Random(seed)
        return [(text, rng.choice(["sport", "business", "tech"])) for text, _ in rows]

    data = {
        "train": write_csv(tmp_path / "train.csv", random_labels(make_texts(8, 1), 1)),
        "test": write_csv(tmp_path / "test.csv", random_labels(make_texts(10, 2), 2)),
    }
    validation = write_csv(tmp_path / "validation.csv", random_labels(make_texts(10, 3), 3))
    config = write_text_config(
        tmp_path / "overfit.yaml", tiny_bert, data, tmp_path / "run", weight_decay="0.0"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit",
            "train",
            "--config",
            str(config),
            "--data.validation_file",
            str(validation),
            "--num_train_epochs",
            "25",
            "--learning_rate",
            "3e-3",
            "--early_stopping.patience",
            "null",
            "--baseline.enabled",
            "false",
            "--logging_steps",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING: Overfitting: validation loss rose for 2 evaluations" in result.stderr
    # 24 training examples: under the floor, so the watch scores all of them, said once
    assert result.stdout.count("Overfitting watch:") == 1
    assert "Overfitting watch: 24 of 24 training examples scored at each evaluation" in (
        result.stdout
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["overfitting"]["warning"].startswith("Overfitting")
    assert metrics["overfitting"]["warning"] in metrics["warnings"]
    rows = history_rows(tmp_path / "run")
    evals = [r for r in rows if r["kind"] == "eval"]
    samples = [r for r in rows if r["kind"] == "train_sample"]
    # One sample row per evaluation during training; the final re-evaluation of the kept model
    # (the last eval row) is not scored again. 25 epochs of 3 steps are evaluated every 2 epochs
    # (a run of more than 20 epochs: the derived cadence), 12 times and at the last step.
    assert [r["step"] for r in samples] == [r["step"] for r in evals[:-1]] and len(samples) == 13
    assert samples[-1]["train_sample_loss"] < samples[0]["train_sample_loss"]  # memorised
    assert not (tmp_path / "run" / "baseline.json").exists()  # baseline.enabled: false


def test_a_resumed_run_takes_up_the_rise_that_began_before_the_stop():
    """The checkpoint's log holds two evaluations; the third, after the resume, completes a
    rise of patience 2: the warning comes (it used to need two more after the resume)."""
    from toolkit.advice.overfitting import OverfittingWatch

    logged = [
        {"loss": 1.0, "step": 5},
        {"eval_loss": 0.50, "epoch": 1.0, "step": 10},
        {"train_sample_loss": 0.40, "step": 10},
        {"eval_loss": 0.55, "epoch": 2.0, "step": 20},
        {"train_sample_loss": 0.30, "step": 20},
    ]
    watch = OverfittingWatch(sample=object(), patience=2)
    watch.replay(logged)
    assert watch.validation_losses == [0.50, 0.55] and watch.training_losses == [0.40, 0.30]
    assert watch.warning is None
    watch.record(3.0, 0.60, 0.20)  # the first evaluation after the resume
    assert watch.warning is not None and "rose for 2 evaluations" in watch.warning
    without_sample = OverfittingWatch(sample=None, patience=2)
    without_sample.replay(logged)
    assert without_sample.training_losses == [1.0, 1.0]  # the running loss logged before each
