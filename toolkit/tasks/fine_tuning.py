"""A fine-tuning task: a modality's inputs composed with a target.

The inputs module (`text_classification`, `image_classification` or `token_classification`)
owns everything about what the model reads: the processor, how splits are prepared (tokenized,
or given lazy image transforms), how batches are collated, which head class the checkpoint
gets, and what the saved folder needs. The target (tasks/targets.py) owns what it predicts: the
head's size and problem type, the label dtype, the metrics, the predictions. So text
regression is text classification's inputs with the `NUMBERS` target, and no task module is
written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import datasets

from toolkit.config.schema import RunConfig
from toolkit.config.taxonomy import TaskKind
from toolkit.tasks.targets import Target


@dataclass(frozen=True)
class FineTuningTask:
    kind: TaskKind
    inputs: ModuleType  # the modality's module under toolkit/tasks
    target: Target
    target_inputs: None = None  # the Trainer's default label key, `labels`

    @property
    def pipeline_tag(self) -> str:
        return str(self.inputs.pipeline_tag)

    @property
    def pipeline_args(self) -> str:
        """The model card's `pipeline()` arguments after `model=`: the target's (what the
        pipeline returns), then the inputs' (how much it reads)."""
        return self.target.pipeline_args + str(self.inputs.pipeline_args)

    def card_reading(self, config: RunConfig) -> str:
        """The model card's line on how much of an input the model reads ('' for none)."""
        return str(self.inputs.card_reading(config))

    @property
    def input_key(self) -> str:
        return self.kind.modality.input_key

    def input_columns(self, config: RunConfig) -> list[str]:
        return list(self.inputs.input_columns(config))

    def training_defaults(self, config: RunConfig) -> dict[str, Any]:
        return dict(self.inputs.training_defaults(config))

    def load_processor(self, config: RunConfig) -> Any:
        return self.inputs.load_processor(config)

    def load_model(self, config: RunConfig, label_names: list[str] | None) -> Any:
        return self.inputs.load_with_head(config, self.target.head(config, label_names))

    def prepare(
        self, splits: datasets.DatasetDict, processor: Any, config: RunConfig
    ) -> datasets.DatasetDict:
        return self.inputs.prepare(splits, processor, config)

    def collator(self, processor: Any, config: RunConfig) -> Any:
        return self.inputs.collator(processor, config, self.target.label_dtype())

    def train_collator(self, processor: Any, config: RunConfig, num_labels: int) -> Any | None:
        """MixUp/CutMix mix single class labels only (config validation refuses them for the
        other targets), so only a class target can have a training collator of its own."""
        if not self.kind.target.single_class:
            return None
        return self.inputs.train_collator(processor, config, num_labels)

    def finish_saved(self, folder: Path) -> str | None:
        note: str | None = self.inputs.finish_saved(folder)
        return note
