"""Image classification with ViT-family models (anything AutoModelForImageClassification takes).

A model comes from a checkpoint (`model.name_or_path`, its image processor alongside) or is built
from sizes in the config (`model.from_config`, trained from scratch; its processor then follows
those sizes). Images are turned into tensors lazily, in DataLoader workers, a batch at a time:
validation/test (and `ftk predict` / `ftk evaluate`) get the image processor's own output, the
pixels `pipeline()` and the Hub feed the model; the train split gets the processor's resize and
crop, then augmentation (toolkit/augment/image.py) drawn anew every epoch. Nothing is
precomputed, so the `image` column must reach the transform:
`remove_unused_columns` is off for this task, and `collate` stacks the tensors. With
augment.mixup / augment.cutmix the training batches, and only those, are then mixed
(`train_collator`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import torch
from PIL import Image
from torchvision.transforms import v2
from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModelForImageClassification,
    PretrainedConfig,
    ViTImageProcessor,
)
from transformers.image_utils import pil_torch_interpolation_mapping

from toolkit.augment.image import Geometry, Images, TrainPixels, train_pixels
from toolkit.augment.mixing import batch_mixing
from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.core.image_mode import model_mode, to_mode
from toolkit.model.channels import widen_saved_model
from toolkit.model.checkpoint import (
    checkpoint_location,
    load_checkpoint_model,
    load_failure,
    model_kwargs,
    pretrained_kwargs,
)
from toolkit.model.transfer import config_from_dict
from toolkit.tasks.targets import CLASSES

pipeline_tag = "image-classification"
pipeline_args = ""  # the model card's: the image pipeline needs none to read as training did
input_key = "data.image_column"
target_inputs = None
target = CLASSES
GPU_WORKERS = 8  # at most, and never more than the cores left over


def input_columns(config: RunConfig) -> list[str]:
    return [config.data.image_column]


def training_defaults(config: RunConfig) -> dict[str, Any]:
    """TrainingArguments this task needs unless the config says otherwise."""
    if config.training.get("remove_unused_columns") is True:
        raise UserError(
            "remove_unused_columns: true would drop the image column before the "
            "lazy image transform sees it; image-classification needs it false "
            "(the default for this task). Remove the key."
        )
    workers = config.training.get("dataloader_num_workers", default_workers(config))
    return {
        "remove_unused_columns": False,
        "dataloader_num_workers": workers,
        # keep workers (and their augmentation RNG state) alive across epochs
        "dataloader_persistent_workers": workers > 0,
    }


def default_workers(config: RunConfig) -> int:
    """DataLoader workers that decode and augment while the model computes.

    Training on the CPU, workers take cores from the training step's own threads: on 2 cores
    one worker ran the augmented recipe 20% faster than two (BENCHMARKS.md, section 3), so one.
    On a GPU the cores are free for data: one per core but one, up to GPU_WORKERS."""
    if config.training.get("use_cpu") or not torch.cuda.is_available():
        return 1
    return max(1, min(GPU_WORKERS, (os.cpu_count() or 2) - 1))


# ----------------------------------------------------------------------------- model


def scratch_config(config: RunConfig, **extra: Any) -> PretrainedConfig:
    """model.from_config -> a transformers config (unknown size keys are an error, not ignored)."""
    return config_from_dict(config.model.from_config or {}, **extra)


def model_config(config: RunConfig) -> PretrainedConfig:
    if config.model.from_config:
        return scratch_config(config)
    if not config.model.name_or_path:
        raise UserError(
            "The model is not set: give model.name_or_path (a Hub id or checkpoint "
            "folder) or model.from_config (a model type and sizes, to train from "
            "scratch)."
        )
    try:
        return AutoConfig.from_pretrained(
            checkpoint_location(config.model), **pretrained_kwargs(config.model)
        )
    except (OSError, ValueError) as exc:
        raise load_failure(config.model, "model config", exc) from None


def load_model(config: RunConfig, label_names: list[str] | None) -> Any:
    return load_with_head(config, target.head(config, label_names))


def load_with_head(config: RunConfig, head: dict[str, Any]) -> Any:
    """A model built from sizes, or the checkpoint's, with the head `head` describes."""
    if config.model.from_config:
        return AutoModelForImageClassification.from_config(
            scratch_config(config, **head), **model_kwargs(config.model)
        )
    return load_checkpoint_model(
        AutoModelForImageClassification,
        config.model,
        "model",
        **head,
        ignore_mismatched_sizes=config.model.ignore_mismatched_sizes,
    )


# ----------------------------------------------------------------------------- processor


