"""Word-level scores for plain tag sets (POS tags: NN, VBD, PRP$, '.'), where each tag labels
one word and there are no entities: seqeval would read UH as a U- prefix and a type H. The
words of all sentences are scored as one list of labels by the classifier's metric code
(metrics/classification.py), so `accuracy` and `f1_macro` (F1 averaged over the tags that
occur) mean what they mean for a classifier; the test report holds precision, recall and F1
per tag.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

from toolkit.metrics.classification import prediction_scorer
from toolkit.metrics.entities import ratio
from toolkit.metrics.test_report import per_class_report


def words_of(rows: Any) -> np.ndarray:
    """Tag-id rows (one per sentence) as one array of word tag ids."""
    return np.fromiter(chain.from_iterable(rows), dtype=np.int64)


class PlainTags:
    """A plain tag set: scored, counted and reported per word, and what `ftk predict` writes
    is each word's tag (`pred_tags`) and its probability (`pred_tag_scores`)."""

    report_key = "per_tag"  # the test report's and `ftk evaluate`'s per-tag table
    counted = "tag"  # what `counts` counts: words with each tag

    def __init__(self, label_names: list[str]):
        self.names = label_names

    def scorer(self, metrics: list[str]) -> WordScorer:
        return WordScorer(metrics, len(self.names))

    def counts(self, rows: Any) -> dict[str, int]:
        """Words per tag in the tag-id rows, in the tag names' order."""
        per_tag = np.bincount(words_of(rows), minlength=len(self.names))
        return {name: int(n) for name, n in zip(self.names, per_tag, strict=True)}

    def report(self, true: Any, predicted: Any) -> dict[str, dict[str, float]]:
        """Precision, recall, F1 and support (words) of each tag, of tag-id rows."""
        return per_class_report(words_of(true), words_of(predicted), self.names)

    def predicted(self, words: list[str], probabilities: np.ndarray) -> dict[str, Any]:
        """One sentence's tags, a tag per word; `probabilities`: (words, tags)."""
        if not words:
            return {"pred_tags": [], "pred_tag_scores": []}
        best = probabilities.argmax(axis=-1)
        return {
            "pred_tags": [self.names[i] for i in best],
            "pred_tag_scores": [round(float(p), 6) for p in probabilities.max(axis=-1)],
        }


class WordScorer:
    """(predicted tag-id rows, true rows) -> the word scores in `metrics`; `resampled` scores
    many resamples of the sentences at once, for the verdict's paired bootstrap
    (advice/noise.py), from per-sentence counts that add up."""

    def __init__(self, metrics: list[str], num_tags: int):
        self.metrics = metrics
        self.num_tags = num_tags
        self.score = prediction_scorer(metrics)

    def __call__(self, predicted: Any, true: Any) -> dict[str, float]:
        return self.score(words_of(predicted), words_of(true))

    def resampled(self, counts: np.ndarray, true: Any, predicted: Any) -> dict[str, np.ndarray]:
        """The scores for every resample; counts: (resamples, sentences), how often each
        sentence was drawn. Accuracy is words right over words; macro-F1 averages 2 TP /
        (predicted + true) over the tags that occur in the resample, as scikit-learn does."""
        right, words, hits, guessed, present = sentence_totals(true, predicted, self.num_tags)
        shown = counts @ guessed + counts @ present  # (resamples, tags)
        f1 = ratio(2 * (counts @ hits), shown)
        occurs = shown > 0
        scores = {
            "accuracy": ratio(counts @ right, counts @ words),
            "f1_macro": (f1 * occurs).sum(axis=1) / np.maximum(occurs.sum(axis=1), 1),
        }
        return {name: scores[name] for name in self.metrics}


def sentence_totals(true: Any, predicted: Any, num_tags: int) -> tuple[np.ndarray, ...]:
    """Per sentence: words right, words; per sentence and tag: words rightly given the tag,
    words given it, words truly carrying it."""
    rows = list(zip(true, predicted, strict=True))
    right, words = np.zeros(len(rows)), np.zeros(len(rows))
    hits, guessed, present = (np.zeros((len(rows), num_tags)) for _ in range(3))
    for i, (true_row, pred_row) in enumerate(rows):
        t, p = np.asarray(true_row, dtype=np.int64), np.asarray(pred_row, dtype=np.int64)
        right[i], words[i] = np.sum(t == p), len(t)
        np.add.at(hits[i], t[t == p], 1)
        np.add.at(guessed[i], p, 1)
        np.add.at(present[i], t, 1)
    return right, words, hits, guessed, present
