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
    learning_rate: 5e-5              # any transformers.TrainingArguments field, under its own name
    num_train_epochs: 3

Overrides on the command line use the same names: `--learning_rate 5e-5` for TrainingArguments
fields and top-level keys, `--model.name_or_path DIR` for keys inside a section.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from toolkit.errors import UserError, did_you_mean

TASKS = ("text-classification", "image-classification", "masked-lm", "masked-image-modeling")
# Pre-training tasks learn from inputs alone (labels are ignored) and report loss, not accuracy.
PRETRAIN_TASKS = ("masked-lm", "masked-image-modeling")


@dataclass
class ModelConfig:
    name_or_path: str | None = None  # Hub id or local folder of a pretrained checkpoint
    revision: str | None = None  # Hub branch, tag or commit (ignored for local folders)
    trust_remote_code: bool = False  # run modelling code shipped with the checkpoint (opt-in)
    allow_pickle: bool = False  # accept pickled .bin weights when a checkpoint has no safetensors
    # Train from scratch instead: model type plus sizes, e.g. {model_type: vit, image_size: 28,
    # patch_size: 4, hidden_size: 64, num_channels: 1}; AutoConfig.for_model builds it.
    from_config: dict | None = None
    ignore_mismatched_sizes: bool = True  # a checkpoint's head of another shape is replaced
    # Attention kernel; null keeps transformers' choice (SDPA where the model supports it).
    # flash_attention_2/3 need their package and a GPU; eager is the reference implementation.
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2", "flash_attention_3",
                                 "flex_attention"] | None = None


@dataclass
class DataConfig:
    builtin: str | None = None  # packaged demo set: "bbc-news"
    hub_id: str | None = None  # a data set on the Hub, loaded with datasets.load_dataset
    hub_config: str | None = None  # its configuration name, if it has several
    train_split: str = "train"  # split names inside a Hub data set
    validation_split: str | None = "validation"
    test_split: str | None = "test"
    train_file: str | None = None  # local CSV / JSON / JSONL / Parquet files
    validation_file: str | None = None
    test_file: str | None = None
    train_dir: str | None = None  # image folder: one subfolder of images per class
    validation_dir: str | None = None
    test_dir: str | None = None
    text_column: str = "text"
    text_pair_column: str | None = None  # second text of a sentence pair (NLI, paraphrase)
    label_column: str = "label"
    image_column: str = "image"  # an Image column, or (CSV/JSON) image paths, relative to the file
    bad_images: Literal["error", "skip"] = "error"  # unreadable images: stop, or drop and count
    validation_size: float = 0.1  # fraction of train held out (stratified) when no validation
    test_size: float | None = None  # fraction of train held out as test when there is no test
    max_length: int = 256  # tokens per example after truncation
    pad_to_max_length: bool = False  # text: pad every example to max_length (the stock Hugging
    #                                  Face scripts' default); false pads each batch only to its
    #                                  longest text, which is faster (benchmarks/padding.py)
    max_train_samples: int | None = None  # cap for quick runs (taken after the split)
    max_eval_samples: int | None = None  # caps validation and test alike
    split_seed: int | None = None  # seed of the validation/test hold-out (default: `seed`); fix
    #                               it to vary the training seed over the same test set
    group_texts: bool = True  # masked-lm: concatenate texts and cut blocks of max_length tokens
    #                           (no padding wasted); false: one truncated block per text
    pretrain_include_test: bool = False  # masked-lm / masked-image-modeling: also pre-train on
    #                                      the test split's inputs (never its labels); off, test
    #                                      inputs stay unseen


