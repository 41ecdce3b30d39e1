"""Run configuration: YAML file + `--key value` overrides -> one validated, typed `RunConfig`.

Layout of a config file (every key optional except what the task needs):

    task: text-classification        # which task module runs (see toolkit/tasks)
    metrics: [accuracy, f1_macro]    # validation/test metrics; the first picks the best model
    model:    {...}                  # ModelConfig
    data:     {...}                  # DataConfig
    augment:  {...}                  # AugmentConfig
    schedule: {...}                  # ScheduleConfig
    early_stopping: {...}            # EarlyStoppingConfig
    baseline: {...}                  # BaselineConfig: cheap baselines before training
    overfitting: {...}               # OverfittingConfig: training-sample scores, warning
    peft: {...}                      # PeftConfig: LoRA adapters instead of a full fine-tune
    search: {...}                    # SearchConfig: what `ftk search` varies (train ignores it)
    learning_rate: 5e-5              # any transformers.TrainingArguments field, under its own name
    num_train_epochs: 3

Overrides on the command line use the same names: `--learning_rate 5e-5` for TrainingArguments
fields and top-level keys, `--model.name_or_path DIR` for keys inside a section.
"""

from __future__ import annotations

import dataclasses
import textwrap
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from toolkit.config.declare import key_facts, key_hints, option
from toolkit.config.derive import DERIVABLE, Derived
from toolkit.config.taxonomy import (
    CLASSES,
    TAG_SCHEMES,
    TASKS,
    TagScheme,
    TagSchemeName,
    TaskKind,
    task_kind,
)
from toolkit.core.errors import UserError


class Section:
    """A config section: each key declared once with `option` (type, default, help, range),
    `check` the rules between its keys. config/validate.py checks every key against its
    declaration, then calls `check`; rules that span sections stay there."""

    def check(self) -> None:
        """Rules between this section's keys (a UserError when one is broken); none here."""


# Help for the top-level keys outside the sections (they are RunConfig fields, not options).
TOP_LEVEL_HELP: dict[str, str] = {
    "task": f"which task module runs (see toolkit/tasks): {' | '.join(TASKS)}",
    "metrics": "validation/test metrics; the first picks the best model (pre-training tasks "
    "default to [loss]; regression tasks to [rmse, mae, pearson, spearman]; multi-label tasks "
    "to [f1_micro, f1_macro, subset_accuracy]; token-classification to entity-level "
    "[f1, precision, recall, accuracy] for entity tags, word-level [accuracy, f1_macro] for "
    "plain tags such as POS (data.tag_scheme))",
    "class_weights": "classification: weight each class in the cross-entropy loss. none | "
    "balanced (n / (classes x count), as scikit-learn) | a mapping {label: weight} (labels "
    "left out weigh 1); multi-label: each label's positive term of its binary cross-entropy "
    "(pos_weight; balanced: negatives / positives of the label)",
    "for_this_data": "a recipe's keys whose values were chosen for its own data source: when "
    "the command line replaces the data source, each one the command line does not set is "
    "released and chosen for the new data, as a key set nowhere is (said at the start). Keys "
    f"it can list: {', '.join(DERIVABLE)}",
    "trust_metric_code": "accept metric names outside the shipped set, loaded with "
    "evaluate.load (a local folder's script or a Hub module): that runs their code (opt-in)",
}


@dataclass
class ModelConfig(Section):
    name_or_path: str | None = option(None, "Hub id or local folder of a pretrained checkpoint")
    revision: str | None = option(None, "Hub branch, tag or commit (ignored for local folders)")
    trust_remote_code: bool = option(
        False, "run modelling code shipped with the checkpoint (opt-in)"
    )
    allow_pickle: bool = option(
        False, "accept pickled .bin weights when a checkpoint has no safetensors"
    )
    from_config: dict | None = option(
        None,
        "train from scratch instead: model type plus sizes, e.g. {model_type: vit, "
        "image_size: 28, patch_size: 4, hidden_size: 64, num_channels: 1}; "
        "AutoConfig.for_model builds it",
    )
    ignore_mismatched_sizes: bool = option(True, "a checkpoint's head of another shape is replaced")
    license: str | None = option(
        None,
        "licence id for the model card (default: the base model card's licence, else unknown)",
    )
    attn_implementation: (
        Literal["sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention"] | None
    ) = option(
        None,
        "attention kernel; null keeps transformers' choice (SDPA where the model supports "
        "it). flash_attention_2/3 need their package and a GPU; eager is the reference "
        "implementation",
    )

    target_scaling: Literal["standardise", "mean", "none"] = option(
        "standardise",
        "regression: how the head meets the target's units. standardise = its last layer "
        "trains on standardised targets (the training split's mean and std) | mean = it "
        "starts at the training mean | none = as the model builds it (at 0, in the target's "
        "units). Predictions and the saved model are in the target's units either way",
    )

    def check(self) -> None:
        """A checkpoint or sizes to build from, not both; sizes that make whole patches."""
        if self.name_or_path and self.from_config:
            raise UserError(
                "Config keys model.name_or_path and model.from_config both name a model; "
                "keep name_or_path to fine-tune a checkpoint, or from_config to train "
                "from scratch."
            )
        if self.from_config is None:
            return
        if "model_type" not in self.from_config:
            raise UserError(
                "model.from_config needs a model_type (e.g. vit, deit, swin) beside its sizes."
            )
        image, patch = self.from_config.get("image_size"), self.from_config.get("patch_size")
        if isinstance(image, int) and isinstance(patch, int) and patch > 0 and image % patch:
            raise UserError(
                f"model.from_config.image_size {image} is not a multiple of "
                f"patch_size {patch}: the image must split into whole patches. "
                f"Choose e.g. patch_size {largest_divisor(image, patch)}."
            )


