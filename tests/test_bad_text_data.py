"""Text inputs a tokenizer cannot take, and files that cannot be read as written, get one clear
message naming the file, column and key: NaN-looking strings stay strings, empty texts are
dropped with a count (or stop the run), non-UTF-8 files name the byte, `.csv` files separated
by tabs or semicolons are read so (and said), and nested JSON text fields are caught before
the tokenizer crashes on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import expect_user_error as run_cli
from helpers import make_texts, write_csv, write_text_config

from toolkit.config.load import load_config
from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.data.load import load_data

NA_LOOKING = ["NA", "nan", "None", "null", "N/A", "NaN", "n/a"]


def load_error(cfg: DataConfig, columns: tuple[str, ...] = ("text",)) -> str:
    with pytest.raises(UserError) as caught:
        load_data(cfg, list(columns), seed=0)
    return str(caught.value)


def write_jsonl(path, rows: list[dict]):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def texts(n_per_class: int = 6, seed: int = 0) -> list[tuple[str, str]]:
    return make_texts(n_per_class, seed)


def all_texts(data) -> list[str]:
    return [t for ds in data.splits.values() for t in ds["text"]]


# ----------------------------------------------------------------------------- NaN-looking strings


def test_na_looking_texts_stay_texts(tmp_path):
    rows = [*texts(), *[(word, "sport") for word in NA_LOOKING]]
    train = write_csv(tmp_path / "train.csv", rows)
    data = load_data(DataConfig(train_file=str(train), validation_size=0.2), ["text"], seed=0)
    assert set(NA_LOOKING) <= set(all_texts(data))
    assert sum(len(ds) for ds in data.splits.values()) == len(rows)  # none dropped as empty


@pytest.mark.parametrize("names", [("None", "NA"), ("null", "N/A")])
def test_na_looking_class_names_stay_classes(tmp_path, names):
    rows = [(text, names[i % 2]) for i, (text, _) in enumerate(texts())]
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", rows[:4])
    data = load_data(DataConfig(train_file=str(train), test_file=str(test)), ["text"], seed=0)
    assert data.label_names == sorted(names)
    assert len(data.splits["test"]) == 4


def test_na_looking_strings_stay_strings_in_tsv(tmp_path):
    lines = ["text\tlabel", *(f"{t}\t{label}" for t, label in texts()), "NA\tNone", "nan\tNA"]
    train = tmp_path / "train.tsv"
    train.write_text("\n".join(lines) + "\n")
    data = load_data(DataConfig(train_file=str(train), validation_size=0.2), ["text"], seed=0)
    assert {"NA", "nan"} <= set(all_texts(data))
    assert {"None", "NA"} <= set(data.label_names)


# ----------------------------------------------------------------------------- empty texts


def test_empty_texts_are_dropped_with_a_count_per_split(tmp_path, capsys):
    rows = texts()
    train = write_csv(tmp_path / "train.csv", [*rows, ("", "sport"), ("   ", "tech")])
    test_rows = [{"text": t, "label": label} for t, label in rows[:6]]
    test = write_jsonl(tmp_path / "test.jsonl", [*test_rows, {"text": None, "label": "sport"}])
    cfg = DataConfig(train_file=str(train), test_file=str(test), validation_size=0.2)
    data = load_data(cfg, ["text"], seed=0)
    assert len(data.splits["train"]) + len(data.splits["validation"]) == len(rows)
    assert len(data.splits["test"]) == 6
    assert all(t.strip() for t in all_texts(data))
    err = capsys.readouterr().err
    assert f"Dropped 2 of {len(rows) + 2} rows with an empty text" in err
    assert "train split of file" in err and "train.csv" in err
    assert "Dropped 1 of 7 rows" in err and "test split of file" in err and "test.jsonl" in err
    assert "data.empty_texts: drop" in err and "set it to error" in err


def test_unlabelled_pretraining_texts_are_checked_the_same_way(tmp_path, capsys):
    """A corpus without labels (masked-lm pre-training) drops empty texts with a count too,
    or stops (data.empty_texts: error), and a nested field gets the same message."""
    from toolkit.data.unlabelled import load_unlabelled

    corpus = [{"text": t} for t, _ in texts()] + [{"text": ""}, {"text": None}]
    path = write_jsonl(tmp_path / "corpus.jsonl", corpus)
    cfg = DataConfig(train_file=str(path), validation_size=0.2)
    splits = load_unlabelled(cfg, "text", "data.text_column", seed=0)
    kept = [t for ds in splits.values() for t in ds["text"]]
    assert len(kept) == len(corpus) - 2 and all(t.strip() for t in kept)
    assert f"Dropped 2 of {len(corpus)} rows with an empty text" in capsys.readouterr().err
    cfg.empty_texts = "error"
    with pytest.raises(UserError, match="rows with an empty text"):
        load_unlabelled(cfg, "text", "data.text_column", seed=0)
    nested = write_jsonl(tmp_path / "nested.jsonl", [{"text": {"body": "x"}}] * 4)
    with pytest.raises(UserError, match="nested fields"):
        load_unlabelled(DataConfig(train_file=str(nested)), "text", "data.text_column", seed=0)


def test_empty_texts_error_names_file_column_and_rows(tmp_path):
    rows = texts()
    rows[2], rows[4] = ("", "sport"), (" \t ", "tech")
    train = write_csv(tmp_path / "train.csv", rows)
    err = load_error(DataConfig(train_file=str(train), empty_texts="error"))
    assert "train.csv" in err and "data.train_file" in err and "column 'text'" in err
    assert "2 row(s): 3, 5" in err and "data.empty_texts: drop" in err


def test_empty_pair_texts_count_too(tmp_path):
    rows = [(t, "b " + t, label) for t, label in texts()]
    rows[1] = (rows[1][0], "", rows[1][2])
    train = write_csv(tmp_path / "pairs.csv", rows, header=("premise", "hypothesis", "label"))
    cfg = DataConfig(
        train_file=str(train),
        text_column="premise",
        text_pair_column="hypothesis",
        empty_texts="error",
    )
    err = load_error(cfg, ("premise", "hypothesis"))
    assert "column 'hypothesis' in 1 row(s): 2" in err and "pairs.csv" in err


def test_a_column_of_only_empty_texts_is_an_error(tmp_path):
    train = write_csv(tmp_path / "train.csv", [("", label) for _, label in texts()])
    err = load_error(DataConfig(train_file=str(train)))
    assert "Every row" in err and "'text'" in err and "data.text_column" in err


def test_empty_label_cells_are_still_missing_labels(tmp_path):
    rows = texts()
    rows[3] = (rows[3][0], "")
    train = write_csv(tmp_path / "train.csv", rows)
    err = load_error(DataConfig(train_file=str(train)))
    assert "empty labels in rows 4" in err


def test_empty_texts_error_through_the_cli(tmp_path, tiny_bert, text_data, capsys):
    train = write_csv(tmp_path / "holes.csv", [*make_texts(30, seed=1), ("", "sport")])
    data = {**text_data, "train": train}
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")
    err = run_cli(["train", "--config", str(config), "--data.empty_texts", "error"], capsys)
    assert "holes.csv" in err and "column 'text'" in err and "empty text" in err
    assert not (tmp_path / "run").exists()


def test_empty_texts_rejects_an_unknown_choice(tmp_path, tiny_bert, text_data):
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    with pytest.raises(UserError) as caught:
        load_config(config, ["--data.empty_texts", "keep"])
    assert "must be one of 'drop', 'error'" in str(caught.value)


# ----------------------------------------------------------------------------- encodings


def write_latin1(path, suffix: str):
    rows = [*texts(), ("café crème au lait", "business"), ("naïve garçon", "sport")]
    if suffix == ".csv":
        content = "text,label\n" + "".join(f"{t},{label}\n" for t, label in rows)
    else:
        content = "".join(
            json.dumps({"text": t, "label": label}, ensure_ascii=False) + "\n" for t, label in rows
        )
    path.write_bytes(content.encode("latin-1"))
    return path, content


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_latin1_file_is_named_not_utf8_with_the_byte_offset(tmp_path, suffix):
    train, content = write_latin1(tmp_path / f"train{suffix}", suffix)
    offset = len(content[: content.index("é")].encode("latin-1"))
    err = load_error(DataConfig(train_file=str(train)))
    assert f"train{suffix}" in err and "data.train_file" in err
    assert "not valid utf-8" in err and f"byte offset {offset:,}" in err and "0xe9" in err
    assert "data.encoding" in err and "latin-1" in err
    assert "An error occurred while generating the dataset" not in err


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_data_encoding_reads_a_latin1_file(tmp_path, tiny_bert, text_data, suffix):
    train, _ = write_latin1(tmp_path / f"train{suffix}", suffix)
    data = {**text_data, "train": train}
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")
    cfg = load_config(config, ["--data.encoding", "latin-1"]).data
    assert cfg.encoding == "latin-1"
    texts_read = all_texts(load_data(cfg, ["text"], seed=0))
    assert "café crème au lait" in texts_read and "naïve garçon" in texts_read


def test_unknown_encoding_is_a_user_error(tmp_path):
    train = write_csv(tmp_path / "train.csv", texts())
    err = load_error(DataConfig(train_file=str(train), encoding="latin-99"))
    assert "data.encoding 'latin-99'" in err and "train.csv" in err


def test_latin1_file_through_the_cli(tmp_path, tiny_bert, text_data, capsys):
    train, _ = write_latin1(tmp_path / "excel.csv", ".csv")
    config = write_text_config(
        tmp_path / "c.yaml", tiny_bert, {**text_data, "train": train}, tmp_path / "run"
    )
    err = run_cli(["train", "--config", str(config)], capsys)
    assert "excel.csv" in err and "not valid utf-8" in err and "--data.encoding latin-1" in err


# ----------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize(("delimiter", "name"), [("\t", "tab"), (";", "semicolon")])
def test_a_csv_separated_by_tabs_or_semicolons_is_read_so_and_said(
    tmp_path, capsys, delimiter, name
):
    """A TSV saved as .csv, or Excel's CSV in a decimal-comma locale: the header has no comma,
    so its separator is plain; texts keep their commas."""
    train = tmp_path / "train.csv"
    rows = [(f"{t}, with a comma", label) for t, label in texts()]
    train.write_text(
        f"text{delimiter}label\n" + "".join(f"{t}{delimiter}{lab}\n" for t, lab in rows)
    )
    data = load_data(DataConfig(train_file=str(train), validation_size=0.2), ["text"], seed=0)
    assert data.label_names == sorted({label for _, label in rows})
    read = [*data.splits["train"]["text"], *data.splits["validation"]["text"]]
    assert sorted(read) == sorted(t for t, _ in rows)
    said = capsys.readouterr().out
    assert f"is read as {name}-separated" in said and "'text', 'label'" in said


def test_one_column_csv_is_not_mistaken_for_tabs(tmp_path):
    """A text-only CSV (pre-training corpus) has a one-column header without tabs: fine."""
    train = write_csv(tmp_path / "train.csv", [(t,) for t, _ in texts()], header=("text",))
    err = load_error(DataConfig(train_file=str(train)))
    assert "separated" not in err and "'label'" in err


# ----------------------------------------------------------------------------- nested JSON


def test_nested_text_field_names_the_column_and_its_keys(tmp_path):
    rows = [{"text": {"title": t[:8], "body": t}, "label": label} for t, label in texts()]
    train = write_jsonl(tmp_path / "nested.jsonl", rows)
    err = load_error(DataConfig(train_file=str(train)))
    assert "nested.jsonl" in err and "Column 'text'" in err
    assert "'title'" in err and "'body'" in err
    assert "Flatten" in err and "data.text_column" in err


def test_list_text_field_is_an_error(tmp_path):
    rows = [{"text": t.split(), "label": label} for t, label in texts()]
    train = write_jsonl(tmp_path / "tokens.jsonl", rows)
    err = load_error(DataConfig(train_file=str(train)))
    assert "tokens.jsonl" in err and "Column 'text'" in err and "holds lists" in err


def test_nested_pair_field_points_at_the_pair_key(tmp_path):
    rows = [{"a": t, "b": {"text": t}, "label": label} for t, label in texts()]
    train = write_jsonl(tmp_path / "pairs.jsonl", rows)
    cfg = DataConfig(train_file=str(train), text_column="a", text_pair_column="b")
    err = load_error(cfg, ("a", "b"))
    assert "Column 'b'" in err and "data.text_pair_column" in err and "'text'" in err


@pytest.mark.parametrize(
    ("shape", "said"),
    [
        ("records", "is read as the 30 records under its key 'data'"),
        ("columns", "is read as columns: one list of 30 values per key"),
    ],
)
def test_a_json_document_of_records_or_columns_is_read_as_rows(tmp_path, capsys, shape, said):
    """{"data": [{...}, ...]} and {"text": [...], "label": [...]}: one object holding the whole
    data set, which a JSON reader sees as one row."""
    rows = texts(10)  # 30 rows
    document = (
        {"data": [{"text": t, "label": label} for t, label in rows]}
        if shape == "records"
        else {"text": [t for t, _ in rows], "label": [label for _, label in rows]}
    )
    train = tmp_path / "train.json"
    train.write_text(json.dumps(document))
    data = load_data(DataConfig(train_file=str(train), validation_size=0.2), ["text"], seed=0)
    read = [*data.splits["train"]["text"], *data.splits["validation"]["text"]]
    assert sorted(read) == sorted(t for t, _ in rows)
    assert said in capsys.readouterr().out


# ----------------------------------------------------------------------------- not texts


@pytest.mark.parametrize(
    ("values", "kind"),
    [([3, 14, 15], "numbers"), ([0.5, 1.25, 2.0], "numbers"), ([True, False, True], "true/false")],
)
def test_a_text_column_of_numbers_names_the_column_and_the_key(tmp_path, values, kind):
    """A CSV column of ids or scores named as the text column reached the tokenizer, whose
    ValueError named no column."""
    rows = [(text, values[i % 3], label) for i, (text, label) in enumerate(texts())]
    train = write_csv(tmp_path / "ids.csv", rows, header=("text", "id", "label"))
    err = load_error(DataConfig(train_file=str(train), text_column="id"), ("id",))
    assert f"Column 'id' of the file '{train}' (data.train_file) holds {kind}" in err
    assert "Point data.text_column at the column" in err and "text, id, label" in err


def test_a_pair_column_of_numbers_points_at_the_pair_key(tmp_path):
    rows = [{"a": t, "b": i, "label": label} for i, (t, label) in enumerate(texts())]
    train = write_jsonl(tmp_path / "pairs.jsonl", rows)
    cfg = DataConfig(train_file=str(train), text_column="a", text_pair_column="b")
    err = load_error(cfg, ("a", "b"))
    assert "Column 'b'" in err and "holds numbers" in err and "data.text_pair_column" in err


def test_a_jsonl_text_column_with_a_number_among_its_texts_names_the_row(tmp_path):
    """A JSON Lines reader keeps 5 a number beside the strings; the tokenizer's TypeError
    named no row."""
    rows = [{"text": t, "label": label} for t, label in texts()]
    rows[6]["text"] = 5
    train = write_jsonl(tmp_path / "mixed.jsonl", rows)
    err = load_error(DataConfig(train_file=str(train)))
    assert "Column 'text'" in err and "1 value(s) that are not texts among its texts" in err
    assert "e.g. 5 (numbers) in row 7" in err


def test_the_label_column_named_as_the_text_column_is_refused(tmp_path):
    train = write_csv(tmp_path / "train.csv", texts())
    err = load_error(DataConfig(train_file=str(train), text_column="label"), ("label",))
    assert "data.text_column and data.label_column both name column 'label'" in err
    assert "(its columns are text, label)" in err


def test_a_pretraining_corpus_of_numbers_is_refused_too(tmp_path):
    from toolkit.data.unlabelled import load_unlabelled

    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"text": i} for i in range(8)])
    with pytest.raises(UserError, match="holds numbers"):
        load_unlabelled(DataConfig(train_file=str(corpus)), "text", "data.text_column", seed=0)


def test_a_text_column_of_numbers_through_the_cli(tmp_path, tiny_bert, text_data, capsys):
    """The real CLI: exit 2 and the message, where the tokenizer's ValueError was a traceback."""
    rows = [(text, i, label) for i, (text, label) in enumerate(texts())]
    train = write_csv(tmp_path / "ids.csv", rows, header=("text", "id", "label"))
    recipe = write_text_config(
        tmp_path / "r.yaml", tiny_bert, {**text_data, "train": train}, tmp_path / "run"
    )
    err = run_cli(
        ["train", "--config", str(recipe), "--data.text_column", "id", "--data.test_file", "null"],
        capsys,
    )
    assert "Column 'id'" in err and "holds numbers (e.g. 0, 1, 2)" in err


