"""Layer-wise LR decay by true depth (`training/param_groups.py`) on tiny models of each family
built from configs: every trainable parameter in one group, multipliers rising in the order a
forward pass really runs the parameters (watched with hooks, not read from names), staged
encoders counted stage by stage, flat encoders grouped as before, ALBERT refused."""

from __future__ import annotations

import pytest
import torch
import transformers as hf
from torch import nn

from toolkit.config.schema import ScheduleConfig
from toolkit.core.errors import UserError
from toolkit.training import param_groups
from toolkit.training.param_groups import GroupSpec, LayerNaming, group_specs, layer_decay_line
from toolkit.training.schedule_report import report_schedule
from toolkit.training.schedules import summarize_schedule

DECAY, HEAD = 0.5, 3.0
SCHEDULE = ScheduleConfig(layer_decay=DECAY, head_lr_multiplier=HEAD)
TEXT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "vocab_size": 99}
PATCHES = {"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_hidden_layers": 2}
STAGES = {"image_size": 32, "depths": [1, 2]}


def text_input() -> dict[str, torch.Tensor]:
    return {"input_ids": torch.randint(3, 99, (1, 8))}


def image_input() -> dict[str, torch.Tensor]:
    return {"pixel_values": torch.randn(1, 3, 32, 32)}


def image_model(config: hf.PretrainedConfig) -> nn.Module:
    return hf.AutoModelForImageClassification.from_config(config)


# family -> (tiny model, its input, the groups of its encoder blocks in forward order)
FAMILIES = {
    "bert": (
        lambda: hf.BertForSequenceClassification(hf.BertConfig(intermediate_size=37, **TEXT)),
        text_input,
        ["layer.0", "layer.1"],
    ),
    "distilbert": (
        lambda: hf.DistilBertForSequenceClassification(
            hf.DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=37, vocab_size=99)
        ),
        text_input,
        ["layer.0", "layer.1"],
    ),
    "modernbert": (
        lambda: hf.ModernBertForSequenceClassification(
            hf.ModernBertConfig(
                intermediate_size=37,
                pad_token_id=0,
                bos_token_id=1,
                eos_token_id=2,
                cls_token_id=1,
                sep_token_id=2,
                **TEXT,
            )
        ),
        text_input,
        ["layer.0", "layer.1"],
    ),
    "vit": (
        lambda: image_model(hf.ViTConfig(num_attention_heads=2, intermediate_size=37, **PATCHES)),
        image_input,
        ["layer.0", "layer.1"],
    ),
    "dinov2": (
        lambda: image_model(hf.Dinov2Config(num_attention_heads=2, mlp_ratio=1, **PATCHES)),
        image_input,
        ["layer.0", "layer.1"],
    ),
    "beit": (
        lambda: image_model(hf.BeitConfig(num_attention_heads=2, intermediate_size=37, **PATCHES)),
        image_input,
        ["layer.0", "layer.1"],
    ),
    "swin": (
        lambda: image_model(
            hf.SwinConfig(embed_dim=16, num_heads=[2, 2], patch_size=4, window_size=2, **STAGES)
        ),
        image_input,
        ["stage.0.block.0", "stage.1.block.0", "stage.1.block.1"],
    ),
    "convnext": (
        lambda: image_model(hf.ConvNextConfig(hidden_sizes=[16, 32], num_stages=2, **STAGES)),
        image_input,
        ["stage.0.block.0", "stage.1.block.0", "stage.1.block.1"],
    ),
}


def specs_of(model: nn.Module) -> dict[str, GroupSpec]:
    return {spec.name: spec for spec in group_specs(model, SCHEDULE)}


def group_of(specs: dict[str, GroupSpec], parameter: str) -> GroupSpec:
    return next(spec for spec in specs.values() if parameter in spec.names)


def forward_order(model: nn.Module, inputs: dict[str, torch.Tensor]) -> dict[str, int]:
    """Each parameter's place in one forward pass: when its module (or the nearest enclosing
    module that is called as one) first ran."""
    started: dict[str, int] = {}

    def first_call(name: str):
        def hook(_module: nn.Module, _args: tuple) -> None:  # None: the inputs pass unchanged
            started.setdefault(name, len(started))

        return hook

    hooks = [module.register_forward_pre_hook(first_call(n)) for n, module in model.named_modules()]
    with torch.no_grad():
        model.eval()(**inputs)
    for hook in hooks:
        hook.remove()
    order = {}
    for parameter, _ in model.named_parameters():
        owner = parameter.rsplit(".", 1)[0]
        while owner not in started:
            owner = owner.rsplit(".", 1)[0] if "." in owner else ""
        order[parameter] = started[owner]
    return order


@pytest.mark.parametrize("family", FAMILIES)
def test_every_trainable_parameter_is_in_exactly_one_group(family):
    build, _, _ = FAMILIES[family]
    model = build()
    grouped = [name for spec in group_specs(model, SCHEDULE) for name in spec.names]
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert sorted(grouped) == sorted(trainable)


