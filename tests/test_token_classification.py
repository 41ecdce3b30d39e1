"""Token classification's pieces: CoNLL files and token/tag tables read and checked, tags
aligned to word pieces, entity-level scores, the dictionary baseline."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest

from toolkit.advice.baselines.tagging import fit_majority, fit_word_tags
from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.conll import read_conll
from toolkit.data.tagged import load_tagged
from toolkit.metrics.entities import entity_scores, scored_id_rows
from toolkit.tasks.token_classification import inside_tag_ids, piece_labels

CONLL = """-DOCSTART- O

Alice B-PER
lives O
in O
New B-LOC
York I-LOC

Bob\tB-PER
left\tO
"""


def test_read_conll_skips_docstart_and_splits_sentences(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(CONLL)
    data = read_conll(path, "data.train_file", "utf-8", "tokens", "ner_tags")
    assert data["tokens"] == [["Alice", "lives", "in", "New", "York"], ["Bob", "left"]]
    assert data["ner_tags"] == [["B-PER", "O", "O", "B-LOC", "I-LOC"], ["B-PER", "O"]]
    path.write_text("Alice B-PER\nlives\n")
    with pytest.raises(UserError, match=r"line 2 has one field \('lives'\)"):
        read_conll(path, "data.train_file", "utf-8", "tokens", "ner_tags")


def test_read_conll_keeps_unicode_spaces_inside_tokens(tmp_path):
    """Columns are split at ASCII spaces and tabs only: a full-width space is a token of its
    own (a morpheme in Japanese corpora), and U+2028 inside a token does not end its line."""
    path = tmp_path / "ja.conll"
    path.write_text("東京 B-LOC\n\u3000 O\n行く\tO\r\na\u2028b O\n")
    data = read_conll(path, "data.train_file", "utf-8", "tokens", "ner_tags")
    assert data["tokens"] == [["東京", "\u3000", "行く", "a\u2028b"]]
    assert data["ner_tags"] == [["B-LOC", "O", "O", "O"]]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def rows(n):
    return [{"tokens": ["Alice", "met", "Bob"], "ner_tags": ["B-PER", "O", "B-PER"]}] * n


def test_load_tagged_names_tags_from_training_with_o_first(tmp_path):
    cfg = DataConfig(train_file=str(write_jsonl(tmp_path / "t.jsonl", rows(20))))
    loaded = load_tagged(cfg, seed=0)
    assert loaded.label_names == ["O", "B-PER"] and set(loaded.splits) == {"train", "validation"}
    first = loaded.splits["train"][0]
    assert first["ner_tags"] == [1, 0, 1] and first["tokens"] == ["Alice", "met", "Bob"]


def test_load_tagged_refuses_uneven_rows_and_unseen_tags(tmp_path):
    bad = [*rows(5), {"tokens": ["a", "b"], "ner_tags": ["O"]}]
    cfg = DataConfig(train_file=str(write_jsonl(tmp_path / "bad.jsonl", bad)))
    with pytest.raises(UserError, match="row 6 has 2 tokens and 1 tags"):
        load_tagged(cfg, seed=0)
    valid = [{"tokens": ["Paris"], "ner_tags": ["B-LOC"]}]
    cfg = DataConfig(
        train_file=str(write_jsonl(tmp_path / "t.jsonl", rows(5))),
        validation_file=str(write_jsonl(tmp_path / "v.jsonl", valid)),
    )
    with pytest.raises(UserError, match=r"tag.*'B-LOC'.*never occur in the training data"):
        load_tagged(cfg, seed=0)


def test_first_piece_gets_the_tag_and_the_rest_are_ignored_or_inside():
    names = ["O", "B-LOC", "I-LOC"]
    word_ids = [None, 0, 1, 1, 1, None]  # [CLS] in New ##Yo ##rk [SEP]
    assert piece_labels(word_ids, [0, 1], None) == [-100, 0, 1, -100, -100, -100]
    inside = inside_tag_ids(names)
    assert inside == [0, 2, 2]
    assert piece_labels(word_ids, [0, 1], inside) == [-100, 0, 1, 2, 2, -100]


def test_entity_scores_count_whole_entities_only():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O"]]
    scores = entity_scores(true, pred)
    # true entities: PER(0-1), LOC(3), ORG(0); predicted: PER(0), LOC(3), ORG(0); 2 match
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(5 / 6)


def test_only_labelled_pieces_are_scored():
    labels = np.array([[-100, 1, -100, 0, -100]])
    predicted = np.array([[0, 1, 0, 0, 1]])
    true, pred = scored_id_rows(predicted, labels)
    assert true == [[1, 0]] and pred == [[1, 0]]


def test_word_tag_baseline_uses_each_words_most_frequent_tag():
    sentences = [["Paris", "is", "big"], ["paris", "Hilton"], ["Paris", "rocks"]]
    tags = [[1, 0, 0], [2, 2], [1, 0]]
    predict = fit_word_tags(sentences, tags)
    assert predict([["Paris", "PARIS", "unknown"]]) == [[1, 1, 0]]
    assert fit_majority(sentences, tags)([["a", "b"]]) == [[0, 0]]


def test_hub_style_classlabel_tags_keep_their_names(tmp_path):
    features = datasets.Features(
        {
            "tokens": datasets.List(datasets.Value("string")),
            "ner_tags": datasets.List(datasets.ClassLabel(names=["O", "B-PER", "I-PER"])),
        }
    )
    table = datasets.Dataset.from_dict(
        {"tokens": [["Ann", "Lee", "ran"]] * 10, "ner_tags": [[1, 2, 0]] * 10}, features
    )
    table.to_parquet(tmp_path / "t.parquet")
    loaded = load_tagged(DataConfig(train_file=str(tmp_path / "t.parquet")), seed=0)
    assert loaded.label_names == ["O", "B-PER", "I-PER"]
    assert loaded.splits["train"][0]["ner_tags"] == [1, 2, 0]
