"""Pre-trained encoder -> fine-tuning model: check that every encoder weight really transfers.

`from_pretrained` quietly initialises at random whatever it cannot find, so a checkpoint that
does not fit (another architecture, other sizes) would still "load" and then train from noise.
Two checks stop that:

- `check_encoder_loaded`: after loading, no tensor of the encoder (the base model: `bert.*`,
  `vit.*`) may be missing or reshaped. New heads are expected: the task head, and the pooler,
  which masked pre-training does not train (BertForMaskedLM and the SimMIM models of ViT, DeiT
  and Swin have none), so fine-tuning from their output always starts a fresh one.
- `check_architectures_match`: before the slow pre-training of `ftk train --pretrain` starts,
  the model it pre-trains must be the model the fine-tuning recipe names (same type and sizes).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.config.schema import ModelConfig
from toolkit.core.errors import UserError, did_you_mean
from toolkit.model.packaged import resolve_model_path

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

# Config keys that change the encoder's tensors (names or shapes); others (dropout, labels) do not.
ARCHITECTURE_KEYS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "type_vocab_size",
    "image_size",
    "patch_size",
    "num_channels",
    # Swin: the widths, depths, heads and window of its stages shape its tensors
    "embed_dim",
    "depths",
    "num_heads",
    "window_size",
)


def is_new_head(key: str) -> bool:
    return ".pooler." in key or key.endswith(".mask_token")


def encoder_keys(keys: Iterable[str], model: PreTrainedModel) -> list[str]:
    prefix = f"{model.base_model_prefix}."
    return sorted(k for k in keys if k.startswith(prefix) and not is_new_head(k))


def check_encoder_loaded(model: PreTrainedModel, loading_info: dict[str, Any], source: str) -> None:
    """Fail when the checkpoint at `source` left any encoder tensor missing or mis-shaped."""
    missing = encoder_keys(loading_info.get("missing_keys", []), model)
    mismatched = encoder_keys(
        [m[0] if isinstance(m, tuple) else m for m in loading_info.get("mismatched_keys", [])],
        model,
    )
    if not missing and not mismatched:
        return
    bad = missing + mismatched
    shown = ", ".join(bad[:6]) + (" ..." if len(bad) > 6 else "")
    raise UserError(
        f"The checkpoint '{source}' does not fit the {type(model).__name__} being built: "
        f"{len(missing)} encoder tensors are missing and {len(mismatched)} have other shapes "
        f"({shown}). They would start from random values, so the pre-training would be lost. "
        f"Fine-tune the same architecture that was pre-trained (same model type and sizes: "
        f"compare its config.json with your model settings)."
    )


def describe_new_weights(model: PreTrainedModel, loading_info: dict[str, Any]) -> str:
    """One line for the console: what loaded, what starts fresh (missing from the checkpoint,
    or there in another shape) and what the checkpoint held that the model does not use (a
    pre-training head). transformers' own report of the same is held back (load_report.py)."""
    mismatched = loading_info.get("mismatched_keys", [])
    reshaped = [m[0] if isinstance(m, tuple) else m for m in mismatched]
    new = sorted({*loading_info.get("missing_keys", []), *reshaped})
    total = len(model.state_dict())
    line = (
        f"Loaded {total - len(new)} of {total} tensors from the checkpoint; new (random): "
        f"{', '.join(heads_of(new)) or 'none'}"
    )
    if reshaped:
        line += f" ({', '.join(heads_of(reshaped))}: another shape in the checkpoint)"
    unused = heads_of(loading_info.get("unexpected_keys", []))
    if unused:
        line += f"; unused from the checkpoint: {', '.join(unused)}"
    return line


def heads_of(keys: Iterable[str]) -> list[str]:
    """Tensor names -> the modules holding them, two levels deep (`classifier`, `bert.pooler`)."""
    return sorted({".".join(k.split(".")[:2]) for k in keys})


def architecture(cfg: ModelConfig) -> dict[str, Any] | None:
    """The encoder-shaping settings a model section names, or None when it names no model."""
    if cfg.from_config:
        return config_from_dict(cfg.from_config).to_dict()  # with the defaults it leaves out
    if not cfg.name_or_path:
        return None
    path = Path(resolve_model_path(cfg.name_or_path)) / "config.json"
    if not path.is_file():
        return None  # a Hub id: checked after loading, by check_encoder_loaded
    return json.loads(path.read_text())


def config_from_dict(values: dict[str, Any], **extra: Any) -> PretrainedConfig:
    """model.from_config -> a transformers config (the model type picks the class). A size key
    that config class does not know is an error, not silently ignored; `extra` adds keys the
    toolkit sets itself (labels)."""
    from transformers import CONFIG_MAPPING, AutoConfig

    values = dict(values)
    model_type = values.pop("model_type", None)
    if not model_type:
        raise UserError(
            "model.from_config needs a model_type (e.g. vit, bert) besides the "
            "sizes, so ftk knows which architecture to build."
        )
    if model_type not in CONFIG_MAPPING:
        raise UserError(
            f"model.from_config.model_type '{model_type}' is not a transformers "
            f"model type.{did_you_mean(model_type, CONFIG_MAPPING.keys())}"
        )
    defaults = CONFIG_MAPPING[model_type]()
    unknown = [key for key in values if not hasattr(defaults, key)]
    if unknown:
        raise UserError(
            f"model.from_config has key(s) {', '.join(unknown)} that a "
            f"'{model_type}' config does not know."
            f"{did_you_mean(unknown[0], vars(defaults))}"
        )
    # a model type with two heads for a task (DeiT: with and without a teacher) is resolved
    # through config.architectures, which a config built from sizes lacks: [] picks the first
    values.setdefault("architectures", [])
    try:
        return AutoConfig.for_model(model_type, **values, **extra)
    except (ValueError, TypeError) as exc:
        raise UserError(
            f"model.from_config could not build a '{model_type}' config: {exc}"
        ) from None


def check_architectures_match(
    pretrain: ModelConfig, finetune: ModelConfig, pretrain_file: str, finetune_file: str
) -> None:
    """The pre-trained model and the recipe's own model must have the same encoder."""
    ours, theirs = architecture(pretrain), architecture(finetune)
    if ours is None or theirs is None:
        return
    differ = [
        f"{key}: {ours.get(key)} vs {theirs.get(key)}"
        for key in ARCHITECTURE_KEYS
        if key in ours and key in theirs and ours[key] != theirs[key]
    ]
    if differ:
        raise UserError(
            f"The pre-training recipe '{pretrain_file}' trains a different architecture than the "
            f"fine-tuning recipe '{finetune_file}' names ({'; '.join(differ)}; pre-training vs "
            f"fine-tuning). The pre-trained encoder could not be loaded into that model. Make "
            f"the model sections of the two recipes name the same model type and sizes."
        )
