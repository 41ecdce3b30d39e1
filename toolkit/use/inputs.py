"""The inputs of `ftk predict` read from a path or the command line: a table of texts (its
rows, through data/new_data.py, as training reads its files), a folder of images or one image
file, or one `--text`. What comes from Python is read by python_inputs.py, which hands paths and
tables on to these same readers. Messages name the inputs as their caller gave them (`Naming`:
`--input` and `--text-column`, or `data` and `text_column=`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from toolkit.config.taxonomy import IMAGE, TEXT, Modality
from toolkit.core.errors import UserError
from toolkit.core.log import warn
from toolkit.data.images import IMAGE_SUFFIXES, check_image_files, image_files
from toolkit.data.new_data import holds_lists, listed_rows, read_table, row_texts
from toolkit.data.sources import FILE_BUILDERS, require_columns
from toolkit.use.inference import Run
from toolkit.use.options import COMMAND_LINE, Naming


@dataclass
class Inputs:
    records: list[dict[str, Any]]  # what identifies each input in the output (its row, its path)
    items: list[Any]  # what the model reads: texts, (text, pair) tuples, word lists or paths


def read_inputs(
    run: Run,
    input_path: Path | None,
    text: str | None,
    text_column: str | None,
    encoding: str | None,
) -> Inputs:
    """The command line's inputs: --input (a path) or --text (one text)."""
    if (input_path is None) == (text is None):
        raise UserError(
            "Give exactly one of --input (a table of texts, an image folder or an "
            "image file) and --text (one text)."
        )
    if text is not None:
        require_modality(run, TEXT, "--text")
        if run.config.data.text_pair_column:
            raise UserError(
                "This run classifies text pairs; --text gives one text. Put both "
                "texts in a table and pass it with --input."
            )
        return Inputs(records=[{"text": text}], items=[text])
    assert input_path is not None
    return path_inputs(run, input_path, text_column, encoding, COMMAND_LINE)


def path_inputs(
    run: Run, path: Path, text_column: str | None, encoding: str | None, naming: Naming
) -> Inputs:
    """A folder of images, an image file or a table of texts, named in messages as
    `naming.inputs` ('--input' on the command line, 'data' in Python)."""
    where = f"{naming.inputs} '{path}'"
    if path.is_dir():
        require_modality(run, IMAGE, f"{where} (a folder)")
        return image_inputs(image_files(path), where)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        require_modality(run, IMAGE, f"{where} (an image)")
        return image_inputs([path] if path.is_file() else [], where)
    if path.suffix.lower() in FILE_BUILDERS:
        require_modality(run, TEXT, f"{where} (a table)")
        table = read_table(path, naming.inputs, encoding or run.config.data.encoding)
        return table_inputs(run, table, where, text_column, naming)
    raise UserError(
        f"{where} is neither a folder of images, an image "
        f"({', '.join(IMAGE_SUFFIXES)}) nor a table ({', '.join(FILE_BUILDERS)})."
    )


def require_modality(run: Run, wanted: Modality, what: str) -> None:
    """`what` holds `wanted` inputs (texts or images); the run must read that kind (a token
    classification run reads texts, as words)."""
    if run.modality.reads_images != wanted.reads_images:
        has = IMAGE if run.modality.reads_images else TEXT
        raise UserError(
            f"{what} holds {wanted.name}s, but the run in {run.name} classifies "
            f"{has.name}s. Give it {has.name} input."
        )


def image_inputs(paths: list[Path], where: str) -> Inputs:
    """`where`: the inputs as messages name them (`--input 'shapes/'`)."""
    if not paths:
        raise UserError(f"{where} holds no image files ({', '.join(IMAGE_SUFFIXES)}).")
    check_image_files(paths)
    return Inputs(records=[{"image": str(p)} for p in paths], items=paths)


def text_columns(run: Run, text_column: str | None) -> list[str]:
    """The columns the model reads: the text (--text-column, else the run's), and the pair."""
    pair = run.config.data.text_pair_column
    return [text_column or run.config.data.text_column] + ([pair] if pair else [])


def table_inputs(
    run: Run, table: datasets.Dataset, where: str, text_column: str | None, naming: Naming
) -> Inputs:
    """Every row of a table of texts (a file read, or data handed over in Python): the run's
    text column (and pair), or a tagger's column of word lists; the rows are the records."""
    data = run.config.data
    if run.target.kind.per_word and text_column is None:
        text_column = data.tokens_column if data.tokens_column in table.column_names else None
    columns = text_columns(run, text_column)
    option = "text_column='...'" if naming.python else "--text-column"
    require_columns(table, columns, where, f"Name the text column with {option}.")
    if run.target.kind.per_word and holds_lists(table, columns[0]):
        return Inputs(records=table.to_list(), items=[list(map(str, w)) for w in table[columns[0]]])
    items, empty = row_texts(table, columns)
    if empty:  # every input keeps its output row, but the user hears of the empty ones
        warn(
            f"{where} has {len(empty):,} row(s) with an empty text (rows "
            f"{listed_rows(empty)}); their predictions are for an empty string."
        )
    return Inputs(records=table.to_list(), items=items)