@dataclass
class AugmentConfig:
    # Text augmentation of the train split, fresh every epoch (toolkit/augment/text.py).
    # null/false: off. `trivial` (or true): per example one operation, picked uniformly, with a
    # strength drawn uniformly from its range. Or a list of operations, each a name or a mapping
    # {name, strength, p}: strength = fraction of words (sentences) changed, in (0, 1], left out
    # = drawn per example from the operation's range; p = probability it runs (default 1).
    text: bool | str | list | None = None
    text_mode: str = "sequence"  # a list's steps: sequence (all, in order) | one_of (one per example)
    protected_words: list[str] = field(default_factory=list)  # never changed (whole words, any case)
    # Train-split image augmentation (torchvision.transforms.v2), applied lazily every epoch.
    image: bool | str | None = None  # trivial (= true) | randaugment | autoaugment | none
    randaugment_num_ops: int = 2  # RandAugment: operations per image ...
    randaugment_magnitude: int = 9  # ... and their strength (0-30)
    random_resized_crop: float | None = None  # smallest area fraction a crop keeps; null = off
    horizontal_flip: float = 0.0  # probability of a left-right flip
    random_erasing: float = 0.0  # probability of erasing a random rectangle (after normalize)


@dataclass
class ScheduleConfig:
    """Warm-up + decay of the LR, and per-layer LRs. Formulas: toolkit/schedules.py docstring."""

    warmup_steps: int | None = None  # warm-up length in optimizer steps ...
    warmup_fraction: float | None = None  # ... or as a fraction of all steps (default 0.06) ...
    warmup_epochs: float | None = None  # ... or in epochs (give exactly one of the three)
    warmup_shape: str = "linear"  # rise during warm-up: linear | cosine | exponential
    warmup_start_ratio: float = 0.0  # LR of the first step, as a fraction of the peak LR
    decay: str = "cosine"  # shape after warm-up: cosine | linear | polynomial | constant |
    #                        cosine_restarts | wsd | inverse_sqrt
    min_lr_ratio: float = 0.0  # floor of the decay, as a fraction of the peak LR
    power: float = 1.0  # polynomial: exponent of (1 - progress)
    cycles: int = 1  # cosine_restarts: cosine cycles after warm-up (each restarts at a peak)
    restart_decay: float = 1.0  # cosine_restarts: cycle k peaks at peak LR x restart_decay^k
    decay_fraction: float = 0.2  # wsd: share of all steps spent decaying, at the end
    decay_shape: str = "linear"  # wsd: shape of that final decay: linear | cosine | sqrt
    timescale: int | None = None  # inverse_sqrt: steps for the LR to fall by 1/sqrt(2)
    #                               after warm-up (default: the warm-up length, at least 1)
    layer_decay: float | None = None  # encoder layer k below the top gets LR x layer_decay^k,
    #                                   embeddings the lowest; null = one LR for the body
    head_lr_multiplier: float = 1.0  # LR of the new task head, as a multiple of the peak LR


@dataclass
class MaskingConfig:
    """Pre-training tasks only: what is hidden from the model for it to reconstruct."""

    mlm_probability: float = 0.15  # masked-lm: fraction of tokens selected for prediction
    whole_word_mask: bool = False  # masked-lm: mask every sub-token of a selected word together
    mask_ratio: float = 0.6  # masked-image-modeling: fraction of the image hidden (SimMIM: 0.6)
    mask_patch_size: int | None = None  # pixels per side of a masked square; a multiple of the
    #                                     model's patch size (default: the patch size)


@dataclass
class EarlyStoppingConfig:
    patience: int | None = 2  # evaluations without improvement before stopping; null = off
    threshold: float = 0.0  # smallest change of the metric that counts as improvement


@dataclass
class BaselineConfig:
    enabled: bool = True  # `ftk train` first fits cheap baselines (baseline.json) and compares
    cnn_epochs: int = 2  # images: passes of the small CNN baseline over the training split
    # Fit them in a side process while the model trains: true, false, or null = when training on
    # a GPU (the CPU cores are idle then; on a CPU they are busy training).
    background: bool | None = None