def largest_divisor(number: int, at_most: int) -> int:
    return max(d for d in range(1, at_most + 1) if number % d == 0)


DATA_SOURCES = ("builtin", "hub_id", "train_file", "train_dir")


# Validation rows scored at each evaluation during training: at 10,000 rows the standard error
# of an accuracy is at most 0.5 points, finer than the differences between epochs it decides;
# scoring more only slows every evaluation (a million rows take hours of forward passes).
VALIDATION_ROWS_PER_EVAL = 10_000


@dataclass
class DataConfig(Section):
    builtin: str | None = option(
        None,
        "packaged demo set: bbc-news | fashion-mnist | wnut16-ner (token-classification)",
    )
    hub_id: str | None = option(None, "a data set on the Hub, loaded with datasets.load_dataset")
    hub_config: str | None = option(
        None, "the Hub data set's configuration name, if it has several"
    )
    hub_revision: str | None = option(
        None,
        "branch, tag or commit of the Hub data set (null: its default branch); the model "
        "card names it, so a result can be traced to the data it was measured on",
    )
    train_split: str = option("train", "name of the train split inside a Hub data set")
    validation_split: str | None = option(
        "validation",
        "name of the validation split inside a Hub data set (absent: held out "
        "from train, see validation_size)",
    )
    test_split: str | None = option(
        "test",
        "name of the test split inside a Hub data set (absent: none, or held out from "
        "train, see test_size)",
    )
    train_file: str | None = option(
        None,
        "local CSV / JSON / JSONL / Parquet file of the train split (token-classification: "
        "JSON / JSONL / Parquet with token and tag lists, or a CoNLL-style file: .conll, "
        ".conllu, .iob, .iob2, .bio or .txt)",
    )
    validation_file: str | None = option(
        None, "local CSV / JSON / JSONL / Parquet file of the validation split"
    )
    test_file: str | None = option(
        None, "local CSV / JSON / JSONL / Parquet file of the test split"
    )
    train_dir: str | None = option(
        None, "image folder of the train split: one subfolder of images per class"
    )
    validation_dir: str | None = option(
        None, "image folder of the validation split: one subfolder of images per class"
    )
    test_dir: str | None = option(
        None, "image folder of the test split: one subfolder of images per class"
    )
    text_column: str = option("text", "column holding the (first) text of each example")
    text_pair_column: str | None = option(None, "second text of a sentence pair (NLI, paraphrase)")
    label_column: str = option("label", "column holding each example's class label")
    tokens_column: str = option(
        "tokens", "token-classification: column holding each sentence's list of words"
    )
    tags_column: str = option(
        "ner_tags",
        "token-classification: column holding each sentence's list of tags, one per word "
        "(entity tags such as B-PER, or plain tags such as POS; strings or a Hub set's "
        "ClassLabel ids)",
    )
    tag_scheme: Literal["auto"] | TagSchemeName = option(
        "auto",
        "token-classification: how the tags read. auto: detected from the training tags (an "
        "entity scheme when every tag but O is B-/I-/E-/S-/L-/U- and a type, else plain) | "
        "iob1 | iob2 | iobes | bilou: entity tags, scored per entity (seqeval: f1, precision, "
        "recall, accuracy) | plain: one label per word, e.g. POS (accuracy, f1_macro over the "
        "tags, per word)",
    )
    label_all_tokens: bool = option(
        False,
        "token-classification: tag every word piece (a later piece of a B- word gets the "
        "I- tag); false tags a word's first piece only and ignores the rest (-100)",
    )
    label_separator: str | None = option(
        None,
        "multi-label tasks: the separator of a label column written as one string per row "
        '(e.g. "," for "sport,politics"); null: labels are lists (JSON) or one per row',
    )
    image_column: str = option(
        "image", "an Image column, or (CSV/JSON) image paths, relative to the file"
    )
    bad_images: Literal["error", "skip"] = option(
        "error", "unreadable images: error (stop) | skip (drop them and count them)"
    )
    empty_texts: Literal["drop", "error"] = option(
        "drop",
        "rows whose text (text_column / text_pair_column) is empty, blank or null: drop "
        "(drop them, with a warning that counts them per split) | error (stop, listing the rows)",
    )
    encoding: str = option(
        "utf-8", "text encoding of CSV / TSV / JSON / JSONL files, e.g. latin-1 or cp1252"
    )
    validation_size: float = option(
        0.1,
        "fraction of train held out (stratified) when no validation split is given",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    )
    test_size: float | None = option(
        None,
        "fraction of train held out (stratified) as test when no test split is given; "
        "null = no test split then",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    )
    max_length: int = option(
        256,
        "tokens per example after truncation; unset, a fine-tuning run on texts chooses it for "
        "the data (95% of the training texts fit, within 256; said at the start)",
        low=8,
    )
    pad_to_max_length: bool = option(
        False,
        "text: pad every example to max_length (the stock Hugging Face scripts' "
        "default); false pads each batch only to its longest text, which is faster "
        "(benchmarks/padding.py)",
    )
    max_train_samples: int | None = option(
        None, "cap on train examples for quick runs (taken after the split)", low=1
    )
    max_eval_samples: int | None = option(
        None, "cap on validation and test examples alike (taken after the split)", low=1
    )
    validation_rows_per_eval: int | None = option(
        VALIDATION_ROWS_PER_EVAL,
        "evaluations during training score a seeded sample of at most this many validation "
        "rows (stratified by class); the kept model is scored on the whole split at the end; "
        "null = every row at every evaluation",
        low=1,
    )
    split_seed: int | None = option(
        None,
        "seed of the validation/test hold-out (default: `seed`); fix it to vary the "
        "training seed over the same test set",
        low=0,
    )
    num_proc: int | None = option(
        None,
        "processes that tokenize (and, for images, check) the data; null = one. Worth it for "
        "hundreds of thousands of rows on a machine with idle cores; the cache is kept per "
        "value",
        low=1,
    )
    streaming: bool = option(
        False,
        "text classification and regression on data larger than memory or disk: read "
        "data.train_file (CSV / TSV / JSONL / Parquet) or data.hub_id's training split as a "
        "stream, never whole; needs --max_steps. Validation and test are the given splits, "
        "else fixed heads of the stream (stream_validation_rows, stream_test_rows); classes "
        "and the advice come from a head sample (stream_head_rows). README 'Data sources'",
    )
    stream_validation_rows: int = option(
        2000,
        "streaming without a validation split: the stream's first rows held out as "
        "validation (a fixed head, not stratified; never trained on)",
        low=1,
    )
    stream_test_rows: int | None = option(
        None,
        "streaming without a test split: the rows after the validation head held out as "
        "test; null = no test split",
        low=1,
    )
    stream_head_rows: int = option(
        20000,
        "streaming: the first training rows read ahead (and trained on too): the classes, "
        "class counts and weights, truncation, overlap check, baselines and the overfitting "
        "watch read these rows instead of the whole training split",
        low=1,
    )
    stream_shuffle_buffer: int = option(
        10000,
        "streaming: rows held in the shuffle buffer (training order mixes rows within this "
        "window only; memory grows with it); 1 = the file's order",
        low=1,
    )
    group_texts: bool = option(
        True,
        "masked-lm: concatenate texts and cut blocks of max_length tokens (no padding "
        "wasted); false: one truncated block per text",
    )
    pretrain_include_test: bool = option(
        False,
        "masked-lm / masked-image-modeling: also pre-train on the test split's inputs "
        "(never its labels); off, test inputs stay unseen",
    )

    def check(self) -> None:
        """One data source; image folders as a set."""
        sources = [k for k in DATA_SOURCES if getattr(self, k)]
        if len(sources) > 1:
            raise UserError(
                f"Config keys {' and '.join('data.' + s for s in sources)} both name a "
                f"data source; keep exactly one."
            )
        for key in ("validation_dir", "test_dir"):
            if getattr(self, key) and not self.train_dir:
                raise UserError(
                    f"data.{key} is set but data.train_dir is not; image folders come "
                    f"as a set: give data.train_dir too."
                )


