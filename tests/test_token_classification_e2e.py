"""Token classification end to end through the real CLI: a tiny BERT with a FAST tokenizer
(saved to a temp folder) learns person and place names, some split into several word pieces,
and "jordan", whose tag only its left neighbour gives away. The loss falls; entity scores
counted by hand from `ftk predict`'s entities equal metrics.json's seqeval figures; the run
loads in `pipeline("token-classification", aggregation_strategy="simple")` and finds the
entities; `ftk evaluate` reproduces the test scores; report, card and baselines know tags."""

from __future__ import annotations

import json

import pytest
from helpers import ftk, history_rows
from tagging_helpers import (
    make_sentences,
    save_tiny_tagger_base,
    write_conll,
    write_jsonl,
    write_tagging_config,
)

from toolkit.metrics.entities import entities, entity_scores


@pytest.fixture(scope="session")
def tiny_tagger_base(tmp_path_factory):
    return save_tiny_tagger_base(tmp_path_factory.mktemp("tiny-tagger"))


@pytest.fixture(scope="module")
def tagging_run(tiny_tagger_base, tmp_path_factory):
    """Train on a JSONL table of token/tag lists, test on a CoNLL file (mixed on purpose)."""
    folder = tmp_path_factory.mktemp("ner")
    train = write_jsonl(folder / "train.jsonl", make_sentences(240, seed=1))
    test_rows = make_sentences(40, seed=2)
    test = write_conll(folder / "test.conll", test_rows)
    run_dir = folder / "run"
    config = write_tagging_config(folder / "ner.yaml", tiny_tagger_base, train, test, run_dir)
    ftk("train", "--config", config, "--early_stopping.patience", "null")
    return run_dir, test, test_rows, folder


