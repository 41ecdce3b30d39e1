"""Tagged sentences longer than data.max_length word pieces: every word of every test sentence
gets the model's own prediction (the words past the cut are read in further windows that open
with the words before them as context, tasks/word_windows.py), so the transformer and the
baselines are scored on the same words and the verdict's paired bootstrap always runs; the
truncation advice counts the training sentences and words past the cut; and a verdict that
cannot measure its interval says why."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import ftk, write_recipe
from tagging_helpers import make_sentences, save_tiny_tagger_base, write_conll, write_jsonl
from test_word_pieces import KINDS, tagging_config

from toolkit.advice.baselines.candidate import Baselines, BaselineScore
from toolkit.advice.truncation import measure_word_truncation, say_truncation
from toolkit.advice.verdict import verdict_for_run
from toolkit.config.load import load_config
from toolkit.metrics.entities import entities, word_tag_scorer
from toolkit.tasks.word_windows import read_every_word
from toolkit.training.scoring import TestRows

MAX_LENGTH = 16  # word pieces, [CLS] and [SEP] included


def long_sentence(rows: list[dict]) -> dict:
    """One sentence made of several: longer than MAX_LENGTH pieces, with entities past the cut."""
    return {
        "tokens": [word for row in rows for word in row["tokens"]],
        "ner_tags": [tag for row in rows for tag in row["ner_tags"]],
    }


# ----------------------------------------------------------------------------- the windows


class OneHotModel:
    """Stands in for Trainer.predict: each piece's "logits" are the one-hot of its token id,
    so a word's row says which piece it was read from. Keeps the windows it was given."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.windows: list[list[int]] = []

    def __call__(self, prepared) -> np.ndarray:
        rows = prepared["input_ids"]
        self.windows += rows
        logits = np.zeros((len(rows), max(map(len, rows)), self.vocab_size), dtype=np.float32)
        for i, ids in enumerate(rows):
            logits[i, np.arange(len(ids)), ids] = 1.0
        return logits


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_word_is_read_from_its_own_first_piece_in_the_running_text(kind, tmp_path):
    """However the tokenizer marks a word's start, each word past the cut is read from the
    piece that starts it in the running text (a window opening mid-sentence spaces its first
    word as the text does), and the later windows open with words already read."""
    build, _ = KINDS[kind]
    tokenizer = build(tmp_path / "tokenizer")
    config = tagging_config(tmp_path / "tokenizer")
    config.data.max_length = 8
    words = ["alice", "met", "jordan", "in", "paris", "went", "to", "rome", "today"] * 2
    short = ["to", "rome"]
    model = OneHotModel(len(tokenizer))
    reading = read_every_word([short, words], tokenizer, config, len(tokenizer), model)
    for sentence, rows in zip([short, words], reading.logits, strict=True):
        assert rows.shape == (len(sentence), len(tokenizer))
        # every word, from its own first piece
        assert rows.argmax(-1).tolist() == [piece for _, piece in word_starts(tokenizer, sentence)]
    starts = word_starts(tokenizer, words)
    before_cut = sum(position < 8 - 1 for position, _ in starts)  # [SEP] takes the last
    assert reading.sentences_cut == 1 and reading.words == len(short) + len(words)
    assert reading.words_past_cut == len(words) - before_cut and reading.later_windows >= 2
    # the second window is full and opens with a word read already, as context
    second = model.windows[2]
    assert len(second) == 8 and second[1] in [piece for _, piece in starts[:before_cut]]


def word_starts(tokenizer, words: list[str]) -> list[tuple[int, int]]:
    """(position, token id) of each word's first piece in the running text."""
    running = tokenizer(" ".join(words))
    word_ids = running.word_ids()
    return [
        (i, running["input_ids"][i])
        for i, word in enumerate(word_ids)
        if word is not None and word not in word_ids[:i]
    ]


def test_sentences_within_max_length_are_read_in_one_pass(tmp_path):
    build, _ = KINDS["wordpiece (BERT)"]
    tokenizer = build(tmp_path / "tokenizer")
    model = OneHotModel(len(tokenizer))
    sentences = [["alice", "met", "jordan"], [], ["rome"]]
    config = tagging_config(tmp_path / "tokenizer")
    reading = read_every_word(sentences, tokenizer, config, len(tokenizer), model)
    assert [len(rows) for rows in reading.logits] == [3, 0, 1]
    assert len(model.windows) == 2 and reading.later_windows == 0
    assert reading.facts("test") == {
        "test_words": 4,
        "test_sentences_past_max_length": 0,
        "test_words_past_max_length": 0,
        "test_windows_past_max_length": 0,
    }


