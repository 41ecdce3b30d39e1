"""Every config key carries its meaning as field metadata, and `--help` prints it under the key."""

from __future__ import annotations

import dataclasses

import pytest

from toolkit.cli import main
from toolkit.config.schema import (
    SECTIONS,
    TOP_LEVEL_HELP,
    TOP_LEVEL_KEYS,
    AugmentConfig,
    BaselineConfig,
    DataConfig,
    EarlyStoppingConfig,
    MaskingConfig,
    ModelConfig,
    OverfittingConfig,
    RunConfig,
    ScheduleConfig,
    describe_keys,
)


def help_text(capsys, command: str) -> str:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def entry(text: str, key: str) -> tuple[str, str]:
    """The `KEY (default ...)` line of `key` and its help, the indented lines below it, joined."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(f"{key} (default ")]
    assert len(starts) == 1, f"{key} is listed {len(starts)} times in --help"
    start = starts[0]
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1 :]:
        if not line.strip() or len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line.strip())
    return lines[start].strip(), " ".join(body)


def test_every_section_key_has_help():
    for name, section in SECTIONS.items():
        for f in dataclasses.fields(section):
            text = f.metadata.get("help")
            assert isinstance(text, str) and text.strip(), f"{name}.{f.name} has no help"
    for key in TOP_LEVEL_KEYS:
        assert TOP_LEVEL_HELP[key].strip(), f"{key} has no help"


@pytest.mark.e2e
@pytest.mark.parametrize(
    "key, default, word",
    [
        ("task", "'text-classification'", "image-classification"),
        ("metrics", "['accuracy', 'f1_macro']", "best model"),
        ("data.split_seed", "None", "hold-out"),
        ("data.validation_size", "0.1", "stratified"),
        ("schedule.layer_decay", "None", "embeddings"),
        ("schedule.decay", "'cosine'", "inverse_sqrt"),
        ("model.from_config", "None", "scratch"),
        ("augment.protected_words", "[]", "any case"),
        ("masking.mask_patch_size", "None", "patch size"),
    ],
)
def test_train_help_prints_each_key_with_default_and_meaning(capsys, key, default, word):
    head, body = entry(help_text(capsys, "train"), key)
    assert head == f"{key} (default {default})"
    assert word in body


@pytest.mark.e2e
def test_help_lines_fit_and_pretrain_shares_the_epilog(capsys):
    described = describe_keys()
    assert all(len(line) <= 100 for line in described.splitlines())
    assert described.index("  top level:") < described.index("  model:")
    _, body = entry(help_text(capsys, "pretrain"), "data.group_texts")
    assert "max_length tokens" in body


def test_defaults_are_unchanged():
    data = dataclasses.asdict(DataConfig())
    assert data["validation_size"] == 0.1
    assert data["test_size"] is None
    assert data["train_split"] == "train"
    assert data["validation_split"] == "validation"
    assert data["test_split"] == "test"
    assert data["max_length"] == 256
    assert data["bad_images"] == "error"
    assert data["group_texts"] is True
    assert data["pad_to_max_length"] is False
    assert data["empty_texts"] == "drop" and data["encoding"] == "utf-8"
    assert data["tokens_column"] == "tokens" and data["tags_column"] == "ner_tags"
    assert data["label_all_tokens"] is False
    assert data["label_separator"] is None
    assert data["hub_revision"] is None and len(data) == 33
    augment = dataclasses.asdict(AugmentConfig())
    assert augment["protected_words"] == []
    assert augment["text_mode"] == "sequence"
    assert (augment["randaugment_num_ops"], augment["randaugment_magnitude"]) == (2, 9)
    assert AugmentConfig().protected_words is not AugmentConfig().protected_words
    schedule = dataclasses.asdict(ScheduleConfig())
    assert schedule["decay"] == "cosine"
    assert schedule["warmup_shape"] == "linear"
    assert schedule["warmup_fraction"] is None
    assert schedule["decay_fraction"] == 0.2
    assert schedule["head_lr_multiplier"] == 1.0
    model = dataclasses.asdict(ModelConfig())
    assert model["ignore_mismatched_sizes"] is True
    assert model["trust_remote_code"] is False
    assert model["attn_implementation"] is None
    assert dataclasses.asdict(MaskingConfig()) == {
        "mlm_probability": 0.15,
        "whole_word_mask": False,
        "mask_ratio": 0.6,
        "mask_patch_size": None,
    }
    assert dataclasses.asdict(EarlyStoppingConfig()) == {"patience": 2, "threshold": 0.0}
    assert dataclasses.asdict(BaselineConfig()) == {
        "enabled": True,
        "cnn_epochs": 2,
        "background": None,
    }
    assert dataclasses.asdict(OverfittingConfig()) == {
        "train_sample_size": 1000,
        "max_epoch_share": 0.05,
        "patience": 2,
    }
    run = RunConfig().to_dict()
    assert (run["task"], run["metrics"]) == ("text-classification", ["accuracy", "f1_macro"])
