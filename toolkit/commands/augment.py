"""`ftk augment`: build a config's train split exactly as `ftk train` does, then preview it."""

from __future__ import annotations

from pathlib import Path

import datasets

from toolkit.augment.epoch import epoch_aware_transform
from toolkit.augment.preview import image_grid, text_preview
from toolkit.commands.stages import load_labelled_data
from toolkit.config.schema import IMAGE_TASKS, RunConfig
from toolkit.core.errors import UserError
from toolkit.data.load import LoadedData
from toolkit.tasks import get_task, image_classification


def preview_augmentation(config: RunConfig, n: int, k: int, words: int, output: Path) -> str:
    """The text to print: the text preview itself, or where the image grid was written."""
    task = get_task(config.task)
    data = load_labelled_data(config, task)
    if config.task in IMAGE_TASKS:
        return preview_images(config, data, n, k, output)
    if not config.augment.text:
        raise UserError(
            f"The config {config.source or ''} has no text augmentation "
            f"(augment.text is off); add `augment: {{text: trivial}}` to it or pass "
            f"--augment.text trivial."
        )
    processor = task.load_processor(config)
    train = data.splits["train"].select(range(min(n, len(data.splits["train"]))))
    prepared = task.prepare(datasets.DatasetDict({"train": train}), processor, config)["train"]
    transform = epoch_aware_transform(prepared)
    return text_preview(
        transform, prepared, config.data.text_column, data.label_names, n, k, words=words
    )


def preview_images(config: RunConfig, data: LoadedData, n: int, k: int, output: Path) -> str:
    """A PNG grid drawn with the very function the train split's lazy transform calls."""
    processor = image_classification.load_processor(config)
    transform = image_classification.train_image_transform(config, processor)
    train = data.splits["train"]
    images = [train[i][config.data.image_column] for i in range(min(n, len(train)))]
    path = image_grid(images, transform, k, output, seed=config.training["seed"])
    return f"Wrote {path}: {len(images)} rows (original, then {k} variants)"
