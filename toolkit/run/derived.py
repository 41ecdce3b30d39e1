"""The data stage's side of the values chosen for the data (config/derive.py holds the rules):
the training texts' token lengths measured before they are tokenized for training, the
training split's steps an epoch once it is, each value said in one line and written into the
config as a plain value (run_config.yaml records it)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from transformers import TrainingArguments

from toolkit.advice.truncation import readable_length
from toolkit.config.derive import (
    EPOCHS,
    EVAL_STEPS,
    LENGTH_SAMPLE,
    MAX_LENGTH,
    Derived,
    LengthRule,
    derived_epochs,
    derived_eval_steps,
    derived_max_length,
)
from toolkit.config.schema import RunConfig
from toolkit.core.columns import column_values
from toolkit.data.load import LoadedData
from toolkit.training.arguments import steps_per_epoch, total_steps


def with_derived(config: RunConfig, derived: Derived | None) -> RunConfig:
    """`config` with the derived value set, no longer to be derived, and recorded."""
    if derived is None:
        return config
    for dotted, value in derived.settings().items():
        section, _, key = dotted.rpartition(".")
        if section:
            part = dataclasses.replace(getattr(config, section), **{key: value})
            config = dataclasses.replace(config, **{section: part})
        else:
            config = dataclasses.replace(config, training={**config.training, key: value})
    return dataclasses.replace(
        config,
        derive=tuple(k for k in config.derive if k != derived.key),
        derived=(*config.derived, derived),
    )


def max_length_for(config: RunConfig, data: LoadedData, tokenizer: Any) -> Derived | None:
    """data.max_length from the token lengths (special tokens included) of a seeded sample of
    LENGTH_SAMPLE training texts (pairs: both texts, as the model reads them); None when it is
    not to be derived."""
    if MAX_LENGTH not in config.derive:
        return None
    train = data.splits["train"]
    rng = np.random.default_rng(config.split_seed)
    rows = np.sort(rng.choice(len(train), size=min(LENGTH_SAMPLE, len(train)), replace=False))
    sample = train.select(rows.tolist())
    text, pair = config.data.text_column, config.data.text_pair_column
    texts = [t if t is not None else "" for t in column_values(sample, text)]
    pairs = [t if t is not None else "" for t in column_values(sample, pair)] if pair else None
    # verbose=False: texts longer than the model reads are expected here, not worth a warning
    encoded = tokenizer(texts, pairs, truncation=False, verbose=False)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    return derived_max_length(lengths, readable_length(tokenizer))


def with_length(
    config: RunConfig, args: TrainingArguments, rows: int, world_size: int | None = None
) -> tuple[RunConfig, list[Derived]]:
    """`config` with num_train_epochs chosen from the training rows and the optimizer steps an
    epoch makes of them (batch, accumulation and processes, counted as the Trainer counts;
    `world_size`: the processes `ftk schedule` plans for; a model from model.from_config needs
    a from-scratch model's steps), and the evaluation cadence the run needs (within a long
    epoch, every few epochs of a run of many short ones), each where it is to be derived; and
    the values chosen, to be said. The cadence is settled either way: a run it does not suit
    keeps one evaluation an epoch."""
    per_epoch = steps_per_epoch(rows, args, world_size)
    rule = LengthRule.for_model(from_scratch=config.model.from_config is not None)
    epochs = derived_epochs(rows, per_epoch, rule) if EPOCHS in config.derive else None
    cadence = None
    if EVAL_STEPS in config.derive:
        # the derived epochs' steps; else the run's own (set epochs, or max_steps, which
        # leaves the epochs underived)
        run = epochs.value * per_epoch if epochs else total_steps(rows, args, world_size)
        cadence = derived_eval_steps(per_epoch, run)
    chosen_now = [derived for derived in (epochs, cadence) if derived is not None]
    for derived in chosen_now:
        config = with_derived(config, derived)
    settled = tuple(key for key in config.derive if key != EVAL_STEPS)
    return dataclasses.replace(config, derive=settled), chosen_now


def derived_facts(config: RunConfig) -> dict[str, Any]:
    """metrics.json's record of the values chosen for the data: {"derived": {key: {value,
    why}}}; nothing when every value was set."""
    if not config.derived:
        return {}
    return {"derived": {d.key: d.to_dict() for d in config.derived}}
