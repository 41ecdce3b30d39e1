"""Tagged words are split into the pieces their running text gives, whatever the tokenizer
marks a word's start with (model/words.py), so a tagger trains on the pieces that
`pipeline("token-classification")` and `ftk predict` read, and the two score a word alike."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml
from tokenizer_kinds import (
    metaspace_tokenizer,
    modernbert_style_tokenizer,
    roberta_tokenizer,
    roberta_with_prefix_space,
    save_glued_tokenizer,
    wordpiece_tokenizer,
)

from toolkit.config.schema import DataConfig, ModelConfig, RunConfig
from toolkit.core.errors import UserError
from toolkit.metrics.entities import IGNORED
from toolkit.tasks.token_classification import prepare

TAGS = ["O", "B-PER", "B-LOC"]
SENTENCES = [
    (["alice", "met", "jordan", "in", "paris"], [1, 0, 1, 0, 2]),
    (["jordan", "went", "to", "rome", "today"], [1, 0, 0, 2, 0]),
]

# tokenizer kind -> (how it is built, what goes before each later word to match the text)
KINDS = {
    "wordpiece (BERT)": (wordpiece_tokenizer, ""),
    "byte-level BPE (RoBERTa)": (roberta_tokenizer, " "),
    "byte-level BPE (RoBERTa, add_prefix_space)": (roberta_with_prefix_space, ""),
    "byte-level BPE (ModernBERT's generic class)": (modernbert_style_tokenizer, " "),
    "metaspace unigram (XLM-R)": (metaspace_tokenizer, ""),
    "metaspace unigram, prepended to the first word only": (
        lambda folder: metaspace_tokenizer(folder, prepend_scheme="first"),
        "",
    ),
}


def tagging_config(checkpoint: Path) -> RunConfig:
    return RunConfig(
        task="token-classification",
        model=ModelConfig(name_or_path=str(checkpoint)),
        data=DataConfig(max_length=64),
    )


def tagged_split() -> datasets.DatasetDict:
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=TAGS)),
        }
    )
    rows = {"tokens": [w for w, _ in SENTENCES], "ner_tags": [t for _, t in SENTENCES]}
    return datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows, features=features)})


def word_starts(word_ids: list[int | None]) -> list[int]:
    """The positions of each word's first piece."""
    return [i for i, w in enumerate(word_ids) if w is not None and w not in word_ids[:i]]


@pytest.mark.parametrize("kind", list(KINDS))
def test_tagged_words_give_the_pieces_of_their_running_text(kind, tmp_path, capsys):
    build, prefix = KINDS[kind]
    tokenizer = build(tmp_path / "tokenizer")
    prepared = prepare(tagged_split(), tokenizer, tagging_config(tmp_path / "tokenizer"))["train"]
    for (words, tags), row in zip(SENTENCES, prepared, strict=True):
        running = tokenizer(" ".join(words))
        pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
        assert pieces == tokenizer.convert_ids_to_tokens(running["input_ids"])
        # each tag sits on the piece that starts its word in the running text
        tagged = [i for i, label in enumerate(row["labels"]) if label != IGNORED]
        assert tagged == word_starts(running.word_ids())
        assert [row["labels"][i] for i in tagged] == tags
    rule = "as given" if prefix == "" else "with a space before each word after the first"
    assert f"Tagged words are tokenized {rule}" in capsys.readouterr().err


def test_roberta_words_after_the_first_start_with_their_space(tmp_path):
    """Given alone, a word after the first would be split as if glued to the one before
    ('j' 'o' 'r' ... instead of 'Ġjor' ...): the pieces a RoBERTa tagger trains on start with
    the space the running text has there."""
    tokenizer = roberta_tokenizer(tmp_path / "roberta")
    row = prepare(tagged_split(), tokenizer, tagging_config(tmp_path / "roberta"))["train"][0]
    pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
    firsts = [pieces[i] for i, label in enumerate(row["labels"]) if label != IGNORED]
    assert firsts == ["a", "Ġmet", "Ġjor", "Ġin", "Ġpar"]


