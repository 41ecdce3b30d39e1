"""One conversion of images to the model's mode: 16-bit PNGs (mode I;16, which PIL's own
convert clips to white) keep their picture in training, the baselines and prediction."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from toolkit.advice.baselines.image import to_array
from toolkit.core.image_mode import to_mode
from toolkit.tasks.image_classification import ProcessorPixels


@pytest.fixture()
def sixteen_bit_png(tmp_path):
    """A 16-bit grayscale gradient, 0 at the left to 65535 at the right, saved and reopened."""
    ramp = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (32, 1))
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    image = Image.open(path)
    assert image.mode in ("I;16", "I"), image.mode  # what PIL makes of a 16-bit PNG
    return image


def test_sixteen_bit_images_are_scaled_not_clipped(sixteen_bit_png):
    clipped = np.asarray(sixteen_bit_png.convert("L"))
    assert (clipped == 255).mean() > 0.9  # PIL alone: a white square
    gray = np.asarray(to_mode(sixteen_bit_png, "L"))
    assert gray[0, 0] == 0 and gray[0, -1] == 255
    assert np.all(np.diff(gray[0].astype(int)) >= 0) and len(np.unique(gray)) > 20
    rgb = np.asarray(to_mode(sixteen_bit_png, "RGB"))
    assert rgb.shape == (32, 32, 3) and np.array_equal(rgb[..., 0], gray)


@pytest.mark.parametrize("channels", [1, 3])
def test_the_model_transform_keeps_the_gradient(sixteen_bit_png, channels):
    from transformers import ViTImageProcessor

    processor = ViTImageProcessor(
        size={"height": 16, "width": 16}, image_mean=[0.5] * channels, image_std=[0.5] * channels
    )
    [pixels] = ProcessorPixels(processor, channels)([sixteen_bit_png])
    assert tuple(pixels.shape) == (channels, 16, 16)
    assert pixels[0, 0, 0] < -0.9 and pixels[0, 0, -1] > 0.9  # black left, white right


def test_the_pixel_baselines_see_the_gradient(sixteen_bit_png):
    array = to_array([sixteen_bit_png, sixteen_bit_png])
    assert array.shape == (2, 32, 32, 1)  # single-band 16-bit reads as grayscale
    assert array[0, 0, 0, 0] == 0 and array[0, 0, -1, 0] == 255


def test_eight_bit_images_are_unchanged():
    image = Image.new("L", (4, 4), 77)
    assert to_mode(image, "L") is image
    assert np.asarray(to_mode(image, "RGB"))[0, 0].tolist() == [77, 77, 77]


def tiny_vit(channels: int):
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=16,
        patch_size=4,
        num_channels=channels,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
    )
    return ViTForImageClassification(config).eval()


def test_a_widened_grayscale_model_computes_the_same_on_rgb():
    """The widened model on normalized R, G, B equals the one-channel model on their luma, for
    any colours (linear patch embedding, luma weights summing to 1)."""
    import copy

    import torch

    from toolkit.model.channels import LUMA_WEIGHTS, widen_to_rgb

    gray = tiny_vit(1)
    wide = copy.deepcopy(gray)
    assert widen_to_rgb(wide)
    assert wide.config.num_channels == 3
    rgb = torch.rand(4, 3, 16, 16) * 2 - 1  # already normalized, mean/std 0.5 per channel
    luma = (rgb * torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    with torch.no_grad():
        assert torch.allclose(
            wide(pixel_values=rgb).logits, gray(pixel_values=luma).logits, atol=1e-5
        )
        with pytest.raises(ValueError):  # it no longer takes one channel
            wide(pixel_values=luma)


def test_only_one_channel_models_are_widened():
    from toolkit.model.channels import three_channels, widen_to_rgb

    rgb = tiny_vit(3)
    assert not widen_to_rgb(rgb)
    assert rgb.vit.embeddings.patch_embeddings.projection.in_channels == 3
    assert three_channels([0.5]) == [0.5, 0.5, 0.5]
    assert three_channels([0.1, 0.2, 0.3]) == [0.1, 0.2, 0.3] and three_channels(None) is None
