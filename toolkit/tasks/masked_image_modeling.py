"""Masked image modelling, SimMIM style: hide random squares of each image, regress their pixels.

`AutoModelForMaskedImageModeling` builds the SimMIM model of a ViT, DeiT or Swin: the embeddings
of masked patches are replaced by a learnt mask token, and a decoder (1x1 conv + pixel shuffle)
turns the last hidden state back into the image; the loss is the L1 error on the hidden pixels
only. The decoder upsamples by the config's `encoder_stride`, which must be the pixels one
last-layer token covers (`SIMMIM_FAMILIES`); ftk sets it, since a checkpoint's value (ViT's
default 16 with patches of 4, say) only shaped a decoder that cannot reconstruct this image.
Masks are drawn in the collator, per batch, so every epoch hides other squares:
`masking.mask_ratio` of the image in squares of `masking.mask_patch_size` pixels (a multiple of
the model's patch size), given to the model as one boolean per patch of the embedding layer (what
all three take, Swin before its stages merge tokens). The model comes from a checkpoint
(`model.name_or_path`) or is built from `model.from_config` and trained from scratch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModelForMaskedImageModeling,
    PretrainedConfig,
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


@dataclass(frozen=True)
class SimMIMFamily:
    """How a model type's SimMIM decoder stride follows from its config."""

    stride: Callable[[Any], int]  # pixels per side that one token of the last layer covers
    rule: str  # the same, in words, for messages


ONE_TOKEN_PER_PATCH = SimMIMFamily(
    lambda c: c.patch_size, "patch_size: one token per patch in every layer"
)

# The model types ftk pre-trains with their SimMIM models (tests/test_simmim.py runs each), with
# their decoder strides; transformers also has SimMIM models of Swinv2 and FocalNet, not run
# here. Swin's later stages each merge 2x2 tokens into one.
SIMMIM_FAMILIES: dict[str, SimMIMFamily] = {
    "vit": ONE_TOKEN_PER_PATCH,
    "deit": ONE_TOKEN_PER_PATCH,
    "swin": SimMIMFamily(
        lambda c: c.patch_size * 2 ** (c.num_layers - 1),
        "patch_size * 2**(stages - 1): each stage after the first merges 2x2 tokens",
    ),
}


def input_columns(config: RunConfig) -> list[str]:
    return [config.data.image_column]


def training_defaults(config: RunConfig) -> dict[str, Any]:
    return {}


def source_config(config: RunConfig) -> PretrainedConfig:
    """The model's config as the recipe gives it: built from model.from_config or the
    checkpoint's own."""
    if config.model.from_config:
        return config_from_dict(config.model.from_config)
    try:
        return AutoConfig.from_pretrained(
            checkpoint_location(config.model), **pretrained_kwargs(config.model)
        )
    except (OSError, ValueError) as exc:
        raise load_failure(config.model, "model config", exc) from None


def simmim_family(built: PretrainedConfig) -> SimMIMFamily:
    family = SIMMIM_FAMILIES.get(built.model_type)
    if family is None:
        supported = ", ".join(SIMMIM_FAMILIES)
        raise UserError(
            f"masked-image-modeling pre-trains these model types (SimMIM): {supported}; the "
            f"model is a '{built.model_type}'. Use a checkpoint of one of them, or "
            f"model.from_config with one of them as its model_type."
        )
    return family


def decoder_stride(built: PretrainedConfig, given: Any = None) -> int:
    """The encoder_stride the SimMIM decoder of `built` needs; `given`: the value
    model.from_config wrote, which must agree (a checkpoint's own value is replaced)."""
    family = simmim_family(built)
    stride = family.stride(built)
    if given is not None and given != stride:
        raise UserError(
            f"model.from_config sets encoder_stride {given}, but a {built.model_type} SimMIM "
            f"decoder must upsample by {stride}, the pixels one token of its last layer covers "
            f"({family.rule}). Write encoder_stride: {stride}, or leave it out and ftk sets it."
        )
    if built.image_size % stride:
        raise UserError(
            f"The {built.model_type} config has image_size {built.image_size}, not a multiple "
            f"of {stride}, the pixels one token of its last layer covers ({family.rule}), so "
            f"the SimMIM decoder could not rebuild the image at its size. Use an image_size "
            f"that is a multiple of {stride}."
        )
    return stride


def model_config(config: RunConfig) -> PretrainedConfig:
    """The config to build or load, with the encoder_stride its SimMIM decoder needs."""
    built = source_config(config)
    built.encoder_stride = decoder_stride(
        built, (config.model.from_config or {}).get("encoder_stride")
    )
    return built


def load_processor(config: RunConfig) -> Any:
    """A checkpoint's own processor; for a model from scratch, resize + scale to [-1, 1]. The
    model's config is checked first (its type has a SimMIM model, its image fits the decoder),
    since the processor is the first thing a run loads."""
    built = model_config(config)
    if config.model.from_config:
        side = built.image_size
        return ViTImageProcessor(
            size={"height": side, "width": side},
            image_mean=[0.5] * built.num_channels,
            image_std=[0.5] * built.num_channels,
        )
    try:
        return AutoImageProcessor.from_pretrained(
            checkpoint_location(config.model), **pretrained_kwargs(config.model)
        )
    except (OSError, ValueError) as exc:
        raise load_failure(config.model, "image processor", exc) from None


def load_model(config: RunConfig, label_names: list[str] | None = None) -> Any:
    """Pre-training has no labels: `label_names` is ignored."""
    built = model_config(config)
    if config.model.from_config:
        model = AutoModelForMaskedImageModeling.from_config(built, **model_kwargs(config.model))
        say(
            f"Model from model.from_config (random init): {count_parameters(model) / 1e6:.2f}M "
            f"parameters"
        )
        return model
    saved_stride = source_config(config).encoder_stride
    restrided = saved_stride != built.encoder_stride
    if restrided:
        say(
            f"encoder_stride set to {built.encoder_stride} (the checkpoint says {saved_stride}), "
            f"the pixels one token of the last layer covers ({simmim_family(built).rule}); "
            f"the SimMIM decoder starts new."
        )
    return load_checkpoint_model(
        AutoModelForMaskedImageModeling,
        config.model,
        "model",
        config=built,
        # a decoder saved for the old stride has other shapes: dropped, not an error
        ignore_mismatched_sizes=restrided,
    )


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def prepare(
    splits: datasets.DatasetDict, processor: Any, config: RunConfig
) -> datasets.DatasetDict:
    """Pixel values computed lazily (set_transform): no copy of the data set is written."""
    built = model_config(config)
    mode = {1: "L", 3: "RGB"}.get(built.num_channels)
    if mode is None:
        raise UserError(
            f"The {built.model_type} config has num_channels {built.num_channels}; images can "
            f"be read as 1 (grayscale) or 3 (RGB) channels."
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
    built = model_config(config)
    # bool_masked_pos has one entry per patch of the embedding layer in ViT, DeiT and Swin alike
    # (Swin masks before its stages merge tokens), so the patch grid is image_size / patch_size.
    masks = MaskGenerator(
        built.image_size,
        built.patch_size,
        config.masking.mask_patch_size or built.patch_size,
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