@dataclass
class AugmentConfig(Section):
    text: bool | str | list | None = option(
        None,
        "text augmentation of the train split, fresh every epoch "
        "(toolkit/augment/text.py). null/false: off. `trivial` (or true): per example one "
        "operation, picked uniformly, with a strength drawn uniformly from its range. Or "
        "a list of operations, each a name or a mapping {name, strength, p}: strength = "
        "fraction of words (sentences) changed, in (0, 1], left out = drawn per example "
        "from the operation's range; p = probability it runs (default 1)",
    )
    text_mode: Literal["sequence", "one_of"] = option(
        "sequence",
        "how a list of text operations runs: sequence (all, in order) | one_of (one per example)",
        refusal="Config key '{key}' is '{value}'; use one of {choices}.{did_you_mean}",
    )
    protected_words: list[str] = option(
        default_factory=list, help="words text augmentation never changes (whole words, any case)"
    )
    image: bool | Literal["trivial", "randaugment", "autoaugment", "none"] | None = option(
        None,
        "train-split image augmentation (torchvision.transforms.v2), applied lazily "
        "every epoch; true = trivial (TrivialAugmentWide); none: no policy",
        refusal="Config key '{key}' is '{value}'; valid: {choices} (or true for trivial)."
        "{did_you_mean}",
    )
    randaugment_num_ops: int = option(2, "RandAugment: operations per image", low=1)
    randaugment_magnitude: int = option(
        9, "RandAugment: strength of its operations", low=0, high=30
    )
    random_resized_crop: float | None = option(
        None,
        "random resized crop: smallest area fraction a crop keeps; null = off",
        low=0,
        high=1,
        low_open=True,
    )
    horizontal_flip: float = option(0.0, "probability of a left-right flip", low=0, high=1)
    random_erasing: float = option(
        0.0, "probability of erasing a random rectangle (after normalize)", low=0, high=1
    )
    mixup: float = option(
        0.0,
        "images: probability that a training batch is mixed by MixUp (each image blended "
        "with the next, labels blended alike; the loss is the cross-entropy against those "
        "soft labels); 0 = off. With cutmix, one draw per batch: mixup with p = mixup, "
        "cutmix with p = cutmix, unmixed otherwise (mixup + cutmix <= 1)",
        low=0,
        high=1,
    )
    cutmix: float = option(
        0.0,
        "images: probability that a training batch is mixed by CutMix (a rectangle pasted "
        "from the next image, labels in proportion to its area); 0 = off",
        low=0,
        high=1,
    )
    mixup_alpha: float = option(
        1.0,
        "MixUp: the mixing weight is drawn from Beta(alpha, alpha); 1 = uniform in [0, 1]",
        low=0,
        low_open=True,
    )
    cutmix_alpha: float = option(
        1.0,
        "CutMix: the kept area fraction is drawn from Beta(alpha, alpha); 1 = uniform",
        low=0,
        low_open=True,
    )

    def check(self) -> None:
        """MixUp and CutMix: at most one of them per batch."""
        if self.mixup + self.cutmix > 1 + 1e-9:
            raise UserError(
                f"augment.mixup ({self.mixup:g}) + augment.cutmix ({self.cutmix:g}) is "
                f"{self.mixup + self.cutmix:g}; each training batch is mixed at most one "
                f"way (mixup with p = mixup, cutmix with p = cutmix), so the two must add up "
                f"to at most 1. E.g. 0.5 and 0.5: every batch mixed, half each way."
            )


