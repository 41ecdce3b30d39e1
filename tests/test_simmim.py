"""Masked image modelling (SimMIM) beyond ViT: DeiT and Swin pre-train through the real CLI and
fine-tune from their output; the decoder's encoder_stride follows from the patch size (ViT
checkpoints saved with another stride pre-train too); masks fit each model; other model types
are refused with the supported ones named. The ViT run itself is in test_pretrain.py."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch
from helpers import (
    TINY_VIT_SIZES,
    expect_user_error,
    history_rows,
    make_image_folder,
    write_image_config,
    write_mim_config,
    write_pattern_images,
)

from toolkit.config.load import load_config
from toolkit.core.errors import UserError
from toolkit.tasks import masked_image_modeling

TRANSFORMER = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
TINY_DEIT = {"model_type": "deit", "image_size": 32, "patch_size": 8, **TRANSFORMER}
TINY_DEIT["intermediate_size"] = 64
TINY_SWIN = {  # two stages: 8x8 tokens of 4 px, then 4x4 of 8 px, so the decoder's stride is 8
    "model_type": "swin",
    "image_size": 32,
    "patch_size": 4,
    "embed_dim": 16,
    "depths": [1, 1],
    "num_heads": [1, 2],
    "window_size": 4,
}
STRIDES = {"deit": 8, "swin": 8}


def cli(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def mim_recipe(folder, sizes: dict, *, images=None) -> tuple:
    images = images or write_pattern_images(folder / "images.parquet", n=60)
    return write_mim_config(folder / "mim.yaml", images, folder / "pretrained", vit=sizes), images


# ----------------------------------------------------------------------------- chain


@pytest.fixture(scope="module", params=["deit", "swin"])
def chain(request, tmp_path_factory):
    """`ftk train --pretrain`: SimMIM on pattern images, then a shape classifier from it."""
    sizes = {"deit": TINY_DEIT, "swin": TINY_SWIN}[request.param]
    folder = tmp_path_factory.mktemp(f"simmim-{request.param}")
    pretrain, _ = mim_recipe(folder, sizes)
    shapes = make_image_folder(folder / "shapes", 8, seed=1, size=32)
    finetune = write_image_config(
        folder / "cls.yaml",
        f"{{from_config: {json.dumps(sizes)}}}",
        f"{{train_dir: '{shapes}'}}",
        folder / "run",
    )
    quick = ["--num_train_epochs", "1", "--baseline.enabled", "false"]
    result = cli("train", "--config", str(finetune), "--pretrain", str(pretrain), *quick)
    return {
        "model_type": request.param,
        "folder": folder,
        "pretrained": folder / "pretrained",
        "finetune": finetune,
        "result": result,
    }


@pytest.mark.e2e
def test_simmim_pretrains_then_finetunes(chain):
    out = chain["result"].stdout
    assert "Stage 1 of 2: pre-training (masked-image-modeling)" in out
    assert "Stage 2 of 2: fine-tuning (image-classification)" in out
    # every tensor but the new head came from the pre-training output
    assert "new (random): classifier.bias, classifier.weight" in out
    saved = json.loads((chain["pretrained"] / "config.json").read_text())
    assert saved["model_type"] == chain["model_type"]
    assert saved["encoder_stride"] == STRIDES[chain["model_type"]]
    losses = [r["loss"] for r in history_rows(chain["pretrained"], "train")]
    evals = [r["eval_loss"] for r in history_rows(chain["pretrained"], "eval")]
    assert len(losses) >= 10 and all(math.isfinite(x) for x in losses + evals)
    assert evals[-1] < evals[0], evals
    assert (chain["folder"] / "run" / "model.safetensors").is_file()


@pytest.mark.e2e
def test_finetuning_starts_from_every_simmim_encoder_tensor(chain):
    """At step 0 of fine-tuning from the SimMIM output, every encoder tensor of the classifier
    equals the pre-trained one (read back through from_pretrained, which renames saved keys)."""
    from transformers import AutoModelForMaskedImageModeling, TrainerCallback

    from toolkit.commands.train import train

    seen = {}

    class AtStart(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            seen.update({k: v.detach().clone() for k, v in model.state_dict().items()})

    overrides = ["--model.from_config", "null", "--model.name_or_path", str(chain["pretrained"])]
    overrides += ["--max_steps", "1", "--baseline.enabled", "false"]
    overrides += ["--schedule.warmup_fraction", "0"]  # one step at LR 0 is refused
    overrides += ["--output_dir", str(chain["folder"] / "probe")]
    train(load_config(chain["finetune"], overrides), callbacks=[AtStart()])

    pretrained = AutoModelForMaskedImageModeling.from_pretrained(chain["pretrained"])
    prefix = pretrained.base_model_prefix + "."
    encoder = {k for k in seen if k.startswith(prefix)}
    assert len(encoder) > 15
    theirs = pretrained.state_dict()
    for key in encoder:
        assert torch.equal(seen[key], theirs[key]), key
    assert "classifier.weight" in seen


# ----------------------------------------------------------------------------- encoder_stride


@pytest.mark.e2e
def test_vit_checkpoint_with_another_encoder_stride_pretrains(tiny_vit, tmp_path):
    """The tiny ViT has patches of 4 px and transformers' default encoder_stride 16, which a
    user loading a checkpoint cannot change: ftk sets 4, says so, and pre-trains."""
    assert json.loads((tiny_vit / "config.json").read_text())["encoder_stride"] == 16
    recipe, _ = mim_recipe(tmp_path, TINY_VIT_SIZES)
    checkpoint = ["--model.from_config", "null", "--model.name_or_path", str(tiny_vit)]
    result = cli("pretrain", "--config", str(recipe), *checkpoint, "--num_train_epochs", "1")
    assert "encoder_stride set to 4 (the checkpoint says 16)" in result.stdout
    saved = json.loads((tmp_path / "pretrained" / "config.json").read_text())
    assert saved["encoder_stride"] == saved["patch_size"] == 4
    losses = [r["loss"] for r in history_rows(tmp_path / "pretrained", "train")]
    assert losses and all(math.isfinite(x) for x in losses)


def test_simmim_checkpoint_with_a_decoder_of_another_stride_keeps_its_encoder(tmp_path):
    """A ViT SimMIM model saved with encoder_stride 16 over 4 px patches: its decoder (16 x 16
    pixels per token) cannot fit; it is replaced, and every encoder tensor loads."""
    from transformers import ViTConfig, ViTForMaskedImageModeling

    sizes = {k: v for k, v in TINY_VIT_SIZES.items() if k != "model_type"}
    torch.manual_seed(0)
    ViTForMaskedImageModeling(ViTConfig(**sizes, encoder_stride=16)).save_pretrained(tmp_path / "m")
    recipe, _ = mim_recipe(tmp_path, TINY_VIT_SIZES, images=tmp_path / "unused.parquet")
    checkpoint = ["--model.from_config", "null", "--model.name_or_path", str(tmp_path / "m")]
    model = masked_image_modeling.load_model(load_config(recipe, checkpoint))
    assert model.decoder[0].out_channels == 4 * 4 * 3  # 4 x 4 pixels of 3 channels per token
    saved = ViTForMaskedImageModeling.from_pretrained(tmp_path / "m").vit.state_dict()
    ours = model.vit.state_dict()
    assert len(saved) > 15
    for key, tensor in saved.items():
        assert torch.equal(ours[key], tensor), key


@pytest.mark.parametrize(
    "sizes,stride",
    [
        (TINY_VIT_SIZES, 4),
        (TINY_DEIT, 8),
        (TINY_SWIN, 8),
        ({**TINY_SWIN, "depths": [1, 1, 1], "num_heads": [1, 2, 2], "window_size": 2}, 16),
    ],
    ids=["vit", "deit", "swin-2-stages", "swin-3-stages"],
)
def test_masks_and_decoder_fit_each_model(tmp_path, sizes, stride):
    """The collator's masks are what the model takes (one per embedding patch) and the decoder
    rebuilds the image at its size; the loss is the hidden pixels' alone."""
    recipe, _ = mim_recipe(tmp_path, sizes, images=tmp_path / "unused.parquet")
    config = load_config(recipe)
    model = masked_image_modeling.load_model(config)
    assert model.config.encoder_stride == stride
    side = sizes["image_size"]
    examples = [{"pixel_values": torch.randn(3, side, side)} for _ in range(2)]
    batch = masked_image_modeling.collator(None, config)(examples)
    patches = (side // sizes["patch_size"]) ** 2
    assert batch["bool_masked_pos"].shape == (2, patches)
    assert (batch["bool_masked_pos"].sum(1) == patches // 2).all()  # mask_ratio 0.5
    output = model(**batch)
    assert output.reconstruction.shape == batch["pixel_values"].shape
    assert torch.isfinite(output.loss)


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("source", ["from_config", "checkpoint"])
def test_a_model_type_without_simmim_is_refused(tmp_path, capsys, source):
    from transformers import ConvNextConfig, ConvNextModel

    images = write_pattern_images(tmp_path / "i.parquet", n=6)
    sizes = {"model_type": "convnext", "image_size": 32}
    recipe, _ = mim_recipe(tmp_path, sizes, images=images)
    args = ["pretrain", "--config", str(recipe)]
    if source == "checkpoint":
        ConvNextModel(
            ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2)
        ).save_pretrained(tmp_path / "convnext")
        args += ["--model.from_config", "null", "--model.name_or_path", str(tmp_path / "convnext")]
    err = expect_user_error(args, capsys)
    assert "'convnext'" in err and "vit, deit, swin" in err
    assert not (tmp_path / "pretrained").exists()


def test_encoder_stride_written_wrong_in_from_config_is_refused(tmp_path):
    recipe, _ = mim_recipe(tmp_path, {**TINY_SWIN, "encoder_stride": 4}, images=tmp_path / "x")
    with pytest.raises(UserError) as error:
        masked_image_modeling.load_model(load_config(recipe))
    message = str(error.value)
    assert "encoder_stride 4" in message and "encoder_stride: 8" in message
    assert "patch_size * 2**(stages - 1)" in message


def test_image_size_that_the_decoder_cannot_rebuild_is_refused(tmp_path):
    """Swin with 4 px patches and two stages: last-layer tokens cover 8 px, and 28 is not 8k."""
    recipe, _ = mim_recipe(tmp_path, {**TINY_SWIN, "image_size": 28}, images=tmp_path / "x")
    with pytest.raises(UserError) as error:
        masked_image_modeling.load_processor(load_config(recipe))
    assert "image_size 28, not a multiple of 8" in str(error.value)


def test_chain_with_other_swin_stages_fails_before_pretraining(tmp_path, capsys):
    """Swin's stage settings shape its tensors: a fine-tuning recipe with other depths than the
    pre-training one is stopped before the slow stage."""
    pretrain, _ = mim_recipe(tmp_path, TINY_SWIN, images=tmp_path / "x")
    other = {**TINY_SWIN, "depths": [2, 2]}
    finetune = write_image_config(
        tmp_path / "cls.yaml",
        f"{{from_config: {json.dumps(other)}}}",
        f"{{train_dir: '{tmp_path}'}}",
        tmp_path / "run",
    )
    err = expect_user_error(
        ["train", "--config", str(finetune), "--pretrain", str(pretrain)], capsys
    )
    assert "depths: [1, 1] vs [2, 2]" in err
    assert not (tmp_path / "pretrained").exists()