@dataclass
class OverfittingConfig:
    train_sample_size: int = 1000  # fixed, seeded training examples scored at every evaluation; 0 = off
    patience: int = 2  # warn when validation loss rises this many evaluations in a row while training loss falls


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "augment": AugmentConfig,
    "schedule": ScheduleConfig,
    "early_stopping": EarlyStoppingConfig,
    "baseline": BaselineConfig,
    "overfitting": OverfittingConfig,
    "masking": MaskingConfig,
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
    "warmup_ratio": "transformers 5 removed `warmup_ratio`; write `schedule.warmup_fraction`",
    "evaluation_strategy": "transformers 5 renamed it; write `eval_strategy`",
    "overwrite_output_dir": "transformers 5 removed it; pass `--overwrite` to `ftk train`",
    "logging_dir": "transformers 5 removed it; the history is written into output_dir",
    "save_safetensors": "transformers 5 removed it; the toolkit always writes safetensors",
    "no_cuda": "transformers 5 removed it; write `use_cpu: true`",
    "tokenizer": "transformers 5 calls it `processing_class`; the toolkit sets it for you",
    "lr_scheduler_type": "the LR schedule lives in the `schedule` section (`schedule.decay`)",
    "warmup_steps": "warm-up lives in the `schedule` section: `schedule.warmup_steps`, "
    "`schedule.warmup_fraction` or `schedule.warmup_epochs`",
    "hub_token": "a token must never sit in a config file (the run directory keeps a copy); "
    "set the HF_TOKEN environment variable or run `hf auth login`",
    "group_by_length": "transformers 5 replaced it; write `train_sampling_strategy: "
    "group_by_length`",
    "lr": "write `learning_rate`",
    "epochs": "write `num_train_epochs`",
    "batch_size": "write `per_device_train_batch_size`",
}

TOP_LEVEL_KEYS = ("task", "metrics")


@dataclass
class RunConfig:
    task: str = "text-classification"
    metrics: list[str] = field(default_factory=lambda: ["accuracy", "f1_macro"])
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    overfitting: OverfittingConfig = field(default_factory=OverfittingConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    training: dict[str, Any] = field(default_factory=dict)  # TrainingArguments kwargs
    source: str | None = None  # the file this config came from (not saved)

    def to_dict(self) -> dict[str, Any]:
        """The YAML-ready form: sections nested, TrainingArguments fields at the top level."""
        out: dict[str, Any] = {"task": self.task, "metrics": list(self.metrics)}
        for name in SECTIONS:
            out[name] = dataclasses.asdict(getattr(self, name))
        out.update(self.training)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)


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


# ----------------------------------------------------------------------------- loading


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read `path` (YAML), apply `--key value` overrides, validate, and fill defaults."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = read_yaml(Path(path))
    for key, value in parse_overrides(overrides or []):
        set_dotted(raw, key, value)
    config = build_config(raw)
    config.source = str(path) if path is not None else None
    if config.training.get("output_dir") is None:
        stem = Path(path).stem if path is not None else "run"
        config.training["output_dir"] = str(Path("runs") / stem)
    return config


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(
            f"Config file '{path}' does not exist. Give the path of a YAML recipe, for example "
            f"one from configs/ (ls configs/)."
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"Config file '{path}' is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"Config file '{path}' must hold a mapping of keys to values, not a "
                        f"{type(data).__name__}.")
    return data


def parse_overrides(args: list[str]) -> list[tuple[str, Any]]:
    """`--key value`, `--key=value` and bare `--flag` (true) -> (key, YAML-parsed value) pairs."""
    pairs = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise UserError(f"Unexpected argument '{arg}': overrides look like `--key value`.")
        key = arg[2:]
        if "=" in key:
            key, text = key.split("=", 1)
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            text = args[i + 1]
            i += 2
        else:
            text = "true"
            i += 1
        pairs.append((key, parse_value(text)))
    return pairs


