"""Checks that span several keys (one data source, matching strategies, image and masking
settings, the schedule section); single-key type checks happen while the config is built.
"""

from __future__ import annotations

from toolkit.config.ranges import check_numeric_ranges, section_values
from toolkit.config.schema import (
    DECAYS,
    DEFAULT_WARMUP_FRACTION,
    IMAGE_POLICIES,
    WARMUP_KEYS,
    WARMUP_SHAPES,
    WSD_DECAY_SHAPES,
    AugmentConfig,
    PeftConfig,
    RunConfig,
    ScheduleConfig,
)
from toolkit.config.taxonomy import mixing_refusal
from toolkit.config.text_policy import text_policy
from toolkit.core.errors import UserError, did_you_mean


def validate(config: RunConfig) -> None:
    """Checks that span several keys; single-key type checks happened while building."""
    data = config.data
    sources = [k for k in ("builtin", "hub_id", "train_file", "train_dir") if getattr(data, k)]
    if len(sources) > 1:
        raise UserError(
            f"Config keys {' and '.join('data.' + s for s in sources)} both name a "
            f"data source; keep exactly one."
        )
    check_numeric_ranges(config.training, section_values(config))
    validate_images(config)
    validate_metrics(config)
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
    refusal = config.kind.target.class_weights_refusal
    if config.class_weights is not None and refusal is not None:
        raise UserError(refusal.format(task=config.task))
    if text_policy(config.augment) is not None and config.kind.target.per_word:
        raise UserError(
            f"augment.text is not available for task '{config.task}': its operations insert, "
            f"delete and swap words, which would leave the tags no longer matching the words. "
            f"Remove augment.text."
        )
    validate_multilabel(config)
    validate_schedule(config.schedule)
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


def validate_images(config: RunConfig) -> None:
    """Model source (checkpoint xor from_config), image folders, augmentation values."""
    validate_model_source(config)
    data = config.data
    for key in ("validation_dir", "test_dir"):
        if getattr(data, key) and not data.train_dir:
            raise UserError(
                f"data.{key} is set but data.train_dir is not; image folders come "
                f"as a set: give data.train_dir too."
            )
    validate_image_augmentation(config.augment)
    validate_batch_mixing(config)


def validate_model_source(config: RunConfig) -> None:
    """A checkpoint or sizes to build from, not both; sizes that make whole patches."""
    model = config.model
    if model.name_or_path and model.from_config:
        raise UserError(
            "Config keys model.name_or_path and model.from_config both name a model; "
            "keep name_or_path to fine-tune a checkpoint, or from_config to train "
            "from scratch."
        )
    if config.kind.fine_tunes_images and not (model.name_or_path or model.from_config):
        raise UserError(
            "The model is not set: give model.name_or_path (a Hub id or checkpoint "
            "folder) or model.from_config (a model type and sizes, e.g. {model_type: "
            "vit, image_size: 28, patch_size: 4, hidden_size: 64}, to train from "
            "scratch)."
        )
    if model.from_config is not None:
        from_config = model.from_config
        if not config.kind.modality.reads_images:
            raise UserError(
                f"model.from_config builds image models only; task "
                f"'{config.task}' needs model.name_or_path."
            )
        if "model_type" not in from_config:
            raise UserError(
                "model.from_config needs a model_type (e.g. vit, deit, swin) beside its sizes."
            )
        image, patch = from_config.get("image_size"), from_config.get("patch_size")
        if isinstance(image, int) and isinstance(patch, int) and patch > 0 and image % patch:
            raise UserError(
                f"model.from_config.image_size {image} is not a multiple of "
                f"patch_size {patch}: the image must split into whole patches. "
                f"Choose e.g. patch_size {largest_divisor(image, patch)}."
            )


def validate_image_augmentation(augment: AugmentConfig) -> None:
    policy = augment.image
    if isinstance(policy, str) and policy not in IMAGE_POLICIES:
        raise UserError(
            f"Config key 'augment.image' is '{policy}'; valid: "
            f"{', '.join(IMAGE_POLICIES)} (or true for trivial)."
            f"{did_you_mean(policy, IMAGE_POLICIES)}"
        )


def validate_batch_mixing(config: RunConfig) -> None:
    """MixUp/CutMix: image classification only, and at most one of them per batch."""
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
    if augment.mixup + augment.cutmix > 1 + 1e-9:
        raise UserError(
            f"augment.mixup ({augment.mixup:g}) + augment.cutmix ({augment.cutmix:g}) is "
            f"{augment.mixup + augment.cutmix:g}; each training batch is mixed at most one "
            f"way (mixup with p = mixup, cutmix with p = cutmix), so the two must add up to "
            f"at most 1. E.g. 0.5 and 0.5: every batch mixed, half each way."
        )


def largest_divisor(number: int, at_most: int) -> int:
    return max(d for d in range(1, at_most + 1) if number % d == 0)


