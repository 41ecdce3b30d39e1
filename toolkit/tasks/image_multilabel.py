"""Image multi-label classification: any number of labels per image (objects, attributes).

The image side is image classification's (processor, lazy per-split transforms with
augmentation, the ViT model from a checkpoint or from sizes); the head has one sigmoid output
per label trained with binary cross-entropy (`problem_type: multi_label_classification`), and
the collator keeps the multi-hot targets as floats.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch

from toolkit.config.schema import RunConfig
from toolkit.tasks import image_classification as image
from toolkit.tasks.targets import LABEL_SETS

pipeline_tag = "image-classification"
input_key = image.input_key
target_inputs = None
target = LABEL_SETS

input_columns = image.input_columns
training_defaults = image.training_defaults
load_processor = image.load_processor
prepare = image.prepare
finish_saved = image.finish_saved


def load_model(config: RunConfig, label_names: list[str] | None) -> Any:
    return image.load_with_head(config, target.head(config, label_names))


def collator(processor: Any, config: RunConfig) -> Any:
    return partial(image.collate_as, label_dtype=torch.float32)


def train_collator(processor: Any, config: RunConfig, num_labels: int) -> None:
    """None: training batches use `collator` too (MixUp/CutMix mix single class labels, and
    validation refuses them for a multi-label task)."""
    return None
