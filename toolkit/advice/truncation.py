"""How much of the training texts data.max_length cuts: measured once from the tokenized
training split, said at the start of a run when a tenth or more are cut, and handed to the
diagnosis (findings.truncated) through RunFacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.core.log import say

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SAY_SHARE = 0.1  # a tenth of the texts cut is worth a line at the start
NO_LIMIT = 100_000  # tokenizers without a known limit report a huge sentinel instead


@dataclass
class Truncation:
    cut: int  # training texts that fill max_length
    total: int
    max_length: int
    model_max_length: int | None  # how far the model could read; None: unknown

    @property
    def share(self) -> float:
        return self.cut / self.total if self.total else 0.0


def measure_truncation(
    input_ids: list[list[int]], max_length: int, tokenizer: PreTrainedTokenizerBase
) -> Truncation:
    room = getattr(tokenizer, "model_max_length", None)
    return Truncation(
        cut=sum(len(ids) >= max_length for ids in input_ids),
        total=len(input_ids),
        max_length=max_length,
        model_max_length=room if isinstance(room, int) and room < NO_LIMIT else None,
    )


def say_truncation(truncation: Truncation) -> None:
    """The start-of-run line, when a tenth or more of the training texts are cut: the model
    never reads the rest of them, which a user with long documents must know."""
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


def truncation_facts(truncation: Truncation | None) -> dict[str, Any]:
    """RunFacts' truncation fields (none for a run whose training texts are not tokenized up
    front: images, or augmented text tokenized batch by batch)."""
    if truncation is None:
        return {}
    return {
        "truncated_share": truncation.share,
        "max_length": truncation.max_length,
        "model_max_length": truncation.model_max_length,
    }
