"""Tagged words split into the pieces the running text gives.

A tagger trains on words (`is_split_into_words`), but `pipeline("token-classification")`
reads running text. Tokenizers mark a word's start in different ways: WordPiece splits at
spaces, Metaspace (XLM-R, DeBERTa-v3, ALBERT) puts "▁" before every word, and byte-level BPE
(RoBERTa, GPT-2, ModernBERT) keeps a word's leading space in its first piece ("Ġjordan"),
which a word handed over alone does not have unless the tokenizer adds a prefix space. So the
rule is decided by probing the tokenizer, not by its name: the first of `PREFIXES` whose words
give the running text's pieces, else a UserError.
"""

from __future__ import annotations

import weakref

from transformers import PreTrainedTokenizerBase

from toolkit.core.errors import UserError
from toolkit.core.log import note

# A sentence of capitalised, lower-case and numeric words and punctuation, where a tokenizer
# that marks word starts shows it.
PROBE = ["Jordan", "met", "Ana", "in", "Paris", "in", "2019", "."]

# What goes before every word after the first, tried in order: nothing (the tokenizer marks
# word starts itself), then the space the running text has there (byte-level BPE).
PREFIXES = ("", " ")

DESCRIPTIONS = {
    "": "as given",
    " ": "with a space before each word after the first, as the running text has it",
}

# Each tokenizer's rule, decided (and said) once however often its splits are prepared.
DECIDED: weakref.WeakKeyDictionary[PreTrainedTokenizerBase, str] = weakref.WeakKeyDictionary()


def with_prefix(words: list[str], prefix: str) -> list[str]:
    """`words` with `prefix` before every word after the first."""
    return [*words[:1], *(prefix + word for word in words[1:])]


def word_pieces(tokenizer: PreTrainedTokenizerBase, words: list[str], prefix: str) -> list[int]:
    """The token ids `tokenizer` gives `words` split into words, each later word `prefix`ed."""
    return list(tokenizer(with_prefix(words, prefix), is_split_into_words=True)["input_ids"])


def running_pieces(tokenizer: PreTrainedTokenizerBase, words: list[str]) -> list[int]:
    """The token ids of the words as running text: what the pipeline reads."""
    return list(tokenizer(" ".join(words))["input_ids"])


def word_prefix(tokenizer: PreTrainedTokenizerBase, checkpoint: str) -> str:
    """What to put before every tagged word after the first so that `tokenizer` splits the
    words into the pieces of their running text (`PREFIXES`); said once per tokenizer.
    A UserError naming `checkpoint` when no prefix does."""
    if tokenizer in DECIDED:
        return DECIDED[tokenizer]
    running = running_pieces(tokenizer, PROBE)
    prefix = next((p for p in PREFIXES if word_pieces(tokenizer, PROBE, p) == running), None)
    if prefix is None:
        raise UserError(unmatched_pieces(tokenizer, checkpoint, running))
    DECIDED[tokenizer] = prefix
    note(
        f"Tagged words are tokenized {DESCRIPTIONS[prefix]}: {type(tokenizer).__name__} then "
        f"splits them into the pieces of their running text, which "
        f'pipeline("token-classification") and `ftk predict` read.'
    )
    return prefix


def unmatched_pieces(
    tokenizer: PreTrainedTokenizerBase, checkpoint: str, running: list[int]
) -> str:
    """The refusal when no prefix works: both splits of the probe, and what to use instead."""
    as_words = word_pieces(tokenizer, PROBE, "")
    return (
        f"The tokenizer of '{checkpoint}' ({type(tokenizer).__name__}) splits tagged words "
        f"into other pieces than their running text, with or without a space before each "
        f"word: {' '.join(PROBE)!r} gives {tokenizer.convert_ids_to_tokens(as_words)} as words "
        f"but {tokenizer.convert_ids_to_tokens(running)} as text, so a tagger trained on "
        f'the words would read other pieces in pipeline("token-classification"). Use a '
        f"checkpoint whose tokenizer starts a new piece at every space (WordPiece as in BERT, "
        f"byte-level BPE as in RoBERTa, SentencePiece/Metaspace as in XLM-R)."
    )
