"""Checks of a built config: every key against its declaration (choices, range), each
section's own rules between its keys (`Section.check`, config/schema.py), then here the rules
that span sections or the task; single-key type checks happen while the config is built.
"""

from __future__ import annotations

from toolkit.config.declare import check_section
from toolkit.config.ranges import check_training_ranges
from toolkit.config.schema import SECTIONS, ModelConfig, RunConfig
from toolkit.config.streaming import streaming_refusal
from toolkit.config.taxonomy import TAG_SCHEMES, mixing_refusal
from toolkit.config.text_policy import text_policy
from toolkit.config.training_keys import check_training_keys
from toolkit.core.errors import UserError, did_you_mean
from toolkit.core.extras import require_extra


def validate(config: RunConfig) -> None:
    """Every key's declaration, each section's rules, then the rules that span sections;
    single-key type checks happened while building."""
    check_keys(config)
    validate_output_dir(config.training.get("output_dir"))
    validate_images(config)
    validate_metrics(config)
    check_training_keys(config.training, config.metrics, tags=config.kind.target.per_word)
    if config.training.get("load_best_model_at_end") and config.training.get(
        "eval_strategy"
    ) != config.training.get("save_strategy"):
        raise UserError(
            "load_best_model_at_end needs eval_strategy and save_strategy to match "
            "(both 'epoch' or both 'steps'); set them equal or set "
            "load_best_model_at_end: false."
        )
    if config.training.get("push_to_hub") and not config.training.get("hub_model_id"):
        raise UserError(
            "push_to_hub: true needs hub_model_id, the repository to push to "
            "(e.g. hub_model_id: me/bbc-minilm)."
        )
    validate_masking(config)
    refusal = streaming_refusal(config)
    if refusal is not None:
        raise UserError(refusal)
    refusal = config.kind.target.class_weights_refusal
    if config.class_weights is not None and refusal is not None:
        raise UserError(refusal.format(task=config.task))
    if text_policy(config.augment) is not None and config.kind.target.per_word:
        raise UserError(
            f"augment.text is not available for task '{config.task}': its operations insert, "
            f"delete and swap words, which would leave the tags no longer matching the words. "
            f"Remove augment.text."
        )
    validate_text_augmentation(config)
    validate_multilabel(config)
    validate_tag_scheme(config)
    validate_target_scaling(config)
    validate_peft(config)
    if text_policy(config.augment) is not None and config.training.get("remove_unused_columns"):
        raise UserError(
            "augment.text needs remove_unused_columns: false (the augmentation reads "
            "the raw text columns, which the Trainer would drop); remove the "
            "remove_unused_columns setting or turn augment.text off."
        )
    if text_policy(config.augment) is not None and config.training.get(
        "dataloader_persistent_workers"
    ):
        raise UserError(
            "augment.text cannot be combined with dataloader_persistent_workers: "
            "persistent workers keep the first epoch's copy of the augmentation and "
            "would repeat its variants every epoch; set it to false."
        )


def validate_text_augmentation(config: RunConfig) -> None:
    """augment.text runs nlpaug (WordNet through nltk for `synonym`): the `augment` extra."""
    policy = text_policy(config.augment)
    if policy is not None:
        nltk = ("nltk",) if "synonym" in policy.names else ()
        require_extra("augment", "augment.text", nltk, "Or leave augment.text out (off).")


def check_keys(config: RunConfig) -> None:
    """The TrainingArguments numbers against their ranges; every section key against its
    declaration (the choices of its Literal type, its range), then each section's rules."""
    check_training_ranges(config.training)
    for name in SECTIONS:
        check_section(name, getattr(config, name))
    for name in SECTIONS:
        getattr(config, name).check()


def validate_output_dir(output_dir: object) -> None:
    """An empty output_dir would be read as '.', the working directory (None: the default,
    runs/<recipe name>, is filled in after validation)."""
    if isinstance(output_dir, str) and not output_dir.strip():
        raise UserError(
            f"output_dir is empty ({output_dir!r}), which would put the run's files into the "
            f"working directory. Give the folder the run writes to, e.g. --output_dir runs/NAME "
            f"(or leave the key out: runs/<recipe name>)."
        )


def validate_images(config: RunConfig) -> None:
    """A model for the task; mixing only where the task allows it."""
    validate_model_source(config)
    validate_batch_mixing(config)


def validate_model_source(config: RunConfig) -> None:
    """A checkpoint or sizes to build from (ModelConfig.check refuses both); sizes for image
    models only."""
    model = config.model
    if config.kind.fine_tunes_images and not (model.name_or_path or model.from_config):
        raise UserError(
            "The model is not set: give model.name_or_path (a Hub id or checkpoint "
            "folder) or model.from_config (a model type and sizes, e.g. {model_type: "
            "vit, image_size: 28, patch_size: 4, hidden_size: 64}, to train from "
            "scratch)."
        )
    if model.from_config is not None and not config.kind.modality.reads_images:
        raise UserError(
            f"model.from_config builds image models only; task "
            f"'{config.task}' needs model.name_or_path."
        )


