"""A finished run's saved tokenizer reads what the run read (`model_max_length` is the run's
`data.max_length`), and the model card's `pipeline()` call scores a long text as `ftk predict`
does: both cut it where training cut it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from helpers import FILLER, TOPIC_WORDS, ftk, make_texts, write_csv, write_text_config

MAX_LENGTH = 32  # write_text_config's data.max_length; the tiny BERT reads up to 128


def long_text(words: int, seed: int) -> str:
    """`words` words of the tiny BERT's vocabulary (one piece each): far past MAX_LENGTH."""
    rng = random.Random(seed)
    vocabulary = sorted({w for ws in TOPIC_WORDS.values() for w in ws} | set(FILLER))
    return " ".join(rng.choices(vocabulary, k=words))


def card_snippet(run_dir: Path) -> str:
    """The model card's usage code, pointed at `run_dir`."""
    card = (run_dir / "README.md").read_text()
    code = card.split("```python\n", 1)[1].split("```", 1)[0]
    return code.replace("PATH_OR_REPO_ID", str(run_dir))


@pytest.fixture(scope="module")
def text_run(tiny_bert, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("long-texts")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(20, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(5, seed=2)),
    }
    run_dir = folder / "run"
    config = write_text_config(folder / "tiny.yaml", tiny_bert, data, run_dir, num_train_epochs=2)
    ftk("train", "--config", config)
    return run_dir


@pytest.mark.e2e
def test_the_saved_tokenizer_reads_the_runs_max_length(text_run, tiny_bert):
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tiny_bert).model_max_length == 128
    assert AutoTokenizer.from_pretrained(text_run).model_max_length == MAX_LENGTH
    saved = json.loads((text_run / "tokenizer_config.json").read_text())
    assert saved["model_max_length"] == MAX_LENGTH


@pytest.mark.e2e
def test_the_cards_pipeline_call_scores_a_long_text_as_ftk_predict_does(text_run):
    from transformers import pipeline

    from toolkit.use.predict import predict

    text = long_text(100, seed=3)  # 102 pieces with [CLS] and [SEP]: within 128 positions
    [row] = predict(text_run, text=text, show=False)
    scope: dict = {}
    exec(card_snippet(text_run), scope)
    [piped] = scope["classifier"](text)
    assert piped["label"] == row["pred_label"]
    assert piped["score"] == pytest.approx(row["pred_score"], abs=1e-5)
    # the check tells the two apart: a pipeline that reads the whole text scores it otherwise
    [whole] = pipeline("text-classification", model=str(text_run))(text)
    assert whole["score"] != pytest.approx(row["pred_score"], abs=1e-5)
    card = (text_run / "README.md").read_text()
    assert f"The model reads the first {MAX_LENGTH} tokens of a text" in card


def usage_section(tmp_path: Path, task: str) -> str:
    """The usage section of a model card written for a `task` run at max_length 48."""
    from toolkit.config.load import config_from_raw
    from toolkit.outputs.model_card import write_model_card

    raw = {"task": task, "model": {"name_or_path": "tiny"}, "data": {"max_length": 48}}
    config = config_from_raw(raw, [], None)
    labels = ["O", "B-PER"] if task == "token-classification" else ["a", "b"]
    path = tmp_path / "README.md"
    write_model_card(path, config, "pipeline-tag", {"test_accuracy": 0.5}, labels, "tiny")
    return path.read_text().split("## Use", 1)[1].split("## Framework", 1)[0]


def test_a_text_card_tells_the_pipeline_to_truncate_at_the_runs_length(tmp_path):
    usage = usage_section(tmp_path, "text-classification")
    assert 'model="PATH_OR_REPO_ID", truncation=True)' in usage
    assert "reads the first 48 tokens of a text" in usage
    regression = usage_section(tmp_path, "text-regression")
    assert 'function_to_apply="none", truncation=True)' in regression


def test_a_tagger_card_says_its_length_and_an_image_card_no_truncation(tmp_path):
    tagger = usage_section(tmp_path, "token-classification")
    assert "truncation" not in tagger  # the token-classification pipeline cuts by itself
    assert "reads the first 48 pieces of a sentence" in tagger
    image = usage_section(tmp_path, "image-classification")
    assert "truncation" not in image and "reads the first" not in image
