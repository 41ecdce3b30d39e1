"""Tiny tagged data for token classification tests: sentences whose person and place names
(one or two words, some split into several word pieces) are tagged in IOB2, and a tiny BERT
with a fast WordPiece tokenizer that knows those words."""

from __future__ import annotations

import json
import random
from pathlib import Path

from helpers import save_tiny_bert, write_recipe

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


def write_conll(path: Path, rows: list[dict], tags: str = "ner_tags") -> Path:
    blocks = [
        "\n".join(f"{t}\t{g}" for t, g in zip(r["tokens"], r[tags], strict=True)) for r in rows
    ]
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def save_tiny_tagger_base(folder: Path) -> Path:
    """A 2-layer BERT encoder (hidden 32) and a FAST WordPiece tokenizer, saved to `folder`."""
    words = {w for group in (PEOPLE, PLACES) for ws in group for w in ws} | set(FILLER)
    words.add("jordan")
    words -= {"oslo", "jones"}
    return save_tiny_bert(folder, [*sorted(words), *PIECES], max_length=64)


# Part-of-speech tags (Penn Treebank's): plain tags, one label per word. Read as entities they
# would lose letters to prefixes ("UH" as U- and a type H, "PRP$" as P- and RP$), and "," and
# "." are tags too. "saw" is a noun after a determiner and a verb after a noun: only context
# tells.
POS_WORDS = {
    "DT": ["the", "a"],
    "JJ": ["quick", "brown", "lazy"],
    "NN": ["fox", "dog", "park", "house"],
    "VBD": ["jumped", "walked", "slept"],
    "IN": ["in", "over", "near"],
    "PRP$": ["his", "her"],
    "UH": ["oh", "wow"],
}


def make_pos_sentences(n: int, seed: int) -> list[dict[str, list[str]]]:
    """`n` sentences of the pattern [UH ,] DT [JJ] NN VBD IN PRP$ NN . , with "saw" as a noun
    or a verb by its place, tagged in `pos_tags`."""
    rng = random.Random(seed)

    def words(tag: str) -> list[tuple[str, str]]:
        return [(rng.choice(POS_WORDS[tag]), tag)]

    rows = []
    for _ in range(n):
        parts = [*words("UH"), (",", ",")] if rng.random() < 0.3 else []
        parts += words("DT") + (words("JJ") if rng.random() < 0.5 else [])
        parts += [("saw", "NN")] if rng.random() < 0.3 else words("NN")
        parts += [("saw", "VBD")] if rng.random() < 0.3 else words("VBD")
        parts += words("IN") + words("PRP$") + words("NN") + [(".", ".")]
        rows.append({"tokens": [w for w, _ in parts], "pos_tags": [t for _, t in parts]})
    return rows


def save_tiny_pos_base(folder: Path) -> Path:
    """The tiny BERT with a fast WordPiece tokenizer that knows the POS sentences' words."""
    words = sorted({w for group in POS_WORDS.values() for w in group} | {"saw"})
    return save_tiny_bert(folder, [*words, ",", "."], max_length=64)


def write_tagging_config(path, model, train, test, output_dir, **extra):
    """A token-classification recipe: the tiny model, a train and a test file, a short CPU run
    that learns the tiny data sets."""
    lines = [
        "task: token-classification",
        f"model: {{name_or_path: '{model}'}}",
        f"data: {{train_file: '{train}', test_file: '{test}', max_length: 32}}",
        "schedule: {warmup_fraction: 0.1, decay: cosine}",
        f"output_dir: '{output_dir}'",
        "learning_rate: 1e-2",
        "num_train_epochs: 6",
        "per_device_train_batch_size: 16",
        "logging_steps: 1",
        "save_total_limit: 1",
        "use_cpu: true",
        "dataloader_pin_memory: false",
    ]
    return write_recipe(path, lines, extra)
