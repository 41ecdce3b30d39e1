"""Masked image modelling, SimMIM style: hide random squares of each image, regress their pixels.

`ViTForMaskedImageModeling` replaces the embeddings of masked patches by a learnt mask token and
reconstructs the image with a 1x1 conv + pixel shuffle; the loss is the L1 error on the hidden
pixels only. Masks are drawn in the collator, per batch, so every epoch hides other squares:
`masking.mask_ratio` of the image in squares of `masking.mask_patch_size` pixels (a multiple of
the model's patch size). The model comes from a checkpoint (`model.name_or_path`) or is built
from `model.from_config` and trained from scratch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import (
    AutoImageProcessor,
    AutoModelForMaskedImageModeling,
    ViTForMaskedImageModeling,
    ViTImageProcessor,
)

from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.core.image_mode import to_mode
from toolkit.core.log import say
from toolkit.model.checkpoint import (
    checkpoint_location,
    load_checkpoint_model,
    load_failure,
    model_kwargs,
    pretrained_kwargs,
)
from toolkit.model.transfer import config_from_dict

target_inputs = ["bool_masked_pos"]  # the batch keys that carry the training target
target = None  # no labels: nothing to predict but the inputs themselves
pipeline_tag = "image-feature-extraction"
input_key = "data.image_column"


def input_columns(config: RunConfig) -> list[str]:
    return [config.data.image_column]


def training_defaults(config: RunConfig) -> dict[str, Any]:
    return {}


def model_config(config: RunConfig) -> Any:
    """The ViT config to build or load; its decoder must upsample by exactly one patch."""
    if config.model.from_config:
        values = dict(config.model.from_config)
        values.setdefault("encoder_stride", values.get("patch_size", 16))
        vit = config_from_dict(values)
    else:
        from transformers import AutoConfig

        vit = AutoConfig.from_pretrained(
            checkpoint_location(config.model), **pretrained_kwargs(config.model)
        )
    if vit.model_type != "vit":
        raise UserError(
            f"masked-image-modeling builds a ViTForMaskedImageModeling, but the model "
            f"is a '{vit.model_type}'; use a ViT checkpoint or model.from_config with "
            f"model_type: vit."
        )
    if vit.encoder_stride != vit.patch_size:
        raise UserError(
            f"The ViT config has encoder_stride {vit.encoder_stride} and patch_size "
            f"{vit.patch_size}; SimMIM reconstructs one patch per token, so they must "
            f"be equal (set encoder_stride: {vit.patch_size} in model.from_config)."
        )
    return vit


def load_processor(config: RunConfig) -> Any:
    """A checkpoint's own processor; for a model from scratch, resize + scale to [-1, 1]."""
    if config.model.from_config:
        vit = model_config(config)
        side = vit.image_size
        return ViTImageProcessor(
            size={"height": side, "width": side},
            image_mean=[0.5] * vit.num_channels,
            image_std=[0.5] * vit.num_channels,
        )
    try:
        return AutoImageProcessor.from_pretrained(
            checkpoint_location(config.model), **pretrained_kwargs(config.model)
        )
    except (OSError, ValueError) as exc:
        raise load_failure(config.model, "image processor", exc) from None


def load_model(config: RunConfig, label_names: list[str] | None = None) -> Any:
    """Pre-training has no labels: `label_names` is ignored."""
    vit = model_config(config)
    if config.model.from_config:
        model = AutoModelForMaskedImageModeling.from_config(vit, **model_kwargs(config.model))
        say(
            f"Model from model.from_config (random init): {count_parameters(model) / 1e6:.2f}M "
            f"parameters"
        )
        return model
    return load_checkpoint_model(ViTForMaskedImageModeling, config.model, "ViT model", config=vit)


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def prepare(
    splits: datasets.DatasetDict, processor: Any, config: RunConfig
) -> datasets.DatasetDict:
    """Pixel values computed lazily (set_transform): no copy of the data set is written."""
    vit = model_config(config)
    mode = {1: "L", 3: "RGB"}.get(vit.num_channels)
    if mode is None:
        raise UserError(
            f"The ViT config has num_channels {vit.num_channels}; images can be read "
            f"as 1 (grayscale) or 3 (RGB) channels."
        )
    column = config.data.image_column

    def to_pixels(batch: dict[str, list]) -> dict[str, Any]:
        images = [to_mode(image, mode) for image in batch[column]]
        return {"pixel_values": processor(images, return_tensors="pt")["pixel_values"]}

    for dataset in splits.values():
        dataset.set_transform(to_pixels)
    return splits


class MaskGenerator:
    """Random SimMIM masks: `ratio` of the mask-patch grid, expanded to the model's patch grid."""

    def __init__(self, image_size: int, patch_size: int, mask_patch_size: int, ratio: float):
        if mask_patch_size % patch_size:
            raise UserError(
                f"masking.mask_patch_size is {mask_patch_size}, not a multiple of "
                f"the model's patch size {patch_size}; use {patch_size}, "
                f"{2 * patch_size}, ..."
            )
        self.patches = image_size // patch_size  # model tokens per side
        self.scale = mask_patch_size // patch_size  # model patches per mask square, per side
        self.grid = math.ceil(self.patches / self.scale)  # mask squares per side
        self.count = max(1, round(ratio * self.grid**2))

    def __call__(self, batch_size: int) -> torch.Tensor:
        """(batch, patches**2) booleans, True where a patch is hidden."""
        scores = torch.rand(batch_size, self.grid**2)
        hidden = torch.zeros_like(scores, dtype=torch.bool)
        hidden.scatter_(1, scores.topk(self.count, dim=1).indices, True)
        squares = hidden.view(batch_size, self.grid, self.grid)
        patches = squares.repeat_interleave(self.scale, 1).repeat_interleave(self.scale, 2)
        return patches[:, : self.patches, : self.patches].reshape(batch_size, -1)


def collator(processor: Any, config: RunConfig) -> Any:
    vit = model_config(config)
    masks = MaskGenerator(
        vit.image_size,
        vit.patch_size,
        config.masking.mask_patch_size or vit.patch_size,
        config.masking.mask_ratio,
    )

    def collate(examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        pixels = torch.stack([example["pixel_values"] for example in examples])
        return {"pixel_values": pixels, "bool_masked_pos": masks(len(examples))}

    return collate


def train_collator(processor: Any, config: RunConfig, num_labels: int) -> None:
    """None: training batches use `collator` too (batch mixing is for images)."""
    return None


def finish_saved(folder: Path) -> str | None:
    """Nothing to change: the saved folder loads in `transformers.pipeline` as it is."""
    return None
