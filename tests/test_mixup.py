"""MixUp / CutMix (`augment.mixup`, `augment.cutmix`): the train collator mixes, the evaluation
collator does not, and the Trainer scores mixed batches with the soft-target cross-entropy."""

from __future__ import annotations

import json
import math
import random

import datasets
import pytest
import torch
from helpers import (
    TINY_VIT_SIZES,
    bare_trainer,
    draw_shape,
    ftk,
    history_rows,
    make_image_folder,
    write_image_config,
)

from toolkit.config.load import config_from_raw, parse_overrides
from toolkit.core.errors import UserError
from toolkit.tasks import image_classification as task
from toolkit.training.soft_targets import soft_target_cross_entropy

CLASSES = 3


def image_config(**augment: float):
    return config_from_raw(
        {"task": "image-classification", "model": {"from_config": TINY_VIT_SIZES}},
        parse_overrides([f"--augment.{key}={value}" for key, value in augment.items()]),
    )


def features(n: int = 6) -> list[dict]:
    """Stacked-collator input: distinct images, labels 0, 1, 2, 0, 1, 2 (neighbours differ)."""
    generator = torch.Generator().manual_seed(1)
    return [
        {"pixel_values": torch.rand(3, 16, 16, generator=generator), "labels": i % CLASSES}
        for i in range(n)
    ]


def mixed(**augment: float) -> tuple[dict, dict]:
    """(the plain stacked batch, the train collator's batch) of `features()`."""
    config = image_config(**augment)
    collate = task.train_collator(None, config, CLASSES)
    plain = task.collator(None, config)(features())
    return plain, collate(features())


# ----------------------------------------------------------------------------- the loss


def by_hand(logits: list[list[float]], targets: list[list[float]], weight=None) -> float:
    """sum_i sum_c w_c p_ic (-log softmax_ic) / sum_i sum_c w_c p_ic, in plain floats."""
    weight = weight or [1.0] * len(logits[0])
    total, norm = 0.0, 0.0
    for row, target in zip(logits, targets, strict=True):
        log_z = math.log(sum(math.exp(v) for v in row))
        for c, (value, p) in enumerate(zip(row, target, strict=True)):
            total += weight[c] * p * (log_z - value)
            norm += weight[c] * p
    return total / norm


def test_soft_target_loss_equals_the_hand_computed_value():
    logits = [[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]]
    targets = [[0.7, 0.3, 0.0], [0.0, 0.25, 0.75]]
    loss = soft_target_cross_entropy(torch.tensor(logits), torch.tensor(targets))
    assert loss.item() == pytest.approx(by_hand(logits, targets), abs=1e-6)
    # rows sum to 1, so without weights the mean is over the batch: -sum(p log q) / 2
    weight = [0.5, 2.0, 1.0]
    weighted = soft_target_cross_entropy(
        torch.tensor(logits), torch.tensor(targets), torch.tensor(weight)
    )
    assert weighted.item() == pytest.approx(by_hand(logits, targets, weight), abs=1e-6)


def test_one_hot_targets_give_torchs_class_id_losses_weighted_or_not():
    torch.manual_seed(0)
    logits, labels = torch.randn(5, CLASSES), torch.tensor([0, 2, 1, 1, 0])
    one_hot = torch.nn.functional.one_hot(labels, CLASSES).float()
    weight = torch.tensor([0.5, 2.0, 1.0])
    plain = torch.nn.functional.cross_entropy(logits, labels)
    assert soft_target_cross_entropy(logits, one_hot).item() == pytest.approx(plain.item())
    weighted = torch.nn.functional.cross_entropy(logits, labels, weight=weight)
    assert soft_target_cross_entropy(logits, one_hot, weight).item() == pytest.approx(
        weighted.item()
    )


def toolkit_trainer(tmp_path, **kwargs):
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    sizes = {k: v for k, v in TINY_VIT_SIZES.items() if k != "model_type"}
    model = ViTForImageClassification(ViTConfig(**sizes, num_labels=CLASSES)).eval()
    smoothing = kwargs.pop("label_smoothing_factor", 0.0)
    training = {"label_smoothing_factor": smoothing, "remove_unused_columns": False}
    return bare_trainer(model, tmp_path, training, **kwargs), model


@pytest.mark.e2e
@pytest.mark.parametrize("weights", [None, [0.5, 2.0, 1.0]])
def test_the_trainer_scores_soft_labels_with_the_soft_cross_entropy(tmp_path, weights):
    """Not the model's own loss: the ViT head would switch to multi-label BCE for float labels."""
    class_weights = None if weights is None else torch.tensor(weights)
    trainer, model = toolkit_trainer(tmp_path, class_weights=class_weights)
    _, batch = mixed(mixup=1.0)
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        logits = model(pixel_values=batch["pixel_values"]).logits
    expected = by_hand(logits.tolist(), batch["labels"].tolist(), weights)
    assert loss.item() == pytest.approx(expected, abs=1e-5)
    assert model.config.problem_type is None, "the head never saw float labels"