def parse_value(text: str) -> Any:
    """YAML-parse a command-line value, except that yes/no/on/off stay words: YAML 1.1 reads
    `--eval_strategy no` as False. (`coerce` still accepts them for true/false keys.)"""
    if text == "" or text.lower() in ("yes", "no", "on", "off"):
        return text
    return yaml.safe_load(text)


def set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    """raw['model']['name_or_path'] = value for key 'model.name_or_path'."""
    head, _, rest = key.partition(".")
    if not rest:
        raw[key] = value
        return
    section = raw.setdefault(head, {})
    if not isinstance(section, dict):
        raise UserError(f"Cannot set '{key}': '{head}' is not a section.")
    set_dotted(section, rest, value)


def build_config(raw: dict[str, Any]) -> RunConfig:
    config = RunConfig()
    training_fields = training_argument_names()
    for key, value in raw.items():
        if key in RENAMED_KEYS:
            raise UserError(f"Config key '{key}' is not accepted: {RENAMED_KEYS[key]}.")
        if key in SECTIONS:
            setattr(config, key, build_section(key, value))
        elif key == "task":
            config.task = coerce(value, str, key)
            if config.task not in TASKS:
                raise UserError(f"Config key 'task' is '{config.task}'; valid tasks: "
                                f"{', '.join(TASKS)}.{did_you_mean(config.task, TASKS)}")
        elif key == "metrics":
            config.metrics = coerce(value, list[str], key)
        elif key in training_fields:
            config.training[key] = coerce(value, training_fields[key], key)
        else:
            raise UserError(f"Unknown config key '{key}'.{did_you_mean(key, all_valid_keys())} "
                            f"See `ftk train --help` for the sections and their keys.")
    config.training = {**TRAINING_DEFAULTS, **config.training}
    if config.task in PRETRAIN_TASKS and "metrics" not in raw:
        config.metrics = ["loss"]  # pre-training has no labels: the best epoch is the lowest loss
    validate(config)
    return config


def build_section(name: str, value: Any) -> Any:
    cls = SECTIONS[name]
    if value is None:
        return cls()
    if not isinstance(value, dict):
        raise UserError(f"Config key '{name}' must be a mapping of keys, not {value!r}.")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, item in value.items():
        dotted = f"{name}.{key}"
        if key not in known:
            raise UserError(f"Unknown config key '{dotted}'."
                            f"{did_you_mean(dotted, all_valid_keys())}")
        kwargs[key] = coerce(item, hints[key], dotted)
    return cls(**kwargs)


# ----------------------------------------------------------------------------- types


def coerce(value: Any, hint: Any, key: str) -> Any:
    """`value` converted to the type `hint`, or a UserError naming `key` and the expected type.

    YAML 1.1 (PyYAML) reads `2e-5` as a string; numbers written that way are converted here.
    """
    converted, ok = _try_coerce(value, hint)
    if not ok:
        raise UserError(f"Config key '{key}' must be {describe(hint)}, got {value!r} "
                        f"({type(value).__name__}).")
    return converted


