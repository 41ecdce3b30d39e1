"""Bad input to token-classification: each stops with exit status 2 and a message that names
the file, key or column and what to do (in-process CLI, before any training step)."""

from __future__ import annotations

import datasets
import pytest
from helpers import expect_user_error
from tagging_helpers import make_sentences, save_tiny_tagger_base, write_conll, write_jsonl

from toolkit.config.load import load_config
from toolkit.data.tagged import load_tagged
from toolkit.tasks import token_classification


@pytest.fixture(scope="module")
def tagger_base(tmp_path_factory):
    return save_tiny_tagger_base(tmp_path_factory.mktemp("tiny-tagger"))


def train_args(tmp_path, model, train, *extra, **files):
    """A recipe of its own (no --config would start from the default text recipe)."""
    data = ", ".join([f"train_file: '{train}'", *(f"{k}: '{v}'" for k, v in files.items())])
    recipe = tmp_path / "ner.yaml"
    recipe.write_text(
        f"task: token-classification\nmodel: {{name_or_path: '{model}'}}\ndata: {{{data}}}\n"
        f"output_dir: '{tmp_path / 'run'}'\nuse_cpu: true\n"
    )
    return ["train", "--config", str(recipe), *extra]


@pytest.fixture()
def train_file(tmp_path):
    return write_jsonl(tmp_path / "train.jsonl", make_sentences(30, seed=1))


def test_a_tag_list_longer_or_shorter_than_its_tokens_is_refused(tmp_path, tagger_base, capsys):
    rows = make_sentences(30, seed=1)
    rows[6]["ner_tags"] = rows[6]["ner_tags"][:-1]
    train = write_jsonl(tmp_path / "uneven.jsonl", rows)
    err = expect_user_error(train_args(tmp_path, tagger_base, train), capsys)
    assert (
        "uneven.jsonl" in err and "row 7 has" in err and "Each token needs exactly one tag" in err
    )


def test_an_unknown_tag_in_validation_or_test_is_refused(tmp_path, tagger_base, train_file, capsys):
    rows = make_sentences(5, seed=2)
    rows[1]["ner_tags"][0] = "B-ORG"
    validation = write_jsonl(tmp_path / "validation.jsonl", rows)
    err = expect_user_error(
        train_args(tmp_path, tagger_base, train_file, validation_file=validation), capsys
    )
    assert "validation" in err and "'B-ORG'" in err and "never occur in the training data" in err
    test = write_conll(tmp_path / "test.conll", rows)
    err = expect_user_error(train_args(tmp_path, tagger_base, train_file, test_file=test), capsys)
    assert "test" in err and "'B-ORG'" in err and "never occur in the training data" in err


def test_a_csv_of_plain_strings_and_an_unknown_extension_are_refused(tmp_path, tagger_base, capsys):
    csv = tmp_path / "train.csv"
    csv.write_text("tokens,ner_tags\nalice went,B-PER O\n")
    err = expect_user_error(train_args(tmp_path, tagger_base, csv), capsys)
    assert "Column 'tokens'" in err and "must hold a list of tokens per row" in err
    xml = tmp_path / "train.xml"
    xml.write_text("<x/>")
    err = expect_user_error(train_args(tmp_path, tagger_base, xml), capsys)
    assert "train.xml" in err and ".conll" in err and ".jsonl" in err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--class_weights", "balanced"], "class_weights is not implemented"),
        (["--augment.text", "[word_swap]"], "augment.text is not available"),
        (["--augment.mixup", "0.5"], "augment.mixup"),
        (["--metrics", "[probe]"], "not a metric ftk ships for token-classification"),
        # a word-level metric of plain tags, refused once the tags read as entities
        (["--metrics", "[f1_macro]"], "'f1_macro', which ftk does not score for IOB2"),
        (["--metrics", "[seqeval]", "--trust_metric_code"], "trust_metric_code does not apply"),
    ],
)
def test_settings_that_cannot_apply_to_tags_are_refused(
    tmp_path, tagger_base, train_file, capsys, extra, expected
):
    err = expect_user_error(train_args(tmp_path, tagger_base, train_file, *extra), capsys)
    assert expected in err


def test_ftk_augment_says_tagging_has_no_augmentation(tmp_path, tagger_base, train_file, capsys):
    args = train_args(tmp_path, tagger_base, train_file)
    err = expect_user_error(["augment", *args[1:]], capsys)
    assert "no augmentation to preview" in err


def test_column_keys_and_label_all_tokens_reach_the_data_and_the_pieces(tmp_path, tagger_base):
    """data.tokens_column / tags_column name the columns; label_all_tokens: true tags the later
    pieces of a word ("oslo" = "os" "##lo": B-LOC then I-LOC) instead of ignoring them."""
    rows = [{"words": r["tokens"], "labels": r["ner_tags"]} for r in make_sentences(30, seed=1)]
    rows.append({"words": ["in", "oslo"], "labels": ["O", "B-LOC"]})
    train = write_jsonl(tmp_path / "t.jsonl", rows)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "task: token-classification\n"
        f"model: {{name_or_path: '{tagger_base}'}}\n"
        f"data: {{train_file: '{train}', tokens_column: words, tags_column: labels, "
        "validation_size: 0.5}\n"
    )
    for label_all, expected in ((False, ["O", "B-LOC", None]), (True, ["O", "B-LOC", "I-LOC"])):
        config = load_config(recipe, [f"--data.label_all_tokens={str(label_all).lower()}"])
        assert config.metrics == ["f1", "precision", "recall", "accuracy"]
        loaded = load_tagged(config.data, seed=0)
        names = loaded.label_names
        last = datasets.Dataset.from_dict(
            {"words": [["in", "oslo"]], "labels": [[0, names.index("B-LOC")]]},
            loaded.splits["train"].features,
        )
        tokenizer = token_classification.load_processor(config)
        prepared = token_classification.prepare(
            datasets.DatasetDict({"validation": last}), tokenizer, config
        )["validation"][0]
        # [CLS] in os ##lo [SEP]
        labels = prepared["labels"][1:-1]
        assert [names[i] if i >= 0 else None for i in labels] == expected