@pytest.mark.e2e
def test_label_smoothing_applies_to_soft_labels_as_to_class_ids(tmp_path):
    """With one-hot soft labels the loss equals the Trainer's own LabelSmoother on class ids."""
    trainer, model = toolkit_trainer(tmp_path, label_smoothing_factor=0.1)
    plain = task.collate(features())
    soft = dict(plain, labels=torch.nn.functional.one_hot(plain["labels"], CLASSES).float())
    with torch.no_grad():
        smoothed_ids = trainer.compute_loss(model, dict(plain))
        smoothed_soft = trainer.compute_loss(model, soft)
    assert smoothed_soft.item() == pytest.approx(smoothed_ids.item(), abs=1e-5)


# ----------------------------------------------------------------------------- the collators


def test_mixup_batches_are_convex_combinations_with_soft_labels():
    torch.manual_seed(0)
    plain, batch = mixed(mixup=1.0, mixup_alpha=0.4)
    labels, pixels = batch["labels"], batch["pixel_values"]
    assert labels.dtype == torch.float32 and labels.shape == (6, CLASSES)
    assert torch.allclose(labels.sum(dim=1), torch.ones(6))
    x, ids = plain["pixel_values"], plain["labels"]
    lam = labels[0, ids[0]].item()  # each image i is mixed with image i - 1 (another class)
    assert 0 < lam < 1
    for i in range(6):
        assert labels[i, ids[i]].item() == pytest.approx(lam)
        assert labels[i, ids[i - 1]].item() == pytest.approx(1 - lam)
        assert torch.allclose(pixels[i], lam * x[i] + (1 - lam) * x[i - 1], atol=1e-6)


def test_cutmix_batches_paste_one_rectangle_and_weigh_labels_by_area():
    torch.manual_seed(3)
    plain, batch = mixed(cutmix=1.0)
    x, ids, labels = plain["pixel_values"], plain["labels"], batch["labels"]
    assert torch.allclose(labels.sum(dim=1), torch.ones(6))
    pasted = (batch["pixel_values"][0] != x[0]).any(dim=0)  # H x W: where image -1 shows
    rows, cols = pasted.any(dim=1).nonzero(), pasted.any(dim=0).nonzero()
    box = torch.zeros_like(pasted)
    box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
    assert pasted.any() and torch.equal(pasted, box), "one rectangle"
    area = box.float().mean().item()
    for i in range(6):
        expected = torch.where(box, x[i - 1], x[i])
        assert torch.equal(batch["pixel_values"][i], expected)
        assert labels[i, ids[i]].item() == pytest.approx(1 - area)
        assert labels[i, ids[i - 1]].item() == pytest.approx(area)


def test_mixing_is_seeded_and_each_batch_gets_one_way():
    torch.manual_seed(7)
    first = mixed(mixup=0.5, cutmix=0.5)[1]
    torch.manual_seed(7)
    again = mixed(mixup=0.5, cutmix=0.5)[1]
    assert torch.equal(first["pixel_values"], again["pixel_values"])
    assert torch.equal(first["labels"], again["labels"])
    config = image_config(mixup=0.5, cutmix=0.5)
    collate = task.train_collator(None, config, CLASSES)
    torch.manual_seed(0)
    ways = set()
    for _ in range(40):
        out = collate(features())
        assert out["labels"].is_floating_point(), "0.5 + 0.5: every batch is mixed"
        ways.add("mixup" if (out["pixel_values"] != features()[0]["pixel_values"]).all() else "cut")
    assert ways == {"mixup", "cut"}


def test_a_batch_left_unmixed_keeps_its_class_ids():
    collate = task.train_collator(None, image_config(mixup=0.2), CLASSES)
    torch.manual_seed(0)
    kinds = [collate(features())["labels"].dtype for _ in range(50)]
    assert 3 <= kinds.count(torch.float32) <= 20 and torch.int64 in kinds


@pytest.mark.e2e
def test_the_trainer_mixes_training_batches_only(tmp_path):
    """The training DataLoader mixes; evaluation (and the overfitting watch) never does."""
    rng = random.Random(0)
    images = [draw_shape(s, 24, rng) for s in ["circle", "square", "triangle"] * 4]
    data = datasets.Dataset.from_dict(
        {"image": images, "label": [0, 1, 2] * 4},
        features=datasets.Features(
            {"image": datasets.Image(), "label": datasets.ClassLabel(names=["c", "s", "t"])}
        ),
    )
    config = image_config(mixup=0.5, cutmix=0.5)
    processor = task.load_processor(config)
    splits = task.prepare(datasets.DatasetDict(train=data, validation=data), processor, config)
    trainer, _ = toolkit_trainer(
        tmp_path,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        data_collator=task.collator(processor, config),
        train_collator=task.train_collator(processor, config, CLASSES),
    )
    train_batch = next(iter(trainer.get_train_dataloader()))
    assert train_batch["labels"].shape == (8, CLASSES)
    for loader in (trainer.get_eval_dataloader(), trainer.get_test_dataloader(splits["train"])):
        batch = next(iter(loader))
        assert batch["labels"].dtype == torch.int64 and batch["labels"].ndim == 1
    assert trainer.data_collator is task.collate


