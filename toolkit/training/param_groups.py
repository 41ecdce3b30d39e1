"""Optimizer parameter groups for layer-wise LR decay and a separate LR for the new head.

With L encoder layers, `schedule.layer_decay` = d and `schedule.head_lr_multiplier` = h:

    group            peak LR multiplier
    head             h            parameters outside the base model (the new classifier)
    top              1            inside the base model, above the layers (pooler, final norm)
    layer.{L-1}      1            the top encoder layer
    layer.{i}        d^(L-1-i)    each layer below the top: one more factor d per layer
    embeddings       d^L          lowest of all

Every group is split into the parameters that get weight decay and those that do not (biases
and normalization weights, chosen by `Trainer.get_decay_parameter_names`). Each group keeps its
`name` in the optimizer's group dict so the history and plots can label it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.config.schema import ScheduleConfig
from toolkit.core.errors import UserError

if TYPE_CHECKING:
    from torch import nn

# Numbered encoder layers in common architectures: BERT/RoBERTa/ELECTRA/DeBERTa/ViT/BEiT
# (`encoder.layer.N`), DistilBERT (`transformer.layer.N`), newer encoders (`layers.N`).
LAYER_PATTERNS = [
    re.compile(p)
    for p in (
        r"(?:^|\.)encoder\.layers?\.(\d+)\.",
        r"(?:^|\.)transformer\.layers?\.(\d+)\.",
        r"(?:^|\.)layers\.(\d+)\.",
    )
]
EMBEDDING_PATTERN = re.compile(r"embed")


@dataclass
class GroupSpec:
    name: str
    multiplier: float  # of the peak LR
    names: list[str]  # parameter names, in model order


def uses_param_groups(schedule: ScheduleConfig) -> bool:
    """Whether the optimizer needs the toolkit's named groups (else the Trainer's default)."""
    return schedule.layer_decay is not None or schedule.head_lr_multiplier != 1.0


def layer_index(name: str) -> int | None:
    for pattern in LAYER_PATTERNS:
        match = pattern.search(name)
        if match:
            return int(match.group(1))
    return None


def base_prefix(model: nn.Module) -> str:
    """'bert.' for BertForSequenceClassification; '' for a bare base model (no head);
    'base_model.model.bert.' for it wrapped by peft (LoRA), whose trained head then lies
    outside it as before (`base_model.model.classifier.modules_to_save...`)."""
    get_base_model = getattr(model, "get_base_model", None)
    if get_base_model is not None:  # a peft.PeftModel
        inner = base_prefix(get_base_model())
        return f"base_model.model.{inner}" if inner else ""
    prefix = getattr(model, "base_model_prefix", "")
    has_base = prefix and any(n.startswith(prefix + ".") for n, _ in model.named_parameters())
    return prefix + "." if has_base else ""


def group_specs(model: nn.Module, schedule: ScheduleConfig) -> list[GroupSpec]:
    """Trainable parameter names grouped by LR multiplier, lowest layers first, head last."""
    params = [n for n, p in model.named_parameters() if p.requires_grad]
    prefix = base_prefix(model)
    body = [n for n in params if n.startswith(prefix)]
    head = [n for n in params if not n.startswith(prefix)]
    h = schedule.head_lr_multiplier
    if schedule.layer_decay is None:
        return [s for s in (GroupSpec("body", 1.0, body), GroupSpec("head", h, head)) if s.names]
    return layer_specs(model, body, schedule.layer_decay) + (
        [GroupSpec("head", h, head)] if head else []
    )


def layer_specs(model: nn.Module, body: list[str], decay: float) -> list[GroupSpec]:
    indices = {n: layer_index(n) for n in body}
    found = sorted({i for i in indices.values() if i is not None})
    if not found:
        raise UserError(
            f"schedule.layer_decay needs the model's encoder layers, but "
            f"{type(model).__name__} has no parameters named like '*.encoder.layer.N.*' "
            f"(BERT, ViT), '*.transformer.layer.N.*' (DistilBERT) or '*.layers.N.*'. Set "
            f"schedule.layer_decay: null for this model."
        )
    top = found[-1]
    layers = {i: GroupSpec(f"layer.{i}", decay ** (top - i), []) for i in found}
    embeddings = GroupSpec("embeddings", decay ** (top + 1), [])
    above = GroupSpec("top", 1.0, [])
    for name, index in indices.items():
        if index is not None:
            layers[index].names.append(name)
        elif EMBEDDING_PATTERN.search(name):
            embeddings.names.append(name)
        else:
            above.names.append(name)
    specs = [embeddings, *(layers[i] for i in found), above]
    return [s for s in specs if s.names]


def build_param_groups(
    model: nn.Module,
    schedule: ScheduleConfig,
    peak_lr: float,
    weight_decay: float,
    decay_names: set[str],
) -> list[dict[str, Any]]:
    """torch optimizer groups: one per (spec, with/without weight decay), each with its name."""
    by_name = dict(model.named_parameters())
    groups = []
    for spec in group_specs(model, schedule):
        for decays in (True, False):
            names = [n for n in spec.names if (n in decay_names) == decays]
            if names:
                groups.append(
                    {
                        "params": [by_name[n] for n in names],
                        "name": spec.name,
                        "lr": peak_lr * spec.multiplier,
                        "weight_decay": weight_decay if decays else 0.0,
                    }
                )
    return groups
