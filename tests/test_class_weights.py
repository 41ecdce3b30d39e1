"""`class_weights` (balanced | {label: weight}) in the cross-entropy, and the warning when the
majority class makes accuracy misleading."""

from __future__ import annotations

import math

import pytest
import torch
import yaml
from helpers import bare_trainer, make_texts, write_csv, write_text_config

from toolkit.advice.data_size import imbalance_warning, uneven
from toolkit.cli import main
from toolkit.config.load import config_from_raw
from toolkit.core.errors import UserError
from toolkit.training.class_weights import class_weight_vector


def test_balanced_weights_are_n_over_classes_times_count():
    labels = [0] * 6 + [1] * 3 + [2] * 1
    weights = class_weight_vector("balanced", ["a", "b", "c"], labels)
    assert weights.tolist() == pytest.approx([10 / (3 * 6), 10 / (3 * 3), 10 / (3 * 1)])


def test_a_mapping_weighs_the_named_labels_and_the_rest_one():
    assert class_weight_vector({"c": 4.0}, ["a", "b", "c"], [0, 1, 2]).tolist() == [1, 1, 4]
    with pytest.raises(UserError, match=r"'spam', which is not a training label.*a, b, c"):
        class_weight_vector({"spam": 2.0}, ["a", "b", "c"], [0, 1, 2])


@pytest.mark.e2e
def test_the_trainer_loss_is_the_weighted_cross_entropy_by_hand(tiny_bert, tmp_path):
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=3).eval()
    weights = torch.tensor([0.5, 2.0, 1.0])
    trainer = bare_trainer(model, tmp_path, class_weights=weights)
    batch = {
        "input_ids": torch.tensor([[2, 7, 9, 3], [2, 8, 3, 0], [2, 10, 11, 3]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]]),
        "labels": torch.tensor([1, 0, 1]),
    }
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    by_hand, total_weight = 0.0, 0.0
    for row, label in zip(logits.tolist(), batch["labels"].tolist(), strict=True):
        log_norm = math.log(sum(math.exp(v) for v in row))
        by_hand += weights[label].item() * (log_norm - row[label])
        total_weight += weights[label].item()
    assert loss.item() == pytest.approx(by_hand / total_weight, abs=1e-6)
    unweighted = bare_trainer(model, tmp_path)
    with torch.no_grad():
        assert unweighted.compute_loss(model, dict(batch)).item() != pytest.approx(loss.item())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sometimes", "write none, balanced, or a mapping"),
        ({"spam": -1}, "must be positive"),
        ({"spam": "heavy"}, "class_weights.spam"),
    ],
)
def test_bad_class_weights_are_refused(value, message):
    with pytest.raises(UserError, match=message):
        config_from_raw({"class_weights": value}, [])
    with pytest.raises(UserError, match="has no classes"):
        config_from_raw({"task": "masked-lm", "class_weights": "balanced"}, [])


def test_imbalance_warning_names_macro_f1_and_the_majority_share():
    said = imbalance_warning({"ham": 80, "spam": 10, "eggs": 10}, ["accuracy"], weighted=False)
    assert "'ham' holds 80%" in said and "f1_macro first" in said and "balanced" in said
    assert imbalance_warning({"a": 40, "b": 35, "c": 25}, ["accuracy"], weighted=False) is None
    assert imbalance_warning({"a": 60, "b": 40}, ["accuracy"], weighted=False) is None  # binary
    assert imbalance_warning({"a": 70, "b": 30}, ["accuracy"], weighted=False) is not None
    settled = imbalance_warning({"a": 80, "b": 10, "c": 10}, ["f1_macro"], weighted=True)
    assert "picks the best epoch here" in settled


@pytest.mark.e2e
def test_train_with_balanced_weights_end_to_end(tiny_bert, tmp_path, capsys):
    rows = make_texts(40, seed=1)
    kept = [r for r in rows if r[1] == "sport"] + [r for r in rows if r[1] != "sport"][:16]
    data = {
        "train": write_csv(tmp_path / "train.csv", kept),
        "test": write_csv(tmp_path / "test.csv", make_texts(5, seed=2)),
    }
    run = tmp_path / "run"
    recipe = write_text_config(tmp_path / "r.yaml", tiny_bert, data, run, num_train_epochs="2")
    args = ["train", "--config", str(recipe), "--class_weights", "balanced"]
    assert main([*args, "--baseline.enabled", "false"]) == 0
    out, err = capsys.readouterr()
    # 50 training rows after the validation hold-out, 36 of them sport: 50 / (3 x 36)
    assert "Class weights in the loss:" in out and "sport 0.463" in out
    assert "Imbalanced classes: 'sport' holds 72%" in err
    # `metrics` not set: f1_macro is moved first for such data (said on stdout), and the
    # warning does not suggest the weights the run already has
    assert "f1_macro moved first" in out and "class_weights: balanced" not in err
    saved = yaml.safe_load((run / "run_config.yaml").read_text())
    assert saved["class_weights"] == "balanced"
    assert "Imbalanced classes" in (run / "report.md").read_text()


def test_classes_are_uneven_by_majority_share_or_by_largest_to_smallest_ratio():
    no_majority = {"business": 150, "sport": 75, "tech": 40, "politics": 20, "film": 15}
    assert uneven(no_majority)  # the largest holds exactly half, but 10 times the smallest
    assert not uneven({"a": 40, "b": 30, "c": 30})
    assert not uneven({"a": 40, "b": 40, "c": 10})  # 4 to 1, no majority
    assert uneven({"a": 50, "b": 40, "c": 10})  # 5 to 1
    assert uneven({"a": 70, "b": 30})  # of two classes, more than two thirds
    warning = imbalance_warning(no_majority, ["accuracy", "f1_macro"], weighted=False)
    assert warning is not None
    assert "'business' holds 50% of the training examples and 'film' 5% (10 to 1)" in warning
