"""`toolkit.predict(run, data)` takes what `toolkit.evaluate` takes: a DataFrame, a
datasets.Dataset, row dicts, a dict of columns or a Path of a table (each row predicted from
the run's text column, or `text_column`), besides a list of texts and one text as a str; an
image run takes image paths. Errors name the Python argument, never a command-line flag.

The runs are built, not trained (a tiny BERT and a tiny ViT with their heads, saved with a
run_config.yaml as `ftk train` leaves them): predictions need a model, not a good one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import toolkit

TEXTS = ["goal match team win", "bank shares profit", "phone chip app code"]
LABELS = ["business", "sport", "tech"]


@pytest.fixture(scope="module")
def text_run(tiny_bert, tmp_path_factory) -> Path:
    from transformers import AutoTokenizer, BertForSequenceClassification

    run_dir = tmp_path_factory.mktemp("text-run")
    model = BertForSequenceClassification.from_pretrained(
        tiny_bert,
        num_labels=3,
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model.save_pretrained(run_dir)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(run_dir)
    run_config = {
        "task": "text-classification",
        "metrics": ["accuracy"],
        "data": {"max_length": 32},
    }
    (run_dir / "run_config.yaml").write_text(yaml.safe_dump(run_config))
    return run_dir


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    run_dir = tmp_path_factory.mktemp("image-run")
    config = ViTConfig(
        image_size=16,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
        id2label={0: "cat", 1: "dog"},
        label2id={"cat": 0, "dog": 1},
    )
    ViTForImageClassification(config).save_pretrained(run_dir)
    ViTImageProcessor(size={"height": 16, "width": 16}).save_pretrained(run_dir)
    run_config = {"task": "image-classification", "metrics": ["accuracy"]}
    (run_dir / "run_config.yaml").write_text(yaml.safe_dump(run_config))
    return run_dir


@pytest.fixture(scope="module")
def image_files(tmp_path_factory) -> list[Path]:
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i, grey in enumerate((30, 120, 220)):
        path = folder / f"{i}.png"
        Image.new("RGB", (20, 20), (grey, grey, grey)).save(path)
        paths.append(path)
    return paths


def labels_of(rows: list[dict]) -> list[tuple[str, float]]:
    return [(row["pred_label"], row["pred_score"]) for row in rows]


def test_a_table_is_predicted_row_by_row_not_by_its_column_names(text_run):
    import datasets
    import pandas as pd

    frame = pd.DataFrame({"id": [7, 8, 9], "text": TEXTS})
    rows = toolkit.predict(text_run, frame)
    assert [(r["id"], r["text"]) for r in rows] == [(7, TEXTS[0]), (8, TEXTS[1]), (9, TEXTS[2])]
    expected = labels_of(toolkit.predict(text_run, TEXTS))
    assert labels_of(rows) == expected
    for same in (
        datasets.Dataset.from_pandas(frame),
        frame.to_dict("records"),  # row dicts
        {"id": [7, 8, 9], "text": TEXTS},  # a dict of columns
        frame["text"],  # one column
    ):
        assert labels_of(toolkit.predict(text_run, same)) == expected, type(same).__name__


def test_one_string_is_one_text(text_run):
    [row] = toolkit.predict(text_run, TEXTS[1], top_k=2)
    assert row["text"] == TEXTS[1] and {"pred_label", "pred_label_2"} <= set(row)
    assert labels_of([row]) == labels_of(toolkit.predict(text_run, [TEXTS[1]]))


def test_text_column_names_the_column_of_a_table(text_run, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"body": TEXTS})
    rows = toolkit.predict(text_run, frame, text_column="body")
    assert labels_of(rows) == labels_of(toolkit.predict(text_run, TEXTS))
    table = tmp_path / "new.csv"
    frame.to_csv(table, index=False)
    assert labels_of(toolkit.predict(text_run, table, text_column="body")) == labels_of(rows)
    # a str that names an existing table is read as it, as evaluate reads one; else one text
    assert labels_of(toolkit.predict(text_run, str(table), text_column="body")) == labels_of(rows)
    [row] = toolkit.predict(text_run, str(tmp_path / "absent.csv"))
    assert row["text"] == str(tmp_path / "absent.csv")
    with pytest.raises(toolkit.UserError) as caught:
        toolkit.predict(text_run, frame)
    said = str(caught.value)
    assert "data has no column 'text'; its columns are body" in said
    assert "text_column='...'" in said and "--" not in said


def test_predict_takes_the_data_evaluate_takes(text_run):
    import pandas as pd

    frame = pd.DataFrame({"text": TEXTS, "label": LABELS[1:] + LABELS[:1]})
    assert toolkit.evaluate(text_run, frame)["examples"] == 3
    assert [r["label"] for r in toolkit.predict(text_run, frame)] == list(frame["label"])
    with pytest.raises(toolkit.UserError) as caught:
        toolkit.evaluate(text_run, frame[["text"]])
    said = str(caught.value)  # the file it was saved in is ftk's, not the caller's
    assert said.startswith("data has no column 'label'; its columns are text.")
    assert "label_column='...'" in said and "--" not in said and ".parquet" not in said


WRONG_DATA = [  # (data, options, what the UserError says)
    (["fine", 3], {}, "data must be a list of texts: data[1] is int 3"),
    ([], {}, "data is empty"),
    ({"text": []}, {}, "data has no rows"),
    (["a text"], {"threshold": 0.3}, "threshold=0.3: the run in"),
    (["a text"], {"output": "p.txt"}, "output='p.txt' must end in .csv or .jsonl"),
    (Path("missing.csv"), {}, "data 'missing.csv' does not exist"),
    (Path("notes.txt"), {}, "data 'notes.txt' is neither a folder of images"),
]


@pytest.mark.parametrize("data, options, says", WRONG_DATA)
def test_errors_name_the_python_argument(text_run, data, options, says):
    with pytest.raises(toolkit.UserError) as caught:
        toolkit.predict(text_run, data, **options)
    assert says in str(caught.value)
    assert "--" not in str(caught.value), "no command-line flag in a Python caller's error"


def test_an_image_run_takes_image_paths(image_run, image_files):
    import pandas as pd

    listed = toolkit.predict(image_run, [str(p) for p in image_files])
    assert [r["image"] for r in listed] == [str(p) for p in image_files]
    folder = toolkit.predict(image_run, str(image_files[0].parent))
    assert labels_of(folder) == labels_of(listed)
    [one] = toolkit.predict(image_run, image_files[2])
    assert labels_of([one]) == labels_of(listed[2:])
    with pytest.raises(toolkit.UserError, match=r"data\[0\] 'nowhere.png' is not an image file"):
        toolkit.predict(image_run, ["nowhere.png"])
    with pytest.raises(toolkit.UserError, match="classifies images; give the path of an image"):
        toolkit.predict(image_run, pd.DataFrame({"text": TEXTS}))


def test_the_earlier_keyword_inputs_still_works(text_run):
    assert labels_of(toolkit.predict(text_run, inputs=TEXTS)) == labels_of(
        toolkit.predict(text_run, TEXTS)
    )


@pytest.fixture(scope="module")
def tagger_run(tmp_path_factory) -> Path:
    from tagging_helpers import save_tiny_tagger_base
    from transformers import AutoTokenizer, BertForTokenClassification

    base = save_tiny_tagger_base(tmp_path_factory.mktemp("tagger-base"))
    run_dir = tmp_path_factory.mktemp("tagger-run")
    tags = ["O", "B-LOC", "I-LOC"]
    model = BertForTokenClassification.from_pretrained(
        base,
        num_labels=3,
        id2label=dict(enumerate(tags)),
        label2id={tag: i for i, tag in enumerate(tags)},
    )
    model.save_pretrained(run_dir)
    AutoTokenizer.from_pretrained(base).save_pretrained(run_dir)
    run_config = {"task": "token-classification", "data": {"max_length": 32}}
    (run_dir / "run_config.yaml").write_text(yaml.safe_dump(run_config))
    return run_dir


def test_a_tagger_takes_texts_word_lists_and_a_table_of_word_lists(tagger_run):
    import pandas as pd

    words = ["paris", "is", "in", "france"]
    [from_text] = toolkit.predict(tagger_run, " ".join(words))
    [from_words] = toolkit.predict(tagger_run, [words])
    [from_table] = toolkit.predict(tagger_run, pd.DataFrame({"tokens": [words], "id": [1]}))
    assert from_text["entities"] == from_words["entities"] == from_table["entities"]
    assert from_words["tokens"] == words and from_table["id"] == 1
    with pytest.raises(toolkit.UserError, match="strings \\(or lists of words\\)"):
        toolkit.predict(tagger_run, [words, 3])
