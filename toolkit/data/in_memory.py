"""Data handed over in Python (a pandas DataFrame, a `datasets.Dataset`, a list of row dicts
or a dict of columns) becomes a Parquet file that the run reads like any `data.*_file`.

Why a file and not the object itself: the run must stay reproducible from its folder, and
run_config.yaml can only point at a file. The file is named by its content's hash under ftk's
cache folder (FTK_CACHE, else ~/.cache/ftk), so the same data is written once and a file,
once written, never changes under a run that read it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
import pandas

from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.data.value_kinds import mixed_kinds


def cache_folder() -> Path:
    if os.environ.get("FTK_CACHE"):
        return Path(os.environ["FTK_CACHE"]) / "inputs"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ftk" / "inputs"


def is_saved_in_memory_data(path: Path) -> bool:
    return path.resolve().is_relative_to(cache_folder().resolve())


def as_dataset(data: Any, name: str) -> datasets.Dataset:
    """`name` (e.g. train_data) names the argument in the error."""
    if isinstance(data, datasets.Dataset):
        return data
    if isinstance(data, datasets.DatasetDict):
        splits = ", ".join(data)
        example = (
            "train_data=d['train'], test_data=d['test']"
            if name.endswith("_data")
            else f"{name}=d['{next(iter(data), 'test')}']"
        )
        raise UserError(
            f"{name} is a DatasetDict (splits {splits}); pass one split each, e.g. {example}."
        )
    try:
        return table_of(data, name)
    # pyarrow's ArrowInvalid and ArrowTypeError, which subclass these two
    except (ValueError, TypeError) as exc:
        raise UserError(unmixable(data, name, exc)) from None


def table_of(data: Any, name: str) -> datasets.Dataset:
    if isinstance(data, pandas.DataFrame):
        return datasets.Dataset.from_pandas(data, preserve_index=False)
    if isinstance(data, Mapping):
        return datasets.Dataset.from_dict(dict(data))
    rows = isinstance(data, Sequence) and not isinstance(data, str) and data
    if rows and all(isinstance(row, Mapping) for row in data):
        return datasets.Dataset.from_list(list(data))
    empty = isinstance(data, (list, tuple, dict)) and not data
    raise UserError(
        f"{name} must be a pandas DataFrame, a datasets.Dataset, a list of row dicts (e.g. "
        f"[{{'text': ..., 'label': ...}}]) or a dict of columns; got "
        f"{type(data).__name__}{' (empty)' if empty else ''}."
    )


def unmixable(data: Any, name: str, exc: Exception) -> str:
    """Why pyarrow could not make a table of `data`: the first column whose values are of
    several kinds (its error names a type, not the column or the row)."""
    for column, values in columns_of(data).items():
        mixed = mixed_kinds(values)
        if mixed:
            return (
                f"{name}: column '{column}' mixes {mixed}, and a column holds one kind of "
                f"value. Write all its values the same way: all strings (e.g. '1'), or all "
                f"numbers."
            )
    return f"{name} could not be made into a table: {exc}"


def columns_of(data: Any) -> dict[str, list[Any]]:
    """Each column's values, in row order, of a DataFrame, a dict of columns or row dicts."""
    if isinstance(data, pandas.DataFrame):
        return {str(c): data[c].tolist() for c in data.columns}
    if isinstance(data, Mapping):  # a column given as one value is a column of one
        return {str(c): v if isinstance(v, list) else [v] for c, v in data.items()}
    names = dict.fromkeys(key for row in data for key in row)
    return {str(c): [row.get(c) for row in data] for c in names}


def save_split(data: Any, split: str, name: str | None = None) -> Path:
    """`data` as a Parquet file under the cache folder, named by the hash of its bytes;
    `name`: the argument it came in, for messages (default `<split>_data`)."""
    name = name or f"{split}_data"
    dataset = as_dataset(data, name)
    if len(dataset) == 0:
        raise UserError(f"{name} has no rows; give it the {split} examples.")
    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".parquet", delete=False) as handle:
        written = Path(handle.name)
    try:
        dataset.to_parquet(str(written))
        digest = hashlib.sha256(written.read_bytes()).hexdigest()[:16]
        path = folder / digest / f"{split}.parquet"
        if not path.exists():  # the same data is written once; a file never changes
            path.parent.mkdir(exist_ok=True)
            os.replace(written, path)
    finally:
        written.unlink(missing_ok=True)
    say(f"{name} ({len(dataset):,} rows) saved as {path}, which the run reads")
    return path


def in_memory_overrides(splits: Mapping[str, Any]) -> dict[str, str]:
    """{data.<split>_file: path} for each split handed over; None splits are left out."""
    return {
        f"data.{split}_file": str(save_split(data, split))
        for split, data in splits.items()
        if data is not None
    }
