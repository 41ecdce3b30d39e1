"""TrainingArguments values checked with the config: what must pass passes (the refusals are
rows of the bad-input matrix)."""

from __future__ import annotations

import sys

import pytest

from toolkit.config.training_keys import check_training_keys
from toolkit.core.errors import UserError


@pytest.mark.parametrize(
    "training",
    [
        {"metric_for_best_model": "loss"},
        {"metric_for_best_model": "eval_loss"},
        {"metric_for_best_model": "eval_f1_macro"},
        {"report_to": "none"},
        {"report_to": ["none"]},
        {"optim": "adamw_torch"},
        {"optim": "adafactor"},
        {"optim": "sgd"},
    ],
)
def test_values_the_trainer_takes_pass(training):
    check_training_keys(training, ["accuracy", "f1_macro"], tags=False)


def test_a_tagger_s_best_metric_waits_for_its_tag_scheme():
    """POS tags are scored by accuracy/f1_macro, entity tags by f1...: the scheme decides."""
    check_training_keys({"metric_for_best_model": "f1_macro"}, ["f1", "accuracy"], tags=True)


def test_an_installed_integration_passes_and_a_list_is_read_whole(monkeypatch):
    check_training_keys({"report_to": ["tensorboard"]}, ["accuracy"], tags=False)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # absent, as if not installed
    with pytest.raises(UserError, match="`pip install mlflow`"):
        check_training_keys({"report_to": ["tensorboard", "mlflow"]}, ["accuracy"], tags=False)
