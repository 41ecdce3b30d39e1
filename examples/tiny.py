"""What the examples train on: the packaged all-MiniLM-L6-v2 and BBC News by default (minutes on
a CPU), or with `--tiny` a 2-layer BERT (hidden size 32) and a few hundred synthetic sentences
built here, so that tests/test_examples.py runs every example in seconds."""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path
from typing import Any

TOPICS = {
    "sport": ["goal", "match", "team", "coach", "cup", "win"],
    "business": ["bank", "shares", "profit", "market", "deal", "growth"],
    "tech": ["software", "phone", "chip", "network", "app", "code"],
}
FILLER = ["the", "a", "of", "on", "and", "with", "new", "said", "today", "after"]


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tiny", action="store_true", help="a tiny model and data (tests)")
    parser.add_argument("--workdir", type=Path, default=Path("runs/examples"), help="outputs")
    return parser.parse_args()


def recipe(args: argparse.Namespace) -> dict[str, Any]:
    """A fine-tuning recipe as a dict: MiniLM on BBC News for one epoch, or the tiny stand-ins."""
    if not args.tiny:
        return {
            "model": {"name_or_path": "builtin:all-MiniLM-L6-v2"},
            "data": {"builtin": "bbc-news", "test_size": 0.2, "max_length": 128},
            "learning_rate": 1e-4,
            "num_train_epochs": 1,
        }
    folder = args.workdir / "tiny-assets"
    return {
        "model": {"name_or_path": str(tiny_bert(folder / "bert"))},
        "data": {
            "train_file": str(write_texts(folder / "train.csv", per_topic=40, seed=1)),
            "test_file": str(write_texts(folder / "test.csv", per_topic=10, seed=2)),
            "max_length": 32,
        },
        "learning_rate": 5e-3,
        "num_train_epochs": 4,
        "per_device_train_batch_size": 8,
        # on the CPU even where a GPU is, and with gloo when launched as several processes
        "use_cpu": True,
        "ddp_backend": "gloo",
    }


def write_texts(path: Path, per_topic: int, seed: int) -> Path:
    """Short texts whose topic words give their label away, as a text,label CSV."""
    rng = random.Random(seed)
    rows = []
    for label, words in TOPICS.items():
        for _ in range(per_topic):
            tokens = rng.choices(words, k=rng.randint(3, 6)) + rng.choices(FILLER, k=5)
            rng.shuffle(tokens)
            rows.append((" ".join(tokens), label))
    rng.shuffle(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    return path


def tiny_bert(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT and a WordPiece tokenizer over the examples' words,
    saved as a checkpoint folder (what `model.name_or_path` reads)."""
    from transformers import BertConfig, BertModel, BertTokenizerFast, set_seed

    set_seed(0)  # the same tiny model every time
    words = sorted({w for ws in TOPICS.values() for w in ws} | set(FILLER))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
