"""Tiny tagged data for token classification tests: sentences whose person and place names
(one or two words, some split into several word pieces) are tagged in IOB2, and a tiny BERT
with a fast WordPiece tokenizer that knows those words."""

from __future__ import annotations

import json
import random
from pathlib import Path

from helpers import save_tiny_bert

PEOPLE = [["alice"], ["bob"], ["carol"], ["dave", "smith"], ["erin", "jones"]]
PLACES = [["paris"], ["london"], ["berlin"], ["new", "york"], ["rome"], ["oslo"]]
FILLER = ["the", "a", "lives", "in", "went", "to", "met", "and", "with", "today", "from"]
# "jordan" is a person after "met" and a place after "in": only context tells them apart, which
# the per-word baseline cannot read
AMBIGUOUS = [(["met", "jordan"], ["O", "B-PER"]), (["in", "jordan"], ["O", "B-LOC"])]
# whole words in the vocabulary; "oslo" and "jones" only as pieces ("os" "##lo", "jo" "##nes"),
# so some words are tagged on their first piece and not on the rest
PIECES = ["os", "##lo", "jo", "##nes"]


def entity_tags(words: list[str], kind: str) -> list[str]:
    return [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)


def make_sentences(n: int, seed: int) -> list[dict[str, list[str]]]:
    """`n` sentences: filler words around one person, one place and "jordan" in one of its
    two roles, in random order."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        parts = [
            (rng.choice(PEOPLE), entity_tags(["x"], "PER")),
            (rng.choice(PLACES), None),
            rng.choice(AMBIGUOUS),
            *[([w], ["O"]) for w in rng.choices(FILLER, k=rng.randint(1, 3))],
        ]
        rng.shuffle(parts)
        tokens, tags = [], []
        for words, word_tags in parts:
            if word_tags is None or len(word_tags) != len(words):  # a one- or two-word name
                kind = "PER" if words in PEOPLE else "LOC"
                word_tags = entity_tags(words, kind)
            tokens += words
            tags += word_tags
        rows.append({"tokens": tokens, "ner_tags": tags})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_conll(path: Path, rows: list[dict]) -> Path:
    blocks = [
        "\n".join(f"{t}\t{g}" for t, g in zip(r["tokens"], r["ner_tags"], strict=True))
        for r in rows
    ]
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def save_tiny_tagger_base(folder: Path) -> Path:
    """A 2-layer BERT encoder (hidden 32) and a FAST WordPiece tokenizer, saved to `folder`."""
    words = {w for group in (PEOPLE, PLACES) for ws in group for w in ws} | set(FILLER)
    words.add("jordan")
    words -= {"oslo", "jones"}
    return save_tiny_bert(folder, [*sorted(words), *PIECES], max_length=64)