@pytest.mark.parametrize("family", FAMILIES)
def test_multipliers_rise_with_forward_depth(family):
    build, inputs, blocks = FAMILIES[family]
    model = build()
    specs = specs_of(model)
    names = list(specs)
    assert names[0] == "embeddings" and names[-1] == "head"
    assert [n for n in names if n not in ("embeddings", "top", "head")] == blocks
    # embeddings lowest, then each block strictly above the one it runs after, as the docstring's
    # table says: the top block at 1, one factor DECAY per depth below it
    rising = [specs[n].multiplier for n in ["embeddings", *blocks]]
    assert rising == pytest.approx([DECAY ** (len(blocks) - d) for d in range(len(blocks) + 1)])
    assert specs["head"].multiplier == HEAD
    assert specs.get("top", specs[blocks[-1]]).multiplier == 1.0

    # the order the forward pass runs parameters in never steps down to a lower multiplier
    order = forward_order(model, inputs())
    body = [n for spec in specs.values() if spec.name != "head" for n in spec.names]
    multipliers = [group_of(specs, n).multiplier for n in sorted(body, key=order.__getitem__)]
    assert multipliers == sorted(multipliers), family


def test_convnext_counts_blocks_across_stages_with_downsampling_where_it_runs():
    specs = specs_of(FAMILIES["convnext"][0]())
    stage_0 = group_of(specs, "convnext.encoder.stages.0.layers.0.dwconv.weight")
    stage_1 = group_of(specs, "convnext.encoder.stages.1.layers.0.dwconv.weight")
    last = group_of(specs, "convnext.encoder.stages.1.layers.1.dwconv.weight")
    assert stage_0.multiplier < stage_1.multiplier < last.multiplier
    # stage 1 downsamples before its first block runs: it trains with that block, not at the top
    downsampling = group_of(specs, "convnext.encoder.stages.1.downsampling_layer.1.weight")
    assert downsampling is stage_1


def test_swin_gets_one_group_per_block_and_merges_patches_with_the_block_before():
    specs = specs_of(FAMILIES["swin"][0]())
    assert [n for n in specs if n.startswith("stage.")] == FAMILIES["swin"][2]
    merging = group_of(specs, "swin.encoder.layers.0.downsample.reduction.weight")
    assert merging.name == "stage.0.block.0"
    assert group_of(specs, "swin.encoder.layers.1.blocks.1.mlp.fc1.weight").multiplier == 1.0


@pytest.mark.parametrize("family", ["bert", "distilbert", "modernbert", "vit", "dinov2", "beit"])
def test_flat_encoders_group_each_layer_by_its_number(family):
    model = FAMILIES[family][0]()
    specs = specs_of(model)
    for name, _ in model.named_parameters():
        for index in (0, 1):
            if f"layer.{index}." in name or f"layers.{index}." in name:
                assert name in specs[f"layer.{index}"].names, name


def test_albert_shared_layer_is_refused_with_the_way_out():
    config = hf.AlbertConfig(embedding_size=16, intermediate_size=37, **TEXT)
    with pytest.raises(UserError) as error:
        group_specs(hf.AlbertForSequenceClassification(config), SCHEDULE)
    assert "AlbertForSequenceClassification has no parameters named like" in str(error.value)
    assert "schedule.layer_decay: null" in str(error.value)


class Levels(nn.Module):
    """A staged encoder no family names so: levels.S.units.B, each stage opened by a stem."""

    base_model_prefix = "body"

    def __init__(self):
        super().__init__()
        self.body = nn.Module()
        self.body.levels = nn.ModuleList()
        for units in (2, 1):
            level = nn.Module()
            level.stem = nn.Linear(2, 2)
            level.units = nn.ModuleList(nn.Linear(2, 2) for _ in range(units))
            self.body.levels.append(level)
        self.classifier = nn.Linear(2, 2)


def test_a_new_naming_is_one_row_of_the_table(monkeypatch):
    with pytest.raises(UserError, match="Levels has no parameters named like"):
        group_specs(Levels(), SCHEDULE)
    row = LayerNaming("levels.S.units.B", "level.{}.unit.{}", "Levels", before="levels.S.stem")
    monkeypatch.setattr(param_groups, "LAYER_NAMINGS", (row,))
    specs = specs_of(Levels())
    assert [(s.name, s.multiplier) for s in specs.values()] == [
        ("level.0.unit.0", 0.25),
        ("level.0.unit.1", 0.5),
        ("level.1.unit.0", 1.0),
        ("head", HEAD),
    ]
    assert "body.levels.1.stem.weight" in specs["level.1.unit.0"].names


def test_the_depths_are_said_once_beside_the_groups(capsys):
    model = FAMILIES["swin"][0]()
    line = layer_decay_line(model, SCHEDULE)
    assert line == (
        "layer decay 0.5 over 3 depths (encoder.layers.S.blocks.B): "
        "embeddings x0.125 up to stage.1.block.1 x1"
    )
    assert layer_decay_line(model, ScheduleConfig(head_lr_multiplier=HEAD)) is None
    groups = [(s.name, s.multiplier) for s in group_specs(model, SCHEDULE)]
    report_schedule(summarize_schedule(SCHEDULE, 1e-3, 10, 5), groups, line)
    printed = capsys.readouterr().out
    assert printed.count(line) == 1
    assert "LR per group (x peak): embeddings 0.125, stage.0.block.0 0.25" in printed
