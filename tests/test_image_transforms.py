"""Lazy image transforms: fresh augmentation every pass over train, a fixed view of eval."""

from __future__ import annotations

import random

import datasets
import numpy as np
import pytest
import torch
from helpers import TINY_VIT_SIZES, draw_shape
from torchvision.transforms import v2

from toolkit.augment.image import Geometry, ToNormalizedTensor, augmentation_is_on, train_transform
from toolkit.augment.image import TrivialAugmentWide as LeanTrivialAugment
from toolkit.config.load import load_config
from toolkit.config.schema import AugmentConfig
from toolkit.tasks import image_classification as task


def shapes_dataset(n: int = 6) -> datasets.DatasetDict:
    rng = random.Random(0)
    images = [draw_shape(s, 24, rng) for s in ["circle", "square", "triangle"] * (n // 3)]
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=["c", "s", "t"])}
    )
    ds = datasets.Dataset.from_dict(
        {"image": images, "label": [0, 1, 2] * (n // 3), "extra": ["x"] * n},
        features=datasets.Features({**features, "extra": datasets.Value("string")}),
    )
    return datasets.DatasetDict({"train": ds, "validation": ds})


def scratch_config(tmp_path, augment: str, channels: int = 3):
    sizes = {**TINY_VIT_SIZES, "num_channels": channels}
    (tmp_path / "c.yaml").write_text(
        f"task: image-classification\nmodel: {{from_config: {sizes}}}\naugment: {augment}\n"
    )
    return load_config(tmp_path / "c.yaml")


def prepared(tmp_path, augment, channels=3):
    config = scratch_config(tmp_path, augment, channels)
    return task.prepare(shapes_dataset(), task.load_processor(config), config)


def test_train_differs_between_passes_eval_is_identical(tmp_path):
    splits = prepared(tmp_path, "{image: trivial, random_resized_crop: 0.5, horizontal_flip: 0.5}")
    torch.manual_seed(0)
    first = [splits["train"][i]["pixel_values"] for i in range(6)]
    second = [splits["train"][i]["pixel_values"] for i in range(6)]
    assert sum(not torch.equal(a, b) for a, b in zip(first, second, strict=False)) >= 5
    eval_a = [splits["validation"][i]["pixel_values"] for i in range(6)]
    eval_b = [splits["validation"][i]["pixel_values"] for i in range(6)]
    assert all(torch.equal(a, b) for a, b in zip(eval_a, eval_b, strict=False))
    assert eval_a[0].shape == first[0].shape == (3, 16, 16)


def test_eval_view_is_resize_and_normalize_of_the_processor(tmp_path):
    splits = prepared(tmp_path, "{image: trivial}")
    row = splits["validation"][0]
    assert set(row) == {"pixel_values", "labels"}, "unused columns are dropped, labels renamed"
    image = shapes_dataset()["validation"][0]["image"].resize((16, 16), resample=2)
    expected = (
        torch.tensor(list(image.getdata()), dtype=torch.float32).T.reshape(3, 16, 16) / 255 - 0.5
    ) / 0.5
    assert torch.allclose(row["pixel_values"], expected, atol=0.05)


def test_grayscale_model_gets_one_channel(tmp_path):
    splits = prepared(tmp_path, "{image: randaugment}", channels=1)
    assert splits["train"][0]["pixel_values"].shape == (1, 16, 16)
    batch = task.collate([splits["train"][i] for i in range(4)])
    assert batch["pixel_values"].shape == (4, 1, 16, 16)
    assert batch["labels"].tolist() == [0, 1, 2, 0]


@pytest.mark.parametrize(
    "augment",
    [
        AugmentConfig(image="autoaugment", random_erasing=1.0),
        AugmentConfig(image=True),
        AugmentConfig(image="none"),
    ],
)
def test_each_policy_keeps_shape_and_range(augment):
    geometry = Geometry(resize=(20, 20), crop=(16, 16), mean=[0.5] * 3, std=[0.5] * 3, channels=3)
    out = train_transform(geometry, augment)(draw_shape("square", 24, random.Random(1)))
    assert out.shape == (3, 16, 16) and out.min() >= -1.0 - 1e-6 and out.max() <= 1.0 + 1e-6


def test_augmentation_switch():
    assert not augmentation_is_on(AugmentConfig())
    assert augmentation_is_on(AugmentConfig(image=True))
    assert augmentation_is_on(AugmentConfig(horizontal_flip=0.5))


def test_task_turns_remove_unused_columns_off(tmp_path):
    config = scratch_config(tmp_path, "{image: trivial}")
    defaults = task.training_defaults(config)
    assert defaults["remove_unused_columns"] is False


def test_one_worker_when_training_on_the_cpu_unless_the_config_says(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = scratch_config(tmp_path, "{image: trivial}")
    assert task.training_defaults(config)["dataloader_num_workers"] == 1
    config.training["dataloader_num_workers"] = 3
    assert task.training_defaults(config)["dataloader_num_workers"] == 3
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(task.os, "cpu_count", lambda: 16)
    config.training.pop("dataloader_num_workers")
    assert task.training_defaults(config)["dataloader_num_workers"] == task.GPU_WORKERS


@pytest.mark.parametrize("mode,size", [("L", 28), ("RGB", 24)])
def test_lean_trivial_augment_equals_torchvision_for_the_same_seed(mode, size):
    """The toolkit's TrivialAugmentWide only skips torchvision's generic dispatch: for the same
    torch seed every one of 300 images (all 14 operations drawn) comes out pixel-identical."""
    rng = random.Random(3)
    images = [
        draw_shape(rng.choice(["circle", "square", "triangle"]), size, rng).convert(mode)
        for _ in range(300)
    ]
    fill = [0] * len(mode)
    torch.manual_seed(7)
    reference = [np.asarray(v2.TrivialAugmentWide(fill=fill)(im)) for im in images]
    torch.manual_seed(7)
    lean = [np.asarray(LeanTrivialAugment(fill=fill)(im)) for im in images]
    assert all(np.array_equal(a, b) for a, b in zip(reference, lean, strict=False))
    changed = sum(
        not np.array_equal(a, np.asarray(im)) for a, im in zip(lean, images, strict=False)
    )
    assert changed > 200  # it did augment (Identity and no-op draws leave some unchanged)


def test_lean_trivial_augment_still_takes_tensors():
    image = torch.randint(0, 256, (1, 16, 16), dtype=torch.uint8)
    torch.manual_seed(1)
    expected = v2.TrivialAugmentWide()(image)
    torch.manual_seed(1)
    assert torch.equal(LeanTrivialAugment()(image), expected)


def test_normalized_tensor_equals_torchvision_chain():
    image = draw_shape("circle", 24, random.Random(2))
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    chain = v2.Compose(
        [v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=mean, std=std)]
    )
    assert torch.allclose(ToNormalizedTensor(mean, std)(image), chain(image), atol=1e-6)