# ----------------------------------------------------------------------------- unreadable JSON


def rows_with_line(tmp_path, name: str, line_18: str) -> DataConfig:
    """A JSON Lines file of 30 good rows but line 18, and a config that reads it."""
    lines = [json.dumps({"text": t, "label": label}) for t, label in texts(10)]
    lines[17] = line_18
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return DataConfig(train_file=str(path))


@pytest.mark.parametrize(
    ("line", "cause"),
    [
        ('{"text": "cut, "label": "sport"}', "(Expecting ',' delimiter at column 17)"),
        ('{"text": "a", "label": "sport"', "(Expecting ',' delimiter at column 31)"),
        ("[1, 2]", "(it holds an array, not an object {...})"),
        ("42", "(it holds a number, not an object {...})"),
        ("true", "(it holds true, not an object {...})"),
    ],
)
def test_a_bad_jsonl_line_is_named_with_its_number_and_cause(tmp_path, line, cause):
    """The datasets reader said only "An error occurred while generating the dataset"."""
    cfg = rows_with_line(tmp_path, "train.jsonl", line)
    err = load_error(cfg)
    assert f"data.train_file '{cfg.train_file}' is not valid JSON Lines: line 18 " in err
    assert cause in err and line in err and "fix or remove that line" in err


def test_a_json_file_of_lines_is_read_line_by_line_too(tmp_path):
    cfg = rows_with_line(tmp_path, "train.json", '{"text": "a",, "label": "x"}')
    assert "is not valid JSON Lines: line 18 " in load_error(cfg)


def test_a_json_document_that_does_not_parse_names_line_and_column(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('{"data": [\n  {"text": "a", "label": "x"},\n  {"text": "b" "label": "y"}\n]}')
    err = load_error(DataConfig(train_file=str(path)))
    assert "is not valid JSON: line 3, column 16: Expecting ',' delimiter" in err


def test_a_bad_line_in_new_data_names_the_option(tmp_path):
    """predict and evaluate read their tables with training's reader: the same message, naming
    --input instead of a config key."""
    from toolkit.data.new_data import read_table

    path = rows_with_line(tmp_path, "new.jsonl", "{oops}").train_file
    with pytest.raises(UserError, match=r"--input '.*new.jsonl' is not valid JSON Lines: line 18"):
        read_table(Path(path), "--input", "utf-8")