DEFAULT_WARMUP_FRACTION = 0.06
WARMUP_KEYS = ("warmup_steps", "warmup_fraction", "warmup_epochs")

# How the schedule section's keys refuse a value (the wording users have been told all along).
SCHEDULE_RANGE = "{key} must be {range}, got {value}."
UNKNOWN_SHAPE = "{key} '{value}' is not a known shape; valid: {choices}.{did_you_mean}"


@dataclass
class ScheduleConfig(Section):
    """Warm-up + decay of the LR, and per-layer LRs. Formulas: toolkit/training/schedules.py."""

    warmup_steps: int | None = option(
        None,
        "warm-up length in optimizer steps; give at most one of warmup_steps, "
        "warmup_fraction, warmup_epochs (none: warmup_fraction 0.06)",
        low=0,
        refusal=SCHEDULE_RANGE,
    )
    warmup_fraction: float | None = option(
        None,
        "warm-up length as a fraction of all optimizer steps (default 0.06 when no "
        "warm-up key is given)",
        low=0,
        high=1,
        high_open=True,
        refusal=SCHEDULE_RANGE,
    )
    warmup_epochs: float | None = option(
        None, "warm-up length in epochs", low=0, refusal=SCHEDULE_RANGE
    )
    warmup_shape: Literal["linear", "cosine", "exponential"] = option(
        "linear", "rise during warm-up", refusal=UNKNOWN_SHAPE
    )
    warmup_start_ratio: float = option(
        0.0,
        "LR of the first step, as a fraction of the peak LR",
        low=0,
        high=1,
        refusal=SCHEDULE_RANGE,
    )
    decay: Literal[
        "cosine", "linear", "polynomial", "constant", "cosine_restarts", "wsd", "inverse_sqrt"
    ] = option("cosine", "shape after warm-up", refusal=UNKNOWN_SHAPE)
    min_lr_ratio: float = option(
        0.0,
        "floor of the decay, as a fraction of the peak LR",
        low=0,
        high=1,
        refusal=SCHEDULE_RANGE,
    )
    power: float = option(
        1.0,
        "polynomial: exponent of (1 - progress)",
        low=0,
        low_open=True,
        refusal=SCHEDULE_RANGE,
    )
    cycles: int = option(
        1,
        "cosine_restarts: cosine cycles after warm-up (each restarts at a peak)",
        low=1,
        refusal="{key} is {value}; cosine_restarts needs at least 1 cycle (1 = plain cosine, "
        "3 = two restarts).",
    )
    restart_decay: float = option(
        1.0,
        "cosine_restarts: cycle k peaks at peak LR x restart_decay^k",
        low=0,
        high=1,
        low_open=True,
        refusal="{key} must lie {range} (1 = every cycle restarts at the full peak), got {value}.",
    )
    decay_fraction: float = option(
        0.2,
        "wsd: share of all steps spent decaying, at the end",
        low=0,
        high=1,
        refusal=SCHEDULE_RANGE,
    )
    decay_steps: int | None = option(
        None,
        "wsd: optimizer steps spent decaying, at the end (replaces decay_fraction)",
        low=0,
        refusal=SCHEDULE_RANGE,
    )
    decay_shape: Literal["linear", "cosine", "sqrt"] = option(
        "linear", "wsd: shape of that final decay", refusal=UNKNOWN_SHAPE
    )
    timescale: int | None = option(
        None,
        "inverse_sqrt: steps for the LR to fall by 1/sqrt(2) after warm-up (default: the "
        "warm-up length, at least 1)",
        low=0,
        low_open=True,
        refusal=SCHEDULE_RANGE,
    )
    layer_decay: float | None = option(
        None,
        "encoder layer k below the top gets LR x layer_decay^k, embeddings the lowest; "
        "null = one LR for the body",
        low=0,
        high=1,
        low_open=True,
        refusal="{key} must lie {range} (each layer below the top gets the LR times this "
        "factor; typical 0.65-0.95), got {value}. Set it to null to turn layer decay off.",
    )
    head_lr_multiplier: float = option(
        1.0,
        "LR of the new task head, as a multiple of the peak LR",
        low=0,
        low_open=True,
        refusal=SCHEDULE_RANGE,
    )

    def check(self) -> None:
        """Warm-up given one way at most; none given: the default fraction (set in place)."""
        given = [k for k in WARMUP_KEYS if getattr(self, k) is not None]
        if len(given) > 1:
            raise UserError(
                f"Warm-up is given two ways at once "
                f"({' and '.join('schedule.' + k for k in given)}); keep one of them. To "
                f"replace a recipe's warm-up from the command line, null the other: "
                f"--schedule.{given[0]} null --schedule.{given[1]} ..."
            )
        if not given:
            self.warmup_fraction = DEFAULT_WARMUP_FRACTION


