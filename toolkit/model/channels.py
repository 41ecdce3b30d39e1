"""A grayscale image model saved so that the rest of the ecosystem can feed it RGB.

`transformers.pipeline("image-classification")` (and the Hub's widgets and endpoints) always
open an image as RGB (`load_image` calls `convert("RGB")`), so a model trained on one channel
fails there with a channel-count error. Training on one channel is still the right thing for
grayscale data (the Fashion-MNIST recipe), so the saved copy is widened instead: its patch
embedding, the one convolution that reads pixels, gets three input channels weighted by the
ITU-R 601 luma coefficients that PIL's `convert("L")` uses. The conv is linear and the weights
sum to 1, so with the same per-channel normalization the widened model computes, for any RGB
image, what the one-channel model computes on that image converted to grayscale (exactly for
gray images; within PIL's rounding to whole grey levels for colour ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from transformers import AutoImageProcessor, AutoModelForImageClassification, PreTrainedModel

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # R, G, B, as in PIL's convert("L")


def pixel_convolutions(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """The convolutions that read one-channel pixels (a ViT has exactly one)."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d) and module.in_channels == 1
    ]


def pair(sizes: tuple[int, ...]) -> tuple[int, int]:
    """A Conv2d's size, which it keeps as a pair (torch types the attribute `tuple[int, ...]`,
    its constructor takes `int | tuple[int, int]`)."""
    height, width = sizes
    return height, width


def widened_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """`conv` reading RGB: the one-channel kernel spread over R, G, B by the luma weights."""
    wide = nn.Conv2d(
        3,
        conv.out_channels,
        pair(conv.kernel_size),
        stride=pair(conv.stride),
        padding=conv.padding if isinstance(conv.padding, str) else pair(conv.padding),
        dilation=pair(conv.dilation),
        groups=conv.groups,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    ).to(conv.weight.device, conv.weight.dtype)
    luma = torch.tensor(LUMA_WEIGHTS, dtype=conv.weight.dtype, device=conv.weight.device)
    with torch.no_grad():
        wide.weight.copy_(conv.weight * luma.view(1, 3, 1, 1))
        if conv.bias is not None and wide.bias is not None:  # wide has a bias where conv has
            wide.bias.copy_(conv.bias)
    return wide


def widen_to_rgb(model: PreTrainedModel) -> bool:
    """Make a one-channel image model read RGB, in place; False (unchanged) when the model is
    not one-channel or does not have exactly one pixel-reading convolution."""
    if getattr(model.config, "num_channels", 3) != 1:
        return False
    convs = pixel_convolutions(model)
    if len(convs) != 1:
        return False
    name, conv = convs[0]
    parent_name, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(parent_name), attribute, widened_conv(conv))
    for module in model.modules():  # the embeddings check the channel count of their input
        if getattr(module, "num_channels", None) == 1:
            # torch types Module.__setattr__'s value Tensor | Module; a plain int is kept as is
            module.num_channels = 3  # type: ignore[assignment]
    model.config.num_channels = 3
    return True


def widen_saved_model(folder: Path) -> bool:
    """Widen the one-channel image classifier saved in `folder` (weights, config and image
    processor) to read RGB; False when there was nothing to widen."""
    model = AutoModelForImageClassification.from_pretrained(folder, use_safetensors=True)
    if not widen_to_rgb(model):
        return False
    model.save_pretrained(folder)
    processor = AutoImageProcessor.from_pretrained(folder)
    for key in ("image_mean", "image_std"):
        setattr(processor, key, three_channels(getattr(processor, key, None)))
    processor.save_pretrained(folder)
    return True


def three_channels(values: float | Sequence[float] | None) -> list[float] | None:
    """A one-channel mean or std repeated for R, G, B (None and 3-channel values unchanged)."""
    if values is None:
        return None
    listed = [values] if isinstance(values, (int, float)) else list(values)
    return listed * 3 if len(listed) == 1 else listed
