"""Text regression: one number per text (or sentence pair), e.g. a similarity or a rating.

The text side is text classification's (tokenizer, batched tokenization, augmentation,
dynamic padding); the head has one output trained with mean squared error
(`problem_type: regression`), which is how transformers and the Hub show regression: a
`text-classification` pipeline read with `function_to_apply="none"`.
"""

from __future__ import annotations

from typing import Any

from toolkit.config.schema import RunConfig
from toolkit.tasks import text_classification as text
from toolkit.tasks.targets import NUMBERS

pipeline_tag = "text-classification"
input_key = text.input_key
target_inputs = None
target = NUMBERS

input_columns = text.input_columns
training_defaults = text.training_defaults
load_processor = text.load_processor
prepare = text.prepare
collator = text.collator
train_collator = text.train_collator  # None: text batches are never mixed
finish_saved = text.finish_saved


def load_model(config: RunConfig, label_names: list[str] | None) -> Any:
    return text.load_with_head(config, target.head(config, label_names))