# ----------------------------------------------------------------------------- the verdict


def tag_baselines(test_predictions) -> Baselines:
    scores = {"f1": 0.5}
    return Baselines(
        task="token-classification",
        fingerprint="x",
        split_seed=42,
        metrics=["f1"],
        split_sizes={},
        best="word_tags",
        scores=[
            BaselineScore(
                "word_tags",
                "",
                fit_s=1.0,
                predict_s=0.0,
                validation=scores,
                test=scores,
                test_predictions=test_predictions,
            )
        ],
    )


TAG_NAMES = ["O", "B-PER", "I-PER"]
TRUTH = [[1, 2, 0, 0], [0, 1], [0, 0, 1]]


@pytest.mark.parametrize(
    "baseline, transformer, why",
    [
        (None, TRUTH, "baseline.json holds no test predictions of word_tags"),
        (TRUTH, [[1, 2], [0, 1], [0, 0, 1]], "1 test sentences have tag rows of different "),
        (TRUTH[:2], TRUTH, "the test rows do not line up (3 true, 3 from the transformer, 2 "),
    ],
)
def test_a_verdict_without_an_interval_says_why(baseline, transformer, why):
    metrics = {"test_f1": 0.6, "train_runtime": 10.0}
    score = word_tag_scorer(["f1"], TAG_NAMES)
    rows = TestRows(TRUTH, transformer)
    v = verdict_for_run(tag_baselines(baseline), metrics, ["f1"], rows, score)
    assert v.interval is None
    assert "No 95% interval was measured: " + why in v.text, v.text
    assert "a fixed band stood in for the test split's noise" in v.text
    assert v.no_interval.startswith(why) and v.to_dict()["no_interval"] == v.no_interval
    paired = verdict_for_run(tag_baselines(TRUTH), metrics, ["f1"], TestRows(TRUTH, TRUTH), score)
    assert paired.interval is not None and paired.no_interval is None
    assert "No 95% interval" not in paired.text


# ----------------------------------------------------------------------------- truncation


class Tokenizer:
    model_max_length = 512


def test_the_truncation_line_counts_the_sentences_and_words_past_the_cut(capsys):
    """Any sentence cut is said (its last words' tags are never trained on), with the words;
    a few of many is never written 0%."""
    cut = measure_word_truncation([30, 10, 10] + [8] * 997, [12, 10, 10] + [8] * 997, 16, Tokenizer)
    assert (cut.cut, cut.total, cut.words_cut, cut.words_total) == (1, 1000, 18, 8026)
    say_truncation(cut)
    said = capsys.readouterr().out
    assert (
        "Truncation: 1 of 1,000 training sentences (0.1%) ran past `data.max_length` (16 word "
        "pieces): their 18 words past the cut (0.2% of the 8,026 training words) are never "
        "trained on" in said
    )
    say_truncation(measure_word_truncation([5, 6], [5, 6], 16, Tokenizer))
    assert capsys.readouterr().out == ""  # nothing cut: nothing said


def test_the_diagnosis_says_the_cut_sentences_and_their_share_of_the_words():
    from test_findings import facts, history

    from toolkit.advice.findings import diagnose_run

    rows = history(
        evals=[(0.80, 0.50), (0.90, 0.30), (0.89, 0.32)],
        sample=[(0.85, 0.40), (0.97, 0.10), (0.99, 0.05)],
    )
    cut = facts(truncated_share=0.6, truncated_words_share=0.25, max_length=16)
    (found,) = diagnose_run(rows, cut)
    assert found.rule == "truncated" and found.figures["truncated_words_share"] == 0.25
    assert (
        "60% of the training sentences run past data.max_length (16 word pieces), so the "
        "model was never trained on the tags of their last words (25% of all words)"
    ) in found.text


def test_a_tagging_run_counts_its_cut_training_sentences(tmp_path, capsys):
    """prepare_labelled measures the training sentences past data.max_length exactly, word by
    word, and says so at the start."""
    from toolkit.run.stages import plan_run, prepare_labelled

    base = save_tiny_tagger_base(tmp_path / "base")
    rows = make_sentences(40, seed=1)
    rows[5] = long_sentence(rows[5:9])
    train = write_jsonl(tmp_path / "train.jsonl", rows)
    recipe = write_recipe(
        tmp_path / "tagging.yaml",
        [
            "task: token-classification",
            f"model: {{name_or_path: '{base}'}}",
            f"data: {{train_file: '{train}', max_length: {MAX_LENGTH}, validation_size: 0.1}}",
            f"output_dir: '{tmp_path / 'run'}'",
            "use_cpu: true",
        ],
        {},
    )
    prepared = prepare_labelled(plan_run(load_config(recipe)))
    train_rows = prepared.data.splits["train"]["tokens"]
    words = sum(map(len, train_rows))
    assert prepared.truncation.cut == 1 and prepared.truncation.total == len(train_rows)
    long_words = len(rows[5]["tokens"])
    assert 0 < prepared.truncation.words_cut < long_words
    assert prepared.truncation.words_total == words
    said = capsys.readouterr().out
    assert f"Truncation: 1 of {len(train_rows)} training sentences" in said
    assert f"their {prepared.truncation.words_cut} words past the cut" in said