def test_no_mixing_no_train_collator():
    assert task.train_collator(None, image_config(), CLASSES) is None


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("--augment.mixup=1.5", r"'augment.mixup' must be in \[0, 1\], got 1.5"),
        ("--augment.cutmix=-0.1", r"'augment.cutmix' must be in \[0, 1\], got -0.1"),
        ("--augment.mixup_alpha=0", r"'augment.mixup_alpha' must be > 0, got 0"),
        ("--augment.cutmix_alpha=-1", r"'augment.cutmix_alpha' must be > 0, got -1"),
        ("--augment.mixup=0.7 --augment.cutmix=0.6", r"add up to at most 1"),
    ],
)
def test_bad_values_are_refused_with_the_key(override, message):
    with pytest.raises(UserError, match=message):
        config_from_raw(
            {"task": "image-classification", "model": {"from_config": TINY_VIT_SIZES}},
            parse_overrides(override.split()),
        )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"task": "text-classification"}, "task 'text-classification' does not take images"),
        ({"task": "masked-lm"}, "task 'masked-lm' has no labels to mix"),
        (
            {"task": "masked-image-modeling", "model": {"from_config": TINY_VIT_SIZES}},
            "task 'masked-image-modeling' has no labels to mix",
        ),
    ],
)
def test_mixing_is_refused_outside_image_classification(raw, message):
    with pytest.raises(UserError, match=message + r".*augment.cutmix: 0"):
        config_from_raw(raw, parse_overrides(["--augment.cutmix=0.5"]))


# ----------------------------------------------------------------------------- end to end


@pytest.mark.e2e
def test_train_with_mixup_and_cutmix_end_to_end(tiny_vit, tmp_path):
    train = make_image_folder(tmp_path / "train", 30, seed=1)
    test = make_image_folder(tmp_path / "test", 10, seed=2)
    run = tmp_path / "run"
    config = write_image_config(
        tmp_path / "mix.yaml",
        f"{{name_or_path: '{tiny_vit}'}}",
        f"{{train_dir: '{train}', test_dir: '{test}'}}",
        run,
        num_train_epochs="10",
    )
    mixing = ["--augment.mixup", 0.5, "--augment.cutmix", 0.5]
    quick = ["--early_stopping.patience", "null", "--baseline.enabled", "false"]
    result = ftk("train", "--config", config, *mixing, *quick)
    assert "Training batches mixed: MixUp p 0.5 (alpha 1), CutMix p 0.5 (alpha 1);" in (
        result.stdout
    )
    rows = history_rows(run)
    losses = [row["loss"] for row in rows if row["kind"] == "train"]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, "training loss falls"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.6, "hard-label accuracy on the unmixed test split"
    assert all(row["eval_accuracy"] >= 0 for row in rows if row["kind"] == "eval")
    saved = json.loads((run / "config.json").read_text())
    assert saved.get("problem_type") in (None, "single_label_classification")
    recorded = (run / "run_config.yaml").read_text()
    assert "mixup: 0.5" in recorded and "cutmix: 0.5" in recorded


@pytest.mark.e2e
def test_ftk_augment_draws_mixed_batches_with_their_soft_labels(tiny_vit, tmp_path, capsys):
    from PIL import Image

    from toolkit.cli import main

    folder = make_image_folder(tmp_path / "shapes", n_per_class=4, seed=0, size=16)
    config = write_image_config(
        tmp_path / "c.yaml",
        f"{{name_or_path: '{tiny_vit}'}}",
        f"{{train_dir: '{folder}'}}",
        tmp_path / "run",
    )
    grid = tmp_path / "grid.png"
    args = ["augment", "--config", str(config), "--n", "4", "--k", "3", "--output", str(grid)]
    assert main([*args, "--augment.mixup", "0.5", "--augment.cutmix", "0.5"]) == 0
    out = capsys.readouterr().out
    mixed_png = tmp_path / "grid-mixed.png"
    assert f"Wrote {mixed_png}: the same 4 rows in 3 training batches" in out
    with Image.open(mixed_png) as image:
        assert image.size == (4 * 98 + 2, 4 * 98 + 2)
    rows = [line for line in out.splitlines() if line.startswith("  row ")]
    assert len(rows) == 4 and all(line.count(" | ") == 2 for line in rows)
    # every batch is mixed: two labels per image, unless its neighbour has the same class
    assert sum(line.count(" + ") for line in rows) >= 4
    assert all(name in out for name in ("circle", "square", "triangle"))
    assert main(args) == 0 and "MixUp" not in capsys.readouterr().out  # mixing off: one grid
