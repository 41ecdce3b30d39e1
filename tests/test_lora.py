"""LoRA (`peft.method: lora`): a tiny BERT fine-tuned through the real CLI, the merged model
checked against the saved adapter by hand, the adapter loaded back with peft, bad input."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import (
    bare_trainer,
    expect_user_error,
    ftk,
    history_rows,
    make_texts,
    write_csv,
    write_text_config,
)

from toolkit.core.run_state import last_complete_checkpoint

LABELS = ["business", "sport", "tech"]
R, ALPHA = 8, 16
HIDDEN, LAYERS = 32, 2  # the tiny BERT of conftest.py


@pytest.fixture(scope="module")
def lora_run(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lora")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }
    run_dir = folder / "run"
    config = write_text_config(folder / "tiny.yaml", tiny_bert, data, run_dir)
    return run_dir, ftk(*lora_command(config, run_dir))


def lora_command(recipe, output_dir, *extra: str) -> list[str]:
    """`lora_run`'s ftk arguments. The tiny BERT is random: its frozen features carry a faint
    signal, so the adapters and head need a higher LR than a full fine-tune."""
    lora = ["--peft.method", "lora", "--learning_rate", "3e-2", "--early_stopping.patience", "null"]
    return ["train", "--config", str(recipe), *lora, "--output_dir", str(output_dir), *extra]


@pytest.mark.e2e
def test_resumed_lora_run_ends_like_the_straight_one(lora_run, tmp_path):
    """Killed after epoch 4's checkpoint (adapter + head + optimizer), resumed: the same run."""
    from test_resume import comparable_metrics, kill_after_checkpoint

    run_dir, _ = lora_run
    recipe = run_dir.parent / "tiny.yaml"
    resumed = tmp_path / "resumed"
    command = [sys.executable, "-m", "toolkit", *lora_command(recipe, resumed)]
    kill_after_checkpoint(command, resumed / f"checkpoint-{4 * 11}")
    # checkpoint-44, or on a loaded machine a later one (the kill came an epoch late, and the
    # Trainer's rotation may have removed 44): the resume starts from the newest either way
    assert not (resumed / "metrics.json").exists(), "the kill came too late"
    checkpoint = last_complete_checkpoint(resumed)
    assert checkpoint is not None and (checkpoint / "adapter_model.safetensors").is_file()
    again = ftk(*lora_command(recipe, resumed, "--resume"))
    assert "Resuming from" in again.stdout
    a, b = comparable_metrics(run_dir), comparable_metrics(resumed)
    for key in ("eval_loss", "test_loss", "train_loss", "test_accuracy", "best_checkpoint_step"):
        assert b[key] == pytest.approx(a[key], rel=1e-4), key
    assert b["lora"] == a["lora"]


