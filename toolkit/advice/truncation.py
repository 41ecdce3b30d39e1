"""How much of the training inputs data.max_length cuts: measured once from the tokenized
training split, said at the start of a run, written in the report's data section, and handed
to the diagnosis (findings.truncated) through RunFacts.

Texts are counted by the pieces they were cut to (a text that fills max_length was cut there),
and said at the start when a tenth or more are cut. Sentences of tagged words are counted
exactly, with the words past the cut, which training never tags; they are said whenever one
is cut, since those words' tags are lost to training (the test split reads them in further
windows, tasks/word_windows.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.core.log import say

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SAY_SHARE = 0.1  # a tenth of the texts cut is worth a line at the start
NO_LIMIT = 100_000  # tokenizers without a known limit report a huge sentinel instead
COVER_SHARE = 0.95  # a longer max_length worth trying fits this share of the training texts
LENGTH_SAMPLE = 500  # cut texts tokenized again whole, to see how far they reach (~0.7 s at
# 500 words each, MiniLM's fast tokenizer on this 2-core machine)


@dataclass
class Truncation:
    cut: int  # training inputs that fill max_length (texts) or run past it (sentences)
    total: int
    max_length: int
    model_max_length: int | None  # how far the model could read; None: unknown
    # sentences of tagged words: their words, and those past the cut (None: texts)
    words_cut: int | None = None
    words_total: int | None = None
    # tokens that COVER_SHARE of the training texts fit in (None: not measured: sentences)
    covering_length: int | None = None

    @property
    def share(self) -> float:
        return self.cut / self.total if self.total else 0.0

    @property
    def words_share(self) -> float | None:
        if self.words_cut is None:
            return None
        return self.words_cut / self.words_total if self.words_total else 0.0

    def report_text(self) -> str:
        """The report's data section: how many training inputs were cut."""
        if self.words_cut is None:
            return (
                f"{percent(self.cut, self.total)} of training texts were cut at `data.max_length`"
            )
        words = self.words_total or 0
        return (
            f"{self.cut:,} of {self.total:,} training sentences ({percent(self.cut, self.total)}) "
            f"ran past `data.max_length` ({self.max_length} word pieces): their "
            f"{self.words_cut:,} words past the cut ({percent(self.words_cut, words)} of the "
            f"{words:,} training words) are never trained on"
        )


def percent(part: int, whole: int) -> str:
    """part / whole as a percentage that never shows a few of many as 0%."""
    share = 100 * part / whole if whole else 0.0
    if part == 0 or share >= 1:
        return f"{share:.0f}%"
    return f"{share:.1f}%" if share >= 0.1 else "<0.1%"


def measure_truncation(
    lengths: Sequence[int],
    max_length: int,
    tokenizer: PreTrainedTokenizerBase,
    cut_whole: Sequence[int] = (),
) -> Truncation:
    """`lengths`: tokens per training text, after the cut (so a cut one fills max_length);
    `cut_whole`: a sample of the cut texts' whole lengths (none: not measured)."""
    return Truncation(
        cut=sum(int(n) >= max_length for n in lengths),
        total=len(lengths),
        max_length=max_length,
        model_max_length=readable_length(tokenizer),
        covering_length=covering_length(lengths, cut_whole, max_length),
    )


def covering_length(
    lengths: Sequence[int], cut_whole: Sequence[int], max_length: int, share: float = COVER_SHARE
) -> int | None:
    """Tokens that `share` of the training texts fit in: the uncut texts (`lengths` under
    max_length) are all shorter than the cut ones, so the share left to cover is taken from
    `cut_whole`, a sample of the cut texts' whole lengths. None: texts are cut but none of
    them was measured whole."""
    total, cut = len(lengths), sum(int(n) >= max_length for n in lengths)
    if not total:
        return None
    if (total - cut) / total >= share:
        return max_length  # it already fits that share
    if not len(cut_whole):
        return None
    # the quantile among the cut texts that leaves `share` of all texts at or under it
    among_cut = 1 - (1 - share) * total / cut
    return int(np.ceil(np.quantile(np.asarray(cut_whole), among_cut)))


def measure_word_truncation(
    lengths: list[int], read: list[int], max_length: int, tokenizer: PreTrainedTokenizerBase
) -> Truncation:
    """`lengths`: words per training sentence; `read`: how many of them fit before the cut."""
    return Truncation(
        cut=sum(n < length for n, length in zip(read, lengths, strict=True)),
        total=len(lengths),
        max_length=max_length,
        model_max_length=readable_length(tokenizer),
        words_cut=sum(lengths) - sum(read),
        words_total=sum(lengths),
    )


def readable_length(tokenizer: PreTrainedTokenizerBase) -> int | None:
    """How far the model could read; None: the tokenizer does not know."""
    room = getattr(tokenizer, "model_max_length", None)
    return room if isinstance(room, int) and room < NO_LIMIT else None


def say_truncation(truncation: Truncation) -> None:
    """The start-of-run line, when a tenth or more of the training texts are cut (the model
    never reads the rest of them, which a user with long documents must know), or any training
    sentence is (its last words' tags are never trained on)."""
    if truncation.words_cut is not None:
        say_word_truncation(truncation)
        return
    if not truncation.total or truncation.share < SAY_SHARE:
        return
    room, max_length = truncation.model_max_length, truncation.max_length
    more = (
        f"; the model reads up to {room}, so a larger data.max_length keeps more of each text, "
        f"at a cost in time"
        if room and room > max_length
        else ""
    )
    say(
        f"Truncation: {truncation.cut:,} of {truncation.total:,} training texts "
        f"({100 * truncation.share:.0f}%) fill data.max_length ({max_length} tokens) "
        f"and are cut there{more}."
    )


def say_word_truncation(truncation: Truncation) -> None:
    if not truncation.cut:
        return
    say(
        f"Truncation: {truncation.report_text()}; test sentences that long are read on in "
        f"further windows, each opening with the words before them as context."
    )


def truncation_facts(truncation: Truncation | None) -> dict[str, Any]:
    """RunFacts' truncation fields (none for a run whose training texts are not tokenized up
    front: images, or augmented text tokenized batch by batch)."""
    if truncation is None:
        return {}
    return {
        "truncated_share": truncation.share,
        "truncated_words_share": truncation.words_share,
        "max_length": truncation.max_length,
        "model_max_length": truncation.model_max_length,
        "covering_length": truncation.covering_length,
    }