# ----------------------------------------------------------------------------- a real run


@pytest.fixture(scope="module")
def cut_run(tmp_path_factory):
    """A tagging run at max_length 16 with three long training sentences and two long test
    sentences, each holding entities past the cut."""
    folder = tmp_path_factory.mktemp("cut-tagging")
    base = save_tiny_tagger_base(folder / "base")
    train_rows = make_sentences(160, seed=1)
    train_rows += [long_sentence(train_rows[i : i + 4]) for i in (0, 4, 8)]
    test_rows = make_sentences(30, seed=2)
    test_rows += [long_sentence(test_rows[i : i + 4]) for i in (0, 4)]
    train = write_jsonl(folder / "train.jsonl", train_rows)
    test = write_conll(folder / "test.conll", test_rows)
    run_dir = folder / "run"
    recipe = write_recipe(
        folder / "tagging.yaml",
        [
            "task: token-classification",
            f"model: {{name_or_path: '{base}'}}",
            f"data: {{train_file: '{train}', test_file: '{test}', max_length: {MAX_LENGTH}}}",
            f"output_dir: '{run_dir}'",
            "learning_rate: 1e-2",
            "num_train_epochs: 4",
            "per_device_train_batch_size: 16",
            "save_total_limit: 1",
            "use_cpu: true",
            "dataloader_pin_memory: false",
        ],
        {},
    )
    said = ftk("train", "--config", recipe, "--early_stopping.patience", "null")
    return run_dir, test, test_rows, folder, said.stdout + said.stderr


@pytest.mark.e2e
def test_the_verdict_keeps_its_interval_when_a_test_sentence_is_cut(cut_run):
    run_dir, _, test_rows, _, said = cut_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    verdict = metrics["verdict"]
    low, high = verdict["interval"]
    assert low <= verdict["gain_points"] <= high and verdict["no_interval"] is None
    assert verdict["test_examples"] == len(test_rows)
    # the transformer is scored on every test word, as the baseline is
    words = sum(len(r["tokens"]) for r in test_rows)
    assert metrics["test_words"] == words
    assert metrics["test_sentences_past_max_length"] == 2
    assert metrics["test_words_past_max_length"] > 0
    baselines = json.loads((run_dir / "baseline.json").read_text())
    for baseline in baselines["baselines"]:
        assert sum(map(len, baseline["test_predictions"])) == words
    gold = [kind for r in test_rows for kind, _, _ in entities(r["ner_tags"])]
    for kind in ("PER", "LOC"):  # the entities past the cut are counted too
        assert metrics["test_per_entity"][kind]["support"] == gold.count(kind)
    assert "2 test sentences ran past `data.max_length`" in said


@pytest.mark.e2e
def test_the_report_counts_the_cut_training_sentences_and_test_words(cut_run):
    run_dir, _, _, _, said = cut_run
    report = (run_dir / "report.md").read_text()
    sentences = json.loads((run_dir / "metrics.json").read_text())
    data = report.split("## Data", 1)[1].split("## Schedule", 1)[0]
    assert "training sentences (" in data and "ran past `data.max_length` (16 word pieces)" in data
    assert "3 of " in data and "words past the cut" in data and "are never trained on" in data
    assert "Truncation: 3 of " in said
    comparison = report.split("## Baselines vs transformer", 1)[1]
    words = sentences["test_words_past_max_length"]
    assert f"{words} of the {sentences['test_words']} test words lay past the cut" in comparison


@pytest.mark.e2e
def test_ftk_evaluate_reads_the_cut_words_as_the_run_scored_them(cut_run):
    run_dir, test, _, folder, _ = cut_run
    out = folder / "evaluated.json"
    ftk("evaluate", run_dir, "--data", test, "--output", out)
    results = json.loads(out.read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for name in ("f1", "precision", "recall", "accuracy", "loss"):
        assert results[name] == pytest.approx(metrics[f"test_{name}"], abs=1e-5), name
