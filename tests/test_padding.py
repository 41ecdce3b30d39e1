"""data.pad_to_max_length: fixed-length padding (the stock recipe) against per-batch padding."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toolkit.config.load import load_config
from toolkit.core.errors import UserError
from toolkit.data.load import load_data
from toolkit.tasks import text_classification as task


def prepared_train(tiny_bert, text_data, tmp_path, *overrides: str):
    config = load_config(
        None,
        [
            "--model.name_or_path",
            str(tiny_bert),
            "--data.train_file",
            str(text_data["train"]),
            "--data.max_length",
            "24",
            "--output_dir",
            str(tmp_path / "run"),
            *overrides,
        ],
    )
    data = load_data(config.data, task.input_columns(config), seed=0)
    tokenizer = task.load_processor(config)
    return task.prepare(data.splits, tokenizer, config)["train"], tokenizer, config


def test_default_keeps_each_text_at_its_own_length_and_batches_pad_to_the_longest(
    tiny_bert, text_data, tmp_path
):
    train, tokenizer, config = prepared_train(tiny_bert, text_data, tmp_path)
    lengths = [len(ids) for ids in train["input_ids"]]
    assert len(set(lengths)) > 3 and max(lengths) < 24  # make_texts: 5 to 16 words
    batch = task.collator(tokenizer, config)([train[i] for i in range(8)])
    longest = max(lengths[:8])
    assert batch["input_ids"].shape == (8, -(-longest // 8) * 8)  # up to a multiple of 8


def test_pad_to_max_length_makes_every_example_and_batch_max_length_long(
    tiny_bert, text_data, tmp_path
):
    train, tokenizer, config = prepared_train(
        tiny_bert, text_data, tmp_path, "--data.pad_to_max_length", "true"
    )
    assert {len(ids) for ids in train["input_ids"]} == {24}
    first = train[0]
    real = sum(first["attention_mask"])
    assert first["input_ids"][real:] == [tokenizer.pad_token_id] * (24 - real)
    batch = task.collator(tokenizer, config)([train[i] for i in range(8)])
    assert batch["input_ids"].shape == (8, 24)


def test_transformers_4_group_by_length_key_names_its_replacement():
    with pytest.raises(UserError, match="train_sampling_strategy: group_by_length"):
        load_config(None, ["--group_by_length", "true"])


@pytest.mark.e2e
def test_cli_rejects_a_non_boolean_pad_to_max_length(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit",
            "train",
            "--data.pad_to_max_length",
            "sometimes",
            "--output_dir",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert "pad_to_max_length" in result.stderr and "Traceback" not in result.stderr


class FakeTokenizer:
    def __init__(self, model_max_length: int):
        self.model_max_length = model_max_length


def test_truncation_is_said_when_a_tenth_of_the_texts_are_cut(capsys):
    from toolkit.advice.truncation import measure_truncation
    from toolkit.advice.truncation import say_truncation as say

    def say_truncation(lengths, max_length, tokenizer):
        say(measure_truncation(lengths, max_length, tokenizer))

    lengths = [32] * 3 + [10] * 17  # 3 of 20 fill max_length 32
    say_truncation(lengths, 32, FakeTokenizer(512))
    said = capsys.readouterr().out
    assert "3 of 20 training texts (15%) fill data.max_length (32 tokens)" in said
    assert "the model reads up to 512" in said
    say_truncation([32] + [10] * 19, 32, FakeTokenizer(512))  # 5%: quiet
    say_truncation([32] * 4, 32, FakeTokenizer(int(1e30)))  # no known limit: no advice
    said = capsys.readouterr().out
    assert "4 of 4" in said and "reads up to" not in said and "1 of 20" not in said
