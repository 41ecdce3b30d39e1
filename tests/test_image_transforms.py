"""Lazy image transforms: fresh augmentation every pass over train, a fixed view of eval."""

from __future__ import annotations

import random

import datasets
import pytest
import torch

from conftest import TINY_VIT_SIZES, draw_shape
from toolkit.augment.image import Geometry, augmentation_is_on, train_transform
from toolkit.config import AugmentConfig, load_config
from toolkit.tasks import image_classification as task


def shapes_dataset(n: int = 6) -> datasets.DatasetDict:
    rng = random.Random(0)
    images = [draw_shape(s, 24, rng) for s in ["circle", "square", "triangle"] * (n // 3)]
    features = datasets.Features({"image": datasets.Image(),
                                  "label": datasets.ClassLabel(names=["c", "s", "t"])})
    ds = datasets.Dataset.from_dict({"image": images, "label": [0, 1, 2] * (n // 3),
                                     "extra": ["x"] * n},
                                    features=datasets.Features({**features,
                                                                "extra": datasets.Value("string")}))
    return datasets.DatasetDict({"train": ds, "validation": ds})


def scratch_config(tmp_path, augment: str, channels: int = 3):
    sizes = {**TINY_VIT_SIZES, "num_channels": channels}
    (tmp_path / "c.yaml").write_text(
        f"task: image-classification\nmodel: {{from_config: {sizes}}}\naugment: {augment}\n")
    return load_config(tmp_path / "c.yaml")


def prepared(tmp_path, augment, channels=3):
    config = scratch_config(tmp_path, augment, channels)
    return task.prepare(shapes_dataset(), task.load_processor(config), config)


def test_train_differs_between_passes_eval_is_identical(tmp_path):
    splits = prepared(tmp_path, "{image: trivial, random_resized_crop: 0.5, horizontal_flip: 0.5}")
    torch.manual_seed(0)
    first = [splits["train"][i]["pixel_values"] for i in range(6)]
    second = [splits["train"][i]["pixel_values"] for i in range(6)]
    assert sum(not torch.equal(a, b) for a, b in zip(first, second)) >= 5
    eval_a = [splits["validation"][i]["pixel_values"] for i in range(6)]
    eval_b = [splits["validation"][i]["pixel_values"] for i in range(6)]
    assert all(torch.equal(a, b) for a, b in zip(eval_a, eval_b))
    assert eval_a[0].shape == first[0].shape == (3, 16, 16)


def test_eval_view_is_resize_and_normalize_of_the_processor(tmp_path):
    splits = prepared(tmp_path, "{image: trivial}")
    row = splits["validation"][0]
    assert set(row) == {"pixel_values", "labels"}, "unused columns are dropped, labels renamed"
    image = shapes_dataset()["validation"][0]["image"].resize((16, 16), resample=2)
    expected = (torch.tensor(list(image.getdata()), dtype=torch.float32).T.reshape(3, 16, 16)
                / 255 - 0.5) / 0.5
    assert torch.allclose(row["pixel_values"], expected, atol=0.05)


def test_grayscale_model_gets_one_channel(tmp_path):
    splits = prepared(tmp_path, "{image: randaugment}", channels=1)
    assert splits["train"][0]["pixel_values"].shape == (1, 16, 16)
    batch = task.collate([splits["train"][i] for i in range(4)])
    assert batch["pixel_values"].shape == (4, 1, 16, 16)
    assert batch["labels"].tolist() == [0, 1, 2, 0]


@pytest.mark.parametrize("augment", [AugmentConfig(image="autoaugment", random_erasing=1.0),
                                     AugmentConfig(image=True), AugmentConfig(image="none")])
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
    assert defaults["remove_unused_columns"] is False and defaults["dataloader_num_workers"] == 2
