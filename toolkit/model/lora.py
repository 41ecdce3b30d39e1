"""LoRA with the `peft` library: a frozen encoder, low-rank updates, the new head in full.

`wrap_with_lora` turns the task's model into a `peft.PeftModel`: every targeted Linear layer
W (out x in) gets two trainable matrices A (r x in) and B (out x r, zero at the start), and
computes W x + (alpha / r) B A x; the new head (and whatever the checkpoint did not hold) is
trained in full through `modules_to_save`. Everything else is frozen.

`save_lora_run` writes the adapter alone into RUN/adapter/ (what `PeftModel.from_pretrained`
reads) and the merged model, W + (alpha / r) B A, at the run directory's top level, so
`transformers.pipeline` and `ftk predict` load the run without knowing about peft.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from toolkit.config.schema import PeftConfig
from toolkit.core.errors import UserError

if TYPE_CHECKING:  # peft is imported when LoRA is asked for
    from peft import PeftModel
    from transformers import (
        BaseImageProcessor,
        FeatureExtractionMixin,
        PreTrainedModel,
        PreTrainedTokenizerBase,
        ProcessorMixin,
    )

    # What Trainer.processing_class may hold (here a tokenizer or an image processor)
    Processor = (
        PreTrainedTokenizerBase | BaseImageProcessor | FeatureExtractionMixin | ProcessorMixin
    )

ADAPTER_DIR = "adapter"  # inside the run directory

# The layers LoRA adapts unless peft.target_modules names others: one row per naming scheme,
# tried in order; the first row whose names all occur among a model's Linear layers is the
# default. For attention that is the query and value projections (the LoRA paper's choice);
# where one fused Linear computes query, key and value together, that layer. (transformers 5
# renamed ViT's `attention.attention.query` to `attention.q_proj`; BERT keeps `query`.)
DEFAULT_TARGETS: tuple[tuple[str, ...], ...] = (
    ("query", "value"),  # BERT, RoBERTa, XLM-R, ELECTRA, ALBERT, MiniLM
    ("q_proj", "v_proj"),  # ViT, DeiT, BEiT, DINOv2, Swin in transformers 5; many newer models
    ("q_lin", "v_lin"),  # DistilBERT
    ("query_proj", "value_proj"),  # DeBERTa-v2/v3
    ("q", "v"),  # MPNet
    ("Wqkv",),  # ModernBERT: query, key and value in one fused layer
    ("in_proj",),  # DeBERTa (v1): fused query, key and value
    ("qkv",),  # Hiera: fused query, key and value
    # ConvNeXt (v1, v2) has no attention. Its blocks mix channels only in these two pointwise
    # layers (the inverted-bottleneck MLP, written as Linear), which hold nearly all of a
    # block's weights; the 7x7 depthwise convolution is per channel and small. Adapting both
    # is LoRA's usual choice for MLP-only targets.
    ("pwconv1", "pwconv2"),
)

# What a wrapped model carries for the console, metrics.json and the model card.
LORA_SUMMARY_ATTR = "ftk_lora_summary"
# What load_checkpoint_model leaves on a model: the tensors the checkpoint did not hold.
NEW_TENSORS_ATTR = "ftk_new_tensors"


def linear_layers(model: nn.Module) -> dict[str, list[str]]:
    """Last part of each Linear layer's name -> the full names of the layers called that."""
    names: dict[str, list[str]] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name:
            names.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    return names


def default_targets(model: nn.Module) -> list[str]:
    """The first row of DEFAULT_TARGETS whose names are all Linear layers of `model`."""
    present = linear_layers(model)
    for names in DEFAULT_TARGETS:
        if all(name in present for name in names):
            return list(names)
    looked_for = ", ".join("/".join(names) for names in DEFAULT_TARGETS)
    raise UserError(
        f"peft.method lora found none of the layers it adapts by default in "
        f"{type(model).__name__} (it looks for the attention query/value projections or a "
        f"fused query-key-value layer, by these names: {looked_for}). Name the layers to "
        f"adapt with peft.target_modules (usually the attention's query and value "
        f"projections); the model's Linear layers are called: {sample_of(present)}."
    )


def check_targets(model: nn.Module, targets: list[str]) -> None:
    """Every target names a Linear layer of `model` (its last name part, or a full name)."""
    present = linear_layers(model)
    full_names = {n for names in present.values() for n in names}
    missing = [t for t in targets if t not in present and t not in full_names]
    if missing:
        raise UserError(
            f"peft.target_modules names {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not a Linear layer of "
            f"{type(model).__name__} (looked for: {', '.join(targets)}). Its Linear layers "
            f"are called: {sample_of(present)}. Write those names (the last part, e.g. "
            f"query), or null for the default query/value projections."
        )


def sample_of(present: dict[str, list[str]], count: int = 12) -> str:
    """'query (e.g. bert.encoder.layer.0.attention.self.query), key, ...' for an error."""
    items = [f"{short} (e.g. {names[0]})" for short, names in list(present.items())[:count]]
    more = len(present) - count
    return ", ".join(items) + (f" and {more} more" if more > 0 else "") if items else "none"


def head_modules(model: PreTrainedModel) -> list[str]:
    """Modules to train in full: the model's children outside its encoder that hold weights
    (the new classifier; DistilBERT's pre_classifier too), plus encoder modules whose weights
    the checkpoint did not hold (a pooler after masked pre-training), which would otherwise
    stay frozen at their random start."""
    prefix = getattr(model, "base_model_prefix", "")
    heads = [
        name
        for name, child in model.named_children()
        if name != prefix and any(True for _ in child.parameters())
    ]
    new = getattr(model, NEW_TENSORS_ATTR, ())
    fresh = sorted({key.rsplit(".", 1)[0] for key in new if key.startswith(prefix + ".")})
    return heads + [name for name in fresh if not any(name.startswith(h + ".") for h in heads)]


