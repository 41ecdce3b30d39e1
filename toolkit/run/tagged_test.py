"""A tagger's test split read word by word: every word of every test sentence gets the kept
model's prediction (those past `data.max_length` from further windows, tasks/word_windows.py),
so metrics.json's test scores, the verdict's paired bootstrap and the baselines count the same
words, each once, as `ftk evaluate` counts them.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np
from transformers import EvalPrediction

from toolkit.core.columns import column_values
from toolkit.core.log import say
from toolkit.metrics.entities import IGNORED
from toolkit.run.stages import Plan, PreparedData
from toolkit.tasks.targets import Target
from toolkit.tasks.word_windows import read_every_word, reading_text
from toolkit.training.scoring import Pair, TestReader


def word_test_reader(plan: Plan, prepared: PreparedData) -> TestReader | None:
    """How the kept model reads the test split of a run on words; None for texts and images,
    whose prepared rows hold one input each (the Trainer reads them as they are)."""
    config, data = plan.config, prepared.data
    if not config.kind.modality.per_word or "test" not in data.splits:
        return None
    test = data.splits["test"]
    return partial(
        read_test_words,
        plan,
        prepared.processor,
        column_values(test, config.data.tokens_column),
        column_values(test, data.label_column),
        len(data.label_names),
    )


def read_test_words(
    plan: Plan,
    processor: Any,
    sentences: list[list[str]],
    truth: list[list[int]],
    tags: int,
    trainer: Any,
) -> tuple[Pair, dict[str, Any]]:
    """The test sentences' (tag ids, logits) per word, padded, and their test_* figures: the
    Trainer's metrics and the target's loss over every word, and how many lay past the cut."""
    started = time.perf_counter()
    reading = read_every_word(
        sentences, processor, plan.config, tags, partial(piece_logits, trainer)
    )
    pair = word_pair(truth, reading.logits, tags)
    metrics = word_scores(trainer, plan.target, pair)
    metrics["test_runtime"] = round(time.perf_counter() - started, 4)
    facts = reading.facts("test")
    metrics.update(facts)
    if text := reading_text(facts):
        say(f"Test: {text}")
    return pair, metrics


def piece_logits(trainer: Any, windows: Any) -> np.ndarray:
    """The kept model's logits for each piece of some prepared windows."""
    predictions = trainer.predict(windows, metric_key_prefix="test").predictions
    if isinstance(predictions, tuple):  # a model that returns more than its logits
        predictions = predictions[0]
    return np.asarray(predictions, dtype=np.float32)


def word_pair(truth: list[list[int]], logits: list[np.ndarray], tags: int) -> Pair:
    """(tag ids, logits) with one position per word, -100 past each sentence's end: the shape
    the target's scores and reports read from the Trainer, where a position was a piece."""
    width = max((len(row) for row in truth), default=0)
    labels = np.full((len(truth), width), IGNORED, dtype=np.int64)
    padded = np.zeros((len(truth), width, tags), dtype=np.float32)
    for i, (row, rows) in enumerate(zip(truth, logits, strict=True)):
        labels[i, : len(row)] = row
        padded[i, : len(row)] = rows
    return labels, padded


def word_scores(trainer: Any, target: Target, pair: Pair) -> dict[str, Any]:
    """test_loss and the run's metrics of the word pair, as the Trainer names them."""
    labels, logits = pair
    computed = trainer.compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    return {
        "test_loss": target.loss(logits, labels),
        **{f"test_{name}": value for name, value in computed.items()},
    }
