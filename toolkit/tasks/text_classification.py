"""Text classification (single texts or sentence pairs) with a BERT-family encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import (
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    PreTrainedTokenizerBase,
)

from toolkit.augment.text import AugmentThenTokenize, TextAugmenter, lazily_augmented
from toolkit.config.schema import RunConfig
from toolkit.config.text_policy import text_policy
from toolkit.core.errors import UserError
from toolkit.model.checkpoint import load_checkpoint_model, load_tokenizer
from toolkit.tasks.targets import CLASSES

pipeline_tag = "text-classification"
# The model card's pipeline() arguments: the text-classification pipeline reads a whole text
# unless told to truncate, and then cuts it at the saved tokenizer's model_max_length, which a
# run sets to its data.max_length (run/fine_tuning.py), where training and `ftk predict` cut.
pipeline_args = ", truncation=True"
input_key = "data.text_column"
target_inputs = None
target = CLASSES


def input_columns(config: RunConfig) -> list[str]:
    pair = config.data.text_pair_column
    return [config.data.text_column] + ([pair] if pair else [])


def load_processor(config: RunConfig) -> PreTrainedTokenizerBase:
    return load_tokenizer(config.model)


def training_defaults(config: RunConfig) -> dict[str, Any]:
    return {}


def load_model(config: RunConfig, label_names: list[str] | None) -> Any:
    return load_with_head(config, target.head(config, label_names))


def load_with_head(config: RunConfig, head: dict[str, Any]) -> Any:
    """The checkpoint's encoder with a new head (`head`: num_labels, id2label, ...)."""
    return load_checkpoint_model(
        AutoModelForSequenceClassification,
        config.model,
        "model",
        **head,
        ignore_mismatched_sizes=True,
    )  # a checkpoint fine-tuned on other labels gets a new head


def tokenize_function(tokenizer: PreTrainedTokenizerBase, config: RunConfig):
    """Batched text -> token ids, truncated to data.max_length; padding is left to the collator
    unless data.pad_to_max_length asks for every example at full length."""
    # The closure holds only what decides the tokens, never `config`: `datasets` fingerprints
    # the function by what it holds, so the tokenized cache survives a new learning rate or
    # output_dir and is rebuilt for a new max_length.
    text, pair = config.data.text_column, config.data.text_pair_column
    padding = "max_length" if config.data.pad_to_max_length else False
    max_length = config.data.max_length

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        texts = [t if t is not None else "" for t in batch[text]]
        pairs = [t if t is not None else "" for t in batch[pair]] if pair else None
        return tokenizer(texts, pairs, truncation=True, max_length=max_length, padding=padding)

    return tokenize


def prepare(
    splits: datasets.DatasetDict, tokenizer: PreTrainedTokenizerBase, config: RunConfig
) -> datasets.DatasetDict:
    """Tokenize every split once (datasets caches the result) and keep only model inputs."""
    if tokenizer.model_max_length and config.data.max_length > tokenizer.model_max_length:
        raise UserError(
            f"data.max_length is {config.data.max_length} but the model reads at "
            f"most {tokenizer.model_max_length} tokens; lower data.max_length. (A model "
            f"fine-tuned by ftk saves the data.max_length it was trained at as its tokenizer's "
            f"model_max_length: to train it on longer texts, raise that number in its "
            f"tokenizer_config.json, up to the model's max_position_embeddings.)"
        )
    tokenize = tokenize_function(tokenizer, config)
    label = config.data.label_column
    prepared = {}
    for split, dataset in splits.items():
        if split == "train" and text_augmentation(config) is not None:
            # Left as text: augmented then tokenized batch by batch, new variants every epoch.
            prepared[split] = lazily_augmented(dataset, train_transform(config, tokenize))
            continue
        drop = [c for c in dataset.column_names if c != label]
        if isinstance(dataset, datasets.IterableDataset):  # data.streaming: batch by batch
            tokenized = dataset.map(tokenize, batched=True, remove_columns=drop)
        else:
            tokenized = dataset.map(
                tokenize,
                batched=True,
                remove_columns=drop,
                num_proc=config.data.num_proc,
                desc=f"Tokenizing {split}",
            )
        prepared[split] = (
            tokenized.rename_column(label, "labels") if label != "labels" else tokenized
        )
    return datasets.DatasetDict(prepared)


def text_augmentation(config: RunConfig) -> TextAugmenter | None:
    """The train split's augmenter, or None when augment.text is off."""
    policy = text_policy(config.augment)
    if policy is None:
        return None
    # Words past 2 x max_length never reach the model (each word is at least one token).
    max_words = 2 * config.data.max_length
    return TextAugmenter(policy, seed=config.training["seed"], max_words=max_words)


def train_transform(config: RunConfig, tokenize: Any) -> AugmentThenTokenize:
    """Only called with augment.text on (prepare asks `text_augmentation` first)."""
    augmenting = text_augmentation(config)
    if augmenting is None:
        raise ValueError("train_transform needs augment.text")
    augmenter = augmenting.load()  # no WordNet etc.: UserError before training
    return AugmentThenTokenize(augmenter, tokenize, input_columns(config), config.data.label_column)


def collator(
    tokenizer: PreTrainedTokenizerBase, config: RunConfig, label_dtype: torch.dtype = torch.long
) -> DataCollatorWithPadding:
    """Pads each batch to its longest member (a multiple of 8 keeps tensor cores busy on GPUs);
    the labels' tensor type follows their values (ids, or the floats of numbers and label
    sets), so `label_dtype` is not needed here."""
    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8)


def train_collator(tokenizer: PreTrainedTokenizerBase, config: RunConfig, num_labels: int) -> None:
    """None: training batches use `collator` too (batch mixing is for images)."""
    return None


def card_reading(config: RunConfig) -> str:
    """The model card's line on how much of a text the model reads."""
    return (
        f"The model reads the first {config.data.max_length} tokens of a text "
        f"(`data.max_length`, saved as the tokenizer's `model_max_length`): `truncation=True` "
        f"cuts a longer text there, as training and `ftk predict` did, so the pipeline scores "
        f"a text as `ftk predict` does. Without it the pipeline reads on (and fails past the "
        f"model's positions)."
    )


def finish_saved(folder: Path) -> str | None:
    """Nothing to change: the saved folder loads in `transformers.pipeline` as it is."""
    return None
