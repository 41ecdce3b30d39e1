"""Token-classification baselines: every word tagged with the most frequent tag (usually O, so
no entity is ever found), and each word tagged with the tag it carried most often in training
(the word's most frequent tag; unseen words get the most frequent tag overall). The second is
the classic dictionary baseline of CoNLL: no context at all, so the gap to it is what the
transformer's reading of context buys.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from toolkit.advice.baselines.candidate import Candidate
from toolkit.config.schema import RunConfig

if TYPE_CHECKING:
    import datasets

Sentences = list[list[str]]
TagRows = list[list[int]]


def inputs_from_splits(splits: datasets.DatasetDict, config: RunConfig) -> dict[str, Sentences]:
    return {split: list(ds[config.data.tokens_column]) for split, ds in splits.items()}


def most_frequent_tag(tags: TagRows) -> int:
    return Counter(tag for row in tags for tag in row).most_common(1)[0][0]


def fit_majority(sentences: Sentences, tags: TagRows) -> Callable[[Sentences], TagRows]:
    tag = most_frequent_tag(tags)
    return lambda new: [[tag] * len(words) for words in new]


def fit_word_tags(sentences: Sentences, tags: TagRows) -> Callable[[Sentences], TagRows]:
    """Each word's most frequent training tag; a word unseen in that exact form is looked up
    lowercased, then falls back to the most frequent tag overall."""
    exact: dict[str, Counter] = defaultdict(Counter)
    lowered: dict[str, Counter] = defaultdict(Counter)
    for words, row in zip(sentences, tags, strict=True):
        for word, tag in zip(words, row, strict=True):
            exact[word][tag] += 1
            lowered[word.lower()][tag] += 1
    fallback = most_frequent_tag(tags)

    def tag_of(word: str) -> int:
        counts = exact.get(word) or lowered.get(word.lower())
        return counts.most_common(1)[0][0] if counts else fallback

    return lambda new: [[tag_of(word) for word in words] for words in new]


def candidates() -> list[Candidate]:
    return [
        Candidate("majority", "tags every word with the most frequent training tag", fit_majority),
        Candidate(
            "word_tags",
            "tags each word with its most frequent training tag (no context)",
            fit_word_tags,
        ),
    ]
