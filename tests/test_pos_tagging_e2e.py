"""Part-of-speech tagging end to end through the real CLI: plain tags (DT, NN, VBD, PRP$, UH,
',' and '.') are recognised as such, not read as IOB2 entities. The run says so at the start,
scores words (accuracy first, macro-F1 over the tags, a per-tag report) and never calls
seqeval; the baselines are scored with the same metrics; `ftk predict` prints a tag per word,
punctuation included, and `ftk evaluate` reports what training reported."""

from __future__ import annotations

import json

import pytest
from helpers import ftk
from tagging_helpers import (
    make_pos_sentences,
    save_tiny_pos_base,
    write_conll,
    write_jsonl,
    write_tagging_config,
)

SEQEVAL_WARNING = "seems not to be NE tag"


@pytest.fixture(scope="module")
def pos_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pos")
    base = save_tiny_pos_base(folder / "base")
    train = write_jsonl(folder / "train.jsonl", make_pos_sentences(240, seed=1))
    test_rows = make_pos_sentences(40, seed=2)
    test = write_conll(folder / "test.conll", test_rows, tags="pos_tags")
    run_dir = folder / "run"
    config = write_tagging_config(folder / "pos.yaml", base, train, test, run_dir)
    trained = ftk(
        "train", "--config", config, "--data.tags_column", "pos_tags",
        "--early_stopping.patience", "null",
    )  # fmt: skip
    return run_dir, test, test_rows, folder, trained


def metrics_of(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def tag_names(run_dir):
    id2label = json.loads((run_dir / "config.json").read_text())["id2label"]
    return [id2label[str(i)] for i in range(len(id2label))]


@pytest.mark.e2e
def test_plain_tags_are_said_and_scored_per_word(pos_run):
    run_dir, _, test_rows, _, trained = pos_run
    assert "tags (plain tags, one label per word" in trained.stdout
    assert "Metrics: accuracy, f1_macro" in trained.stdout
    assert SEQEVAL_WARNING not in trained.stderr + trained.stdout
    metrics = metrics_of(run_dir)
    assert metrics["test_accuracy"] > 0.9 and 0 < metrics["test_f1_macro"] <= 1
    assert not {"test_f1", "test_precision", "test_recall", "test_per_entity"} & set(metrics)
    assert metrics["verdict"]["metric"] == "accuracy"  # it picked the epoch and decides
    per_tag = metrics["test_per_tag"]
    words = [tag for row in test_rows for tag in row["pos_tags"]]
    for tag in ("UH", "PRP$", ".", ",", "NN"):  # whole tags, not 'H' or 'RP$'
        assert per_tag[tag]["support"] == words.count(tag), tag
    saved = (run_dir / "run_config.yaml").read_text()
    assert "tag_scheme: plain" in saved and "metrics:\n- accuracy\n- f1_macro\n" in saved
    report = (run_dir / "report.md").read_text()
    assert "## Tags (test split)" in report and "| PRP$ |" in report
    card = (run_dir / "README.md").read_text()
    assert "Tags (9, plain tags, one per word)" in card and "aggregation_strategy" not in card


@pytest.mark.e2e
def test_the_baselines_are_scored_by_the_same_word_metrics(pos_run):
    """baseline.json's test accuracy of word_tags is its saved test predictions' share of
    right words, counted by hand against the test file."""
    run_dir, _, test_rows, _, _ = pos_run
    baselines = json.loads((run_dir / "baseline.json").read_text())
    assert baselines["metrics"] == ["accuracy", "f1_macro"]
    word_tags = next(b for b in baselines["baselines"] if b["name"] == "word_tags")
    names = tag_names(run_dir)
    guessed = [names[i] for row in word_tags["test_predictions"] for i in row]
    truth = [tag for row in test_rows for tag in row["pos_tags"]]
    right = sum(g == t for g, t in zip(guessed, truth, strict=True))
    assert word_tags["test"]["accuracy"] == pytest.approx(right / len(truth))


@pytest.mark.e2e
def test_ftk_predict_prints_a_tag_per_word_including_punctuation(pos_run):
    run_dir = pos_run[0]
    words = ["oh", ",", "the", "quick", "fox", "saw", "his", "dog", "."]
    shown = ftk("predict", run_dir, "--text", " ".join(words))
    assert SEQEVAL_WARNING not in shown.stderr
    pairs = [token.rsplit("/", 1) for token in shown.stdout.strip().splitlines()[-1].split()]
    assert [word for word, _ in pairs] == words
    assert {tag for _, tag in pairs} <= set(tag_names(run_dir))
    assert pairs[-1] == [".", "."] and pairs[1] == [",", ","] and pairs[6] == ["his", "PRP$"]


@pytest.mark.e2e
def test_ftk_predict_writes_tags_whose_accuracy_is_the_test_score(pos_run):
    """`pred_tags` of the test sentences (token lists in a table), counted by hand against
    their tags: the test accuracy of metrics.json."""
    run_dir, _, test_rows, folder, _ = pos_run
    table = write_jsonl(folder / "words.jsonl", [{"tokens": r["tokens"]} for r in test_rows])
    out = folder / "tagged.jsonl"
    ftk("predict", run_dir, "--input", table, "--output", out)
    predicted = [json.loads(line) for line in out.read_text().splitlines()]
    right = words = 0
    for row, gold in zip(predicted, test_rows, strict=True):
        assert len(row["pred_tags"]) == len(row["pred_tag_scores"]) == len(gold["tokens"])
        right += sum(p == t for p, t in zip(row["pred_tags"], gold["pos_tags"], strict=True))
        words += len(gold["tokens"])
    assert metrics_of(run_dir)["test_accuracy"] == pytest.approx(right / words, abs=1e-9)


@pytest.mark.e2e
def test_ftk_evaluate_reports_the_training_metrics(pos_run):
    run_dir, test, _, folder, _ = pos_run
    out = folder / "evaluated.json"
    evaluated = ftk("evaluate", run_dir, "--data", test, "--output", out)
    assert SEQEVAL_WARNING not in evaluated.stderr
    results, metrics = json.loads(out.read_text()), metrics_of(run_dir)
    for name in ("accuracy", "f1_macro", "loss"):
        assert results[name] == pytest.approx(metrics[f"test_{name}"], abs=1e-5), name
    assert "f1" not in results and results["per_tag"]["UH"] == pytest.approx(
        metrics["test_per_tag"]["UH"]
    )
