"""One conversion of any PIL image to the mode a model reads: grayscale "L" or "RGB".

Every reader of images (the train and eval transforms, the baselines, pre-training, `ftk
predict` / `ftk evaluate`) goes through `to_mode`, so a model sees the same pixels in training
and in use. PIL's own `convert` clips 16- and 32-bit images to 0..255, which turns a 16-bit PNG
(mode I;16) into a white square; here they are scaled to 8 bits instead: 16-bit data by its
full range (value / 257), float images by their range (0..1 or 0..max).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # more than 8 bits per pixel


def model_mode(channels: int) -> str:
    """The PIL mode of a model's input: 1 channel -> "L", else "RGB"."""
    return "L" if channels == 1 else "RGB"


def to_mode(image: Image.Image, mode: str) -> Image.Image:
    """`image` in `mode` ("L" or "RGB"), wide images scaled to 8 bits rather than clipped."""
    if image.mode == mode:
        return image
    if image.mode in WIDE_MODES:
        image = to_8_bits(image)
    return image.convert(mode)


def to_8_bits(image: Image.Image) -> Image.Image:
    """A wide single-band image as 8-bit grayscale over its full range."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        top = 1.0 if values.size == 0 or values.max() <= 1.0 else float(values.max())
    elif image.mode.startswith("I;16") or values.size == 0 or values.max() <= 65535:
        top = 65535.0  # 16-bit data (PIL opens some 16-bit PNGs as mode I)
    else:
        top = float(values.max())
    scaled = np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled, mode="L")