def validate_batch_mixing(config: RunConfig) -> None:
    """MixUp/CutMix: image classification only (AugmentConfig.check: one of them per batch)."""
    augment = config.augment
    on = [key for key in ("mixup", "cutmix") if getattr(augment, key)]
    refusal = mixing_refusal(config.kind)
    if on and refusal is not None:
        keys = " and ".join(f"augment.{key}" for key in on)
        raise UserError(
            f"{keys} mix{'' if len(on) > 1 else 'es'} batches of images and their labels; "
            f"task '{config.task}' {refusal}"
            f". Set {' and '.join(f'augment.{key}: 0' for key in on)} (image-classification "
            f"only)."
        )


def validate_masking(config: RunConfig) -> None:
    """Pre-training reports loss only (MaskingConfig declares its fractions' ranges)."""
    if config.kind.pretraining and config.metrics != ["loss"]:
        raise UserError(
            f"Task '{config.task}' has no labels, so it reports only loss (and "
            f"perplexity for masked-lm); set metrics: [loss], not {config.metrics}."
        )


def validate_tag_scheme(config: RunConfig) -> None:
    """data.tag_scheme says how tags read: a task without tags would ignore it."""
    if config.data.tag_scheme != "auto" and not config.kind.target.per_word:
        raise UserError(
            f"data.tag_scheme says how the tags of token classification read; task "
            f"'{config.task}' has no tags. Remove data.tag_scheme (or use task: "
            f"token-classification)."
        )


def validate_multilabel(config: RunConfig) -> None:
    """data.label_separator only where labels come in sets, and never empty."""
    if config.data.label_separator is not None and not config.kind.target.label_sets:
        raise UserError(
            f"data.label_separator splits a label column into several labels per row; task "
            f"'{config.task}' takes one label per row. Use task: text-multilabel (or "
            f"image-multilabel), or remove data.label_separator."
        )
    if config.data.label_separator == "":
        raise UserError(
            'data.label_separator is empty; give the character between labels (e.g. ","), '
            "or null when the labels are lists."
        )


def validate_target_scaling(config: RunConfig) -> None:
    """model.target_scaling shapes a regression head: set for any other task, it would be
    silently ignored."""
    scaling = config.model.target_scaling
    if scaling != ModelConfig().target_scaling and not config.kind.target.numeric:
        raise UserError(
            f"model.target_scaling: {scaling} sets how a regression head meets its target's "
            f"units; task '{config.task}' predicts a {config.kind.target.predicts}, not a "
            f"number. Remove model.target_scaling (or use a regression task)."
        )


def validate_metrics(config: RunConfig) -> None:
    """Metric names come from the set the toolkit ships: a name is looked up as a folder or a
    Hub script (either runs its code) only with the opt-in `trust_metric_code: true`."""
    if not config.metrics:
        raise UserError("Config key 'metrics' is empty; list at least one, e.g. [accuracy].")
    target = config.kind.target
    # seqeval scores tags, so trust_metric_code (evaluate modules) does not apply to them
    if config.kind.pretraining or (config.trust_metric_code and not target.per_word):
        return  # pre-training: loss only (validate_masking says so); trusted: loaded at start
    valid = target.metrics
    for name in config.metrics:
        if name not in valid:
            other = (
                "(entity tags are scored by seqeval, plain tags per word; trust_metric_code "
                "does not apply)"
                if target.per_word
                else "(Another evaluate metric, from a local folder or the Hub, runs its own "
                "code: set trust_metric_code: true to allow that.)"
            )
            raise UserError(
                f"Config key 'metrics' names '{name}', which is not a metric ftk ships for "
                f"{config.task}; use {', '.join(valid)}.{did_you_mean(name, valid)} {other}"
            )
    scheme = TAG_SCHEMES.get(config.data.tag_scheme)
    if scheme is not None and target.per_word and config.metrics_chosen:
        scheme.check_metrics(config.metrics)  # a named scheme now; else once the tags are read


def validate_peft(config: RunConfig) -> None:
    """LoRA only where it is implemented and means something (PeftConfig.check: LoRA keys
    never silently unused)."""
    peft = config.peft
    if peft.method is None:
        return
    if config.kind.pretraining:
        raise UserError(
            f"peft.method {peft.method} is not supported for task '{config.task}' yet: "
            f"continued pre-training updates the whole encoder (and the saved output must be "
            f"a plain checkpoint to fine-tune from). Set peft.method: null here, and use LoRA "
            f"in the fine-tuning recipe."
        )
    if config.schedule.layer_decay is not None:
        raise UserError(
            "schedule.layer_decay cannot be combined with peft.method lora: layer-wise decay "
            "scales the LR of each encoder layer's weights, and with LoRA those weights are "
            "frozen (only the small adapters and the head train, usually with one LR). Set "
            "schedule.layer_decay: null, or peft.method: null for a full fine-tune with "
            "layer decay. (schedule.head_lr_multiplier still works: it scales the head's LR.)"
        )
    sharded = [k for k in ("fsdp", "deepspeed") if config.training.get(k)]
    if sharded:
        raise UserError(
            f"peft.method lora is not supported with {sharded[0]} in ftk yet (the adapter and "
            f"the merged model are saved from one process's copy of the model). Train LoRA "
            f"with plain data parallelism (accelerate launch without {sharded[0]}), or set "
            f"peft.method: null."
        )
    if config.model.from_config is not None:
        raise UserError(
            "peft.method lora adapts a pretrained checkpoint, but model.from_config trains "
            "from scratch (random weights: freezing them leaves nothing to adapt). Give "
            "model.name_or_path, or set peft.method: null."
        )
