"""Fixtures: tiny models saved to temp folders (loaded through the real from_pretrained path)
and tiny data files with a learnable signal (built by tests/helpers.py)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one pytest worker per core: each worker, and every run it starts,
    # computes on one thread, or the workers' OpenMP pools fight over the cores (measured: a
    # 2 s image-baseline test took 72 s with two workers of two threads each).
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from helpers import (
    FILLER,
    REPEATED_SENTENCES,
    TINY_VIT_SIZES,
    TOPIC_WORDS,
    make_texts,
    save_tiny_bert,
    write_csv,
)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer BERT encoder (hidden 32, no classification head) and its WordPiece tokenizer."""
    words = sorted({w for ws in TOPIC_WORDS.values() for w in ws} | set(FILLER))
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), words, max_length=128)


@pytest.fixture(scope="session")
def bert_without_dropout(tmp_path_factory) -> Path:
    """Dropout draws different masks on each process; without it both runs compute the same."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("bert-no-dropout")
    words = sorted({w for ws in TOPIC_WORDS.values() for w in ws} | set(FILLER))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    BertTokenizerFast(
        vocab={t: i for i, t in enumerate(vocab)}, model_max_length=128
    ).save_pretrained(folder)
    BertModel(
        BertConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=128,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )
    ).save_pretrained(folder)
    return folder


@pytest.fixture()
def text_data(tmp_path) -> dict[str, Path]:
    return {
        "train": write_csv(tmp_path / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(10, seed=2)),
    }


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory) -> Path:
    """A 2-layer ViT encoder (hidden 32, 16 px images, no head) and its image processor."""
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-vit")
    sizes = {k: v for k, v in TINY_VIT_SIZES.items() if k != "model_type"}
    ViTModel(ViTConfig(**sizes)).save_pretrained(folder)
    ViTImageProcessor(size={"height": 16, "width": 16}).save_pretrained(folder)
    return folder


@pytest.fixture()
def repetitive_corpus(tmp_path) -> Path:
    """Unlabelled text: three sentences repeated, so a masked LM can learn to fill them in."""
    rng = random.Random(0)
    rows = [(rng.choice(REPEATED_SENTENCES),) for _ in range(90)]
    return write_csv(tmp_path / "corpus.csv", rows, header=("text",))
