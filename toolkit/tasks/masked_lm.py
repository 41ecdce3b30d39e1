"""Masked language modelling: continued pre-training of a BERT-family encoder on raw text.

The text column of any supported source is tokenized, concatenated and cut into blocks of
`data.max_length` tokens (or truncated per text with `data.group_texts: false`);
transformers' DataCollatorForLanguageModeling picks `masking.mlm_probability` of the tokens in
every batch afresh (80% -> [MASK], 10% -> a random token, 10% kept), or whole words with
`masking.whole_word_mask`. A checkpoint without an MLM head (a plain BertModel, like the packaged
MiniLM) gets a new one; its encoder must load completely.
"""

from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import Any

import datasets
from transformers import (
    AutoModelForMaskedLM,
    DataCollatorForLanguageModeling,
    DataCollatorForTokenClassification,
    PreTrainedTokenizerBase,
)

from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.model.checkpoint import load_checkpoint_model, load_tokenizer

target_inputs = ["labels"]  # the batch keys that carry the training target
target = None  # no labels: nothing to predict but the inputs themselves
pipeline_tag = "fill-mask"
input_key = "data.text_column"


def input_columns(config: RunConfig) -> list[str]:
    return [config.data.text_column]


def training_defaults(config: RunConfig) -> dict[str, Any]:
    return {}


def load_processor(config: RunConfig) -> PreTrainedTokenizerBase:
    tokenizer = load_tokenizer(config.model)
    if tokenizer.mask_token is None:
        raise UserError(
            f"The tokenizer of model.name_or_path '{config.model.name_or_path}' has "
            f"no mask token, so masked language modelling cannot hide words from "
            f"it. Use a BERT-family (encoder) checkpoint."
        )
    if config.masking.whole_word_mask and not tokenizer.is_fast:
        raise UserError(
            "masking.whole_word_mask needs a fast tokenizer (it reads word "
            "boundaries from character offsets); this checkpoint has a slow one."
        )
    return tokenizer


def load_model(config: RunConfig, label_names: list[str] | None = None) -> Any:
    """Pre-training has no labels: `label_names` is ignored."""
    return load_checkpoint_model(AutoModelForMaskedLM, config.model, "masked-LM model")


def prepare(
    splits: datasets.DatasetDict, tokenizer: PreTrainedTokenizerBase, config: RunConfig
) -> datasets.DatasetDict:
    """Token ids (+ special-token mask, + offsets for whole-word masking) in max_length blocks."""
    block = config.data.max_length
    if tokenizer.model_max_length and block > tokenizer.model_max_length:
        raise UserError(
            f"data.max_length is {block} but the model reads at most "
            f"{tokenizer.model_max_length} tokens; lower data.max_length."
        )
    column = config.data.text_column
    grouped = config.data.group_texts
    wwm = config.masking.whole_word_mask

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        texts = [t if t is not None else "" for t in batch[column]]
        return tokenizer(
            texts,
            truncation=not grouped,
            max_length=None if grouped else block,
            padding="max_length" if wwm and not grouped else False,
            return_special_tokens_mask=True,
            return_offsets_mapping=wwm,
            return_token_type_ids=False,
        )

    prepared = {}
    for split, dataset in splits.items():
        tokens = dataset.map(
            tokenize,
            batched=True,
            remove_columns=dataset.column_names,
            num_proc=config.data.num_proc,
            desc=f"Tokenizing {split}",
        )
        if grouped:
            tokens = tokens.map(
                group_into_blocks(block),
                batched=True,
                desc=f"Grouping {split} into {block}-token blocks",
            )
        if len(tokens) == 0:
            raise UserError(
                f"The {split} split's texts hold fewer than {block} tokens in all, "
                f"so not one block of data.max_length tokens can be cut; lower "
                f"data.max_length or set data.group_texts: false."
            )
        prepared[split] = premask(tokens, tokenizer, config) if split != "train" else tokens
    return datasets.DatasetDict(prepared)


def premask(
    tokens: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, config: RunConfig
) -> datasets.Dataset:
    """Mask the validation split once, with a fixed seed: every evaluation (and the choice of
    the best epoch) then scores the same hidden tokens instead of a fresh random draw."""
    masker = masking_collator(tokenizer, config, seed=config.training["seed"])

    def mask(batch: dict[str, list]) -> dict[str, list]:
        rows = [
            dict(zip(batch, values, strict=False)) for values in zip(*batch.values(), strict=False)
        ]
        masked = masker(rows)
        return {
            "input_ids": masked["input_ids"].tolist(),
            "labels": masked["labels"].tolist(),
            "attention_mask": masked["attention_mask"].tolist(),
        }

    return tokens.map(
        mask,
        batched=True,
        batch_size=256,
        remove_columns=tokens.column_names,
        desc="Masking validation once",
    )


def group_into_blocks(block: int):
    """Concatenate a batch of tokenized texts and cut it into `block`-long pieces (the tail of
    each batch of 1,000 texts that does not fill a block is dropped)."""

    def group(batch: dict[str, list]) -> dict[str, list]:
        joined = {key: list(chain.from_iterable(values)) for key, values in batch.items()}
        usable = (len(joined["input_ids"]) // block) * block
        return {
            key: [values[i : i + block] for i in range(0, usable, block)]
            for key, values in joined.items()
        }

    return group


def masking_collator(
    tokenizer: PreTrainedTokenizerBase, config: RunConfig, seed: int | None = None
) -> DataCollatorForLanguageModeling:
    # Character offsets (whole-word masking) cannot be padded by the tokenizer: blocks are
    # already of equal length then, so no extra padding is asked for.
    wwm = config.masking.whole_word_mask
    return DataCollatorForLanguageModeling(
        tokenizer,
        mlm=True,
        mlm_probability=config.masking.mlm_probability,
        whole_word_mask=wwm,
        pad_to_multiple_of=None if wwm else 8,
        seed=seed,
    )


def collator(tokenizer: PreTrainedTokenizerBase, config: RunConfig) -> Any:
    """Training batches are masked afresh each time (each epoch hides other tokens of the same
    text); validation batches arrive masked already (see `premask`) and are only padded."""
    fresh = masking_collator(tokenizer, config)
    padding = DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8)

    def collate(examples: list[dict[str, Any]]) -> dict[str, Any]:
        return padding(examples) if "labels" in examples[0] else fresh(examples)

    return collate


def train_collator(tokenizer: PreTrainedTokenizerBase, config: RunConfig, num_labels: int) -> None:
    """None: training batches use `collator` too (batch mixing is for images)."""
    return None


def finish_saved(folder: Path) -> str | None:
    """Nothing to change: the saved folder loads in `transformers.pipeline` as it is."""
    return None
