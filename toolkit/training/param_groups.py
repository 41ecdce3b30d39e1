"""Optimizer parameter groups for layer-wise LR decay and a separate LR for the new head.

A parameter's depth is the forward-order position of the encoder block it belongs to, counted
over the whole encoder: layer N of a flat encoder is depth N; in a staged encoder (Swin,
ConvNeXt) block B of stage S comes after every block of the stages before it. With D depths,
`schedule.layer_decay` = d and `schedule.head_lr_multiplier` = h:

    group            peak LR multiplier
    head             h            parameters outside the base model (the new classifier)
    top              1            inside the base model, above the layers (pooler, final norm)
    depth D-1        1            the top block: `layer.{N}`, or `stage.{S}.block.{B}` if staged
    depth k          d^(D-1-k)    each block below the top: one more factor d per depth
    embeddings       d^D          lowest of all

The depths are found by name through `LAYER_NAMINGS`, one row per naming scheme; the first row
that names any parameter of the model is its scheme:

    block names                  stage-level layers                  families
    encoder.stages.S.layers.B    downsampling_layer: with block 0    ConvNeXt, ConvNeXt V2,
                                 downsample: with the last block     ResNet, RegNet, FocalNet
    encoder.layers.S.blocks.B    downsample: with the last block     Swin, Swin V2
    encoder.layer.N                                                  BERT, RoBERTa, XLM-R,
                                                                     ELECTRA, DeBERTa-v2, MPNet,
                                                                     DINOv2
    transformer.layer.N                                              DistilBERT
    layers.N                                                         ModernBERT, ViT, DeiT, BEiT

A stage-level layer (a downsampling or patch-merging layer) shares the depth of the block it
runs next to in the forward pass: ConvNeXt downsamples before a stage's first block and Swin
merges patches after a stage's last block (as ConvNeXt's and SimMIM's layer-decay code group
them), so Swin gets one depth per block, 12 for Swin-T's 2+2+6+2. A model named by no row
(GPT-2's `h.N`, ALBERT's one shared layer) is refused with a pointer to
`schedule.layer_decay: null`.

Every group is split into the parameters that get weight decay and those that do not (biases
and normalization weights, chosen by `Trainer.get_decay_parameter_names`). Each group keeps its
`name` in the optimizer's group dict so the history and plots can label it.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.config.schema import ScheduleConfig
from toolkit.core.errors import UserError

if TYPE_CHECKING:
    from torch import nn

Position = tuple[int, ...]  # (N,) in a flat encoder, (S, B) in a staged one: sorts in forward order


@dataclass(frozen=True)
class LayerNaming:
    """How one naming scheme numbers its encoder blocks. Names are written with their numbers as
    capital letters: S a stage, B a block within it, N a layer of a flat encoder."""

    blocks: str  # "encoder.stages.S.layers.B"
    group: str  # the optimizer group's name, formatted with the block's numbers
    families: str  # who names their layers so, for the refusal and the line said at the start
    before: str | None = None  # a stage-level layer that runs before its stage's blocks
    after: str | None = None  # ... and one that runs after them

    def block_position(self, name: str) -> Position | None:
        match = name_pattern(self.blocks).search(name)
        return tuple(int(n) for n in match.groups()) if match else None

    def stage_of(self, layout: str | None, name: str) -> int | None:
        match = name_pattern(layout).search(name) if layout else None
        return int(match.group(1)) if match else None


# First match wins, so a staged row comes before the flat rows whose names its names contain
# (Swin's `encoder.layers.S...` would read as `encoder.layers.N`, ConvNeXt's as `layers.N`).
LAYER_NAMINGS = (
    LayerNaming(
        "encoder.stages.S.layers.B",
        "stage.{}.block.{}",
        "ConvNeXt, ConvNeXt V2, ResNet, RegNet, FocalNet",
        before="encoder.stages.S.downsampling_layer",
        after="encoder.stages.S.downsample",
    ),
    LayerNaming(
        "encoder.layers.S.blocks.B",
        "stage.{}.block.{}",
        "Swin, Swin V2",
        after="encoder.layers.S.downsample",
    ),
    LayerNaming(
        "encoder.layer.N", "layer.{}", "BERT, RoBERTa, XLM-R, ELECTRA, DeBERTa-v2, MPNet, DINOv2"
    ),
    LayerNaming("transformer.layer.N", "layer.{}", "DistilBERT"),
    # it also reads a flat `encoder.layers.N` or `transformer.layers.N`
    LayerNaming("layers.N", "layer.{}", "ModernBERT, ViT, DeiT, BEiT"),
)
EMBEDDING_PATTERN = re.compile(r"embed")
NUMBER_LETTERS = {"S", "B", "N"}


@functools.cache
def name_pattern(layout: str) -> re.Pattern[str]:
    """'encoder.layer.N' -> a pattern for '...encoder.layer.<number>.' with the number captured."""
    parts = [r"(\d+)" if part in NUMBER_LETTERS else re.escape(part) for part in layout.split(".")]
    return re.compile(r"(?:^|\.)" + r"\.".join(parts) + r"\.")


@dataclass
class GroupSpec:
    name: str
    multiplier: float  # of the peak LR
    names: list[str]  # parameter names, in model order


def uses_param_groups(schedule: ScheduleConfig) -> bool:
    """Whether the optimizer needs the toolkit's named groups (else the Trainer's default)."""
    return schedule.layer_decay is not None or schedule.head_lr_multiplier != 1.0


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
    depths = layer_depths(model)
    return layer_specs(depths, body, schedule.layer_decay) + (
        [GroupSpec("head", h, head)] if head else []
    )


@dataclass
class LayerDepths:
    """Where the base model's blocks sit in the forward pass, lowest first."""

    naming: LayerNaming
    groups: list[str]  # each depth's group name
    depth_of: dict[str, int]  # parameter name -> depth, for parameters of a block or beside one