MASKED_FRACTION = (
    "Config key '{key}' must lie strictly between 0 and 1 (a fraction of the input to hide), "
    "got {value}."
)


@dataclass
class MaskingConfig(Section):
    """Pre-training tasks only: what is hidden from the model for it to reconstruct."""

    mlm_probability: float = option(
        0.15,
        "masked-lm: fraction of tokens selected for prediction",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
        refusal=MASKED_FRACTION,
    )
    whole_word_mask: bool = option(
        False, "masked-lm: mask every sub-token of a selected word together"
    )
    mask_ratio: float = option(
        0.6,
        "masked-image-modeling: fraction of the image hidden (SimMIM: 0.6)",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
        refusal=MASKED_FRACTION,
    )
    mask_patch_size: int | None = option(
        None,
        "masked-image-modeling: pixels per side of a masked square; a multiple of the "
        "model's patch size (default: the patch size)",
        low=1,
        refusal="Config key '{key}' must be a positive number of pixels, got {value}.",
    )


@dataclass
class EarlyStoppingConfig(Section):
    patience: int | None = option(
        2, "evaluations without improvement before stopping; null = off", low=1
    )
    threshold: float = option(
        0.0, "smallest change of the metric that counts as improvement", low=0
    )


# The baselines' training sample: TF-IDF features of short texts take 17-43 KB a row, so
# 20,000 rows hold 0.4-0.9 GB whatever the data size; on BBC sentences the TF-IDF baseline
# scored 0.9 points below its fit on all 30,346 rows (BENCHMARKS.md, section 12), which the
# verdict says.
BASELINE_MAX_TRAIN_ROWS = 20_000


@dataclass
class BaselineConfig(Section):
    enabled: bool = option(
        True,
        "`ftk train` first fits cheap baselines (baseline.json) and compares the model with them",
    )
    cnn_epochs: int = option(
        2, "images: passes of the small CNN baseline over the training split", low=1
    )
    max_train_rows: int | None = option(
        BASELINE_MAX_TRAIN_ROWS,
        "fit the baselines on a seeded sample of at most this many training rows (stratified "
        "by class), which bounds their memory; null = every row",
        low=1,
    )
    background: bool | None = option(
        None,
        "when to fit the baselines: true = in a side process while the model trains, false "
        "= before the model loads, null = beside training on a GPU (its CPU cores are idle), "
        "after training on a CPU (its cores are busy training)",
    )


# The overfitting watch's default budget per evaluation: 5% of an epoch's training time. The
# watch is a diagnostic and should not slow training noticeably; 1,000 examples on BBC's 1,530
# cost about 20% of an epoch, and a few hundred already show the training-loss trend its
# warning reads (BENCHMARKS.md, "Evaluation cost: the overfitting watch").
WATCH_EPOCH_SHARE = 0.05


@dataclass
class OverfittingConfig(Section):
    train_sample_size: int = option(
        1000,
        "fixed, seeded training examples scored at every evaluation, at most (max_epoch_share "
        "may score fewer); 0 = off",
        low=0,
    )
    max_epoch_share: float | None = option(
        WATCH_EPOCH_SHARE,
        "fewer training examples when scoring train_sample_size would cost more than this "
        "share of an epoch's training (a forward pass costs about 1/3 of a training pass; "
        "at least 200 are scored); null = no cap",
        low=0,
        high=1,
        low_open=True,
    )
    patience: int = option(
        2,
        "warn when validation loss rises this many evaluations in a row while training loss falls",
        low=1,
    )


