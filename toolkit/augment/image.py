"""Image transforms from torchvision.transforms.v2: the deterministic evaluation pipeline and the
augmented training pipeline, both built from the same geometry (size, crop, mean, std) that the
model's image processor holds, so training sees what `pipeline()` will feed the model later.

    train: mode -> RandomResizedCrop | Resize(+CenterCrop) -> flip -> policy -> tensor
           -> Normalize -> RandomErasing
    eval:  mode -> Resize(+CenterCrop) -> tensor -> Normalize
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torchvision.transforms import v2

from toolkit.config import AugmentConfig


@dataclass
class Geometry:
    resize: tuple[int, int] | int  # (height, width), or the shortest edge
    crop: tuple[int, int] | None  # centre crop after the resize (None: the resize is final)
    mean: list[float]
    std: list[float]
    channels: int  # 1: grayscale ("L"), 3: RGB

    @property
    def output_size(self) -> tuple[int, int]:
        if self.crop:
            return self.crop
        assert isinstance(self.resize, tuple), "a shortest-edge resize needs a crop"
        return self.resize


def image_policy(augment: AugmentConfig) -> str:
    """The policy name; `true` means the default, TrivialAugmentWide."""
    if augment.image is True:
        return "trivial"
    if augment.image in (None, False):
        return "none"
    return str(augment.image)


class ConvertMode:
    """PIL images of any mode -> the mode the model reads (grayscale "L" or "RGB").

    A class rather than a closure so the transform pickles into DataLoader workers under any
    start method."""

    def __init__(self, channels: int):
        self.mode = "L" if channels == 1 else "RGB"

    def __call__(self, image: Any) -> Any:
        return image if image.mode == self.mode else image.convert(self.mode)


def to_normalized_tensor(geometry: Geometry) -> list[Any]:
    return [v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=geometry.mean, std=geometry.std)]


def resize_steps(geometry: Geometry) -> list[Any]:
    steps = [v2.Resize(geometry.resize, antialias=True)]
    if geometry.crop:
        steps.append(v2.CenterCrop(geometry.crop))
    return steps


def eval_transform(geometry: Geometry) -> v2.Compose:
    return v2.Compose([ConvertMode(geometry.channels), *resize_steps(geometry),
                       *to_normalized_tensor(geometry)])


def policy_transform(augment: AugmentConfig, channels: int) -> Any | None:
    policy = image_policy(augment)
    fill = [0] * channels  # the colour of area uncovered by rotations and shears: black
    if policy == "trivial":
        return v2.TrivialAugmentWide(fill=fill)
    if policy == "randaugment":
        return v2.RandAugment(num_ops=augment.randaugment_num_ops,
                              magnitude=augment.randaugment_magnitude, fill=fill)
    if policy == "autoaugment":
        return v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET, fill=fill)
    return None


def train_transform(geometry: Geometry, augment: AugmentConfig) -> v2.Compose:
    steps: list[Any] = [ConvertMode(geometry.channels)]
    if augment.random_resized_crop is not None:
        steps.append(v2.RandomResizedCrop(geometry.output_size,
                                          scale=(augment.random_resized_crop, 1.0), antialias=True))
    else:
        steps += resize_steps(geometry)
    if augment.horizontal_flip:
        steps.append(v2.RandomHorizontalFlip(p=augment.horizontal_flip))
    policy = policy_transform(augment, geometry.channels)
    if policy is not None:
        steps.append(policy)
    steps += to_normalized_tensor(geometry)
    if augment.random_erasing:
        steps.append(v2.RandomErasing(p=augment.random_erasing))
    return v2.Compose(steps)


def augmentation_is_on(augment: AugmentConfig) -> bool:
    return (image_policy(augment) != "none" or augment.random_resized_crop is not None
            or augment.horizontal_flip > 0 or augment.random_erasing > 0)