def base_classifier(tiny_bert):
    """The base checkpoint with a (random) three-label head, as the run started from."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        tiny_bert,
        num_labels=3,
        id2label=dict(enumerate(LABELS)),
        label2id={n: i for i, n in enumerate(LABELS)},
    )


@pytest.mark.e2e
def test_run_saves_merged_model_and_adapter(lora_run):
    run_dir, _ = lora_run
    for name in ("model.safetensors", "config.json", "tokenizer.json", "README.md"):
        assert (run_dir / name).is_file(), name
    adapter = run_dir / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    assert not list(run_dir.rglob("*.bin")) and not list(run_dir.glob("checkpoint-*"))
    settings = json.loads((adapter / "adapter_config.json").read_text())
    assert settings["r"] == R and settings["lora_alpha"] == ALPHA
    assert set(settings["target_modules"]) == {"query", "value"}
    assert settings["modules_to_save"] == ["classifier"]


@pytest.mark.e2e
def test_trained_parameter_count_is_the_hand_count(lora_run, tiny_bert):
    """LoRA A (r x in) and B (out x r) on query and value of each layer, plus the head."""
    run_dir, result = lora_run
    lora = LAYERS * 2 * (R * HIDDEN + HIDDEN * R)
    head = HIDDEN * 3 + 3
    total = sum(p.numel() for p in base_classifier(tiny_bert).parameters())
    trained = lora + head
    line = f"Trained parameters: {trained:,} of {total:,} ({100 * trained / total:.2f}%)"
    assert line in result.stdout
    assert f"LoRA {lora:,} + full modules {head:,}" in result.stdout
    recorded = json.loads((run_dir / "metrics.json").read_text())["lora"]
    assert recorded["trained_parameters"] == trained and recorded["model_parameters"] == total
    assert recorded["target_modules"] == ["query", "value"]


@pytest.mark.e2e
def test_merged_weights_are_base_plus_scaled_update(lora_run, tiny_bert):
    """Only the targeted weights (by B @ A x alpha / r, from the saved adapter) and the head
    differ from the base checkpoint in the merged model."""
    from safetensors.torch import load_file

    run_dir, _ = lora_run
    merged = load_file(run_dir / "model.safetensors")
    adapter = load_file(run_dir / "adapter" / "adapter_model.safetensors")
    base = base_classifier(tiny_bert).state_dict()
    assert set(merged) == set(base)
    adapted = 0
    for key, tensor in merged.items():
        module = key.removesuffix(".weight")
        a_key = f"base_model.model.{module}.lora_A.weight"
        if a_key in adapter:
            b = adapter[f"base_model.model.{module}.lora_B.weight"]
            expected = base[key] + b @ adapter[a_key] * (ALPHA / R)
            assert b.abs().max() > 0, "B starts at zero; it must have trained"
            assert (tensor - expected).abs().max() < 1e-5, key
            adapted += 1
        elif key.startswith("classifier."):
            saved = adapter[f"base_model.model.{key}"]
            assert (tensor == saved).all(), key
            assert not (tensor == base[key]).all(), "the head trains in full"
        else:
            assert (tensor == base[key]).all(), f"{key} is frozen and must equal the base"
    assert adapted == LAYERS * 2


@pytest.mark.e2e
def test_adapter_loads_onto_base_with_merged_logits(lora_run, tiny_bert):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run_dir, _ = lora_run
    with_adapter = PeftModel.from_pretrained(base_classifier(tiny_bert), run_dir / "adapter")
    merged = AutoModelForSequenceClassification.from_pretrained(run_dir)
    tokenizer = AutoTokenizer.from_pretrained(run_dir)
    batch = tokenizer(
        ["goal match team win", "market profit shares bank", "chip data code"],
        padding=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        a = with_adapter.eval()(**batch).logits
        b = merged.eval()(**batch).logits
    assert (a - b).abs().max() < 1e-5
    assert not torch.allclose(b, base_classifier(tiny_bert).eval()(**batch).logits)


@pytest.mark.e2e
def test_training_loss_falls_and_best_epoch_is_kept(lora_run):
    run_dir, _ = lora_run
    losses = [r["loss"] for r in history_rows(run_dir, "train")]
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.8 * first, (first, last)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    epochs = history_rows(run_dir, "eval")[:-1]  # last: final eval
    # the best accuracy, the lower validation loss on a tie (training/best_epoch.py)
    best = max(epochs, key=lambda row: (row["eval_accuracy"], -row["eval_loss"]))
    assert metrics["best_checkpoint_step"] == best["step"]
    # the final scores are recomputed in fp32; evaluations during bf16 training ran in bf16
    tolerance = 1e-4 if metrics["mixed_precision"] == "no" else 2e-2
    assert metrics["eval_loss"] == pytest.approx(best["eval_loss"], rel=tolerance)


@pytest.mark.e2e
def test_pipeline_and_ftk_predict_give_the_same_scores(lora_run, tmp_path):
    from transformers import pipeline

    from toolkit.use.predict import predict

    run_dir, _ = lora_run
    texts = ["goal match team win", "market profit shares bank", "chip data code"]
    source = write_csv(tmp_path / "new.csv", [(t, "") for t in texts], header=("text", "id"))
    rows = predict(run_dir, input_path=source, top_k=3)
    classifier = pipeline("text-classification", model=str(run_dir), device="cpu", top_k=None)
    for row, expected in zip(rows, classifier(texts), strict=True):
        ranked = [(row[f"pred_label{s}"], row[f"pred_score{s}"]) for s in ("", "_2", "_3")]
        assert [label for label, _ in ranked] == [e["label"] for e in expected]
        assert [score for _, score in ranked] == pytest.approx(
            [e["score"] for e in expected], abs=1e-5
        )


@pytest.mark.e2e
def test_model_card_says_lora(lora_run):
    run_dir, _ = lora_run
    card = (run_dir / "README.md").read_text()
    assert "LoRA (peft): r = 8, alpha = 16" in card and "`query`, `value`" in card
    assert "trained in full: `classifier`" in card
    lora = json.loads((run_dir / "metrics.json").read_text())["lora"]
    assert f"{lora['trained_parameters']:,} of {lora['model_parameters']:,}" in card


# ----------------------------------------------------------------------------- ViT


def tiny_vit_lora(tiny_vit, seed: int):
    import torch
    from transformers import AutoModelForImageClassification

    from toolkit.config.schema import PeftConfig
    from toolkit.model.lora import wrap_with_lora

    torch.manual_seed(seed)
    model = AutoModelForImageClassification.from_pretrained(tiny_vit, num_labels=3)
    return wrap_with_lora(model, PeftConfig(method="lora"))


def test_vit_defaults_to_transformers5_projection_names(tiny_vit):
    model = tiny_vit_lora(tiny_vit, 0)
    summary = model.ftk_lora_summary
    assert summary["target_modules"] == ["q_proj", "v_proj"]  # ViT's names in transformers 5
    assert summary["adapted_modules"] == 2 * 2 and summary["modules_to_save"] == ["classifier"]
    assert summary["adapted_blocks"] == 2  # a 2-layer ViT: two modules in each layer


def test_lora_counts_layers_not_modules():
    from toolkit.model.lora import adapted_count, enclosing_blocks

    names = [f"bert.encoder.layer.{i}.attention.self.{m}" for i in range(6) for m in ("q", "v")]
    assert len(enclosing_blocks(names)) == 6
    swin = [f"swin.encoder.layers.{s}.blocks.{b}.attention.self.query" for s, b in [(0, 0), (1, 0)]]
    assert len(enclosing_blocks(swin)) == 2  # block 0 of two stages: two blocks
    assert adapted_count({"adapted_modules": 12, "adapted_blocks": 6}) == "12 modules in 6 layers"


@pytest.mark.e2e
def test_best_checkpoint_reload_restores_lora_and_head(tiny_vit, tmp_path):
    """ToolkitTrainer._load_best_model on a LoRA model: the adapter and head of the best
    checkpoint come back (ViT: the model whose tensors transformers 5 renames on disk)."""
    import torch

    best = tiny_vit_lora(tiny_vit, 0)
    with torch.no_grad():
        for param in best.parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param))  # B is zero at the start: make it count
    best.save_pretrained(tmp_path / "checkpoint-1")
    model = tiny_vit_lora(tiny_vit, 1)
    trainer = bare_trainer(model, tmp_path / "o")
    trainer.state.best_model_checkpoint = str(tmp_path / "checkpoint-1")
    trainer._load_best_model()
    kept = dict(trainer.model.named_parameters())
    for name, param in best.named_parameters():
        if param.requires_grad:
            assert torch.equal(kept[name], param), name
            assert kept[name].requires_grad, f"{name} must stay trainable after the reload"


def test_head_lr_multiplier_scales_the_head_of_a_lora_model(tiny_vit):
    from toolkit.config.schema import ScheduleConfig
    from toolkit.training.param_groups import group_specs

    model = tiny_vit_lora(tiny_vit, 0)
    specs = {s.name: s for s in group_specs(model, ScheduleConfig(head_lr_multiplier=10.0))}
    assert specs["head"].multiplier == 10.0
    assert all("modules_to_save" in n for n in specs["head"].names)
    assert all(".lora_" in n for n in specs["body"].names)


# ----------------------------------------------------------------------------- bad input


def lora_recipe(tiny_bert, tmp_path):
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(10, seed=2)),
    }
    return str(write_text_config(tmp_path / "r.yaml", tiny_bert, data, tmp_path / "out"))


def test_absent_target_modules_name_what_was_looked_for(tiny_bert, tmp_path, capsys):
    recipe = lora_recipe(tiny_bert, tmp_path)
    args = ["train", "--config", recipe, "--peft.method", "lora", "--baseline.enabled", "false"]
    err = expect_user_error([*args, "--peft.target_modules", "[q_proj, v_proj]"], capsys)
    assert "q_proj, v_proj" in err and "not a Linear layer of BertForSequenceClassification" in err
    assert "query (e.g. bert.encoder.layer.0.attention.self.query)" in err
    assert not (tmp_path / "out" / "model.safetensors").exists()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--peft.method", "qlora"], "'peft.method' must be one of 'lora' or null"),
        (["--peft.method", "lora", "--peft.r", "0"], "'peft.r' must be >= 1, got 0"),
        (["--peft.method", "lora", "--schedule.layer_decay", "0.8"], "those weights are frozen"),
        (["--peft.r", "4"], "peft.method is null"),
        (["--peft.method", "lora", "--task", "masked-lm"], "not supported for task 'masked-lm'"),
    ],
)
def test_bad_peft_settings_are_refused(tiny_bert, tmp_path, capsys, extra, said):
    err = expect_user_error(["train", "--config", lora_recipe(tiny_bert, tmp_path), *extra], capsys)
    assert said in err
