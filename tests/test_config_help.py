"""Every config key carries its meaning as field metadata, and `--help` prints it under the key."""

from __future__ import annotations

import dataclasses

import pytest

from toolkit.cli import main
from toolkit.config.declare import check_key, key_facts, key_hints, literal_choices
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
from toolkit.core.errors import UserError


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
    assert data["label_all_tokens"] is False and data["tag_scheme"] == "auto"
    assert data["label_separator"] is None
    assert data["validation_rows_per_eval"] == 10_000 and data["num_proc"] is None
    assert data["streaming"] is False and data["stream_test_rows"] is None
    assert (data["stream_validation_rows"], data["stream_head_rows"]) == (2_000, 20_000)
    assert data["stream_shuffle_buffer"] == 10_000
    assert data["hub_revision"] is None and len(data) == 41
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
        "max_train_rows": 20_000,
        "background": None,
    }
    assert dataclasses.asdict(OverfittingConfig()) == {
        "train_sample_size": 1000,
        "max_epoch_share": 0.05,
        "patience": 2,
    }
    run = RunConfig().to_dict()
    assert (run["task"], run["metrics"]) == ("text-classification", ["accuracy", "f1_macro"])


@pytest.mark.parametrize(
    "key, facts",
    [
        (
            "schedule.decay",
            "type: str; choices: cosine | linear | polynomial | constant | cosine_restarts | "
            "wsd | inverse_sqrt",
        ),
        ("schedule.warmup_shape", "type: str; choices: linear | cosine | exponential"),
        ("schedule.decay_shape", "type: str; choices: linear | cosine | sqrt"),
        ("augment.text_mode", "type: str; choices: sequence | one_of"),
        (
            "augment.image",
            "type: bool | str | null; choices: trivial | randaugment | autoaugment | none",
        ),
        ("peft.method", "type: str | null; choices: lora"),
        ("data.validation_size", "type: float; range: (0, 1)"),
        ("data.max_length", "type: int; range: >= 8"),
        ("schedule.layer_decay", "type: float | null; range: (0, 1]"),
        ("schedule.warmup_fraction", "type: float | null; range: [0, 1)"),
        ("schedule.power", "type: float; range: > 0"),
        ("augment.randaugment_magnitude", "type: int; range: [0, 30]"),
        ("search.folds", "type: int | null; range: >= 2"),
        ("model.from_config", "type: mapping | null"),
        ("augment.protected_words", "type: list[str]"),
        ("metrics", "type: list[str]"),
        ("class_weights", "type: str | mapping | null"),
    ],
)
def test_help_shows_each_keys_type_choices_and_range(capsys, key, facts):
    _, body = entry(help_text(capsys, "train"), key)
    assert body.startswith(facts + " "), body


def test_every_declared_choice_and_range_is_in_the_help():
    """Choices come from the Literal type and ranges from the declaration, so --help and the
    check cannot disagree: each is printed under its key."""
    described = " ".join(describe_keys().split())
    for name, section in SECTIONS.items():
        hints = key_hints(section)
        for f in dataclasses.fields(section):
            facts = key_facts(hints[f.name], f.metadata)
            assert f"{name}.{f.name} (default " in described
            choices = literal_choices(hints[f.name])
            if choices:
                assert f"choices: {' | '.join(choices)}" in facts
            if f.metadata["range"] is not None:
                assert f"range: {f.metadata['range'].bounds()}" in facts
            assert facts in described


def just_outside(valid) -> list[float]:
    """Values one step (or a hair) beyond each bounded end of a range."""
    values = []
    if valid.low is not None:
        values.append(valid.low if valid.low_open else valid.low - 1)
    if valid.high is not None:
        values.append(valid.high if valid.high_open else valid.high + 0.5)
    return values


def test_every_declared_range_and_choice_is_checked():
    """One generic check (config/declare.py) refuses, for every section key, a number outside
    its declared range and a word outside its Literal's choices, naming the key."""
    checked = 0
    for name, section in SECTIONS.items():
        hints = key_hints(section)
        for f in dataclasses.fields(section):
            valid, choices = f.metadata["range"], literal_choices(hints[f.name])
            bad = [*(just_outside(valid) if valid else []), *(["bogus"] if choices else [])]
            for value in bad:
                with pytest.raises(UserError, match=rf"{name}\.{f.name}\b"):
                    check_key(f"{name}.{f.name}", value, hints[f.name], f.metadata)
                checked += 1
            default = getattr(section(), f.name)
            check_key(f"{name}.{f.name}", default, hints[f.name], f.metadata)  # defaults pass
    assert checked >= 45


def test_closed_vocabularies_are_literals():
    """The keys whose values come from a fixed list say so in their type."""
    for key in (
        "augment.image",
        "augment.text_mode",
        "schedule.warmup_shape",
        "schedule.decay",
        "schedule.decay_shape",
        "data.bad_images",
        "data.empty_texts",
        "peft.method",
        "search.pruner",
        "model.attn_implementation",
    ):
        name, _, field_name = key.partition(".")
        assert literal_choices(key_hints(SECTIONS[name])[field_name]), key


def test_a_declared_refusal_keeps_the_keys_own_words():
    hints = key_hints(ScheduleConfig)
    decay = next(f for f in dataclasses.fields(ScheduleConfig) if f.name == "decay")
    with pytest.raises(UserError) as caught:
        check_key("schedule.decay", "cosin", hints["decay"], decay.metadata)
    assert str(caught.value) == (
        "schedule.decay 'cosin' is not a known shape; valid: cosine, linear, polynomial, "
        "constant, cosine_restarts, wsd, inverse_sqrt. Did you mean 'cosine'?"
    )
