"""Every word of a tagged sentence read, however long: a sentence longer than `data.max_length`
word pieces is read in windows.

The first window is the sentence as training prepared it (`token_classification.prepare`, cut
at max_length). Each later window starts at a word boundary, opening with the words before its
first unread word (up to CONTEXT_SHARE of the window's pieces) as context, and reads on to the
next cut; each word gets the logits of its first piece in the first window that held that piece,
as training tagged it. So the run's test scores, `ftk evaluate` and `ftk predict` all give every
word a prediction of the model, and the test split is scored on the very words the baselines
are scored on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import datasets
import numpy as np
from transformers import PreTrainedTokenizerBase

from toolkit.config.schema import RunConfig
from toolkit.model.words import word_prefix
from toolkit.tasks.token_classification import prepare

# A later window opens with the words before its first unread one, up to this share of the
# pieces a window holds: each word past the cut is read with context on both sides.
CONTEXT_SHARE = 0.5

# prepared windows (model inputs only) -> their piece logits, (windows, pieces, tags)
Predict = Callable[[datasets.Dataset], np.ndarray]


@dataclass
class WordReading:
    """Per sentence, one row of tag logits per word; and how much lay past the first window."""

    logits: list[np.ndarray]  # per sentence: (words, tags)
    words: int  # in all the sentences
    sentences_cut: int  # sentences longer than data.max_length word pieces
    words_past_cut: int  # their words past the first window, read in later ones
    later_windows: int  # windows read after the first one

    def facts(self, split: str) -> dict[str, int]:
        """metrics.json's record of the reading, e.g. `test_words_past_max_length`."""
        return {
            f"{split}_words": self.words,
            f"{split}_sentences_past_max_length": self.sentences_cut,
            f"{split}_words_past_max_length": self.words_past_cut,
            f"{split}_windows_past_max_length": self.later_windows,
        }


def reading_text(facts: Mapping[str, Any], split: str = "test") -> str:
    """What the console and the report say of a split whose sentences ran past max_length
    ('' when none did), from `WordReading.facts`."""
    cut = facts.get(f"{split}_sentences_past_max_length", 0)
    if not cut:
        return ""
    words = facts[f"{split}_words_past_max_length"]
    windows = facts[f"{split}_windows_past_max_length"]
    return (
        f"{cut:,} {split} sentence{'s' * (cut != 1)} ran past `data.max_length`: "
        f"{words:,} of the {facts[f'{split}_words']:,} {split} words lay past the cut and "
        f"were read in {windows:,} further window{'s' * (windows != 1)}, each opening with "
        f"the words before them as context, so the transformer is scored on every {split} "
        f"word, as the baselines are."
    )


@dataclass
class Window:
    sentence: int  # which sentence
    start: int  # the sentence's word the window opens with


def read_every_word(
    sentences: list[list[str]],
    tokenizer: PreTrainedTokenizerBase,
    config: RunConfig,
    tags: int,
    predict: Predict,
) -> WordReading:
    """The logits (`tags` per word) of every word of `sentences`, each sentence read in as
    many windows of `config.data.max_length` pieces as it needs; `predict` scores a batch of
    prepared windows. A word no piece stands for (a tokenizer that drops it) keeps zeros."""
    rows = WordRows(sentences, tags, context_budget(tokenizer, config.data.max_length))
    windows = [Window(i, 0) for i, words in enumerate(sentences) if words]
    later = 0  # windows read after each sentence's first
    while windows:
        prepared = prepared_windows(sentences, windows, tokenizer, config)
        logits = predict(prepared.remove_columns("word_ids"))
        following = [
            rows.take(window, piece_words, row, first=later == 0)  # later is 0 in pass 1 only
            for window, piece_words, row in zip(windows, prepared["word_ids"], logits, strict=True)
        ]
        windows = [window for window in following if window is not None]
        later += len(windows)
    return WordReading(
        logits=rows.logits,
        words=sum(len(words) for words in sentences),
        sentences_cut=sum(n > 0 for n in rows.later),
        words_past_cut=sum(rows.later),
        later_windows=later,
    )


