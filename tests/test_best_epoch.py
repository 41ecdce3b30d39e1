"""The best evaluation: the selection metric decides, a tie goes to the lower validation loss,
for the kept checkpoint, early stopping and the report alike (training/best_epoch.py)."""

from __future__ import annotations

import datasets
import pytest
import torch
from helpers import bare_trainer
from transformers import BertConfig, BertForSequenceClassification

from toolkit.advice.overfitting import best_evaluation
from toolkit.training.best_epoch import improves


def test_a_tie_goes_to_the_lower_loss():
    first = {"eval_f1": 0.0, "eval_loss": 0.9}
    later = {"eval_f1": 0.0, "eval_loss": 0.5}
    assert improves(later, first, "f1", greater_is_better=True)
    assert not improves(first, later, "f1", greater_is_better=True)
    assert not improves(dict(later, eval_loss=0.9), first, "f1", greater_is_better=True)


def test_the_metric_decides_before_the_loss():
    best = {"eval_f1": 0.6, "eval_loss": 0.9}
    assert improves({"eval_f1": 0.7, "eval_loss": 2.0}, best, "eval_f1", True)
    assert not improves({"eval_f1": 0.5, "eval_loss": 0.1}, best, "eval_f1", True)
    assert improves({"eval_rmse": 0.4, "eval_loss": 9.0}, {"eval_rmse": 0.5}, "rmse", False)
    # early stopping's threshold: a gain within it is no improvement
    assert not improves({"eval_f1": 0.605, "eval_loss": 0.1}, best, "f1", True, threshold=0.01)


def test_the_report_keeps_the_tied_evaluation_with_the_lower_loss():
    rows = [
        {"kind": "eval", "step": 10, "eval_f1": 0.0, "eval_loss": 0.18},
        {"kind": "eval", "step": 20, "eval_f1": 0.0, "eval_loss": 0.16},
        {"kind": "eval", "step": 30, "eval_f1": 0.0, "eval_loss": 0.17},
    ]
    best = best_evaluation(rows, "f1", greater_is_better=True)
    assert best is not None and best["step"] == 20


def falling_loss_run(tmp_path, patience_steps: int | None = None):
    """Three epochs of a tiny classifier fitting its own validation set at a high learning
    rate (so the validation loss falls), scored by a metric that is always 0."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, num_labels=2,
    )  # fmt: skip
    model = BertForSequenceClassification(config)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 50, (32, 8), generator=generator)
    rows = datasets.Dataset.from_dict(
        {"input_ids": ids.tolist(), "labels": (ids[:, 0] % 2).tolist()}
    )
    training = {
        "num_train_epochs": 4,
        "learning_rate": 3e-3,
        "per_device_train_batch_size": 8,
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "load_best_model_at_end": True,
        "metric_for_best_model": "f1",
        "greater_is_better": True,
        "logging_strategy": "epoch",
    }
    trainer = bare_trainer(
        model,
        tmp_path,
        training,
        train_dataset=rows,
        eval_dataset=rows,
        compute_metrics=lambda _: {"f1": 0.0},
    )
    if patience_steps is not None:
        from toolkit.training.best_epoch import EarlyStoppingOnBest

        trainer.add_callback(EarlyStoppingOnBest(early_stopping_patience=patience_steps))
    trainer.train()
    evals = [r for r in trainer.state.log_history if "eval_loss" in r]
    return trainer, evals


@pytest.mark.e2e
def test_the_trainer_keeps_the_tied_checkpoint_with_the_lowest_loss(tmp_path):
    trainer, evals = falling_loss_run(tmp_path)
    lowest = min(evals, key=lambda r: r["eval_loss"])
    assert lowest["step"] != evals[0]["step"], "the set-up must make the loss fall"
    assert trainer.state.best_global_step == lowest["step"]
    assert trainer.state.best_model_checkpoint.endswith(f"checkpoint-{lowest['step']}")


@pytest.mark.e2e
def test_early_stopping_counts_a_tie_won_on_loss_as_progress(tmp_path):
    """Patience 1: transformers would stop after the second evaluation (no gain in f1); with
    the validation loss still falling, training goes on to the last epoch."""
    _, evals = falling_loss_run(tmp_path, patience_steps=1)
    losses = [r["eval_loss"] for r in evals]
    assert losses[0] > losses[1] > losses[2], "the set-up must make the loss fall"
    assert len(evals) == 4, losses
