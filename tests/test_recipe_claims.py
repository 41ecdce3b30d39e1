"""What the shipped recipes' comments claim about their own values and about each other, read
against the values: a recipe edited without its comment (or the recipe it points to edited
alone) fails here. Each claim quotes the comment it checks, so a reworded comment fails too
until its check is looked at again."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

Recipes = dict[str, dict[str, Any]]


def recipes() -> Recipes:
    return {path.stem: yaml.safe_load(path.read_text()) for path in CONFIGS.glob("*.yaml")}


def minilm_config() -> dict[str, Any]:
    from toolkit.model.packaged import resolve_model_path

    return json.loads(
        (Path(resolve_model_path("builtin:all-MiniLM-L6-v2")) / "config.json").read_text()
    )


def lora_parameters(r: Recipes) -> int:
    """query and value updates in every layer: A (r x hidden) and B (hidden x r) each."""
    config, rank = minilm_config(), r["text-bbc-minilm-lora"]["peft"]["r"]
    return config["num_hidden_layers"] * 2 * 2 * rank * config["hidden_size"]


def minilm_parameters() -> int:
    from transformers import BertConfig, BertModel

    return sum(p.numel() for p in BertModel(BertConfig(**minilm_config())).parameters())


def default_validation_size() -> float:
    from toolkit.config.schema import DataConfig

    return DataConfig().validation_size


def hold_out(recipe: dict[str, Any]) -> tuple[Any, ...]:
    data = recipe["data"]
    return (data["test_size"], data["validation_size"], data.get("split_seed", recipe["seed"]))


@dataclass
class Claim:
    recipe: str  # the file's stem
    says: str  # the comment's words, as written in the file
    holds: Callable[[Recipes], bool]


CLAIMS = [
    Claim(
        "text-bbc-minilm-lora",
        "10x the full fine-tune's 1e-4",
        lambda r: (
            r["text-bbc-minilm"]["learning_rate"] == 1e-4
            and math.isclose(r["text-bbc-minilm-lora"]["learning_rate"], 10 * 1e-4)
        ),
    ),
    Claim(
        "text-bbc-minilm-lora",
        "the full fine-tune's recipe when the two were",
        lambda r: (
            (
                r["text-bbc-minilm-lora"]["num_train_epochs"],
                r["text-bbc-minilm-lora"]["data"]["max_length"],
            )
            == (3, 128)
        ),
    ),
    Claim(
        "text-bbc-minilm-lora",
        "it now runs 2 x 96",
        lambda r: (
            (r["text-bbc-minilm"]["num_train_epochs"], r["text-bbc-minilm"]["data"]["max_length"])
            == (2, 96)
        ),
    ),
    Claim("text-bbc-minilm-lora", "(73,728 parameters)", lambda r: lora_parameters(r) == 73_728),
    Claim(
        "text-bbc-minilm-lora",
        "scaled by alpha / r = 2",
        lambda r: (
            r["text-bbc-minilm-lora"]["peft"]["alpha"] / r["text-bbc-minilm-lora"]["peft"]["r"] == 2
        ),
    ),
    Claim(
        "text-bbc-minilm",
        "half the work of 3 x 128",
        lambda r: (
            r["text-bbc-minilm"]["num_train_epochs"]
            * r["text-bbc-minilm"]["data"]["max_length"]
            * 2
            == 3 * 128
        ),
    ),
    Claim(
        "text-bbc-minilm", "(22.7M params)", lambda r: round(minilm_parameters() / 1e6, 1) == 22.7
    ),
    Claim(
        "text-multilabel-bbc-minilm",
        "(22.7M params)",
        lambda r: round(minilm_parameters() / 1e6, 1) == 22.7,
    ),
    Claim(
        "mlm-bbc-minilm",
        "The hold-out (test_size, validation_size, split_seed) matches text-bbc-minilm.yaml",
        lambda r: hold_out(r["mlm-bbc-minilm"]) == hold_out(r["text-bbc-minilm"]),
    ),
    Claim(
        "mim-fashion-mnist",
        "The model block must stay identical to the one in vit-fashion-mnist-1k.yaml",
        lambda r: r["mim-fashion-mnist"]["model"] == r["vit-fashion-mnist-1k"]["model"],
    ),
    Claim(
        "vit-fashion-mnist-1k",
        "The model block matches mim-fashion-mnist.yaml (same sizes)",
        lambda r: r["mim-fashion-mnist"]["model"] == r["vit-fashion-mnist-1k"]["model"],
    ),
    Claim(
        "mim-fashion-mnist",
        "7 x 7 = 49 patches",
        lambda r: (
            r["mim-fashion-mnist"]["model"]["from_config"]["image_size"]
            / r["mim-fashion-mnist"]["model"]["from_config"]["patch_size"]
            == 7
        ),
    ),
    Claim(
        "vit-fashion-mnist",
        "7 x 7 = 49 patches",
        lambda r: (
            r["vit-fashion-mnist"]["model"]["from_config"]["image_size"]
            / r["vit-fashion-mnist"]["model"]["from_config"]["patch_size"]
            == 7
        ),
    ),
    Claim(
        "mim-fashion-mnist",
        "54,000 images per epoch",
        lambda r: 60_000 * (1 - r["mim-fashion-mnist"]["data"]["validation_size"]) == 54_000,
    ),
    Claim(
        "vit-fashion-mnist-1k",
        "32 steps per epoch",
        lambda r: (
            math.ceil(
                r["vit-fashion-mnist-1k"]["data"]["max_train_samples"]
                / r["vit-fashion-mnist-1k"]["per_device_train_batch_size"]
            )
            == 32
        ),
    ),
    Claim(
        "vit-fashion-mnist",
        "10% of train held out",
        lambda r: (
            r["vit-fashion-mnist"]["data"].get("validation_size", default_validation_size()) == 0.1
        ),
    ),
]


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.recipe}: {c.says}")
def test_a_recipe_comment_says_what_its_values_are(claim):
    text = (CONFIGS / f"{claim.recipe}.yaml").read_text()
    assert claim.says in " ".join(line.strip().lstrip("#").strip() for line in text.splitlines()), (
        "the comment changed: check the claim again"
    )
    assert claim.holds(recipes()), (
        f"{claim.recipe}.yaml says '{claim.says}', which its values no longer hold"
    )
