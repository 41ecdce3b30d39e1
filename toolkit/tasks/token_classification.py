"""Token classification (NER, POS tagging) with a BERT-family encoder: one tag per word.

Words are split into pieces by a fast tokenizer (`is_split_into_words`), into the pieces their
running text gives (model/words.py: a byte-level BPE tokenizer gets a space before each word
after the first), so the pipeline, which reads text, sees what training saw; each word's tag goes
on its first piece and the other pieces get -100, ignored by the loss and the scores, so each
word counts once (`data.label_all_tokens: true` tags every piece instead, a later piece of a
B- word getting the matching I- tag, as the Hugging Face run_ner.py script does).
What differs from classification for the commands (metrics, baselines, report, predict) is the
target, `TAGS` (tasks/targets.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import torch
from transformers import (
    AutoModelForTokenClassification,
    DataCollatorForTokenClassification,
    PreTrainedTokenizerBase,
)

from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.metrics.entities import IGNORED
from toolkit.model.checkpoint import checkpoint_location, load_checkpoint_model, load_tokenizer
from toolkit.model.words import with_prefix, word_prefix
from toolkit.tasks.targets import TAGS

pipeline_tag = "token-classification"
# the token-classification pipeline cuts at the tokenizer's model_max_length by itself
pipeline_args = ""
input_key = "data.tokens_column"
target_inputs = None
target = TAGS


def input_columns(config: RunConfig) -> list[str]:
    return [config.data.tokens_column]


def training_defaults(config: RunConfig) -> dict[str, Any]:
    return {}


def load_processor(config: RunConfig) -> PreTrainedTokenizerBase:
    tokenizer = load_tokenizer(config.model)
    if not tokenizer.is_fast:
        raise UserError(
            f"Token classification needs a fast tokenizer (it maps word pieces back to "
            f"words); '{checkpoint_location(config.model)}' has only a slow "
            f"{type(tokenizer).__name__}. Use a checkpoint that ships tokenizer.json."
        )
    return tokenizer


def load_model(config: RunConfig, label_names: list[str] | None) -> Any:
    return load_with_head(config, target.head(config, label_names))


def load_with_head(config: RunConfig, head: dict[str, Any]) -> Any:
    """The checkpoint's encoder with a new tagging head (`head`: num_labels, id2label, ...)."""
    return load_checkpoint_model(
        AutoModelForTokenClassification,
        config.model,
        "model",
        **head,
        ignore_mismatched_sizes=True,
    )


def inside_tag_ids(label_names: list[str]) -> list[int]:
    """For each tag id, the id a later piece of the same word gets: B-X -> I-X when the data
    has I-X, else the tag itself."""
    index = {name: i for i, name in enumerate(label_names)}
    return [
        index.get("I-" + name[2:], i) if name.startswith("B-") else i
        for i, name in enumerate(label_names)
    ]


def piece_labels(
    word_ids: list[int | None], tags: list[int], inside: list[int] | None
) -> list[int]:
    """One label per piece: the word's tag on its first piece; later pieces -100, or (with
    `inside`) the word's inside tag; special tokens -100."""
    labels, previous = [], None
    for word in word_ids:
        if word is None:
            labels.append(IGNORED)
        elif word != previous:
            labels.append(tags[word])
        else:
            labels.append(inside[tags[word]] if inside is not None else IGNORED)
        previous = word
    return labels


def prepare(
    splits: datasets.DatasetDict, tokenizer: PreTrainedTokenizerBase, config: RunConfig
) -> datasets.DatasetDict:
    """Tokenize the words of every split once and align the tags to the pieces. New words
    without tags (`ftk predict`/`ftk evaluate`) keep each piece's word instead (`word_ids`,
    None for special tokens), to read the tags back per word."""
    tokens, tags = config.data.tokens_column, config.data.tags_column
    first = next(iter(splits.values()))
    # every split's ClassLabel holds the training tag names (data/tagged.py)
    names = first.features[tags].feature.names if tags in first.column_names else []
    inside = inside_tag_ids(names) if config.data.label_all_tokens else None
    prefix = word_prefix(tokenizer, config.model.name_or_path or "")
    max_length = config.data.max_length  # not `config`: see text_classification.tokenize_function

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(
            [with_prefix(words, prefix) for words in batch[tokens]],
            is_split_into_words=True,
            truncation=True,
            max_length=max_length,
        )
        pieces = [encoded.word_ids(i) for i in range(len(batch[tokens]))]
        if tags in batch:
            encoded["labels"] = [
                piece_labels(words, row, inside)
                for words, row in zip(pieces, batch[tags], strict=True)
            ]
        else:
            encoded["word_ids"] = pieces
        return encoded

    return datasets.DatasetDict(
        {
            split: dataset.map(
                tokenize,
                batched=True,
                remove_columns=dataset.column_names,
                num_proc=config.data.num_proc,
                desc=f"Tokenizing {split}",
            )
            for split, dataset in splits.items()
        }
    )


def collator(
    tokenizer: PreTrainedTokenizerBase, config: RunConfig, label_dtype: torch.dtype = torch.long
) -> Any:
    # pads the labels with -100 as well, so padding is never scored
    return DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8)


def train_collator(tokenizer: PreTrainedTokenizerBase, config: RunConfig, num_labels: int) -> None:
    return None  # every split batches alike (no mixing of tag sequences)


def card_reading(config: RunConfig) -> str:
    """The model card's line on how much of a sentence the model reads."""
    return (
        f"The model reads the first {config.data.max_length} pieces of a sentence "
        f"(`data.max_length`, saved as the tokenizer's `model_max_length`); the pipeline cuts "
        f"a longer sentence there by itself, as training did, and leaves the words past the "
        f"cut out (`ftk predict`, `ftk evaluate` and the run's test scores read them in "
        f"further windows, each opening with the words before them as context)."
    )


def finish_saved(folder: Path) -> str | None:
    """Nothing to change: the folder loads in `pipeline("token-classification")` as it is."""
    return None
