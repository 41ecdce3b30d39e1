"""`ftk augment`: build a config's train split exactly as `ftk train` does, then preview it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets

from toolkit.augment.epoch import epoch_aware_transform
from toolkit.augment.preview import image_grid, text_preview
from toolkit.config.schema import RunConfig
from toolkit.data.load import load_data
from toolkit.core.errors import UserError
from toolkit.tasks import get_task


def preview(config: RunConfig, n: int, k: int, words: int, output: Path) -> str:
    """The text to print: the text preview itself, or where the image grid was written."""
    task = get_task(config.task)
    data = load_data(config.data, task.input_columns(config), seed=config.training["seed"])
    if getattr(task, "pipeline_tag", "") == "image-classification":
        return preview_images(task, config, data, n, k, output)
    if not config.augment.text:
        raise UserError(f"The config {config.source or ''} has no text augmentation "
                        f"(augment.text is off); add `augment: {{text: trivial}}` to it or pass "
                        f"--augment.text trivial.")
    processor = task.load_processor(config)
    train = data.splits["train"].select(range(min(n, len(data.splits["train"]))))
    prepared = task.prepare(datasets.DatasetDict({"train": train}), processor, config)["train"]
    transform = epoch_aware_transform(prepared)
    return text_preview(transform, prepared, config.data.text_column, data.label_names, n, k,
                        words=words)


def preview_images(task: Any, config: RunConfig, data: Any, n: int, k: int,
                   output: Path) -> str:
    # The image task (built in parallel) provides `train_image_transform(config, processor)`:
    # PIL image -> augmented image/tensor, the same function its train split's transform calls.
    if not hasattr(task, "train_image_transform"):
        raise UserError(f"Task '{config.task}' has no image train transform to preview.")
    processor = task.load_processor(config)
    transform = task.train_image_transform(config, processor)
    train = data.splits["train"]
    images = [train[i][config.data.image_column] for i in range(min(n, len(train)))]
    path = image_grid(images, transform, k, output, seed=config.training["seed"])
    return f"Wrote {path}: {len(images)} rows (original, then {k} variants)"
