"""Entity-level scores for token classification, with `seqeval`: an entity counts as found
only when its type and every one of its tokens match (CoNLL's evaluation), so a model that
tags most tokens right but cuts entities short scores low, as it should. They apply to tags of
an entity scheme (`EntityTags`); plain tags such as POS are scored per word instead
(metrics/word_tags.py), and metrics/tag_sets.py picks one of the two by the run's scheme.

Predictions come per word piece; only the pieces that carry a label (the first piece of each
word, unless all are labelled) are scored, so each word is counted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from transformers import EvalPrediction

IGNORED = -100  # the label of word pieces and special tokens that are not scored


def entity_scores(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro-averaged entity precision, recall and F1, and token accuracy (IOB1, IOB2 or IOBES
    tags, as seqeval reads them)."""
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
    """(type, first word, last word) of every entity in one sentence's tags (IOB1, IOB2 or
    IOBES spelling), read the way seqeval scores them (an I- tag without its B- still starts
    an entity)."""
    from seqeval.metrics.sequence_labeling import get_entities

    return [(kind, start, end) for kind, start, end in get_entities(list(tags))]


def entity_counts(rows: Sequence[Sequence[str]]) -> dict[str, int]:
    """How many entities of each type the sentences hold (types sorted by name)."""
    counts = Counter(kind for tags in rows for kind, _, _ in entities(tags))
    return {kind: counts[kind] for kind in sorted(counts)}


def named(rows: Any, label_names: list[str]) -> list[list[str]]:
    """Rows of tag ids as rows of tag names."""
    return [[label_names[int(i)] for i in row] for row in rows]


def word_tag_scorer(names: list[str], label_names: list[str]) -> WordTagScorer:
    """(predicted tag-id rows, true tag-id rows), one id per word -> the entity scores in
    `names`: for the baselines, `ftk evaluate` and the verdict's bootstrap."""
    return WordTagScorer(names, label_names)


class WordTagScorer:
    """The entity scores of tag-id rows; `resampled` scores many resamples of the sentences
    at once, for the paired bootstrap (advice/noise.py), where calling seqeval 1,000 times per
    metric and model took minutes on a few hundred tweets."""

    def __init__(self, names: list[str], label_names: list[str]):
        self.names = names
        self.label_names = label_names

    def __call__(self, predicted: Any, true: Any) -> dict[str, float]:
        scores = entity_scores(named(true, self.label_names), named(predicted, self.label_names))
        return {name: scores[name] for name in self.names}

    def resampled(self, counts: np.ndarray, true: Any, predicted: Any) -> dict[str, np.ndarray]:
        """The scores for every resample; counts: (resamples, sentences), how often each
        sentence was drawn. Micro-averaged entity scores add up over sentences (an entity
        never crosses one), so each resample's totals are counts @ per-sentence totals."""
        found, guessed, present, right, words = sentence_totals(
            named(true, self.label_names), named(predicted, self.label_names)
        )
        tp, n_pred, n_true = counts @ found, counts @ guessed, counts @ present
        scores = {
            "precision": ratio(tp, n_pred),
            "recall": ratio(tp, n_true),
            "f1": ratio(2 * tp, n_pred + n_true),
            "accuracy": ratio(counts @ right, counts @ words),
        }
        return {name: scores[name] for name in self.names}


def sentence_totals(
    true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> tuple[np.ndarray, ...]:
    """Per sentence: entities found (type and span match), predicted, true; words right, words."""
    totals = []
    for true_tags, pred_tags in zip(true, pred, strict=True):
        true_entities, pred_entities = set(entities(true_tags)), set(entities(pred_tags))
        right = sum(a == b for a, b in zip(true_tags, pred_tags, strict=True))
        found = len(true_entities & pred_entities)
        totals.append((found, len(pred_entities), len(true_entities), right, len(true_tags)))
    return tuple(np.array(column, dtype=float) for column in zip(*totals, strict=True))


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (seqeval's zero_division=0)."""
    safe = np.where(denominator == 0, 1, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def scored_id_rows(
    predicted_ids: np.ndarray, label_ids: np.ndarray
) -> tuple[list[list[int]], list[list[int]]]:
    """(true tag ids, predicted tag ids) per sentence, of the pieces whose label is not -100:
    one per word (first-piece labelling), as the baselines predict them."""
    kept = [row != IGNORED for row in label_ids]
    true = [row[keep].tolist() for row, keep in zip(label_ids, kept, strict=True)]
    pred = [row[keep].tolist() for row, keep in zip(predicted_ids, kept, strict=True)]
    return true, pred


RowScorer = Callable[[Any, Any], dict[str, float]]


def tag_metrics(score: RowScorer) -> Callable[[EvalPrediction], dict[str, float]]:
    """A Trainer `compute_metrics` for token classification: `score` (predicted tag-id rows,
    true rows -> {name: value}) of the argmax tags of the scored pieces."""

    def compute(eval_pred: EvalPrediction) -> dict[str, float]:
        logits = eval_pred.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        labels = eval_pred.label_ids
        assert isinstance(labels, np.ndarray)  # one labels array: the tag ids
        true, pred = scored_id_rows(np.argmax(logits, axis=-1), labels)
        return score(pred, true)

    return compute


class EntityTags:
    """A tag set of an entity scheme, read by seqeval: scored, counted and reported per
    entity, and what `ftk predict` writes is the entities of each sentence. `read_as`: the tag
    names spelled as seqeval reads them (config/taxonomy.TagScheme.seqeval_name)."""

    report_key = "per_entity"  # the test report's and `ftk evaluate`'s per-type table
    counted = "entity type"  # what `counts` counts: mentions of each type

    def __init__(self, read_as: list[str]):
        self.names = read_as

    def scorer(self, metrics: list[str]) -> WordTagScorer:
        return WordTagScorer(metrics, self.names)

    def counts(self, rows: Any) -> dict[str, int]:
        """Entities per type in the tag-id rows (what the data-size advice counts)."""
        return entity_counts(named(rows, self.names))

    def report(self, true: Any, predicted: Any) -> dict[str, dict[str, float]]:
        """Precision, recall, F1 and support per entity type, of tag-id rows."""
        return entity_report(named(true, self.names), named(predicted, self.names))

    def predicted(self, words: list[str], probabilities: np.ndarray) -> dict[str, Any]:
        """One sentence's `entities`: each with its type, word span [start, end) and score
        (the mean probability of its words' tags); `probabilities`: (words, tags)."""
        if not words:
            return {"entities": []}
        tags = [self.names[i] for i in probabilities.argmax(axis=-1)]
        best = probabilities.max(axis=-1)
        found = [
            {
                "text": " ".join(words[start : end + 1]),
                "type": kind,
                "start": start,
                "end": end + 1,
                "score": round(float(best[start : end + 1].mean()), 6),
            }
            for kind, start, end in entities(tags)
        ]
        return {"entities": found}