@dataclass
class PeftConfig(Section):
    """Parameter-efficient fine-tuning with the `peft` library: the encoder stays frozen, small
    low-rank matrices (LoRA) are trained beside the targeted weights, the new head in full."""

    method: Literal["lora"] | None = option(
        None,
        "null = off (every weight is trained) | lora: train rank-r updates B @ A of the "
        "target modules and the new head; saved merged (loads without peft) and as an "
        "adapter in adapter/",
    )
    r: int = option(8, "lora: rank of each update B @ A (A: r x in, B: out x r)", low=1)
    alpha: float = option(
        16,
        "lora: scale of the update, applied as alpha / r (peft's lora_alpha)",
        low=0,
        low_open=True,
    )
    dropout: float = option(
        0.1,
        "lora: dropout on the input of the update (lora_dropout)",
        low=0,
        high=1,
        high_open=True,
    )
    target_modules: list[str] | None = option(
        None,
        "lora: names of the Linear modules that get an update (the last part of the module "
        "name, e.g. [query, value]); null = the attention query and value projections, "
        "found by name (BERT family: query/value, ViT in transformers 5: q_proj/v_proj, "
        "MPNet: q/v), or a fused query-key-value layer (ModernBERT: Wqkv); ConvNeXt: "
        "pwconv1/pwconv2",
    )
    modules_to_save: list[str] | None = option(
        None,
        "lora: modules trained in full and saved with the adapter; null = the parts of the "
        "model outside its encoder (the new head: `classifier`, plus e.g. DistilBERT's "
        "`pre_classifier`) and any module the checkpoint did not hold (a fresh pooler)",
    )

    def check(self) -> None:
        """LoRA keys never silently unused; module lists, when given, not empty."""
        if self.method is None:
            default = PeftConfig()
            changed = [
                k
                for k in ("r", "alpha", "dropout", "target_modules", "modules_to_save")
                if getattr(self, k) != getattr(default, k)
            ]
            if changed:
                raise UserError(
                    f"{', '.join('peft.' + k for k in changed)} set, but peft.method is null, "
                    f"so every weight would be fine-tuned and the setting ignored. Set "
                    f"peft.method: lora, or remove the peft keys."
                )
            return
        for key in ("target_modules", "modules_to_save"):
            names = getattr(self, key)
            if names is not None and not names:
                raise UserError(
                    f"peft.{key} is an empty list; name at least one module, or write null "
                    f"for the default."
                )


# The hyper-parameters `ftk search` varies (toolkit/config/search_space.py reads this section).
SEARCH_RANGE_HELP = (
    "auto (the default range, see below) | off (keep the recipe's value) | [low, high] | "
    "{low, high, log} | {choices: [...]}"
)


@dataclass
class SearchConfig(Section):
    """`ftk search` only: which hyper-parameters vary, over what, and how trials are cut short.
    `ftk train` ignores this section."""

    learning_rate: Any = option(
        "auto", f"{SEARCH_RANGE_HELP}; auto: log-uniform over [LR / 3, LR x 3] of the recipe's LR"
    )
    num_train_epochs: Any = option(
        "auto", f"{SEARCH_RANGE_HELP}; auto: whole epochs [E - 1, E + 1] around the recipe's E"
    )
    warmup_fraction: Any = option(
        "auto", f"{SEARCH_RANGE_HELP}; auto: [0, 0.2] (schedule.warmup_fraction)"
    )
    weight_decay: Any = option("auto", f"{SEARCH_RANGE_HELP}; auto: [0, 0.1]")
    per_device_train_batch_size: Any = option(
        "auto", f"{SEARCH_RANGE_HELP}; auto: choices B / 2, B, 2 B around the recipe's B"
    )
    layer_decay: Any = option(
        "auto",
        f"{SEARCH_RANGE_HELP}; auto: [0.7, 1.0] (schedule.layer_decay; off with peft.method "
        "lora, which freezes the encoder)",
    )
    max_length: Any = option(
        "auto",
        f"{SEARCH_RANGE_HELP}; data.max_length, for tasks that read whole texts (each length's "
        "splits tokenized once, the first trial at it); auto: choices L / 2 (rounded down to a "
        "multiple of 32, at least 32), L, 2 L (at most 512 and the model's limit) around the "
        "run's L, as chosen for the data when set nowhere",
    )
    class_weights: Any = option(
        "auto",
        "auto | off | {choices: [none, balanced]}; the loss's class_weights, for single-label "
        "classification; auto: {none, balanced} when the training classes are uneven (known "
        "once the data is read) and class_weights is not a mapping, else off",
    )
    pruner: Literal["median", "none"] = option(
        "median",
        "median: stop a trial at an evaluation where its score is worse than the median of "
        "earlier trials at the same evaluation (optuna's MedianPruner) | none",
    )
    startup_trials: int = option(
        3, "trials that always run to the end before the median pruner may stop one", low=0
    )
    seed: int | None = option(
        None, "seed of the sampler (optuna's TPE) that picks each trial's values; null = `seed`"
    )
    folds: int | None = option(
        None,
        "k-fold cross-validation for small data: train + validation pooled in k folds, each "
        "trial trains k models (one per fold) and is scored by their mean validation score, "
        "pruned after a fold; the chosen trial is then trained once on the recipe's own split. "
        "null = off (one validation split)",
        low=2,
    )


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "augment": AugmentConfig,
    "schedule": ScheduleConfig,
    "early_stopping": EarlyStoppingConfig,
    "baseline": BaselineConfig,
    "overfitting": OverfittingConfig,
    "masking": MaskingConfig,
    "peft": PeftConfig,
    "search": SearchConfig,
}


