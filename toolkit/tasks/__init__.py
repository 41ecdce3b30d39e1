"""One module per task, each implementing the same declared interface, `Task`.

A task is a module (not a class): its functions are the steps a command calls in order, so
`get_task(config.task).prepare(...)` reads the same for every task. Pre-training tasks
(masked-lm, masked-image-modeling) take `label_names=None` and ignore it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import datasets

from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.tasks import (
    image_classification,
    image_multilabel,
    image_regression,
    masked_image_modeling,
    masked_lm,
    text_classification,
    text_multilabel,
    text_regression,
    token_classification,
)
from toolkit.tasks.targets import Classes, LabelSets, Numbers, Tags


class Task(Protocol):
    pipeline_tag: str  # transformers.pipeline task name of the trained model
    input_key: str  # the config key naming the input column, for error messages
    # The batch keys that carry the training target (TrainingArguments.label_names); None
    # leaves the Trainer's default (`labels`).
    target_inputs: list[str] | None
    # What a labelled task predicts (tasks/targets.py): classes, a number, a set of labels or
    # a tag per word; None for the pre-training tasks, which have no labels.
    target: Classes | Numbers | LabelSets | Tags | None

    def input_columns(self, config: RunConfig) -> list[str]: ...
    def training_defaults(self, config: RunConfig) -> dict[str, Any]: ...
    def load_processor(self, config: RunConfig) -> Any: ...
    def load_model(self, config: RunConfig, label_names: list[str] | None) -> Any: ...
    def prepare(
        self, splits: datasets.DatasetDict, processor: Any, config: RunConfig
    ) -> datasets.DatasetDict: ...
    def collator(self, processor: Any, config: RunConfig) -> Any: ...
    # The training batches' collator where it differs from `collator` (image batch mixing);
    # None: `collator` serves every split.
    def train_collator(self, processor: Any, config: RunConfig, num_labels: int) -> Any | None: ...
    # After the model is saved: make the folder load in `transformers.pipeline` as it is;
    # returns a line for the console when it changed something.
    def finish_saved(self, folder: Path) -> str | None: ...


TASK_MODULES: dict[str, Task] = {
    "text-classification": text_classification,
    "image-classification": image_classification,
    "text-regression": text_regression,
    "image-regression": image_regression,
    "token-classification": token_classification,
    "text-multilabel": text_multilabel,
    "image-multilabel": image_multilabel,
    "masked-lm": masked_lm,
    "masked-image-modeling": masked_image_modeling,
}


def get_task(name: str) -> Task:
    if name not in TASK_MODULES:
        raise UserError(f"No task named '{name}'.")
    return TASK_MODULES[name]
