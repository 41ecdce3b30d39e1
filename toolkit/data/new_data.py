"""New data for a finished run (`ftk predict`, `ftk evaluate`): read, checked and encoded with
the readers and rules training used (data/sources.py reads the table, data/labels.py names a
label, data/label_sets.py parses a label set, data/targets.py checks a number, data/tagged.py
and data/conll.py read tagged sentences, data/images.py finds and checks images), so training
and use never disagree on a column, a label or an empty text.

The messages name the command's own option (`--data`, `--input`, `--text-column`), not a
config key: the user gave the data on the command line. Labels are checked against the labels
the model learnt (its config.json), not the training split's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import numpy as np

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.core.log import warn
from toolkit.data.conll import CONLL_SUFFIXES, read_conll
from toolkit.data.images import check_image_files, image_files
from toolkit.data.label_sets import NotALabelSet, multi_hot, parse_label_set
from toolkit.data.labels import is_missing, label_name, refuse_unknown_to_model
from toolkit.data.shared_images import refuse_shared_images
from toolkit.data.sources import FILE_BUILDERS, load_file, require_columns
from toolkit.data.tagged import TagColumns, tags_as_names
from toolkit.data.targets import not_finite, not_numbers
from toolkit.data.targets import rows_text as listed_rows

# ----------------------------------------------------------------------------- tables


def read_table(path: Path, key: str, encoding: str) -> datasets.Dataset:
    """A table of new data (CSV/TSV/JSON/JSONL/Parquet) read as training reads its files;
    `key` names it in messages (`--data`), and a wrong encoding points at `--encoding`."""
    return load_file(path, key, encoding, encoding_option="encoding")


def row_texts(table: datasets.Dataset, columns: list[str]) -> tuple[list[Any], list[int]]:
    """What the model reads from every row (a text, or a (text, pair) tuple), and the rows
    (0-based) with an empty, blank or null text (`is_missing`, training's test)."""
    items, empty = [], []
    for row, values in enumerate(zip(*(table[c] for c in columns), strict=True)):
        if any(is_missing(v) for v in values):
            empty.append(row)
        texts = ["" if is_missing(v) else str(v) for v in values]
        items.append(texts[0] if len(texts) == 1 else tuple(texts))
    return items, empty


def holds_lists(table: datasets.Dataset, column: str) -> bool:
    return isinstance(table.features[column], (datasets.List, datasets.Sequence))


def without_empty_texts(
    cfg: DataConfig, where: str, items: list[Any], values: list[Any], empty: list[int]
) -> tuple[list[Any], list[Any]]:
    """Labelled rows with an empty text are treated as the run's training treated them
    (data.empty_texts): dropped with a count, or refused."""
    if not empty:
        return items, values
    if len(empty) == len(items):
        raise UserError(
            f"Every row of {where} has an empty text; name the text column with --text-column."
        )
    if cfg.empty_texts == "error":
        raise UserError(
            f"{where} has {len(empty):,} row(s) with an empty text (rows "
            f"{listed_rows(empty)}), which this run refuses (data.empty_texts: error). "
            f"Fill in or remove those rows."
        )
    warn(
        f"Dropped {len(empty):,} of {len(items):,} rows of {where} with an empty text "
        f"(rows {listed_rows(empty)}), as the run's training did (data.empty_texts: drop)."
    )
    skip = set(empty)
    kept = [i for i in range(len(items)) if i not in skip]
    return [items[i] for i in kept], [values[i] for i in kept]


# ----------------------------------------------------------------------------- labels


def raw_labels(table: datasets.Dataset, column: str) -> list[Any]:
    """The label column as written: a Hub set's ClassLabel ids named, anything else as it is
    (classes are named by `class_ids`, numbers and label sets checked by their readers)."""
    feature = table.features[column]
    if isinstance(feature, datasets.ClassLabel):
        return [feature.int2str(v) for v in table[column]]
    return list(table[column])


def class_ids(values: list[Any], label_names: list[str], where: str) -> np.ndarray:
    """Labels -> the model's class ids, named as training names them (`label_name`: 2.0 is
    '2', 'sport ' is 'sport'); a label the model never learnt is an error."""
    names = ["" if v is None else label_name(v) for v in values]
    refuse_unknown_to_model(names, label_names, "label", where)
    index = {name: i for i, name in enumerate(label_names)}
    return np.array([index[v] for v in names], dtype=np.int64)


def label_set_vectors(
    values: list[Any], label_names: list[str], separator: str | None, where: str, column: str
) -> np.ndarray:
    """Lists of labels (or strings split on the run's data.label_separator), parsed as
    training parses them -> multi-hot rows over the model's labels; an unknown label is an
    error."""
    sets = []
    for row, value in enumerate(values):
        try:
            sets.append(parse_label_set(value, separator))
        except NotALabelSet as problem:
            raise UserError(f"Row {row + 1} of column '{column}' in {where} {problem}") from None
    found = (label for labels in sets for label in labels)
    refuse_unknown_to_model(found, label_names, "label", where)
    return multi_hot(sets, label_names)


def numeric_targets(values: list[Any], where: str, column: str) -> np.ndarray:
    """Finite float targets, checked as training checks them (`not_numbers`, `not_finite`)."""
    words = not_numbers(values)
    rows = words or not_finite(values)
    if rows:
        shown = ", ".join(list(dict.fromkeys(repr(values[i]) for i in rows))[:3])
        what = "are not numbers" if words else "are empty, NaN or inf"
        raise UserError(
            f"Column '{column}' of {where} has {len(rows):,} target(s) that {what} "
            f"(e.g. {shown}; rows {listed_rows(rows)}); this run predicts a number, so "
            f"every row needs a finite number to score against. Fix or remove those rows."
        )
    return np.asarray([float(v) for v in values], dtype=np.float64)


# ----------------------------------------------------------------------------- tagged words


def tagged_sentences(
    path: Path, columns: TagColumns, encoding: str, label_names: list[str]
) -> tuple[list[list[str]], list[np.ndarray]]:
    """(words, tag ids) per sentence of `--data`: a CoNLL-style file or a table of token and
    tag lists (training's readers); uneven rows and tags the model never learnt are errors."""
    where = f"--data '{path}'"
    if path.suffix.lower() in CONLL_SUFFIXES:
        if not path.is_file():
            raise UserError(f"{where} does not exist; check the path.")
        table = read_conll(path, "--data", encoding, columns.tokens, columns.tags)
    elif path.suffix.lower() in FILE_BUILDERS:
        table = read_table(path, "--data", encoding)
    else:
        raise UserError(
            f"{where} must be a CoNLL-style file ({', '.join(CONLL_SUFFIXES)}) or a "
            f"table with token and tag lists (.json, .jsonl, .parquet)."
        )
    require_columns(
        table,
        [columns.tokens, columns.tags],
        where,
        "Name them with --text-column (the token lists) and --label-column (the tag lists).",
    )
    sentences = [[str(w) for w in row] for row in table[columns.tokens]]
    tag_names = tags_as_names(table, columns)
    uneven = [
        i for i, (w, t) in enumerate(zip(sentences, tag_names, strict=True)) if len(w) != len(t)
    ]
    if uneven:
        first = uneven[0]
        raise UserError(
            f"{where} has {len(uneven):,} sentence(s) whose tag list is not as long as "
            f"its token list; sentence {first + 1} has {len(sentences[first])} tokens and "
            f"{len(tag_names[first])} tags. Each token needs exactly one tag."
        )
    refuse_unknown_to_model((t for row in tag_names for t in row), label_names, "tag", where)
    index = {name: i for i, name in enumerate(label_names)}
    return sentences, [np.array([index[t] for t in row], dtype=np.int64) for row in tag_names]


# ----------------------------------------------------------------------------- images


def labelled_image_folder(root: Path) -> tuple[list[Path], list[str]]:
    """Every image under `root`'s class subfolders and its class (the subfolder's name)."""
    paths = image_files(root)
    loose = [p for p in paths if p.parent == root]
    if loose or not paths:
        raise UserError(
            f"--data '{root}' must hold one subfolder per class with the images of "
            f"that class inside (e.g. {root}/cat/1.png); "
            + (
                f"found images directly in it: {', '.join(p.name for p in loose[:5])}."
                if loose
                else "found no images."
            )
        )
    labels = [p.relative_to(root).parts[0] for p in paths]
    by_class: dict[str, list[Path]] = {}
    for path, label in zip(paths, labels, strict=True):
        by_class.setdefault(label, []).append(path)
    refuse_shared_images(root, by_class, f"--data '{root}'")
    check_image_files(paths)
    return paths, labels
