"""LoRA's default target modules for each encoder family ftk fine-tunes: a tiny model of the
family, built from a config and saved, is loaded with a new head the way a run loads it; the
default targets exist, peft wraps it, only the adapters and the head train, and one optimizer
step moves the adapters and nothing frozen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from torch import nn

from toolkit.config.schema import ModelConfig, PeftConfig
from toolkit.core.errors import UserError
from toolkit.model.checkpoint import load_checkpoint_model
from toolkit.model.lora import (
    adapted_count,
    default_targets,
    describe_lora,
    linear_layers,
    wrap_with_lora,
)

TEXT_SIZES = {
    "vocab_size": 64,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}
IMAGE_SIZES = {**TEXT_SIZES, "image_size": 32, "patch_size": 8}
del IMAGE_SIZES["vocab_size"]
STAGES = {"depths": [1, 1], "image_size": 32}  # hierarchical vision models: two stages


@dataclass(frozen=True)
class Family:
    model_type: str
    targets: list[str]
    sizes: dict[str, Any] = field(default_factory=dict)

    @property
    def reads_images(self) -> bool:
        return "image_size" in self.sizes


FAMILIES = [
    Family("bert", ["query", "value"], TEXT_SIZES),
    Family("roberta", ["query", "value"], TEXT_SIZES),
    Family("xlm-roberta", ["query", "value"], TEXT_SIZES),
    Family("electra", ["query", "value"], {**TEXT_SIZES, "embedding_size": 16}),
    Family("albert", ["query", "value"], {**TEXT_SIZES, "embedding_size": 16}),
    Family(
        "distilbert",
        ["q_lin", "v_lin"],
        {"vocab_size": 64, "dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64},
    ),
    Family("deberta-v2", ["query_proj", "value_proj"], TEXT_SIZES),
    Family("deberta", ["in_proj"], TEXT_SIZES),
    Family("mpnet", ["q", "v"], TEXT_SIZES),
    Family(
        "modernbert",
        ["Wqkv"],
        # its special-token ids default to ids beyond a 64-word vocabulary
        {**TEXT_SIZES, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
        | {"cls_token_id": 1, "sep_token_id": 2},
    ),
    Family("vit", ["q_proj", "v_proj"], IMAGE_SIZES),
    Family("deit", ["q_proj", "v_proj"], IMAGE_SIZES),
    Family("beit", ["q_proj", "v_proj"], IMAGE_SIZES),
    Family("dinov2", ["q_proj", "v_proj"], IMAGE_SIZES),
    Family(
        "swin",
        ["q_proj", "v_proj"],
        {**STAGES, "patch_size": 4, "embed_dim": 16, "num_heads": [1, 2], "window_size": 4},
    ),
    Family(
        "hiera",
        ["qkv"],
        {**STAGES, "embed_dim": 16, "num_heads": [1, 2], "image_size": [32, 32]}
        | {"patch_stride": [4, 4], "query_stride": [2, 2], "masked_unit_size": [4, 4]}
        | {"num_query_pool": 1},
    ),
    Family(
        "convnext", ["pwconv1", "pwconv2"], {**STAGES, "hidden_sizes": [16, 32], "num_stages": 2}
    ),
    Family(
        "convnextv2", ["pwconv1", "pwconv2"], {**STAGES, "hidden_sizes": [16, 32], "num_stages": 2}
    ),
]


def load_with_new_head(family: Family, folder) -> Any:
    """The family's encoder saved without a head, loaded with a 3-class head as a run loads
    its checkpoint (load_checkpoint_model records the new tensors LoRA trains in full)."""
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForImageClassification,
        AutoModelForSequenceClassification,
    )

    torch.manual_seed(0)
    AutoModel.from_config(AutoConfig.for_model(family.model_type, **family.sizes)).save_pretrained(
        folder
    )
    head_class = (
        AutoModelForImageClassification
        if family.reads_images
        else AutoModelForSequenceClassification
    )
    return load_checkpoint_model(
        head_class, ModelConfig(name_or_path=str(folder)), "model", num_labels=3
    )


def batch_for(family: Family, model: Any) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 2])
    if family.reads_images:
        side = model.config.image_size
        side = side[0] if isinstance(side, list) else side  # Hiera: [height, width]
        pixels = torch.randn(2, 3, side, side, generator=generator)
        return {"pixel_values": pixels, "labels": labels}
    ids = torch.randint(5, family.sizes["vocab_size"], (2, 8), generator=generator)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.model_type)
def test_default_targets_adapt_and_train_every_family(family, tmp_path):
    model = load_with_new_head(family, tmp_path / family.model_type)
    present = linear_layers(model)
    targets = default_targets(model)
    assert targets == family.targets
    adaptable = sum(len(present[name]) for name in targets)
    assert adaptable >= 2, "every layer of the encoder has the targets"

    wrapped = wrap_with_lora(model, PeftConfig(method="lora"))
    summary = wrapped.ftk_lora_summary
    assert summary["adapted_modules"] == adaptable
    # each block holds each target once: the layers counted are the blocks, not the modules
    assert adaptable == len(targets) * summary["adapted_blocks"]
    assert f"on {', '.join(targets)} ({adapted_count(summary)})" in describe_lora(summary)

    trained = {n: p for n, p in wrapped.named_parameters() if p.requires_grad}
    frozen = {n: p.detach().clone() for n, p in wrapped.named_parameters() if not p.requires_grad}
    outside = [n for n in trained if ".lora_" not in n and ".modules_to_save." not in n]
    assert not outside, f"only adapters and the head train: {outside}"
    assert any(".modules_to_save." in n for n in trained), "the new head trains in full"
    adapters_b = {n: p.detach().clone() for n, p in trained.items() if ".lora_B." in n}
    assert len(adapters_b) == adaptable

    optimizer = torch.optim.AdamW(trained.values(), lr=1e-2)
    wrapped.train()
    wrapped(**batch_for(family, model)).loss.backward()
    optimizer.step()

    params = dict(wrapped.named_parameters())
    for name, before in adapters_b.items():
        assert not torch.equal(params[name], before), f"{name} did not move"
    for name, before in frozen.items():
        assert torch.equal(params[name], before), f"{name} is frozen and moved"


def test_a_model_with_none_of_the_names_is_told_what_to_write():
    class Mixer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token_mix = nn.Linear(4, 4)
            self.channel_mix = nn.Linear(4, 4)

    with pytest.raises(UserError) as error:
        default_targets(Mixer())
    message = str(error.value)
    assert "peft.target_modules" in message and "Mixer" in message
    assert "token_mix (e.g. token_mix), channel_mix (e.g. channel_mix)" in message
    assert "Wqkv" in message and "q/v" in message  # what it looked for