# TrainingArguments values the toolkit uses unless the config says otherwise: what practitioners
# set by hand for every fine-tune (evaluate and checkpoint each epoch, keep the best model).
TRAINING_DEFAULTS: dict[str, Any] = {
    "output_dir": None,  # filled from the config file name: runs/<name>
    "learning_rate": 5e-5,
    "weight_decay": 0.01,
    "num_train_epochs": 3,
    "per_device_train_batch_size": 16,
    "per_device_eval_batch_size": 64,
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "save_total_limit": 2,
    "load_best_model_at_end": True,
    "logging_strategy": "steps",
    "logging_steps": 10,
    "report_to": "none",
    "seed": 42,
}


# Keys people carry over from older transformers versions or other tools, with what to write.
RENAMED_KEYS: dict[str, str] = {
    "evaluation_strategy": "transformers 5 renamed it; write `eval_strategy`",
    "overwrite_output_dir": "transformers 5 removed it; pass `--overwrite` to `ftk train`",
    "logging_dir": "transformers 5 removed it; the history is written into output_dir",
    "save_safetensors": "transformers 5 removed it; the toolkit always writes safetensors",
    "no_cuda": "transformers 5 removed it; write `use_cpu: true`",
    "tokenizer": "transformers 5 calls it `processing_class`; the toolkit sets it for you",
    "hub_token": "a token must never sit in a config file (the run directory keeps a copy); "
    "set the HF_TOKEN environment variable or run `hf auth login`",
    "group_by_length": "transformers 5 replaced it; write `train_sampling_strategy: "
    "group_by_length`",
    # TrainingArguments fields that only the Hugging Face example scripts read; the Trainer
    # itself ignores them, so accepting them would run something else than asked.
    "resume_from_checkpoint": "`ftk train --resume` continues the stopped run in output_dir "
    "from its last complete checkpoint (model, optimizer, schedule, data order, early "
    "stopping); point --output_dir at that run's folder and pass --resume",
    "do_train": "ftk always trains; `ftk schedule` previews a run without training",
    "do_eval": "ftk evaluates on the validation split at every eval_strategy step; `ftk "
    "evaluate RUN --data FILE` scores a finished run on other labelled data",
    "do_predict": "ftk scores the test split once at the end when there is one; `ftk predict "
    "RUN --input FILE` labels new data with a finished run",
    # The flags of transformers' example scripts (run_classification.py, run_ner.py,
    # run_mlm.py, run_image_classification.py), which users carry over.
    "model_name_or_path": "it is run_classification.py's; write `model.name_or_path`",
    "text_column_names": "it is run_classification.py's; write `data.text_column` (one "
    "column; a second text of a pair is `data.text_pair_column`)",
    "text_column_name": "it is an example script's; write `data.text_column` (or "
    "`data.tokens_column` for token classification)",
    "label_column_name": "it is an example script's; write `data.label_column`",
    "image_column_name": "it is run_image_classification.py's; write `data.image_column`",
    "max_seq_length": "it is an example script's; write `data.max_length`",
    "dataset_name": "it is an example script's; write `data.hub_id`",
    "dataset_config_name": "it is an example script's; write `data.hub_config`",
    "train_file": "data keys sit in the data section; write `data.train_file`",
    "validation_file": "data keys sit in the data section; write `data.validation_file`",
    "test_file": "data keys sit in the data section; write `data.test_file`",
    "train_dir": "data keys sit in the data section; write `data.train_dir`",
    "max_train_samples": "data keys sit in the data section; write `data.max_train_samples`",
    "max_eval_samples": "data keys sit in the data section; write `data.max_eval_samples`",
    "preprocessing_num_workers": "ftk calls it `data.num_proc`",
    "pad_to_max_length": "data keys sit in the data section; write `data.pad_to_max_length`",
    "label_all_tokens": "data keys sit in the data section; write `data.label_all_tokens`",
    "shuffle_train_dataset": "ftk shuffles the training data every epoch; remove it",
    "mlm_probability": "masking keys sit in the masking section; write `masking.mlm_probability`",
    "lr": "write `learning_rate`",
    "epochs": "write `num_train_epochs`",
    "batch_size": "write `per_device_train_batch_size`",
}


TOP_LEVEL_KEYS = ("task", "metrics", "class_weights", "trust_metric_code", "for_this_data")


