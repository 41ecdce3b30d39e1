"""Tiny fast tokenizers of each way of marking where a word starts, built offline with the
`tokenizers` library (sentencepiece is not installed): WordPiece (BERT), byte-level BPE
(RoBERTa's own class, and ModernBERT's generic PreTrainedTokenizerFast), Metaspace + Unigram
(XLM-R, DeBERTa-v3, ALBERT), and one that reads running text as a whole (no pre-tokenizer),
whose words no spacing makes agree with its text."""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    AutoTokenizer,
    BertTokenizerFast,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    RobertaTokenizerFast,
)

WORDS = ["alice", "met", "jordan", "in", "paris", "went", "to", "rome", "today"]
BYTE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def byte_level_merges(words: list[str]) -> list[tuple[str, str]]:
    """Merges that join "Ġ" and the first letters of each word, up to 4 characters: a word
    after a space starts with a piece of its own ("Ġjor", then "d", "a", "n"), and the same
    word without its space falls apart into letters."""
    merges: dict[tuple[str, str], None] = {}
    for word in words:
        spaced = "Ġ" + word
        for end in range(2, min(len(spaced), 4) + 1):
            merges[(spaced[: end - 1], spaced[end - 1])] = None
    return list(merges)


def byte_level_vocab(specials: list[str], merges: list[tuple[str, str]]) -> dict[str, int]:
    """The special tokens, every byte's character, then each merge's result."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: i for i, token in enumerate([*specials, *alphabet])}
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    return vocab


def save_roberta_tokenizer(folder: Path, **kwargs: object) -> Path:
    """RoBERTa's RobertaTokenizerFast over a tiny vocab.json + merges.txt, saved to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    merges = byte_level_merges(WORDS)
    (folder / "vocab.json").write_text(json.dumps(byte_level_vocab(BYTE_SPECIALS, merges)))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    tokenizer = RobertaTokenizerFast(
        str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=64, **kwargs
    )
    tokenizer.save_pretrained(folder)
    return folder


def roberta_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(save_roberta_tokenizer(folder))


def roberta_with_prefix_space(folder: Path) -> PreTrainedTokenizerBase:
    """RoBERTa loaded as the transformers docs ask for words (`add_prefix_space=True`)."""
    return AutoTokenizer.from_pretrained(save_roberta_tokenizer(folder, add_prefix_space=True))


def modernbert_style_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """ModernBERT's kind: a byte-level BPE `tokenizers.Tokenizer` in the generic fast class,
    which ignores `add_prefix_space=True` when loaded."""
    merges = byte_level_merges(WORDS)
    bpe = Tokenizer(models.BPE(vocab=byte_level_vocab(BERT_SPECIALS, merges), merges=merges))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        mask_token="[MASK]",
    ).save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder, add_prefix_space=True)


def metaspace_tokenizer(folder: Path, prepend_scheme: str = "always") -> PreTrainedTokenizerBase:
    """A Unigram model behind the Metaspace pre-tokenizer ("▁" marks a word start), as
    SentencePiece models converted to tokenizer.json are (XLM-R, DeBERTa-v3, ALBERT)."""
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789."
    pieces = [(token, 0.0) for token in ["<unk>", "<s>", "</s>", "<pad>"]]
    pieces += [("▁", -2.0), *((c, -3.0) for c in letters), *((f"▁{w}", -1.0) for w in WORDS)]
    unigram = Tokenizer(models.Unigram(pieces, unk_id=0))
    unigram.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme=prepend_scheme)
    unigram.decoder = decoders.Metaspace(prepend_scheme=prepend_scheme)
    unigram.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=unigram,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    ).save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


def wordpiece_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    vocab = [*BERT_SPECIALS, *WORDS, "jor", "##dan"]
    BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}).save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


def save_glued_tokenizer(folder: Path, words: list[str]) -> Path:
    """A word-level tokenizer with no pre-tokenizer, saved to `folder`: running text is one
    unknown "word", so no spacing of tagged words gives the text's pieces."""
    specials = BERT_SPECIALS
    vocab = {token: i for i, token in enumerate([*specials, *words])}
    glued = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    glued.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=glued,
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        mask_token="[MASK]",
    ).save_pretrained(folder)
    return folder
