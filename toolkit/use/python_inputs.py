"""What `toolkit.predict(run, data)` reads from Python: what `toolkit.evaluate` and
`train_data` take (a pandas DataFrame, a `datasets.Dataset`, a list of row dicts, a dict of
columns; data/in_memory.py makes the table), a list of texts, or one text as a str; a path
(`pathlib.Path`, or a str naming a table file that exists, as `toolkit.evaluate` reads one) of
a table, an image folder or an image, as `ftk predict --input` reads it.
An image run reads image paths: a str or Path of an image or folder, or a list of image files.

A table's texts come from the run's text column (or `text_column=`), and its rows are the
records the predictions are written beside, never its column names. Messages name the Python
argument (`data`, `texts`, `text_column=`), not the command line's flags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
import pandas

from toolkit.config.taxonomy import TEXT
from toolkit.core.errors import UserError
from toolkit.core.log import note
from toolkit.data.images import IMAGE_SUFFIXES
from toolkit.data.in_memory import as_dataset
from toolkit.data.sources import FILE_BUILDERS
from toolkit.use.inference import Run
from toolkit.use.inputs import Inputs, image_inputs, path_inputs, require_modality, table_inputs
from toolkit.use.options import Naming

# what `data` may be, whatever the run (checked before the run loads)
READABLE = (str, Path, Sequence, Mapping, pandas.DataFrame, pandas.Series, datasets.Dataset)


def check_data_kind(data: Any, argument: str) -> None:
    """Refuse at once what no run reads (a number, None, bytes): before the run loads."""
    if isinstance(data, READABLE) and not isinstance(data, bytes):
        return
    raise UserError(
        f"{argument} must be a list of texts, one text (a str), a pandas DataFrame, a "
        f"datasets.Dataset, a list of row dicts, a dict of columns or the pathlib.Path of a "
        f"table (an image run: image paths); got {type(data).__name__}."
    )


def python_inputs(
    run: Run, data: Any, argument: str, text_column: str | None, encoding: str | None
) -> Inputs:
    """`data`, handed over in the Python argument named `argument`, as the model's inputs."""
    naming = Naming(argument, python=True)
    if isinstance(data, Path):
        return path_inputs(run, data, text_column, encoding, naming)
    if run.modality.reads_images:
        return image_path_inputs(run, data, argument)
    if isinstance(data, pandas.Series):  # one column: its values are the texts
        data = data.tolist()
    if isinstance(data, str) and names_a_table(data):  # as evaluate reads it, and as before
        note(f"{argument} '{data}' names a table on disk: its rows are predicted.")
        return path_inputs(run, Path(data), text_column, encoding, naming)
    if isinstance(data, str):  # one text
        return text_inputs(run, [data], argument)
    listed = isinstance(data, Sequence) and not isinstance(data, bytes)
    if listed and not any(isinstance(item, Mapping) for item in data):
        return text_inputs(run, list(data), argument)
    require_modality(run, TEXT, f"{argument} (a table)")
    table = as_dataset(data, argument)
    if len(table) == 0:
        raise UserError(f"{argument} has no rows; give it the rows to predict.")
    return table_inputs(run, table, argument, text_column, naming)


def names_a_table(text: str) -> bool:
    if "\n" in text or Path(text).suffix.lower() not in FILE_BUILDERS:
        return False
    try:
        return Path(text).is_file()
    except OSError:  # a name too long for the file system is a text
        return False


def text_inputs(run: Run, texts: list[Any], argument: str) -> Inputs:
    """A list of texts (a tagger also takes a list of words per input)."""
    require_modality(run, TEXT, argument)
    if not texts:
        raise UserError(f"{argument} is empty; give it the texts to predict.")
    if run.config.data.text_pair_column:
        raise UserError(
            f"This run classifies text pairs; {argument} gives single texts. Give a table "
            f"(a DataFrame or row dicts) with both columns, "
            f"'{run.config.data.text_column}' and '{run.config.data.text_pair_column}'."
        )
    per_word = run.target.kind.per_word
    for i, item in enumerate(texts):
        words = per_word and isinstance(item, list) and all(isinstance(w, str) for w in item)
        if not (isinstance(item, str) or words):
            expected = "strings (or lists of words)" if per_word else "strings"
            raise UserError(
                f"{argument} must be a list of texts: {argument}[{i}] is "
                f"{type(item).__name__} {item!r:.40}; the items must all be {expected}."
            )
    column = run.config.data.tokens_column if per_word else "text"
    records = [{"text": t} if isinstance(t, str) else {column: t} for t in texts]
    return Inputs(records=records, items=texts)


def image_path_inputs(run: Run, data: Any, argument: str) -> Inputs:
    """An image run's inputs from Python: the path of an image or of a folder of images, or a
    list of image files (str or Path)."""
    if isinstance(data, str):
        return path_inputs(run, Path(data), None, None, Naming(argument, python=True))
    listed = isinstance(data, Sequence) and not isinstance(data, bytes)
    if not listed or not all(isinstance(p, (str, Path)) for p in data):
        raise UserError(
            f"{argument}: the run in {run.name} classifies images; give the path of an image "
            f"or of a folder of images, or a list of image file paths (got "
            f"{type(data).__name__})."
        )
    paths = [Path(p) for p in data]
    for i, path in enumerate(paths):
        if not (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES):
            raise UserError(
                f"{argument}[{i}] '{path}' is not an image file ({', '.join(IMAGE_SUFFIXES)}); "
                f"check the path."
            )
    return image_inputs(paths, argument)
