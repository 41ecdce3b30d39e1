"""Image transforms from torchvision.transforms.v2: the augmented training pipeline.

    train: mode -> the processor's resize and crop (a batch at a time) | RandomResizedCrop
           -> flip -> policy -> tensor -> Normalize -> RandomErasing

The image task hands in the model's image processor as the resize (tasks/image_classification.py),
so an image drawn without augmentation is exactly what validation, `ftk predict` and `pipeline()`
feed the model; a random resized crop takes the image at its own size instead, resampled as the
processor resamples; Normalize uses the processor's mean and std. Validation and test are the
processor's own output and need nothing from here. The batch-level MixUp / CutMix that the train
split's collator applies after these per-image steps are in `mixing.py`. Only the image tasks
import this module: torchvision is the optional `image` extra.
"""

from __future__ import annotations

from collections.abc import Callable
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
    # how the processor resamples (DeiT, BEiT, Swin, ConvNeXt, DINOv2: bicubic); random crops too
    interpolation: v2.InterpolationMode = v2.InterpolationMode.BILINEAR

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


def resize_steps(geometry: Geometry) -> list[Any]:
    """torchvision's rendering of the geometry, for a transform given no batch resize."""
    steps = [v2.Resize(geometry.resize, interpolation=geometry.interpolation, antialias=True)]
    if geometry.crop:
        steps.append(v2.CenterCrop(geometry.crop))
    return steps


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


def train_transform(
    geometry: Geometry, augment: AugmentConfig, presized: bool = False
) -> v2.Compose:
    """One image -> an augmented, normalized tensor. `presized`: the image comes at
    geometry.output_size already (resized with its batch, see `train_pixels`), so only a random
    resized crop, when drawn, changes its size; else torchvision resizes it."""
    steps: list[Any] = [ConvertMode(geometry.channels)]
    if augment.random_resized_crop is not None:
        steps.append(
            v2.RandomResizedCrop(
                geometry.output_size,
                scale=(augment.random_resized_crop, 1.0),
                interpolation=geometry.interpolation,
                antialias=True,
            )
        )
    elif not presized:
        steps += resize_steps(geometry)
    if augment.horizontal_flip:
        steps.append(v2.RandomHorizontalFlip(p=augment.horizontal_flip))
    policy = policy_transform(augment, geometry.channels)
    if policy is not None:
        steps.append(policy)
    steps.append(ToNormalizedTensor(geometry.mean, geometry.std))
    if augment.random_erasing:
        steps.append(v2.RandomErasing(p=augment.random_erasing))
    return v2.Compose(steps)


Images = list[Any]  # PIL images, one batch of a split


class TrainPixels:
    """A batch of PIL images -> augmented, normalized tensors: `resize` brings the whole batch
    to the model's size (one call for the batch: an image processor's per-call cost is larger
    than its arithmetic on small images), then `transform` augments each image.

    A class rather than a closure so it pickles into DataLoader workers."""

    def __init__(self, resize: Callable[[Images], Images] | None, transform: v2.Compose):
        self.resize = resize
        self.transform = transform

    def __call__(self, images: Images) -> list[torch.Tensor]:
        if self.resize is not None:
            images = self.resize(images)
        return [self.transform(image) for image in images]

    def one(self, image: Any) -> torch.Tensor:
        """What one image becomes (`ftk augment` draws its variants one by one)."""
        return self([image])[0]


def train_pixels(
    geometry: Geometry, augment: AugmentConfig, resize: Callable[[Images], Images]
) -> TrainPixels:
    """The train split's batch transform: `resize` (the model's image processor without its
    normalization, returning PIL images at geometry.output_size), then the augmentation. A
    random resized crop replaces the resize: it crops the image at its own size."""
    if augment.random_resized_crop is not None:
        return TrainPixels(None, train_transform(geometry, augment))
    return TrainPixels(resize, train_transform(geometry, augment, presized=True))


def augmentation_is_on(augment: AugmentConfig) -> bool:
    return (
        image_policy(augment) != "none"
        or augment.random_resized_crop is not None
        or augment.horizontal_flip > 0
        or augment.random_erasing > 0
    )
