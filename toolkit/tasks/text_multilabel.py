"""Text multi-label classification: any number of labels per text (topics, tags, emotions).

The text side is text classification's (tokenizer, batched tokenization, augmentation,
dynamic padding); the head has one output per label, each a sigmoid trained with binary
cross-entropy (`problem_type: multi_label_classification`), which is how transformers and
the Hub show multi-label models: a `text-classification` pipeline applies the sigmoid, and
`top_k=None` returns every label's score.
"""

from __future__ import annotations

from typing import Any

from toolkit.config.schema import RunConfig
from toolkit.tasks import text_classification as text
from toolkit.tasks.targets import LABEL_SETS

pipeline_tag = "text-classification"
input_key = text.input_key
target_inputs = None
target = LABEL_SETS

input_columns = text.input_columns
training_defaults = text.training_defaults
load_processor = text.load_processor
prepare = text.prepare
collator = text.collator  # float multi-hot labels pad into a float tensor
train_collator = text.train_collator  # None: text batches are never mixed
finish_saved = text.finish_saved


def load_model(config: RunConfig, label_names: list[str] | None) -> Any:
    return text.load_with_head(config, target.head(config, label_names))