def check_modules_to_save(model: nn.Module, names: list[str]) -> None:
    modules = [n for n, _ in model.named_modules() if n]
    missing = [n for n in names if not any(m == n or m.endswith("." + n) for m in modules)]
    if missing:
        children = ", ".join(n for n, _ in model.named_children())
        raise UserError(
            f"peft.modules_to_save names {', '.join(missing)}, which {type(model).__name__} "
            f"does not have. Its top-level modules are: {children}; write null to train the "
            f"new head in full by default."
        )


def enclosing_blocks(module_names: list[str]) -> set[str]:
    """The numbered blocks (encoder layers) the modules sit in: each name cut after its last
    number ('...encoder.layer.3.attention.self.query' -> '...encoder.layer.3'), so query and
    value of one layer count once and a Swin or ConvNeXt block is told from its stage."""
    blocks = set()
    for name in module_names:
        parts = name.split(".")
        numbered = [i for i, part in enumerate(parts) if part.isdigit()]
        blocks.add(".".join(parts[: numbered[-1] + 1]) if numbered else name)
    return blocks


def adapted_count(summary: dict[str, Any]) -> str:
    """'12 modules in 6 layers': what LoRA adapted, as the console and the model card say it."""
    modules, blocks = summary["adapted_modules"], summary["adapted_blocks"]
    return f"{modules} module{'s' * (modules != 1)} in {blocks} layer{'s' * (blocks != 1)}"


def wrap_with_lora(model: PreTrainedModel, cfg: PeftConfig) -> PeftModel:
    """`model` as a peft.PeftModel with LoRA on the target modules; prints what trains."""
    from peft import LoraConfig, get_peft_model

    targets = list(cfg.target_modules) if cfg.target_modules else default_targets(model)
    check_targets(model, targets)
    to_save = list(cfg.modules_to_save) if cfg.modules_to_save else head_modules(model)
    check_modules_to_save(model, to_save)
    total = sum(p.numel() for p in model.parameters())
    lora_config = LoraConfig(
        r=cfg.r,
        # peft annotates lora_alpha int but only divides by it (alpha / r): a float is fine
        lora_alpha=cfg.alpha,  # type: ignore[arg-type]
        lora_dropout=cfg.dropout,
        target_modules=targets,
        modules_to_save=to_save,
        bias="none",
    )
    wrapped = get_peft_model(model, lora_config)
    adapted = [
        n
        for n, m in wrapped.named_modules()
        if isinstance(getattr(m, "lora_A", None), torch.nn.ModuleDict)
    ]
    summary = {
        "method": "lora",
        "r": cfg.r,
        "alpha": cfg.alpha,
        "dropout": cfg.dropout,
        "target_modules": targets,
        "adapted_modules": len(adapted),
        "adapted_blocks": len(enclosing_blocks(adapted)),
        "modules_to_save": to_save,
        **trained_counts(wrapped, total),
    }
    setattr(wrapped, LORA_SUMMARY_ATTR, summary)
    return wrapped


def trained_counts(wrapped: nn.Module, total: int) -> dict[str, Any]:
    """Trained parameters (LoRA matrices, full modules), against the model's own `total`."""
    lora = full = 0
    for name, param in wrapped.named_parameters():
        if param.requires_grad:
            if ".lora_" in name:
                lora += param.numel()
            else:
                full += param.numel()
    return {
        "trained_parameters": lora + full,
        "lora_parameters": lora,
        "full_module_parameters": full,
        "model_parameters": total,
        "trained_share": (lora + full) / total,
    }


def lora_summary(model: nn.Module | None) -> dict[str, Any] | None:
    """What `wrap_with_lora` recorded about `model` (None: not a LoRA model)."""
    return getattr(model, LORA_SUMMARY_ATTR, None)


def describe_lora(summary: dict[str, Any]) -> str:
    return (
        f"LoRA: r {summary['r']}, alpha {summary['alpha']:g} (scale "
        f"{summary['alpha'] / summary['r']:g}), dropout {summary['dropout']:g}, on "
        f"{', '.join(summary['target_modules'])} ({adapted_count(summary)}); "
        f"trained in full: {', '.join(summary['modules_to_save'])}\n"
        f"Trained parameters: {summary['trained_parameters']:,} of "
        f"{summary['model_parameters']:,} ({100 * summary['trained_share']:.2f}%): "
        f"LoRA {summary['lora_parameters']:,} + full modules "
        f"{summary['full_module_parameters']:,}"
    )


def merged_copy(wrapped: PeftModel) -> PreTrainedModel:
    """A plain transformers model with W + (alpha / r) B A in each adapted layer and the
    trained head; the wrapped model itself is left as it is."""
    return copy.deepcopy(wrapped).merge_and_unload()


def save_lora_run(
    wrapped: PeftModel,
    processor: Processor | None,
    folder: Path,
) -> None:
    """RUN/adapter/: adapter_config.json + adapter_model.safetensors; RUN/: the merged model
    and its processor, as a full fine-tune would leave them."""
    wrapped.save_pretrained(str(folder / ADAPTER_DIR), safe_serialization=True)
    merged = merged_copy(wrapped)
    merged.save_pretrained(str(folder))
    if processor is not None:
        processor.save_pretrained(str(folder))
