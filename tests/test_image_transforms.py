"""Lazy image transforms: fresh augmentation every pass over train, a fixed view of eval."""

from __future__ import annotations

import random

import datasets
import numpy as np
import pytest
import torch
from families import IMAGE_FAMILIES
from helpers import TINY_VIT_SIZES, draw_shape
from PIL import Image
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


# ----------------------------------------------------------------------------- processor pixels


@pytest.fixture(scope="module")
def family_checkpoint(tmp_path_factory):
    """family -> its tiny checkpoint (tests/families.py: the processor as the Hub ships it)."""
    from families import FAMILIES

    root = tmp_path_factory.mktemp("image-families")
    saved = {}

    def checkpoint(family: str):
        if family not in saved:
            saved[family] = FAMILIES[family].save(root / family)
        return saved[family]

    return checkpoint


def checkpoint_config(folder, augment: dict | None = None):
    from toolkit.config.load import config_from_raw

    raw = {
        "task": "image-classification",
        "model": {"name_or_path": str(folder)},
        "augment": augment or {},
    }
    return config_from_raw(raw, [])


def noise(width: int, height: int, seed: int) -> Image.Image:
    """Random RGB pixels: every difference in resampling shows (a smooth image hides some)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def new_images() -> list[Image.Image]:
    """Non-square images of three sizes and two modes, none at the models' 32 pixels."""
    return [noise(40, 28, 0), noise(23, 31, 1).convert("L"), noise(64, 48, 2)]


def splits_of(images: list[Image.Image], split: str) -> datasets.DatasetDict:
    column = datasets.Dataset.from_dict({"image": images}).cast_column("image", datasets.Image())
    return datasets.DatasetDict({split: column})


def pipeline_pixels(folder, image: Image.Image) -> torch.Tensor:
    """What `pipeline("image-classification")` feeds the model: load_image's RGB conversion,
    then the saved processor as AutoImageProcessor loads it."""
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(folder)
    return processor(image.convert("RGB"), return_tensors="pt")["pixel_values"][0]


@pytest.mark.parametrize("family", IMAGE_FAMILIES)
def test_validation_pixels_are_the_processors_own(family, family_checkpoint):
    """Validation, test, `ftk predict` and `ftk evaluate` give the model the pixels pipeline()
    gives it: the processor's resample (bicubic for all but ViT), ConvNeXt's crop_pct, the
    shortest-edge resize and crop of DINOv2, and the processor's tensor resize. One batch of
    three sizes goes through one transform call, as a DataLoader fetches it."""
    folder = family_checkpoint(family)
    config = checkpoint_config(folder)
    images = new_images()
    prepared = task.prepare(splits_of(images, "validation"), task.load_processor(config), config)
    batch = prepared["validation"][:]["pixel_values"]
    for image, pixels in zip(images, batch, strict=True):
        expected = pipeline_pixels(folder, image)
        assert pixels.shape == expected.shape
        assert torch.allclose(pixels, expected, atol=1e-6, rtol=0), (pixels - expected).abs().max()


@pytest.mark.parametrize("family", IMAGE_FAMILIES)
def test_training_starts_from_the_processors_pixels(family, family_checkpoint):
    """Without augmentation a training image is what pipeline() feeds the model too (the
    processor's resize and crop, then the normalization after the augmentation steps instead of
    inside the processor: equal within float rounding)."""
    folder = family_checkpoint(family)
    config = checkpoint_config(folder)
    images = new_images()
    prepared = task.prepare(splits_of(images, "train"), task.load_processor(config), config)
    batch = prepared["train"][:]["pixel_values"]
    for image, pixels in zip(images, batch, strict=True):
        expected = pipeline_pixels(folder, image)
        assert pixels.shape == expected.shape
        assert torch.allclose(pixels, expected, atol=1e-6, rtol=0), (pixels - expected).abs().max()


@pytest.mark.parametrize("family", ["vit", "swin"])
def test_a_random_resized_crop_resamples_as_the_processor(family, family_checkpoint):
    """ViT's processor resizes bilinear, Swin's (ViT's class) bicubic: so do the crops."""
    from transformers.image_utils import pil_torch_interpolation_mapping

    config = checkpoint_config(family_checkpoint(family), {"random_resized_crop": 0.5})
    processor = task.load_processor(config)
    transform = task.train_image_pixels(config, processor).transform
    crop = next(t for t in transform.transforms if isinstance(t, v2.RandomResizedCrop))
    assert crop.interpolation == pil_torch_interpolation_mapping[processor.resample]


def test_split_transforms_pickle_into_dataloader_workers(family_checkpoint):
    """DataLoader workers started by spawn or forkserver get the transforms pickled."""
    import pickle

    config = checkpoint_config(family_checkpoint("convnext"), {"image": "trivial"})
    images = new_images()
    processor = task.load_processor(config)
    for split in ("train", "validation"):
        dataset = task.prepare(splits_of(images, split), processor, config)[split]
        transform = dataset.format["format_kwargs"]["transform"]
        copied = pickle.loads(pickle.dumps(transform))
        rows = {"image": images}
        torch.manual_seed(0)
        expected = transform(rows)["pixel_values"]
        torch.manual_seed(0)
        pixels = copied(rows)["pixel_values"]
        assert all(torch.equal(a, b) for a, b in zip(pixels, expected, strict=True))
