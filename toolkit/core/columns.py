"""A whole column of a `datasets.Dataset`, read by Arrow in one pass.

`dataset[name]` is a lazy `Column` (datasets 4+): iterating it formats one row at a time, and
even slicing it whole gathers a split's rows (after `select`, a hold-out, a shuffle) one Python
call per row (datasets' `fast_gather`): 9 s for 720,000 labels of a held-out split on this
machine. `column_chunks` applies the split's index mapping with Arrow's `take` instead (C++, no
Python object per row); `column_values` and `column_array` build on it. Columns whose feature
needs decoding (images, audio) are read through datasets, so their values come decoded. A
column of long lists (token ids) is measured by `list_lengths`, which never makes Python
objects of its rows.
"""

from __future__ import annotations

from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets.features.features import require_decoding

LENGTH_BATCH = 100_000  # rows whose lists are measured at once


def column_chunks(dataset: datasets.Dataset, name: str) -> pa.ChunkedArray:
    """Column `name` as stored (class ids, strings, undecoded images), in the split's row order."""
    column = dataset.data.column(name)
    # datasets keeps select / shuffle / train_test_split results as an index table over the
    # file's rows (a private attribute since datasets 1.x, still the only way to it)
    indices = getattr(dataset, "_indices", None)
    return column.take(indices.column(0)) if indices is not None else column


def column_values(dataset: Any, name: str) -> list[Any]:
    """Every value of column `name` of `dataset` (a Dataset, or a dict of lists), in row order:
    class ids as ints, images decoded. A format or transform set on the dataset is not applied:
    these are the stored values the checks and advice read."""
    if isinstance(dataset, datasets.Dataset) and not require_decoding(dataset.features[name]):
        return column_chunks(dataset, name).to_pylist()
    return list(dataset[name][:])


def column_array(dataset: datasets.Dataset, name: str) -> np.ndarray:
    """One column of numbers (class ids, values) as numpy: the rows of the split (its index
    mapping applied), not of its file's table."""
    return column_chunks(dataset, name).to_numpy()


def list_lengths(dataset: Any, name: str) -> np.ndarray:
    """The length of every row's list in column `name` (token ids, words), measured by Arrow
    a batch at a time: no row's list becomes Python objects, so memory stays flat."""
    lengths = [np.zeros(0, dtype=np.int64)]
    for batch in dataset.select_columns([name]).with_format("arrow").iter(LENGTH_BATCH):
        counted = pc.list_value_length(batch.column(name)).fill_null(0)
        lengths.append(counted.to_numpy().astype(np.int64))
    return np.concatenate(lengths)