def layer_depths(model: nn.Module) -> LayerDepths:
    """Depths over every parameter of the base model, trainable or not, so a frozen block still
    counts as a step down."""
    prefix = base_prefix(model)
    names = [n for n, _ in model.named_parameters() if n.startswith(prefix)]
    naming = naming_of(model, names)
    blocks = sorted({p for n in names if (p := naming.block_position(n)) is not None})
    depth_by_block = {block: depth for depth, block in enumerate(blocks)}
    depth_of = {}
    for name in names:
        block = block_of(naming, blocks, name)
        if block is not None:
            depth_of[name] = depth_by_block[block]
    return LayerDepths(naming, [naming.group.format(*b) for b in blocks], depth_of)


def naming_of(model: nn.Module, names: list[str]) -> LayerNaming:
    for naming in LAYER_NAMINGS:
        if any(naming.block_position(n) is not None for n in names):
            return naming
    known = ", ".join(f"'*.{n.blocks}.*' ({n.families})" for n in LAYER_NAMINGS)
    raise UserError(
        f"schedule.layer_decay needs the model's encoder layers, but {type(model).__name__} "
        f"has no parameters named like {known}; a model whose layers are shared (one set of "
        f"weights for all, ALBERT) has no depths to scale. Set schedule.layer_decay: null for "
        f"this model."
    )


def block_of(naming: LayerNaming, blocks: list[Position], name: str) -> Position | None:
    """The block a parameter belongs to: its own, or for a stage-level layer the block it runs
    next to (`blocks` sorted in forward order)."""
    own = naming.block_position(name)
    if own is not None:
        return own
    stage = naming.stage_of(naming.before, name)
    if stage is not None:  # the first block from this stage on
        return blocks[min(bisect.bisect_left(blocks, (stage,)), len(blocks) - 1)]
    stage = naming.stage_of(naming.after, name)
    if stage is not None:  # the last block up to the end of this stage
        return blocks[max(bisect.bisect_left(blocks, (stage + 1,)) - 1, 0)]
    return None


def layer_specs(depths: LayerDepths, body: list[str], decay: float) -> list[GroupSpec]:
    top = len(depths.groups) - 1
    layers = [GroupSpec(name, decay ** (top - d), []) for d, name in enumerate(depths.groups)]
    embeddings = GroupSpec("embeddings", decay ** (top + 1), [])
    above = GroupSpec("top", 1.0, [])
    for name in body:
        depth = depths.depth_of.get(name)
        if depth is not None:
            layers[depth].names.append(name)
        elif EMBEDDING_PATTERN.search(name):
            embeddings.names.append(name)
        else:
            above.names.append(name)
    specs = [embeddings, *layers, above]
    return [s for s in specs if s.names]


def layer_decay_line(model: nn.Module | None, schedule: ScheduleConfig) -> str | None:
    """What layer decay found, said once as a run starts: the depths and the names read. None
    without layer decay (the only case where `model` may be None)."""
    decay = schedule.layer_decay
    if decay is None:
        return None
    assert model is not None  # the depths are found among the model's parameter names
    depths = layer_depths(model)
    count = len(depths.groups)
    return (
        f"layer decay {decay:g} over {count} depths ({depths.naming.blocks}): "
        f"embeddings x{decay**count:.3g} up to {depths.groups[-1]} x1"
    )


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