def metrics_of(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.mark.e2e
def test_loss_falls_and_entity_metrics_are_written(tagging_run):
    run_dir, _, test_rows, _ = tagging_run
    losses = [r["loss"] for r in history_rows(run_dir, "train")]
    assert len(losses) > 10 and sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3
    metrics = metrics_of(run_dir)
    for name in ("f1", "precision", "recall", "accuracy"):
        assert 0.0 <= metrics[f"test_{name}"] <= 1.0 and f"eval_{name}" in metrics
    assert metrics["test_f1"] > 0.6  # it learnt the names
    per_entity = metrics["test_per_entity"]
    assert {"PER", "LOC"} <= set(per_entity)
    gold = gold_spans(test_rows)
    for kind in ("PER", "LOC"):  # support: the true entities of the type in the test file
        assert per_entity[kind]["support"] == sum(span[1] == kind for span in gold)


def gold_spans(rows):
    return {
        (i, kind, start, end + 1)
        for i, r in enumerate(rows)
        for kind, start, end in entities(r["ner_tags"])
    }


@pytest.mark.e2e
def test_entity_scores_by_hand_from_ftk_predict_equal_seqeval(tagging_run):
    """ftk predict's entities (whitespace-split words of each test sentence) against the gold
    spans, counted by hand: the same precision, recall and F1 as metrics.json (seqeval)."""
    run_dir, _, test_rows, folder = tagging_run
    table = write_jsonl(
        folder / "texts.jsonl", [{"text": " ".join(r["tokens"])} for r in test_rows]
    )
    out = folder / "predicted.jsonl"
    ftk("predict", run_dir, "--input", table, "--output", out)
    predicted = [json.loads(line) for line in out.read_text().splitlines()]
    found = {
        (i, e["type"], e["start"], e["end"]) for i, p in enumerate(predicted) for e in p["entities"]
    }
    gold = gold_spans(test_rows)
    hits = len(found & gold)
    precision, recall = hits / len(found), hits / len(gold)
    f1 = 2 * precision * recall / (precision + recall)
    metrics = metrics_of(run_dir)
    assert metrics["test_precision"] == pytest.approx(precision, abs=1e-9)
    assert metrics["test_recall"] == pytest.approx(recall, abs=1e-9)
    assert metrics["test_f1"] == pytest.approx(f1, abs=1e-9)
    for p, row in zip(predicted, test_rows, strict=True):
        for e in p["entities"]:
            assert e["text"] == " ".join(row["tokens"][e["start"] : e["end"]])
            assert 0 < e["score"] <= 1


def test_hand_counted_small_case_agrees_with_seqeval():
    """Two sentences counted by hand: 3 true entities, 3 predicted, 1 exactly right (a type
    error and a cut-short span do not count): precision = recall = F1 = 1/3."""
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O"]]
    scores = entity_scores(true, pred)
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(1 / 3)
    assert scores["accuracy"] == pytest.approx(4 / 6)  # words: "I-PER" and the 2nd "B-LOC" missed


@pytest.mark.e2e
def test_the_run_loads_in_the_pipeline_and_finds_the_entities(tagging_run):
    from transformers import pipeline

    tagger = pipeline(
        "token-classification", model=str(tagging_run[0]), aggregation_strategy="simple"
    )
    found = tagger("today alice went to new york")
    assert [(e["entity_group"], e["word"]) for e in found] == [
        ("PER", "alice"),
        ("LOC", "new york"),
    ]
    assert all(e["score"] > 0.5 for e in found)


@pytest.mark.e2e
def test_ftk_evaluate_reproduces_the_test_scores(tagging_run):
    run_dir, test, _, folder = tagging_run
    out = folder / "evaluated.json"
    ftk("evaluate", run_dir, "--data", test, "--output", out)
    results, metrics = json.loads(out.read_text()), metrics_of(run_dir)
    for name in ("f1", "precision", "recall", "accuracy", "loss"):
        assert results[name] == pytest.approx(metrics[f"test_{name}"], abs=1e-5), name
    assert results["per_entity"]["LOC"]["support"] == metrics["test_per_entity"]["LOC"]["support"]


@pytest.mark.e2e
def test_report_card_and_baselines_know_tags(tagging_run):
    run_dir = tagging_run[0]
    report = (run_dir / "report.md").read_text()
    assert "## Entities (test split)" in report and "| entity type |" in report
    card = (run_dir / "README.md").read_text()
    assert "pipeline_tag: token-classification" in card
    assert 'aggregation_strategy="simple"' in card and "entity types (2): LOC, PER" in card
    baselines = json.loads((run_dir / "baseline.json").read_text())
    scores = {b["name"]: b["test"]["f1"] for b in baselines["baselines"]}
    assert scores["majority"] == 0.0  # every word O: no entity found
    # the per-word baseline misses "jordan" whenever its sentence puts it in its other role
    assert 0.5 < scores["word_tags"] < 1.0


@pytest.mark.e2e
def test_verdict_pairs_the_sentences_with_the_best_baseline(tagging_run):
    """The transformer's word tags and the baseline's are paired sentence by sentence: the
    verdict's interval (bootstrap over test sentences, seqeval on each resample) brackets the
    observed difference in entity F1."""
    run_dir = tagging_run[0]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    verdict = metrics["verdict"]
    assert verdict["metric"] == "f1"
    low, high = verdict["interval"]
    baselines = json.loads((run_dir / "baseline.json").read_text())
    chosen = baselines["best"]  # picked on validation
    best = next(b["test"]["f1"] for b in baselines["baselines"] if b["name"] == chosen)
    difference = 100 * (metrics["test_f1"] - best)
    assert low <= round(difference, 2) <= high and low < high


@pytest.mark.e2e
def test_the_entity_run_saves_its_detected_scheme(tagging_run):
    """IOB2 tags are recognised as IOB2 (not assumed): run_config.yaml names the scheme that
    `ftk predict` and `ftk evaluate` then read the tags by, and the card says it."""
    run_dir = tagging_run[0]
    assert "tag_scheme: iob2" in (run_dir / "run_config.yaml").read_text()
    assert "Tags (5, IOB2, one per word)" in (run_dir / "README.md").read_text()