class WordRows:
    """The sentences' word logits as the windows fill them in. Words are read in order: every
    word before `read[i]` has been read (or has no piece at all)."""

    def __init__(self, sentences: list[list[str]], tags: int, budget: int):
        self.logits = [np.zeros((len(words), tags), dtype=np.float32) for words in sentences]
        self.filled = [np.zeros(len(words), dtype=bool) for words in sentences]
        self.read = [0] * len(sentences)
        self.later = [0] * len(sentences)  # words read after the first window
        self.budget = budget

    def take(
        self, window: Window, piece_words: list[int | None], row: np.ndarray, first: bool
    ) -> Window | None:
        """Fill in the words `window` read first (`row`: its piece logits; `first`: the
        sentence's first window); the sentence's next window, or None when every word is read."""
        i, start = window.sentence, window.start
        firsts = first_pieces(piece_words)
        for word, piece in firsts.items():
            if not self.filled[i][start + word]:
                self.filled[i][start + word] = True
                self.logits[i][start + word] = row[piece]
                self.later[i] += int(not first)
        reached = start + max(firsts) + 1 if firsts else start
        progressed = reached > self.read[i]
        self.read[i] = max(self.read[i], reached)
        if self.read[i] >= len(self.filled[i]):
            return None
        if progressed:
            return Window(i, context_start(piece_words, start, self.read[i], self.budget))
        if start < self.read[i]:  # the context left no room: the next window opens unread
            return Window(i, self.read[i])
        return None  # no word from here on has a piece: nothing more to read


def first_window_words(
    sentences: list[list[str]], tokenizer: PreTrainedTokenizerBase, config: RunConfig
) -> list[int]:
    """How many words of each sentence its first window reads: those before the cut at
    data.max_length, which training tags (the truncation advice counts the rest)."""
    if not sentences:
        return []
    windows = [Window(i, 0) for i in range(len(sentences))]
    prepared = prepared_windows(sentences, windows, tokenizer, config)
    return [max(first_pieces(piece_words), default=-1) + 1 for piece_words in prepared["word_ids"]]


def first_pieces(piece_words: list[int | None]) -> dict[int, int]:
    """Each word of a window (its index in the window) -> its first piece's position."""
    firsts: dict[int, int] = {}
    for piece, word in enumerate(piece_words):
        if word is not None and word not in firsts:
            firsts[word] = piece
    return firsts


def context_budget(tokenizer: PreTrainedTokenizerBase, max_length: int) -> int:
    """How many pieces of context a later window opens with."""
    room = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    return int(CONTEXT_SHARE * room)


def context_start(piece_words: list[int | None], start: int, read: int, budget: int) -> int:
    """Where the next window opens: the last words read (sentence index `read` onwards is
    unread) whose pieces in this window fit in `budget`."""
    pieces = Counter(word for word in piece_words if word is not None)
    opening, used = read, 0
    for word in range(read - 1 - start, -1, -1):
        used += pieces[word]
        if used > budget:
            break
        opening = start + word
    return opening


def prepared_windows(
    sentences: list[list[str]],
    windows: list[Window],
    tokenizer: PreTrainedTokenizerBase,
    config: RunConfig,
) -> datasets.Dataset:
    """The windows tokenized as training tokenizes sentences (cut at max_length), each
    piece's word kept; a window opening mid-sentence has its first word spaced as the running
    text has it there (model/words.py)."""
    prefix = word_prefix(tokenizer, config.model.name_or_path or "")
    words = [window_words(sentences[w.sentence], w.start, prefix) for w in windows]
    split = datasets.Dataset.from_dict({config.data.tokens_column: words})
    return prepare(datasets.DatasetDict({"windows": split}), tokenizer, config)["windows"]


def window_words(words: list[str], start: int, prefix: str) -> list[str]:
    """The sentence from word `start` on; opening mid-sentence, the first word gets the
    `prefix` the running text has before it (`prepare` gives it to every later word)."""
    if start == 0:
        return words
    return [prefix + words[start], *words[start + 1 :]]
