"""Settings chosen for the data when the user has not set them (issue 36): the training length
from the training split's size, data.max_length from the training texts' token lengths.

A derivable key is derived when neither the recipe nor the command line sets it, or when the
recipe lists it under `for_this_data` and the command line replaced the recipe's data source
(config/load.py releases it then). `RunConfig.derive` carries the keys still to derive; the
data stage measures (run/derived.py) and these rules turn the counts into a value and the line
that says it. A derived value is written into the config as a plain value, so run_config.yaml
records it and a rerun from that file sets it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.config.coerce import coerce
from toolkit.config.taxonomy import TaskKind
from toolkit.core.errors import UserError

EPOCHS = "num_train_epochs"
MAX_LENGTH = "data.max_length"
EVAL_STEPS = "eval_steps"
DERIVABLE = (EPOCHS, MAX_LENGTH)  # what a recipe's for_this_data may list
# eval_steps is chosen with the epochs (an epoch too long to wait for, or many short ones),
# unless any of these is set
CADENCE_KEYS = (EVAL_STEPS, "eval_strategy", "save_strategy", "save_steps")

# The rules' constants: decided by benchmarks/defaults_suite.py on its real sets (issue 36,
# docs/experiments.md). Change them here only.
# At least MIN_EPOCHS passes: one epoch of a mid-sized set lost 7 points to two on Reuters
# headlines (docs/experiments.md, "A first look"); 3 is the usual BERT fine-tune.
MIN_EPOCHS = 3
MAX_STEPS = 10_000  # a large set trains fewer epochs to stay under this, down to one epoch
# An epoch longer than this many steps is evaluated (and checkpointed) within: early stopping and
# the kept model need evaluations to choose from, and a crash should not lose hours.
LONGEST_EVALUATION_GAP = 2_000
# A run of more epochs than this is evaluated every few epochs instead, this many times in all:
# early stopping's patience then spans a share of the run rather than one tiny epoch's noise
# (a from-scratch ViT on 1,334 images stopped at epoch 14 of 20 on it), and a run of hundreds
# of epochs is not spent evaluating. A fine-tune's epochs (at most 20) are each evaluated.
MOST_EVALUATIONS = 20
LENGTH_SAMPLE = 2_000  # training texts tokenized to measure lengths (seeded random sample)
LENGTH_SHARE = 0.95  # max_length fits this share of them, special tokens included
LENGTH_STEP = 32  # max_length is rounded up to a multiple of this
SHORTEST_LENGTH = 32  # and is at least this
LONGEST_LENGTH = 256  # and at most this: the time budget (attention's cost grows with length)


@dataclass(frozen=True)
class LengthRule:
    """How long a model needs to learn: the optimizer steps the fewest epochs must reach, and
    the most epochs a tiny set may take to reach them (early stopping still ends a run sooner)."""

    min_steps: int
    max_epochs: int
    said_as: str  # after the steps in the line: whose minimum this is

    @staticmethod
    def for_model(from_scratch: bool) -> LengthRule:
        return FROM_SCRATCH if from_scratch else FINE_TUNE


# A fine-tune starts from weights that already read the input: a few hundred steps move them.
FINE_TUNE = LengthRule(min_steps=300, max_epochs=20, said_as="")
# A model built by model.from_config starts from random weights: in the suite a ViT on 10,000
# Fashion-MNIST images was still gaining at 632 steps (0.76, where 316 steps gave 0.68), and
# the recipe's own 54,000 images train 3,376 steps to 0.86.
FROM_SCRATCH = LengthRule(
    min_steps=2_000, max_epochs=200, said_as=", as a model trained from scratch needs"
)


@dataclass(frozen=True)
class Derived:
    """One value chosen for the data, and why."""

    key: str
    value: int
    why: str

    def line(self) -> str:
        """The console's line: the value, the counts behind it, how to choose it instead."""
        return (
            f"Chosen for this data: {self.key} {self.value} ({self.why}; set {self.key} to choose)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "why": self.why}

    def settings(self) -> dict[str, Any]:
        """The config keys (dotted) the value sets: eval_steps also evaluates and saves by
        steps, every eval_steps (the kept model needs a checkpoint at each evaluation)."""
        return steps_cadence(self.value) if self.key == EVAL_STEPS else {self.key: self.value}


def steps_cadence(every: int) -> dict[str, Any]:
    """TrainingArguments that evaluate and save every `every` steps (a kept best model needs a
    checkpoint at each evaluation): a long epoch's cadence, and a stream's."""
    return {
        "eval_strategy": "steps",
        "save_strategy": "steps",
        EVAL_STEPS: every,
        "save_steps": every,
    }


def derivable(kind: TaskKind, streaming: bool, max_steps: int | None) -> tuple[str, ...]:
    """The keys ftk can derive for this run: fine-tuning only and not on a stream (it has no
    length; max_steps sets it); epochs unless max_steps does; the evaluation cadence; max_length
    for tasks that read whole texts (tagged sentences are measured in words, so data.max_length
    keeps its default)."""
    if not kind.target.labelled or streaming:
        return ()
    keys = [] if max_steps is not None and max_steps > 0 else [EPOCHS]
    if not kind.modality.reads_images and not kind.modality.per_word:
        keys.append(MAX_LENGTH)
    return (*keys, EVAL_STEPS)


def set_by(key: str) -> tuple[str, ...]:
    """The config keys any of which, set, means `key` is not to be derived."""
    return CADENCE_KEYS if key == EVAL_STEPS else (key,)


def pending_text(keys: Sequence[str]) -> str | None:
    """The values still to be chosen, as --print-config names them (None: no placeholder
    above; the cadence alone is chosen only for a long epoch)."""
    listed = [key for key in keys if key in DERIVABLE]
    if not listed:
        return None
    cadence = EVAL_STEPS in keys
    return ", ".join(listed) + (
        f"; {EVAL_STEPS} too, should an epoch pass {LONGEST_EVALUATION_GAP:,} steps or the run "
        f"{MOST_EVALUATIONS} epochs"
        if cadence
        else ""
    )


def read_for_this_data(value: Any) -> list[str]:
    """`for_this_data`: a list of derivable keys (an entry that is not one is refused)."""
    if value is None:
        return []
    listed = coerce(value, list[str], "for_this_data")
    for key in listed:
        if key not in DERIVABLE:
            raise UserError(
                f"Config key 'for_this_data' lists '{key}', which ftk cannot derive from the "
                f"data. It lists the recipe's values chosen for its own data, released when the "
                f"command line replaces the data source; the keys it can list are "
                f"{', '.join(DERIVABLE)}. Remove '{key}' from it."
            )
    return listed


def derived_epochs(rows: int, steps_per_epoch: int, rule: LengthRule = FINE_TUNE) -> Derived:
    """The fewest whole epochs that reach the rule's minimum optimizer steps, at least
    MIN_EPOCHS and at most the rule's most epochs, then fewer (down to one) while they pass
    MAX_STEPS; `steps_per_epoch` counted as the Trainer counts them (batch, accumulation,
    processes)."""
    steps_per_epoch = max(1, steps_per_epoch)
    wanted = math.ceil(rule.min_steps / steps_per_epoch)
    epochs = min(rule.max_epochs, max(MIN_EPOCHS, wanted))
    within_ceiling = max(1, MAX_STEPS // steps_per_epoch)
    if epochs > within_ceiling:
        epochs = within_ceiling
        reason = (
            f"the most whole epochs within {MAX_STEPS:,} steps"
            if epochs * steps_per_epoch <= MAX_STEPS
            else f"one epoch passes {MAX_STEPS:,} steps; set max_steps to stop sooner"
        )
    elif wanted > rule.max_epochs:
        reason = f"at most {rule.max_epochs} epochs; early stopping ends sooner"
    elif wanted < MIN_EPOCHS:
        reason = f"at least {MIN_EPOCHS} epochs"
    else:
        reason = f"the fewest epochs reaching {rule.min_steps:,} steps{rule.said_as}"
    counts = (
        f"{rows:,} training examples, {_steps(steps_per_epoch)} an epoch: "
        f"{epochs} epoch{'s' if epochs != 1 else ''} = {epochs * steps_per_epoch:,} steps"
    )
    return Derived(EPOCHS, epochs, f"{counts}, {reason}")


def derived_eval_steps(steps_per_epoch: int, run_steps: int) -> Derived | None:
    """The evaluation (and checkpoint) cadence by steps, for a run that evaluating once an
    epoch serves badly; None when once an epoch is right.

    An epoch of more than LONGEST_EVALUATION_GAP optimizer steps is split into equal parts no
    longer than that. A run of more than MOST_EVALUATIONS epochs (`run_steps` in all) is
    evaluated every few whole epochs, at most MOST_EVALUATIONS times. The Trainer evaluates
    and saves the last step either way."""
    steps_per_epoch = max(1, steps_per_epoch)
    if steps_per_epoch > LONGEST_EVALUATION_GAP:
        parts = math.ceil(steps_per_epoch / LONGEST_EVALUATION_GAP)
        every = math.ceil(steps_per_epoch / parts)
        why = (
            f"an epoch is {steps_per_epoch:,} optimizer steps: evaluated and saved every "
            f"{every:,} steps, {parts} times an epoch, so early stopping and the kept model have "
            f"evaluations to choose from and a stopped run loses at most {every:,} steps"
        )
        return Derived(EVAL_STEPS, every, why)
    epochs = math.ceil(run_steps / steps_per_epoch)
    if epochs <= MOST_EVALUATIONS:
        return None
    apart = math.ceil(epochs / MOST_EVALUATIONS)
    every = apart * steps_per_epoch
    why = (
        f"{epochs} epochs of {_steps(steps_per_epoch)}: evaluated and saved every "
        f"{apart} epochs ({every:,} steps), {math.ceil(epochs / apart)} times, so early "
        f"stopping's patience spans a share of the run, not one short epoch's noise"
    )
    return Derived(EVAL_STEPS, every, why)


def _steps(count: int) -> str:
    return f"{count:,} optimizer step{'s' if count != 1 else ''}"


def derived_max_length(lengths: Sequence[int], model_limit: int | None) -> Derived:
    """The length LENGTH_SHARE of the measured texts fit in, rounded up to LENGTH_STEP, within
    SHORTEST_LENGTH and the smaller of LONGEST_LENGTH and the model's own limit (None: none
    known)."""
    ordered = sorted(lengths)
    fit = ordered[max(0, math.ceil(LENGTH_SHARE * len(ordered)) - 1)] if ordered else 0
    rounded = max(SHORTEST_LENGTH, math.ceil(fit / LENGTH_STEP) * LENGTH_STEP)
    limit = min(LONGEST_LENGTH, model_limit or LONGEST_LENGTH)
    value = min(rounded, limit)
    texts = f"{len(ordered):,} {'sampled ' if len(ordered) >= LENGTH_SAMPLE else ''}training texts"
    why = f"{LENGTH_SHARE:.0%} of {texts} fit in {fit:,} tokens"
    if rounded > value:
        why += (
            f"; capped at {value} for time"
            if value == LONGEST_LENGTH
            else f"; capped at {value}, the model's limit"
        )
    elif value > fit:
        why += f", rounded up to a multiple of {LENGTH_STEP}" if fit > SHORTEST_LENGTH else ""
        why += f"; at least {SHORTEST_LENGTH}" if fit <= SHORTEST_LENGTH else ""
    return Derived(MAX_LENGTH, value, why)