def _try_coerce(value: Any, hint: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value, True
    if origin in (Union, types.UnionType):
        if value is None:
            return None, type(None) in args
        for arg in sorted(args, key=_specificity):
            converted, ok = _try_coerce(value, arg)
            if ok:
                return converted, True
        return value, False
    if origin is Literal:
        return value, value in args
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return value, False
        item_hint = args[0] if args else Any
        items = [_try_coerce(v, item_hint) for v in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    if origin is dict or hint is dict:
        return value, isinstance(value, dict)
    if hint is type(None):
        return value, value is None
    if hint is bool:
        if isinstance(value, bool):
            return value, True
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off"):
            return value.lower() in ("true", "yes", "on"), True
        return value, False
    if hint is int:
        if isinstance(value, bool):
            return value, False
        if isinstance(value, int):
            return value, True
        if isinstance(value, float) and value.is_integer():
            return int(value), True
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return value, False
            return (int(number), True) if number.is_integer() else (value, False)
        return value, False
    if hint is float:
        if isinstance(value, bool):
            return value, False
        if isinstance(value, (int, float)):
            return float(value), True
        if isinstance(value, str):
            try:
                return float(value), True
            except ValueError:
                return value, False
        return value, False
    if hint is str or (isinstance(hint, type) and issubclass(hint, str)):  # incl. str enums
        if value is False:  # YAML 1.1 reads `eval_strategy: no` in a file as false
            return "no", True
        return value, isinstance(value, str)
    return value, True  # other rich types of TrainingArguments: it validates them itself


def _specificity(hint: Any) -> int:
    """Try stricter types first inside a Union, so '3' becomes 3 for `int | str`, not '3'."""
    order = {type(None): 0, bool: 1, int: 2, float: 3}
    return order.get(hint, 5)


def describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple):
        return f"a list of {describe(args[0]) if args else 'values'}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             type(None): "null", dict: "a mapping"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


# ----------------------------------------------------------------------------- validation


def validate(config: RunConfig) -> None:
    """Checks that span several keys; single-key type checks happened while building."""
    data = config.data
    sources = [k for k in ("builtin", "hub_id", "train_file", "train_dir") if getattr(data, k)]
    if len(sources) > 1:
        raise UserError(f"Config keys {' and '.join('data.' + s for s in sources)} both name a "
                        f"data source; keep exactly one.")
    if not 0 < data.validation_size < 1:
        raise UserError(f"Config key 'data.validation_size' must lie in (0, 1), got "
                        f"{data.validation_size}.")
    if data.test_size is not None and not 0 < data.test_size < 1:
        raise UserError(f"Config key 'data.test_size' must lie in (0, 1), got {data.test_size}.")
    if data.max_length < 8:
        raise UserError(f"Config key 'data.max_length' is {data.max_length}; use at least 8.")
    validate_images(config)
    if not config.metrics:
        raise UserError("Config key 'metrics' is empty; list at least one, e.g. [accuracy].")
    if config.training.get("load_best_model_at_end") and \
            config.training.get("eval_strategy") != config.training.get("save_strategy"):
        raise UserError("load_best_model_at_end needs eval_strategy and save_strategy to match "
                        "(both 'epoch' or both 'steps'); set them equal or set "
                        "load_best_model_at_end: false.")
    if config.training.get("push_to_hub") and not config.training.get("hub_model_id"):
        raise UserError("push_to_hub: true needs hub_model_id, the repository to push to "
                        "(e.g. hub_model_id: me/bbc-minilm).")
    if config.overfitting.train_sample_size < 0 or config.overfitting.patience < 1:
        raise UserError(f"Config keys 'overfitting.train_sample_size' (0 or more; 0 turns the "
                        f"training-sample scoring off) and 'overfitting.patience' (1 or more) got "
                        f"{config.overfitting.train_sample_size} and {config.overfitting.patience}.")
    if config.baseline.cnn_epochs < 1:
        raise UserError(f"Config key 'baseline.cnn_epochs' must be 1 or more, got "
                        f"{config.baseline.cnn_epochs}.")
    validate_masking(config)
    from toolkit.schedules import validate_schedule

    validate_schedule(config.schedule)
    from toolkit.augment.text import text_policy

    if text_policy(config.augment) is not None and config.training.get("remove_unused_columns"):
        raise UserError("augment.text needs remove_unused_columns: false (the augmentation reads "
                        "the raw text columns, which the Trainer would drop); remove the "
                        "remove_unused_columns setting or turn augment.text off.")
    if text_policy(config.augment) is not None and \
            config.training.get("dataloader_persistent_workers"):
        raise UserError("augment.text cannot be combined with dataloader_persistent_workers: "
                        "persistent workers keep the first epoch's copy of the augmentation and "
                        "would repeat its variants every epoch; set it to false.")


IMAGE_POLICIES = ("trivial", "randaugment", "autoaugment", "none")


def validate_images(config: RunConfig) -> None:
    """Model source (checkpoint xor from_config), image folders, augmentation values."""
    model, data, augment = config.model, config.data, config.augment
    if model.name_or_path and model.from_config:
        raise UserError("Config keys model.name_or_path and model.from_config both name a model; "
                        "keep name_or_path to fine-tune a checkpoint, or from_config to train "
                        "from scratch.")
    if config.task == "image-classification" and not (model.name_or_path or model.from_config):
        raise UserError("The model is not set: give model.name_or_path (a Hub id or checkpoint "
                        "folder) or model.from_config (a model type and sizes, e.g. {model_type: "
                        "vit, image_size: 28, patch_size: 4, hidden_size: 64}, to train from "
                        "scratch).")
    if model.from_config is not None:
        from_config = model.from_config
        if config.task not in ("image-classification", "masked-image-modeling"):
            raise UserError(f"model.from_config builds image models only; task "
                            f"'{config.task}' needs model.name_or_path.")
        if "model_type" not in from_config:
            raise UserError("model.from_config needs a model_type (e.g. vit, deit, swin) beside "
                            "its sizes.")
        image, patch = from_config.get("image_size"), from_config.get("patch_size")
        if isinstance(image, int) and isinstance(patch, int) and patch > 0 and image % patch:
            raise UserError(f"model.from_config.image_size {image} is not a multiple of "
                            f"patch_size {patch}: the image must split into whole patches. "
                            f"Choose e.g. patch_size {largest_divisor(image, patch)}.")
    for key in ("validation_dir", "test_dir"):
        if getattr(data, key) and not data.train_dir:
            raise UserError(f"data.{key} is set but data.train_dir is not; image folders come "
                            f"as a set: give data.train_dir too.")
    policy = augment.image
    if isinstance(policy, str) and policy not in IMAGE_POLICIES:
        raise UserError(f"Config key 'augment.image' is '{policy}'; valid: "
                        f"{', '.join(IMAGE_POLICIES)} (or true for trivial)."
                        f"{did_you_mean(policy, IMAGE_POLICIES)}")
    for key in ("horizontal_flip", "random_erasing"):
        if not 0 <= getattr(augment, key) <= 1:
            raise UserError(f"Config key 'augment.{key}' is a probability; give a number in "
                            f"[0, 1], not {getattr(augment, key)}.")
    if augment.random_resized_crop is not None and not 0 < augment.random_resized_crop <= 1:
        raise UserError(f"Config key 'augment.random_resized_crop' is the smallest fraction of "
                        f"the image a crop keeps; give a number in (0, 1], not "
                        f"{augment.random_resized_crop}.")


def largest_divisor(number: int, at_most: int) -> int:
    return max(d for d in range(1, at_most + 1) if number % d == 0)


def validate_masking(config: RunConfig) -> None:
    masking = config.masking
    for key in ("mlm_probability", "mask_ratio"):
        value = getattr(masking, key)
        if not 0 < value < 1:
            raise UserError(f"Config key 'masking.{key}' must lie strictly between 0 and 1 (a "
                            f"fraction of the input to hide), got {value}.")
    if masking.mask_patch_size is not None and masking.mask_patch_size < 1:
        raise UserError(f"Config key 'masking.mask_patch_size' must be a positive number of "
                        f"pixels, got {masking.mask_patch_size}.")
    if config.task in PRETRAIN_TASKS and config.metrics != ["loss"]:
        raise UserError(f"Task '{config.task}' has no labels, so it reports only loss (and "
                        f"perplexity for masked-lm); set metrics: [loss], not {config.metrics}.")


def describe_keys() -> str:
    """Text for `--help`: every section key with its default."""
    lines = []
    for name, section in SECTIONS.items():
        lines.append(f"  {name}:")
        for f in dataclasses.fields(section):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            lines.append(f"    {name}.{f.name} (default {default!r})")
    return "\n".join(lines)