def load_processor(config: RunConfig) -> Any:
    """The checkpoint's image processor, or one matching model.from_config's sizes."""
    if config.model.from_config:
        built = scratch_config(config)
        side = getattr(built, "image_size", 224)
        channels = getattr(built, "num_channels", 3)
        return ViTImageProcessor(
            size={"height": side, "width": side},
            image_mean=[0.5] * channels,
            image_std=[0.5] * channels,
        )
    try:
        return AutoImageProcessor.from_pretrained(
            checkpoint_location(config.model), **pretrained_kwargs(config.model)
        )
    except (OSError, ValueError) as exc:
        raise load_failure(config.model, "image processor", exc) from None


def per_channel(values: Any, channels: int, default: float) -> list[float]:
    """A processor's mean/std fitted to the model's channel count (RGB stats for gray: average)."""
    if values is None:
        return [default] * channels
    values = [values] if isinstance(values, (int, float)) else list(values)
    if len(values) == channels:
        return [float(v) for v in values]
    if channels == 1:
        return [float(sum(values) / len(values))]
    return [float(values[0])] * channels


def geometry_of(processor: Any, channels: int) -> Geometry:
    """What the augmentation needs of the processor: the size it outputs (a random resized
    crop's size), how it resamples, and its mean/std fitted to the channels."""
    size = dict(getattr(processor, "size", None) or {"height": 224, "width": 224})
    if "height" in size:
        resize: Any = (size["height"], size["width"])
    else:
        edge = size.get("shortest_edge") or size.get("longest_edge")
        resize = edge
    crop = (
        getattr(processor, "crop_size", None)
        if getattr(processor, "do_center_crop", False)
        else None
    )
    crop = (crop["height"], crop["width"]) if crop else None
    if crop is None and isinstance(resize, int):
        resize = (resize, resize)
    mean, std = normalization_of(processor, channels)
    return Geometry(
        resize=resize,
        crop=crop,
        mean=mean,
        std=std,
        channels=channels,
        interpolation=interpolation_of(processor),
    )


def normalization_of(processor: Any, channels: int) -> tuple[list[float], list[float]]:
    """The processor's mean and std fitted to the channels (0 and 1: it does not normalize)."""
    normalize = getattr(processor, "do_normalize", True)
    mean = per_channel(processor.image_mean if normalize else None, channels, 0.0)
    std = per_channel(processor.image_std if normalize else None, channels, 1.0)
    return mean, std


def interpolation_of(processor: Any) -> v2.InterpolationMode:
    """The processor's `resample` as torchvision names it (unset: bilinear, as transformers'
    torchvision processors then resize)."""
    resample = getattr(processor, "resample", None)
    if resample is None:
        return v2.InterpolationMode.BILINEAR
    if isinstance(resample, v2.InterpolationMode):
        return resample
    return pil_torch_interpolation_mapping[resample]


def processor_outputs(
    processor: Any, images: Images, channels: int, **settings: Any
) -> list[torch.Tensor]:
    """Each image through the processor, called as `pipeline()` calls it, after ftk's own
    conversion to the model's mode (`to_mode`: the one training and `ftk predict` use, which
    scales 16-bit images instead of clipping them; the processor is told not to convert again,
    so a grayscale model's images stay one channel). The processor's mean/std are passed fitted
    to the channel count: its own values for an RGB model, so its own arithmetic. `settings`
    overrides more of the processor's (the training resize leaves out the normalization)."""
    if not images:
        return []
    mode = model_mode(channels)
    mean, std = normalization_of(processor, channels)
    pixels = processor(
        [to_mode(image, mode) for image in images],
        do_convert_rgb=False,
        image_mean=mean,
        image_std=std,
        **settings,
    )["pixel_values"]
    return [torch.as_tensor(image) for image in pixels]


@dataclass
class ProcessorPixels:
    """A batch of PIL images -> the image processor's pixel_values: validation, test,
    `ftk predict` and `ftk evaluate`, so they score the pixels `pipeline()` and the Hub feed the
    run's saved model (the same processor: its resample, crop_pct rules, tensor resize and
    all). One processor call per batch: its per-call cost is larger than the arithmetic on
    small images.

    A class rather than a closure so it pickles into DataLoader workers."""

    processor: Any
    channels: int  # the model's: 1 reads images as grayscale, else RGB

    def __call__(self, images: Images) -> list[torch.Tensor]:
        return processor_outputs(self.processor, images, self.channels)


@dataclass
class ProcessorResize:
    """A batch of PIL images -> the processor's resize and crop alone, as 8-bit PIL images:
    where training's augmentation starts, so an image drawn without augmentation is the one
    validation gets (the normalization comes after the augmentation, with the same mean/std)."""

    processor: Any
    channels: int

    def __call__(self, images: Images) -> Images:
        resized = processor_outputs(
            self.processor, images, self.channels, do_rescale=False, do_normalize=False
        )
        return [planes_to_pil(image) for image in resized]


