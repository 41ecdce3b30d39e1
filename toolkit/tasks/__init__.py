"""Every task behind one declared interface, `Task`: the steps a command calls in order, so
`get_task(config.task).prepare(...)` reads the same for every task.

A fine-tuning task is its modality's inputs module composed with its target
(tasks/fine_tuning.py); a pre-training task (masked-lm, masked-image-modeling) is a module of
its own, which takes `label_names=None` and ignores it. config/taxonomy.py says which is which.

Modules are imported when a run asks for them: the image ones import torchvision, an optional
extra (`ftk-finetune[image]`, core/extras.py), so a text run must not import them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

import datasets

from toolkit.config import taxonomy
from toolkit.config.schema import RunConfig
from toolkit.config.taxonomy import Modality, task_kind
from toolkit.core.errors import UserError
from toolkit.core.extras import pip_install
from toolkit.tasks.fine_tuning import FineTuningTask
from toolkit.tasks.targets import Target, target_for


class Task(Protocol):
    # read-only: a task is a module or a frozen FineTuningTask
    @property
    def pipeline_tag(self) -> str: ...  # transformers.pipeline task name of the trained model
    @property
    def input_key(self) -> str: ...  # the config key naming the input column, for messages
    # The batch keys that carry the training target (TrainingArguments.label_names); None
    # leaves the Trainer's default (`labels`).
    @property
    def target_inputs(self) -> list[str] | None: ...
    # What a labelled task predicts (tasks/targets.py): classes, a number, a set of labels or
    # a tag per word; None for the pre-training tasks, which have no labels.
    @property
    def target(self) -> Target | None: ...

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


# The module under toolkit/tasks that reads each modality's inputs.
INPUT_MODULES: dict[Modality, str] = {
    taxonomy.TEXT: "text_classification",
    taxonomy.IMAGE: "image_classification",
    taxonomy.WORDS: "token_classification",
}


def get_task(name: str, tag_scheme: str = "auto") -> Task:
    """The task called `name` (config/taxonomy.py declares its modality and target), its tags
    read as `tag_scheme` says (the run's data.tag_scheme; only a tag target asks)."""
    kind = task_kind(name)
    # Masked-image modelling does not import torchvision itself, but without it transformers'
    # image processors fall back to their PIL code, which ftk is not tested with.
    if kind.modality.reads_images:
        require_torchvision(name)
    if kind.module is not None:
        return importlib.import_module(f"toolkit.tasks.{kind.module}")
    inputs = importlib.import_module(f"toolkit.tasks.{INPUT_MODULES[kind.modality]}")
    return FineTuningTask(kind, inputs, target_for(kind.target, tag_scheme))


def require_torchvision(task: str) -> None:
    """Exit 2 with what to install when torchvision is missing or does not match torch."""
    try:
        import torchvision  # noqa: F401
    except ModuleNotFoundError:
        raise UserError(
            f"Task '{task}' needs torchvision, which is not installed: `{pip_install('image')}`, "
            f"or `pip install torchvision` at the release built for your torch "
            f"(torch 2.14 pairs with torchvision 0.29). Text tasks do not need it."
        ) from None
    except (ImportError, RuntimeError, OSError) as broken:
        import torch

        raise UserError(
            f"Task '{task}' needs torchvision, and the installed one fails to import beside "
            f"torch {torch.__version__}: {broken}. Install the torchvision release built for "
            f"this torch (a CPU-only torch needs a CPU-only torchvision; torch 2.14 pairs with "
            f"torchvision 0.29)."
        ) from None


def target_of(task: Task, name: str) -> Target:
    """The target of a fine-tuning task; a pre-training task has none (no labels)."""
    if task.target is None:
        raise UserError(
            f"Task '{name}' is pre-training: it has no labels to predict or score, so this "
            f"step does not apply to it. Use a fine-tuning task (see `ftk train --help`)."
        )
    return task.target
