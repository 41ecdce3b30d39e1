"""Image baselines: the majority class, logistic regression on pixels, and a small CNN; for a
numeric target (regression) the training mean and ridge regression on pixels.

Inputs are plain: a list of PIL images or a uint8 array (N, H, W) / (N, H, W, C), so the same
code serves any image data set. Images of mixed sizes are resized to the most common size
(capped at MAX_SIDE pixels a side) and mixed modes become RGB: baselines need one fixed shape.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import Ridge
from torch import nn

from toolkit.advice.baselines.candidate import Candidate
from toolkit.advice.baselines.tuning import tuned_logreg
from toolkit.core.image_mode import WIDE_MODES, to_mode

if TYPE_CHECKING:
    import datasets

MAX_SIDE = 64  # pixels: bigger images are shrunk; a pixel baseline gains little from more


def inputs_from_splits(
    splits: datasets.DatasetDict, image_column: str = "image"
) -> dict[str, np.ndarray]:
    """Every split as one uint8 array (N, H, W, C), all splits sharing the training shape."""
    train = list(splits["train"][image_column])
    size, mode = common_size_and_mode(train)
    return {
        split: to_array(ds[image_column] if split != "train" else train, size, mode)
        for split, ds in splits.items()
    }


def common_size_and_mode(images: Sequence[Any]) -> tuple[tuple[int, int], str]:
    size = Counter(image.size for image in images).most_common(1)[0][0]
    scale = min(1.0, MAX_SIDE / max(size))
    size = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    modes = {image.mode for image in images}
    return size, ("L" if modes <= {"L", *WIDE_MODES} else "RGB")  # single-band: grayscale


def to_array(
    images: Any, size: tuple[int, int] | None = None, mode: str | None = None
) -> np.ndarray:
    """PIL images or a uint8 array -> uint8 (N, H, W, C)."""
    if isinstance(images, np.ndarray):
        return images[..., None] if images.ndim == 3 else images
    images = list(images)
    if size is None or mode is None:
        size, mode = common_size_and_mode(images)
    arrays = [
        np.asarray(
            to_mode(image, mode).resize(size) if image.size != size else to_mode(image, mode),
            dtype=np.uint8,
        )
        for image in images
    ]
    stacked = np.stack(arrays)
    return stacked[..., None] if stacked.ndim == 3 else stacked


def flat_pixels(images: Any) -> np.ndarray:
    array = to_array(images)
    return array.reshape(len(array), -1).astype(np.float32) / 255.0


def fit_majority(images: Any, labels: np.ndarray):
    model = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(labels), 1)), labels)
    return lambda inputs: model.predict(np.zeros((len(to_array(inputs)), 1)))


def fit_mean(images: Any, targets: np.ndarray):
    model = DummyRegressor(strategy="mean").fit(np.zeros((len(targets), 1)), targets)
    return lambda inputs: model.predict(np.zeros((len(to_array(inputs)), 1)))


def fit_pixel_ridge(images: Any, targets: np.ndarray):
    # alpha=10: thousands of correlated pixel features need a firm L2 penalty (cf. C=0.1 above).
    model = Ridge(alpha=10.0).fit(flat_pixels(images), targets)
    return lambda inputs: model.predict(flat_pixels(inputs))


def regression_candidates() -> list[Candidate]:
    return [
        Candidate("mean", "always predicts the mean training target", fit_mean),
        Candidate(
            "pixel_ridge",
            "ridge regression on raw pixels scaled to [0, 1] (alpha=10)",
            fit_pixel_ridge,
        ),
    ]


def tune_pixel_logreg(
    images: Any,
    labels: np.ndarray,
    validation_images: Any,
    validation_score: Any,
):
    # C=0.1: thousands of correlated pixel features overfit quickly without a firm L2 penalty.
    # One C only (a pixel fit takes far longer than a TF-IDF one); balanced class weights are
    # tried beside it when the classes are uneven (tuning.py).
    model, chosen = tuned_logreg(
        flat_pixels(images), labels, flat_pixels(validation_images), validation_score, (0.1,), 300
    )
    return (lambda inputs: model.predict(flat_pixels(inputs))), chosen


class SmallCNN(nn.Module):
    """Three 3x3 conv blocks (16, 32, 64 channels) then global average pooling and a linear
    head: about 25k parameters, learns MNIST-like data in one or two epochs on a CPU."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()

        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            )

        self.features = nn.Sequential(
            block(channels, 16), block(16, 32), block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.head = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def to_tensor(images: Any) -> torch.Tensor:
    array = to_array(images)  # (N, H, W, C) uint8
    return torch.from_numpy(array).permute(0, 3, 1, 2).float().div(255.0)


# Fewer optimizer steps than this leave the CNN near chance: 2 epochs of 1,000 images are 16
# steps. Small training sets get more passes instead, so the baseline stays honest there.
MIN_CNN_STEPS = 300


def cnn_passes(epochs: int, examples: int, batch_size: int) -> int:
    """`epochs`, or more when that many passes would give fewer than MIN_CNN_STEPS steps."""
    steps_per_pass = math.ceil(examples / batch_size)
    return max(epochs, math.ceil(MIN_CNN_STEPS / steps_per_pass))


def train_cnn(
    images: Any, labels: np.ndarray, epochs: int, seed: int, batch_size: int = 128, lr: float = 3e-3
) -> SmallCNN:
    """A fixed budget: `epochs` passes of Adam at a constant LR (at least MIN_CNN_STEPS
    steps), seeded."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x, y = to_tensor(images), torch.as_tensor(labels, dtype=torch.long)
    model = SmallCNN(x.shape[1], int(y.max()) + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(cnn_passes(epochs, len(x), batch_size)):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def predict_cnn(model: SmallCNN, images: Any, batch_size: int = 512) -> np.ndarray:
    x = to_tensor(images)
    return torch.cat(
        [model(x[i : i + batch_size]).argmax(-1) for i in range(0, len(x), batch_size)]
    ).numpy()


def candidates(cnn_epochs: int = 2, seed: int = 42) -> list[Candidate]:
    def fit_cnn(images: Any, labels: np.ndarray):
        model = train_cnn(images, labels, cnn_epochs, seed)
        return lambda inputs: predict_cnn(model, inputs)

    return [
        Candidate("majority", "always predicts the most frequent training class", fit_majority),
        Candidate(
            "pixel_logreg",
            "logistic regression on raw pixels scaled to [0, 1] (C=0.1; for uneven classes "
            "balanced class weights too, the better on validation)",
            tune=tune_pixel_logreg,
        ),
        Candidate(
            "small_cnn",
            f"3 conv blocks (16/32/64 channels, batch norm), Adam 3e-3, "
            f"{cnn_epochs} epochs (at least {MIN_CNN_STEPS} steps), batch 128",
            fit_cnn,
        ),
    ]
