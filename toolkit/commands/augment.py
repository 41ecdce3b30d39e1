"""`ftk augment`: build a config's train split exactly as `ftk train` does, then preview it."""

from __future__ import annotations

from pathlib import Path

import datasets

from toolkit.augment.epoch import epoch_aware_transform
from toolkit.augment.mixing import batch_mixing
from toolkit.augment.preview import image_grid, label_mixture, mixed_grid, text_preview
from toolkit.augment.text import AugmentThenTokenize
from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.data.load import LoadedData
from toolkit.run.stages import load_labelled_data, require_run_assets
from toolkit.tasks import get_task
from toolkit.tasks.fine_tuning import FineTuningTask


def preview_augmentation(config: RunConfig, n: int, k: int, words: int, output: Path) -> str:
    """The text to print: the text preview itself, or where the image grid was written."""
    require_run_assets(config)  # the data, and the model whose tokenizer the preview uses
    task = get_task(config.task)
    if config.kind.target.per_word:
        raise UserError(
            f"Task '{config.task}' has no augmentation to preview: augment.text would edit "
            f"words and leave their tags out of step, so ftk refuses it for tagging."
        )
    data = load_labelled_data(config, task)
    if config.kind.modality.reads_images:
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
    # augment.text is on, so the text inputs left the train split augmented-then-tokenized
    assert isinstance(transform, AugmentThenTokenize), "augment.text makes a lazy transform"
    return text_preview(
        transform, prepared, config.data.text_column, data.label_names, n, k, words=words
    )


def preview_images(config: RunConfig, data: LoadedData, n: int, k: int, output: Path) -> str:
    """A PNG grid drawn with the very function the train split's lazy transform calls; with
    MixUp/CutMix on, a second one of batches mixed by the train collator's own `batch_mixing`."""
    # Every image task reads its images through the image inputs' processor and transforms.
    task = get_task(config.task)
    assert isinstance(task, FineTuningTask), "labelled data comes with a fine-tuning task"
    processor = task.load_processor(config)
    transform = task.inputs.train_image_transform(config, processor)
    train = data.splits["train"]
    rows = [train[i] for i in range(min(n, len(train)))]
    images = [row[config.data.image_column] for row in rows]
    seed = config.training["seed"]
    path = image_grid(images, transform, k, output, seed=seed)
    said = f"Wrote {path}: {len(images)} rows (original, then {k} variants)"
    mix = batch_mixing(config.augment, len(data.label_names))
    if mix is None:
        return said
    labels = [row[data.label_column] for row in rows]
    mixed_path = output.with_name(f"{output.stem}-mixed{output.suffix or '.png'}")
    mixed_path, batches = mixed_grid(images, labels, transform, mix, k, mixed_path, seed=seed)
    lines = [
        f"Wrote {mixed_path}: the same {len(images)} rows in {k} training batches after "
        f"MixUp/CutMix (image i mixed with image i - 1, the first with the last); labels:"
    ]
    for row in range(len(images)):
        mixtures = " | ".join(label_mixture(b, row, data.label_names) for b in batches)
        lines.append(f"  row {row + 1}: {mixtures}")
    return "\n".join([said, *lines])