def planes_to_pil(image: torch.Tensor) -> Image.Image:
    """A C x H x W 8-bit tensor (transformers' processors resize an 8-bit image in 8 bits) as
    a PIL image, merged from its planes: interleaving them through a permuted copy took 5x as
    long (0.7 ms against 0.12 ms for 224 x 224 RGB)."""
    planes = [Image.fromarray(plane) for plane in image.numpy()]
    return planes[0] if len(planes) == 1 else Image.merge("RGB", planes)


class ImageBatchTransform:
    """A `with_transform` function: a batch of rows -> pixel_values (+ labels), the images of
    the batch turned into tensors by `pixels` in one call."""

    def __init__(self, pixels: Any, image_column: str, label_column: str):
        self.pixels = pixels
        self.image_column = image_column
        self.label_column = label_column

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        out = {"pixel_values": self.pixels(batch[self.image_column])}
        if self.label_column in batch:
            out["labels"] = batch[self.label_column]
        return out


def model_channels(config: RunConfig) -> int:
    return getattr(model_config(config), "num_channels", 3)


def train_image_pixels(config: RunConfig, processor: Any) -> TrainPixels:
    """The train split's batch transform: the processor's resize and crop, then augmentation."""
    channels = model_channels(config)
    resize = ProcessorResize(processor, channels)
    return train_pixels(geometry_of(processor, channels), config.augment, resize)


def train_image_transform(config: RunConfig, processor: Any) -> Any:
    """PIL image -> augmented, normalized tensor: what the train split's transform makes of
    one image (what `ftk augment` draws)."""
    return train_image_pixels(config, processor).one


def prepare(
    splits: datasets.DatasetDict, processor: Any, config: RunConfig
) -> datasets.DatasetDict:
    """Attach lazy transforms: augmented for train, the processor's own for validation/test."""
    train = train_image_pixels(config, processor)
    evaluation = ProcessorPixels(processor, model_channels(config))
    image, label = config.data.image_column, config.data.label_column
    prepared = {}
    for split, dataset in splits.items():
        # new images (`ftk predict`) come without a label column
        dataset = dataset.select_columns([c for c in (image, label) if c in dataset.column_names])
        pixels = train if split == "train" else evaluation
        prepared[split] = dataset.with_transform(ImageBatchTransform(pixels, image, label))
    return datasets.DatasetDict(prepared)


def collate(features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stacked pixels and class ids."""
    return collate_as(features, torch.long)


def collate_floats(features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stacked pixels and float targets (numbers, multi-hot label sets)."""
    return collate_as(features, torch.float32)


def collate_as(features: list[dict[str, Any]], label_dtype: torch.dtype) -> dict[str, torch.Tensor]:
    batch = {"pixel_values": torch.stack([f["pixel_values"] for f in features])}
    if "labels" in features[0]:
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=label_dtype)
    return batch


def collator(processor: Any, config: RunConfig, label_dtype: torch.dtype = torch.long) -> Any:
    """The validation/test (and, without mixing, training) collator: stack, never mix.
    Module-level functions, not closures, so they pickle into DataLoader workers."""
    return collate if label_dtype == torch.long else collate_floats


class MixingCollate:
    """The train split's collator under augment.mixup / augment.cutmix: stack, then mix the
    batch (toolkit/augment/image.py::batch_mixing). A mixed batch carries soft labels, a
    (batch, classes) float tensor, which ToolkitTrainer.compute_loss scores itself.

    A class rather than a closure so it pickles into DataLoader workers."""

    def __init__(self, mix: Any):
        self.mix = mix

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = collate(features)
        batch["pixel_values"], batch["labels"] = self.mix(batch["pixel_values"], batch["labels"])
        return batch


def train_collator(processor: Any, config: RunConfig, num_labels: int) -> Any | None:
    """The collator of the training batches when they differ from `collator`'s: mixed."""
    mix = batch_mixing(config.augment, num_labels)
    return None if mix is None else MixingCollate(mix)


def card_reading(config: RunConfig) -> str:
    """Nothing for the model card: the image processor gives every image the model's size."""
    return ""


def finish_saved(folder: Path) -> str | None:
    """A one-channel model is saved widened to RGB input, since `pipeline()` and the Hub feed
    every image as RGB (toolkit/model/channels.py says why the predictions do not change)."""
    if not widen_saved_model(folder):
        return None
    return (
        "Saved the grayscale model to read RGB (luma-weighted patch embedding, same "
        "predictions), so transformers.pipeline() and the Hub can feed it any image."
    )
