"""End to end through the real CLI: a tiny BERT fine-tuned on a tiny CSV."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from helpers import ftk, history_rows, write_text_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def finished_run(tiny_bert, tmp_path_factory):
    from helpers import make_texts, write_csv

    folder = tmp_path_factory.mktemp("e2e")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }
    run_dir = folder / "run"
    config = write_text_config(folder / "tiny.yaml", tiny_bert, data, run_dir)
    result = ftk("train", "--config", config, "--early_stopping.patience", "null")
    return run_dir, result


def test_run_directory_holds_every_artifact(finished_run):
    run_dir, _ = finished_run
    for name in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "run_config.yaml",
        "metrics.json",
        "history.jsonl",
        "loss.png",
        "learning_rate.png",
        "README.md",
    ]:
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.glob("*.bin")), "only safetensors are written"
    assert not list(run_dir.glob("checkpoint-*")), "a finished run keeps no checkpoints"
    card = (run_dir / "README.md").read_text()
    assert card.startswith("---\n") and "model-index" in card and "test_accuracy" not in card
    assert "| accuracy |" in card


def test_metrics_have_validation_and_test_keys(finished_run):
    run_dir, result = finished_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ["eval_accuracy", "eval_f1_macro", "test_accuracy", "test_f1_macro", "test_loss"]:
        assert 0 <= metrics[key] <= (1 if "loss" not in key else 100), key
    assert set(metrics["test_per_class"]) == {"business", "sport", "tech"}
    assert metrics["test_accuracy"] > 0.6, "a separable toy task must be learnt"
    assert "Results:" in result.stdout


def test_pipeline_loads_run_and_predicts_label_names(finished_run):
    from transformers import pipeline

    run_dir, _ = finished_run
    classifier = pipeline("text-classification", model=str(run_dir), device="cpu")
    predictions = classifier(["goal match team win", "market profit shares bank"])
    assert {p["label"] for p in predictions} <= {"business", "sport", "tech"}


def test_training_loss_falls(finished_run):
    run_dir, _ = finished_run
    losses = [r["loss"] for r in history_rows(run_dir, "train")]
    assert len(losses) > 10
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.7 * first, (first, last)


def test_logged_lr_follows_warmup_then_cosine(finished_run):
    run_dir, _ = finished_run
    peak, epochs, batch = 5e-3, 8, 8
    train_rows = 81  # 90 rows minus a stratified 10% validation split
    per_epoch = math.ceil(train_rows / batch)
    total = epochs * per_epoch
    warmup = math.ceil(0.2 * total)
    steps = history_rows(run_dir, "step")
    assert [r["step"] for r in steps] == list(range(1, total + 1))
    for row in steps:
        s = row["step"] - 1  # the s-th update (0-based)
        if s < warmup:
            expected = peak * s / warmup
        else:
            expected = peak * 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup)))
        assert row["lr"][0] == pytest.approx(expected, rel=1e-9, abs=1e-15), row


def test_resolved_config_reruns_the_same_run(finished_run):
    from toolkit.config.load import load_config

    run_dir, _ = finished_run
    saved = load_config(run_dir / "run_config.yaml")
    assert saved.training["learning_rate"] == 5e-3
    assert saved.training["output_dir"] == str(run_dir)
    assert saved.to_dict() == yaml.safe_load((run_dir / "run_config.yaml").read_text())


def test_existing_run_directory_is_not_overwritten(finished_run, tiny_bert, text_data, capsys):
    from toolkit.cli import main

    run_dir, _ = finished_run
    before = (run_dir / "model.safetensors").read_bytes()
    config = write_text_config(run_dir.parent / "again.yaml", tiny_bert, text_data, run_dir)
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "already holds files" in err and "--overwrite" in err
    assert (run_dir / "model.safetensors").read_bytes() == before


def test_sentence_pairs_train_from_csv_files(tiny_bert, tmp_path):
    """Pairs read from CSV files (large_string columns in datasets) train and are checked for
    repeats across splits; the overlap check crashed on them (found by the defaults suite)."""
    import random

    from helpers import make_texts, write_csv

    texts = make_texts(20, seed=3)
    rng = random.Random(0)
    pairs = []
    for text, topic in texts:
        other, other_topic = rng.choice(texts)
        pairs.append((text, other, "same" if topic == other_topic else "different"))
    header = ("text", "text_pair", "label")
    data = {
        "train": write_csv(tmp_path / "train.csv", pairs[:45], header=header),
        "test": write_csv(tmp_path / "test.csv", pairs[45:] + pairs[:3], header=header),
    }
    config = write_text_config(tmp_path / "pairs.yaml", tiny_bert, data, tmp_path / "run")
    result = ftk("train", "--config", config, "--data.text_pair_column", "text_pair")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= metrics["test_accuracy"] <= 1
    assert set(metrics["test_per_class"]) == {"different", "same"}
    overlap = [w for w in metrics["warnings"] if "also appear" in w or "training" in w]
    assert any(" of the 18 test" in w for w in overlap), metrics["warnings"]
    assert result.returncode == 0