def validate_masking(config: RunConfig) -> None:
    masking = config.masking
    for key in ("mlm_probability", "mask_ratio"):
        value = getattr(masking, key)
        if not 0 < value < 1:
            raise UserError(
                f"Config key 'masking.{key}' must lie strictly between 0 and 1 (a "
                f"fraction of the input to hide), got {value}."
            )
    if masking.mask_patch_size is not None and masking.mask_patch_size < 1:
        raise UserError(
            f"Config key 'masking.mask_patch_size' must be a positive number of "
            f"pixels, got {masking.mask_patch_size}."
        )
    if config.kind.pretraining and config.metrics != ["loss"]:
        raise UserError(
            f"Task '{config.task}' has no labels, so it reports only loss (and "
            f"perplexity for masked-lm); set metrics: [loss], not {config.metrics}."
        )


def validate_schedule(schedule: ScheduleConfig) -> None:
    """Validate the section and fill the default warm-up when none is given (in place)."""
    given = [k for k in WARMUP_KEYS if getattr(schedule, k) is not None]
    if len(given) > 1:
        raise UserError(
            f"Warm-up is given two ways at once ({' and '.join('schedule.' + k for k in given)}); "
            f"keep one of them. To replace a recipe's warm-up from the command line, "
            f"null the other: --schedule.{given[0]} null --schedule.{given[1]} ..."
        )
    if not given:
        schedule.warmup_fraction = DEFAULT_WARMUP_FRACTION
    check_shape("warmup_shape", schedule.warmup_shape, WARMUP_SHAPES)
    check_shape("decay", schedule.decay, DECAYS)
    check_shape("decay_shape", schedule.decay_shape, WSD_DECAY_SHAPES)
    check_range(schedule, "warmup_steps", 0, None)
    check_range(schedule, "warmup_epochs", 0, None)
    check_range(schedule, "decay_steps", 0, None)
    check_range(schedule, "warmup_fraction", 0, 1, high_open=True)
    for key in ("warmup_start_ratio", "min_lr_ratio", "decay_fraction"):
        check_range(schedule, key, 0, 1)
    check_positive(schedule, "power")
    check_positive(schedule, "head_lr_multiplier")
    if schedule.timescale is not None:
        check_positive(schedule, "timescale")
    if schedule.cycles < 1:
        raise UserError(
            f"schedule.cycles is {schedule.cycles}; cosine_restarts needs at least "
            f"1 cycle (1 = plain cosine, 3 = two restarts)."
        )
    if not 0 < schedule.restart_decay <= 1:
        raise UserError(
            f"schedule.restart_decay must lie in (0, 1] (1 = every cycle restarts "
            f"at the full peak), got {schedule.restart_decay}."
        )
    if schedule.layer_decay is not None and not 0 < schedule.layer_decay <= 1:
        raise UserError(
            f"schedule.layer_decay must lie in (0, 1] (each layer below the top gets "
            f"the LR times this factor; typical 0.65-0.95), got "
            f"{schedule.layer_decay}. Set it to null to turn layer decay off."
        )


def check_shape(key: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UserError(
            f"schedule.{key} '{value}' is not a known shape; valid: "
            f"{', '.join(valid)}.{did_you_mean(value, valid)}"
        )


def check_range(
    schedule: ScheduleConfig, key: str, low: float, high: float | None, high_open: bool = False
) -> None:
    value = getattr(schedule, key)
    if value is None:
        return
    too_high = high is not None and (value >= high if high_open else value > high)
    if value < low or too_high:
        bounds = f"[{low}, {high}{')' if high_open else ']'}" if high is not None else f">= {low}"
        raise UserError(
            f"schedule.{key} must be {'in ' if high is not None else ''}{bounds}, got {value}."
        )


def check_positive(schedule: ScheduleConfig, key: str) -> None:
    if getattr(schedule, key) <= 0:
        raise UserError(f"schedule.{key} must be > 0, got {getattr(schedule, key)}.")


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
                "(entity-level scores come from seqeval; trust_metric_code does not apply)"
                if target.per_word
                else "(Another evaluate metric, from a local folder or the Hub, runs its own "
                "code: set trust_metric_code: true to allow that.)"
            )
            raise UserError(
                f"Config key 'metrics' names '{name}', which is not a metric ftk ships for "
                f"{config.task}; use {', '.join(valid)}.{did_you_mean(name, valid)} {other}"
            )


def validate_peft(config: RunConfig) -> None:
    """LoRA only where it is implemented and means something; LoRA keys never silently unused."""
    peft = config.peft
    if peft.method is None:
        default = PeftConfig()
        changed = [
            k
            for k in ("r", "alpha", "dropout", "target_modules", "modules_to_save")
            if getattr(peft, k) != getattr(default, k)
        ]
        if changed:
            raise UserError(
                f"{', '.join('peft.' + k for k in changed)} set, but peft.method is null, so "
                f"every weight would be fine-tuned and the setting ignored. Set "
                f"peft.method: lora, or remove the peft keys."
            )
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
    for key in ("target_modules", "modules_to_save"):
        names = getattr(peft, key)
        if names is not None and not names:
            raise UserError(
                f"peft.{key} is an empty list; name at least one module, or write null for "
                f"the default."
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
