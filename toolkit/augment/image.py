"""Image transforms from torchvision.transforms.v2: the deterministic evaluation pipeline and the
augmented training pipeline, both built from the same geometry (size, crop, mean, std) that the
model's image processor holds, so training sees what `pipeline()` will feed the model later.

    train: mode -> RandomResizedCrop | Resize(+CenterCrop) -> flip -> policy -> tensor
           -> Normalize -> RandomErasing
    eval:  mode -> Resize(+CenterCrop) -> tensor -> Normalize

The batch-level MixUp / CutMix that the train split's collator applies after these per-image
steps are in `mixing.py`. Only the image tasks import this module: torchvision is the optional
`image` extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torchvision.transforms import v2

from toolkit.config.schema import AugmentConfig
from toolkit.core.image_mode import model_mode, to_mode


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
        self.mode = model_mode(channels)

    def __call__(self, image: Any) -> Any:
        return to_mode(image, self.mode)


class ToNormalizedTensor:
    """PIL image -> float tensor scaled to [0, 1] and normalized by mean/std.

    The same arithmetic as v2.Compose([PILToTensor(), ToDtype(float32, scale=True),
    Normalize(mean, std)]) in one step: on small images torchvision's per-transform dispatch
    cost more than the arithmetic (about 3x on 28 x 28 Fashion-MNIST), and every image of
    every split passes through here."""

    def __init__(self, mean: list[float], std: list[float]):
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        pixels = v2.functional.pil_to_tensor(image).to(torch.float32).div_(255)
        return pixels.sub_(self.mean).div_(self.std)


class TrivialAugmentWide(v2.TrivialAugmentWide):
    """torchvision's TrivialAugmentWide with a lean path for one PIL image per call.

    DataLoader workers call it once per image. torchvision's generic forward flattens the
    input, and rebuilds the magnitude table with a torch.linspace on every call; on small images
    that costs more than the operation. This path draws the same random numbers in the same
    order and applies the operation through torchvision's own code, so for a given torch seed it
    returns exactly what torchvision's class returns (tests/test_image_transforms.py checks)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._operations = tuple(self._AUGMENTATION_SPACE)
        self._magnitude_tables: dict[tuple[str, int, int], list[float] | None] = {}

    def forward(self, *inputs: Any) -> Any:
        if len(inputs) != 1 or not isinstance(inputs[0], Image.Image):
            return super().forward(*inputs)
        image = inputs[0]
        operation = self._operations[int(torch.randint(len(self._operations), ()))]
        magnitude = self._draw_magnitude(operation, image.height, image.width)
        return self._apply_image_or_video_transform(
            image, operation, magnitude, interpolation=self.interpolation, fill=self._fill
        )

    def _draw_magnitude(self, operation: str, height: int, width: int) -> float:
        key = (operation, height, width)
        if key not in self._magnitude_tables:
            table_fn, _ = self._AUGMENTATION_SPACE[operation]
            table = table_fn(self.num_magnitude_bins, height, width)
            self._magnitude_tables[key] = None if table is None else [float(m) for m in table]
        table = self._magnitude_tables[key]
        if table is None:
            return 0.0
        magnitude = table[int(torch.randint(self.num_magnitude_bins, ()))]
        signed = self._AUGMENTATION_SPACE[operation][1]
        if signed and torch.rand(()) <= 0.5:
            magnitude = -magnitude
        return magnitude


def to_normalized_tensor(geometry: Geometry) -> list[Any]:
    return [ToNormalizedTensor(geometry.mean, geometry.std)]


def resize_steps(geometry: Geometry) -> list[Any]:
    steps = [v2.Resize(geometry.resize, antialias=True)]
    if geometry.crop:
        steps.append(v2.CenterCrop(geometry.crop))
    return steps


def eval_transform(geometry: Geometry) -> v2.Compose:
    return v2.Compose(
        [ConvertMode(geometry.channels), *resize_steps(geometry), *to_normalized_tensor(geometry)]
    )


def policy_transform(augment: AugmentConfig, channels: int) -> Any | None:
    policy = image_policy(augment)
    fill = [0] * channels  # the colour of area uncovered by rotations and shears: black
    if policy == "trivial":
        return TrivialAugmentWide(fill=fill)
    if policy == "randaugment":
        return v2.RandAugment(
            num_ops=augment.randaugment_num_ops, magnitude=augment.randaugment_magnitude, fill=fill
        )
    if policy == "autoaugment":
        return v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET, fill=fill)
    return None


def train_transform(geometry: Geometry, augment: AugmentConfig) -> v2.Compose:
    steps: list[Any] = [ConvertMode(geometry.channels)]
    if augment.random_resized_crop is not None:
        steps.append(
            v2.RandomResizedCrop(
                geometry.output_size, scale=(augment.random_resized_crop, 1.0), antialias=True
            )
        )
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
    return (
        image_policy(augment) != "none"
        or augment.random_resized_crop is not None
        or augment.horizontal_flip > 0
        or augment.random_erasing > 0
    )