def test_the_rule_is_said_once_for_each_tokenizer(tmp_path, capsys):
    """Training prepares its splits more than once (the overfitting watch, search folds): the
    rule is decided and said on the first."""
    tokenizer = roberta_tokenizer(tmp_path / "roberta")
    config = tagging_config(tmp_path / "roberta")
    prepare(tagged_split(), tokenizer, config)
    prepare(tagged_split(), tokenizer, config)
    assert capsys.readouterr().err.count("Tagged words are tokenized") == 1


def test_a_tokenizer_whose_words_never_give_its_text_is_refused(tmp_path):
    folder = save_glued_tokenizer(tmp_path / "glued", ["alice", "met", "jordan"])
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    with pytest.raises(UserError, match="splits tagged words into other pieces") as refused:
        prepare(tagged_split(), tokenizer, tagging_config(folder))
    assert f"'{folder}'" in str(refused.value)
    assert "Use a checkpoint whose tokenizer starts a new piece at every space" in str(
        refused.value
    )


def save_roberta_tagger(folder: Path) -> Path:
    """A finished tagging run as `ftk train` leaves it: a seeded 2-layer RoBERTa tagger, its
    byte-level BPE tokenizer (loaded without add_prefix_space) and run_config.yaml."""
    import torch
    from transformers import RobertaConfig, RobertaForTokenClassification

    tokenizer = roberta_tokenizer(folder / "tokenizer")
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,  # 64 positions past RoBERTa's padding offset
        pad_token_id=tokenizer.pad_token_id,
        num_labels=len(TAGS),
        id2label=dict(enumerate(TAGS)),
        label2id={tag: i for i, tag in enumerate(TAGS)},
    )
    torch.manual_seed(0)
    run_dir = folder / "run"
    RobertaForTokenClassification(config).save_pretrained(run_dir)
    tokenizer.save_pretrained(run_dir)
    (run_dir / "run_config.yaml").write_text(
        yaml.safe_dump({"task": "token-classification", "data": {"max_length": 64}})
    )
    return run_dir


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def test_ftk_predict_scores_each_word_as_the_pipeline_does(tmp_path):
    """A RoBERTa tagger's words, scored by `ftk predict`'s path (`word_logits`), get the tag
    and score `pipeline("token-classification")` gives the first piece of the word in the
    running text; the words given alone, as before, would read other pieces and scores."""
    import torch
    from transformers import pipeline

    from toolkit.use.inference import load_run, word_logits

    run_dir = save_roberta_tagger(tmp_path)
    run = load_run(run_dir)
    sentences = [words for words, _ in SENTENCES]
    logits, cut = word_logits(run, sentences, batch_size=2)
    assert cut == 0
    tagger = pipeline(
        "token-classification",
        model=str(run_dir),
        aggregation_strategy="none",
        ignore_labels=[],
        device="cpu",
    )
    for words, rows in zip(sentences, logits, strict=True):
        text = " ".join(words)
        by_piece = {found["index"]: found for found in tagger(text)}
        starts = word_starts(tagger.tokenizer(text).word_ids())
        piped = [(by_piece[i]["entity"], float(by_piece[i]["score"])) for i in starts]
        scores = softmax(rows)
        assert [TAGS[i] for i in scores.argmax(-1)] == [tag for tag, _ in piped]
        np.testing.assert_allclose(scores.max(-1), [s for _, s in piped], atol=1e-5)
        # the check tells the two readings apart: the words given alone score otherwise
        alone = run.processor(words, is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            glued = softmax(run.model(**alone).logits[0].numpy())
        glued_firsts = glued[word_starts(alone.word_ids())].max(-1)
        assert not np.allclose(glued_firsts, [s for _, s in piped], atol=1e-5)
