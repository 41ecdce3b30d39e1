"""One module per task, each exposing the same small interface (see `Task`)."""

from __future__ import annotations

from typing import Any, Protocol

from toolkit.core.errors import UserError


class Task(Protocol):
    pipeline_tag: str

    def input_columns(self, config: Any) -> list[str]: ...
    def load_processor(self, config: Any) -> Any: ...
    def load_model(self, config: Any, label_names: list[str]) -> Any: ...
    def prepare(self, splits: Any, processor: Any, config: Any) -> Any: ...
    def collator(self, processor: Any) -> Any: ...
    # Optional: `training_defaults(config) -> dict` of TrainingArguments the task needs
    # (image-classification turns remove_unused_columns off for its lazy transforms).


def get_task(name: str) -> Task:
    if name == "text-classification":
        from toolkit.tasks import text_classification

        return text_classification
    if name == "image-classification":
        from toolkit.tasks import image_classification

        return image_classification
    if name == "masked-lm":
        from toolkit.tasks import masked_lm

        return masked_lm
    if name == "masked-image-modeling":
        from toolkit.tasks import masked_image_modeling

        return masked_image_modeling
    raise UserError(f"No task named '{name}'.")
