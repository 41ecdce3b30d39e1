"""Entity-level scores for token classification, with `seqeval`: an entity counts as found
only when its type and every one of its tokens match (CoNLL's evaluation), so a model that
tags most tokens right but cuts entities short scores low, as it should.

Predictions come per word piece; only the pieces that carry a label (the first piece of each
word, unless all are labelled) are scored, so each word is counted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

IGNORED = -100  # the label of word pieces and special tokens that are not scored

ENTITY_METRICS = ("f1", "precision", "recall", "accuracy")


def entity_scores(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro-averaged entity precision, recall and F1, and token accuracy (IOB2 tags)."""
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score

    true, pred = [list(s) for s in true], [list(s) for s in pred]
    return {
        "f1": float(f1_score(true, pred, zero_division=0)),
        "precision": float(precision_score(true, pred, zero_division=0)),
        "recall": float(recall_score(true, pred, zero_division=0)),
        "accuracy": float(accuracy_score(true, pred)),
    }


def entity_report(
    true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Per entity type (then seqeval's micro/macro/weighted averages): precision, recall, F1
    and support (seqeval's classification report, as plain floats for metrics.json)."""
    from seqeval.metrics import classification_report

    report = classification_report(
        [list(s) for s in true], [list(s) for s in pred], output_dict=True, zero_division=0
    )
    return {name: {k: float(v) for k, v in row.items()} for name, row in report.items()}


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first word, last word) of every entity in one sentence's IOB2 tags, read the way
    seqeval scores them (an I- tag without its B- still starts an entity)."""
    from seqeval.metrics.sequence_labeling import get_entities

    return [(kind, start, end) for kind, start, end in get_entities(list(tags))]


def entity_counts(rows: Sequence[Sequence[str]]) -> dict[str, int]:
    """How many entities of each type the sentences hold (types sorted by name)."""
    counts = Counter(kind for tags in rows for kind, _, _ in entities(tags))
    return {kind: counts[kind] for kind in sorted(counts)}


def named(rows: Any, label_names: list[str]) -> list[list[str]]:
    """Rows of tag ids as rows of tag names."""
    return [[label_names[int(i)] for i in row] for row in rows]


def word_tag_scorer(
    names: list[str], label_names: list[str]
) -> Callable[[Any, Any], dict[str, float]]:
    """(predicted tag-id rows, true tag-id rows), one id per word -> the entity scores in
    `names`: for the baselines and `ftk evaluate`, which predict words, not pieces."""

    def score(predicted: Any, true: Any) -> dict[str, float]:
        scores = entity_scores(named(true, label_names), named(predicted, label_names))
        return {name: scores[name] for name in names}

    return score


def tags_of_scored_pieces(
    predicted_ids: np.ndarray, label_ids: np.ndarray, label_names: list[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """(true tags, predicted tags) per sentence, keeping the pieces whose label is not -100."""
    true, pred = [], []
    for predicted, labels in zip(predicted_ids, label_ids, strict=True):
        kept = labels != IGNORED
        true.append([label_names[i] for i in labels[kept]])
        pred.append([label_names[i] for i in predicted[kept]])
    return true, pred


def token_classification_metrics(
    names: list[str], label_names: list[str]
) -> Callable[[Any], dict[str, float]]:
    """A Trainer `compute_metrics` for token classification: the entity scores in `names`."""

    def compute(eval_pred: Any) -> dict[str, float]:
        logits = eval_pred.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        true, pred = tags_of_scored_pieces(
            np.argmax(logits, axis=-1), eval_pred.label_ids, label_names
        )
        scores = entity_scores(true, pred)
        return {name: scores[name] for name in names}

    return compute