@dataclass
class RunConfig:
    task: str = "text-classification"
    metrics: list[str] = field(default_factory=lambda: list(CLASSES.default_metrics))
    trust_metric_code: bool = False
    class_weights: str | dict[str, float] | None = None  # None, "balanced" or {label: weight}
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    overfitting: OverfittingConfig = field(default_factory=OverfittingConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    peft: PeftConfig = field(default_factory=PeftConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    training: dict[str, Any] = field(default_factory=dict)  # TrainingArguments kwargs
    source: str | None = None  # the file this config came from (not saved)
    # True when `metrics` came from the recipe or the command line, False when it is the task's
    # default: only a default list may be reordered for the data (uneven classes: f1_macro
    # first, advice/data_size.metrics_for_classes). Not saved: a saved run_config.yaml names
    # the metrics the run used, so reading it back counts as chosen.
    metrics_chosen: bool = False
    # the recipe's keys chosen for its own data (read for config/load.py's release; not saved:
    # run_config.yaml holds the values the run used, as plain values)
    for_this_data: list[str] = field(default_factory=list)
    # keys to be chosen for the data (config/derive.py): set nowhere, or released; the data
    # stage fills them in (run/derived.py) and empties this. Not saved.
    derive: tuple[str, ...] = ()
    # the values chosen for the data, with why: metrics.json and report.md say them. Not saved.
    derived: tuple[Derived, ...] = ()

    @property
    def kind(self) -> TaskKind:
        """What the task reads and predicts (config/taxonomy.py)."""
        return task_kind(self.task)

    @property
    def default_metrics(self) -> tuple[str, ...]:
        """What the run scores when `metrics` is not set: its target's metrics, or for tags
        read by a scheme data.tag_scheme names, that scheme's."""
        scheme = TAG_SCHEMES.get(self.data.tag_scheme)
        if scheme is not None and self.kind.target.per_word:
            return scheme.default_metrics
        return self.kind.target.default_metrics

    def to_dict(self) -> dict[str, Any]:
        """The YAML-ready form: sections nested, TrainingArguments fields at the top level."""
        out: dict[str, Any] = {"task": self.task, "metrics": list(self.metrics)}
        out["trust_metric_code"] = self.trust_metric_code
        out["class_weights"] = self.class_weights
        for name in SECTIONS:
            out[name] = dataclasses.asdict(getattr(self, name))
        out.update(self.training)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)

    def reading_tags(self, scheme: TagScheme) -> RunConfig:
        """This config with its tags read as `scheme` (token classification, once the training
        tags, or a finished model's tag names, are known): data.tag_scheme names it, so the
        run's targets and its saved run_config.yaml read it; `metrics` are the scheme's
        defaults where they were not chosen, and each chosen one (metric_for_best_model too)
        must be one the scheme scores, so entity F1 never decides a POS run."""
        metrics = list(self.metrics) if self.metrics_chosen else list(scheme.default_metrics)
        scheme.check_metrics(metrics)
        best = self.training.get("metric_for_best_model")
        if best is not None:
            scheme.check_metrics([str(best).removeprefix("eval_")], "metric_for_best_model")
        data = dataclasses.replace(self.data, tag_scheme=scheme.name)
        return dataclasses.replace(self, data=data, metrics=metrics)

    def local_inputs(self) -> list[Path]:
        """The files and folders on this machine that the run reads: its data and its model
        folder. `--overwrite` never deletes a folder that holds one of them."""
        data = self.data
        named = [
            data.train_file,
            data.validation_file,
            data.test_file,
            data.train_dir,
            data.validation_dir,
            data.test_dir,
            self.model.name_or_path,
        ]
        return [Path(p) for p in named if p and Path(p).exists()]

    @property
    def split_seed(self) -> int:
        """The seed of the validation/test hold-out: data.split_seed when set, else `seed`.

        Every command that splits the data (train, pretrain, baseline, schedule, augment) asks
        this one property, so they all hold out the same rows."""
        seed = self.data.split_seed
        return seed if seed is not None else self.training.get("seed", TRAINING_DEFAULTS["seed"])


def training_argument_names() -> dict[str, Any]:
    """TrainingArguments field name -> type hint (transformers is imported lazily: it is slow)."""
    from transformers import TrainingArguments

    hints = typing.get_type_hints(TrainingArguments)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(TrainingArguments) if f.init}


def all_valid_keys() -> list[str]:
    keys = list(TOP_LEVEL_KEYS) + list(training_argument_names())
    for name, section in SECTIONS.items():
        keys.append(name)
        keys += [f"{name}.{f.name}" for f in dataclasses.fields(section)]
    return keys


def describe_keys(only: str | None = None) -> str:
    """Text for `--help`: the top-level keys, then every section key, each with its default,
    its declaration's type, choices and range, and its help text, wrapped and indented below
    it; `only`: that one section's keys."""

    def entry(key: str, default: Any, facts: str, help: str) -> list[str]:
        return [f"    {key} (default {default!r})"] + [
            line
            for text in (facts, help)
            for line in textwrap.wrap(
                text,
                width=96,
                initial_indent=" " * 8,
                subsequent_indent=" " * 8,
                break_on_hyphens=False,
            )
        ]

    defaults = RunConfig()
    lines = [] if only else ["  top level:"]
    hints = key_hints(RunConfig)
    for key in () if only else TOP_LEVEL_KEYS:
        lines += entry(key, getattr(defaults, key), key_facts(hints[key], {}), TOP_LEVEL_HELP[key])
    for name, section in SECTIONS.items():
        if only and name != only:
            continue
        lines.append(f"  {name}:")
        hints = key_hints(section)
        for f in dataclasses.fields(section):
            default = getattr(getattr(defaults, name), f.name)
            facts = key_facts(hints[f.name], f.metadata)
            lines += entry(f"{name}.{f.name}", default, facts, f.metadata["help"])
    return "\n".join(lines)
