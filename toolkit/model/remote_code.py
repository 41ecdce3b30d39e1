"""Checkpoints that ship their own modelling code: config.json's `auto_map` names classes in
Python files beside the weights, for a model type transformers does not ship. Loading one runs
that code, so ftk does it only when `model.trust_remote_code` says so, and says so by name
before transformers fails with its own wording (or, with trust_remote_code left unset, asks on
the terminal whether to run the code).

A checkpoint of a type transformers ships (bert, vit, ...) with an `auto_map` beside it loads
with transformers' own classes when remote code is off, so it is not refused.
"""

from __future__ import annotations

from pathlib import Path

from transformers import CONFIG_MAPPING, PretrainedConfig


def custom_code_needed(location: str | Path, revision: str | None = None) -> str | None:
    """Why loading `location` (a folder, or a Hub id whose config.json is in the cache) would
    run code shipped with it, in words for a message; None when it would not, or when its
    config.json cannot be read here (then the loader's own error says what is wrong). Never
    downloads: it is asked before loading a folder, or after a load that fetched config.json."""
    try:
        config, _ = PretrainedConfig.get_config_dict(
            str(location), revision=revision, local_files_only=True
        )
    except (OSError, ValueError):
        return None
    auto_map = config.get("auto_map")
    model_type = config.get("model_type")
    if not isinstance(auto_map, dict) or model_type in CONFIG_MAPPING:
        return None
    classes = sorted({name for value in auto_map.values() for name in class_names(value)})
    kind = f"model type '{model_type}'" if model_type else "a model with no model_type"
    return (
        f"its config.json's auto_map names {', '.join(classes)}, code shipped with the model "
        f"for {kind}, which transformers does not ship"
    )


def class_names(value: object) -> list[str]:
    """An auto_map entry's class names (a tokenizer's entry is a [slow, fast] pair, either
    possibly null)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return [str(v) for v in values if v]
