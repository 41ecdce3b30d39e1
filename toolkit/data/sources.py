"""Data sources, exactly one per config: a packaged demo set (`data.builtin`), a Hub data set
(`data.hub_id`), local files (`data.train_file`, optional `validation_file` / `test_file`), or
image folders with one subfolder per class (`data.train_dir`, optional `validation_dir` /
`test_dir`) -> raw splits, with the columns a task needs checked.
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Iterator
from pathlib import Path

import datasets

from toolkit.config.schema import DataConfig
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.data.builtin import load_builtin_dataset
from toolkit.data.images import load_image_folder
from toolkit.data.in_memory import is_saved_in_memory_data
from toolkit.data.json_lines import json_problem

FILE_BUILDERS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
}


SPLITS = ("train", "validation", "test")


def load_source(cfg: DataConfig, reads_images: bool = False) -> dict[str, datasets.Dataset]:
    """The raw splits of the config's one source; `reads_images`: the task reads images, so a
    folder named as a data file is pointed at data.train_dir."""
    if cfg.builtin:
        return load_builtin_dataset(cfg.builtin)
    if cfg.hub_id:
        return load_hub(cfg)
    if cfg.train_dir:
        folders = {"train": cfg.train_dir, "validation": cfg.validation_dir, "test": cfg.test_dir}
        return {
            split: load_image_folder(Path(path), f"data.{split}_dir", split == "train")
            for split, path in folders.items()
            if path
        }
    if cfg.train_file:
        files = {"train": cfg.train_file, "validation": cfg.validation_file, "test": cfg.test_file}
        return {
            split: load_file(
                Path(path), f"data.{split}_file", cfg.encoding, reads_images=reads_images
            )
            for split, path in files.items()
            if path
        }
    raise UserError(
        "The config names no data: set data.builtin (a packaged demo set, e.g. "
        "bbc-news), data.hub_id (a Hub data set), data.train_file (a CSV, JSON, "
        "JSONL or Parquet file) or data.train_dir (an image folder)."
    )


def load_file(
    path: Path,
    key: str,
    encoding: str = "utf-8",
    encoding_option: str = "data.encoding",
    reads_images: bool = False,
) -> datasets.Dataset:
    """Read one CSV / TSV / JSON(L) / Parquet file; CSV cells are never guessed to be NaN.
    `key` names the file in messages, `encoding_option` the option that sets its encoding;
    `reads_images`: the task reads images (a folder given is pointed at data.train_dir)."""
    builder = checked_builder(path, key, reads_images)
    kwargs = reader_options(path, key, builder, encoding, encoding_option)
    try:
        with quiet_readers():
            dataset = datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as exc:  # the readers raise many types; all mean "cannot read this file"
        raise unreadable(exc, path, key, builder, encoding, encoding_option) from None
    return unwrapped_json(dataset, path, key) if path.suffix.lower() == ".json" else dataset


def open_stream(path: Path, key: str, encoding: str = "utf-8") -> datasets.IterableDataset:
    """The rows of one CSV / TSV / JSONL / Parquet file as a stream (data.streaming): read as
    they are iterated, never whole; checked as `load_file` checks a file before reading it
    (reading errors surface while iterating: see `unreadable`)."""
    builder = checked_builder(path, key)
    kwargs = reader_options(path, key, builder, encoding, "data.encoding")
    return datasets.load_dataset(
        builder, data_files=str(path), split="train", streaming=True, **kwargs
    )


def checked_builder(path: Path, key: str, reads_images: bool = False) -> str:
    """The `datasets` reader of `path`, once it is a non-empty file ftk reads."""
    refuse_folder(path, key, reads_images)
    if not path.is_file():
        raise UserError(
            f"{key} '{path}' does not exist; check the path (relative paths are "
            f"read from the directory you run ftk in)."
        )
    builder = FILE_BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise UserError(
            f"{key} '{path}' has an extension ftk does not read; use one of "
            f"{', '.join(FILE_BUILDERS)}."
        )
    if path.stat().st_size == 0:
        raise UserError(f"{key} '{path}' is empty; it needs a header and at least one row.")
    return builder


def unreadable(
    exc: Exception, path: Path, key: str, builder: str, encoding: str, encoding_option: str
) -> UserError:
    """What is wrong with a file a `datasets` reader failed on (it raises many types)."""
    if "corresponds to no data" in str(exc):
        return UserError(
            f"{key} '{path}' holds no rows (only a header?); give a file with data in it."
        )
    if builder != "parquet":
        check_decodes(path, key, encoding, encoding_option)
    problem = json_problem(path, encoding) if builder == "json" else None
    if problem:
        return UserError(f"{key} '{path}' {problem}.")
    return UserError(
        f"{key} '{path}' could not be read as {builder}: "
        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    )


def refuse_folder(path: Path, key: str, reads_images: bool = False) -> None:
    """A folder where a file belongs is named as one (it "did not exist"), with what is in
    it; for a task that reads images, the keys that take image folders."""
    if not path.is_dir():
        return
    inside = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
    shown = ", ".join(inside[:5]) + (" ..." if len(inside) > 5 else "")
    hint = (
        " Images in one subfolder per class are read from a folder with data.train_dir "
        "(data.validation_dir, data.test_dir) in place of the *_file keys."
        if reads_images
        else ""
    )
    raise UserError(
        f"{key} '{path}' is a folder ({f'holding {shown}' if inside else 'empty'}), not a "
        f"file; give the path of one data file.{hint}"
    )


def unwrapped_json(dataset: datasets.Dataset, path: Path, key: str) -> datasets.Dataset:
    """A .json file of one object is read as one row; two common shapes of a whole data set
    in one object are read as their rows instead, and said: the records under one key
    ({"data": [{...}, ...]}), or one list per column ({"text": [...], "label": [...]}).
    (.jsonl is one record per line, so a one-line file stays one row.)"""
    if len(dataset) != 1:
        return dataset
    row = dataset[0]
    values = list(row.values())
    if len(row) == 1 and is_list_of_records(values[0]):
        (name,) = row
        say(f"{key} '{path}' is read as the {len(values[0]):,} records under its key '{name}'")
        return datasets.Dataset.from_list(values[0])
    lengths = {len(v) for v in values if isinstance(v, list)}
    if len(lengths) == 1 and all(isinstance(v, list) for v in values) and lengths != {1}:
        say(f"{key} '{path}' is read as columns: one list of {lengths.pop():,} values per key")
        return datasets.Dataset.from_dict(row)
    return dataset


def is_list_of_records(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


@contextlib.contextmanager
def quiet_readers() -> Iterator[None]:
    """datasets logs a reader's exception with its whole traceback before raising it; the
    UserError raised instead says what is wrong with the file, so the log stays quiet."""
    previous = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    try:
        yield
    finally:
        datasets.logging.set_verbosity(previous)


def reader_options(
    path: Path, key: str, builder: str, encoding: str, encoding_option: str
) -> dict[str, object]:
    """Keyword arguments for the `datasets` reader of `path` (checked: encoding, delimiter)."""
    if builder == "parquet":
        return {}
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UserError(
            f"{encoding_option} '{encoding}' is not a text encoding Python knows; use e.g. "
            f"utf-8, latin-1 or cp1252 (the encoding {key} '{path}' was saved in)."
        ) from None
    if builder == "json":
        # pyarrow's JSON reader lets bad bytes through
        check_decodes(path, key, encoding, encoding_option)
        return {"encoding": encoding}
    # No NaN guessing: the texts "NA", "nan", "None", "null", "N/A" stay texts (and class
    # names); only a truly empty cell is missing (None), which the empty-text check handles.
    kwargs: dict[str, object] = {"encoding": encoding, "keep_default_na": False, "na_values": [""]}
    if path.suffix.lower() == ".tsv":
        kwargs["delimiter"] = "\t"
    else:
        kwargs["delimiter"] = csv_delimiter(path, key, encoding)
    return kwargs


# What a ".csv" is separated by when its header has no comma: tabs (a TSV saved as .csv), or
# semicolons (Excel's CSV where the decimal mark is a comma, as in most of Europe).
OTHER_DELIMITERS = {"\t": "tab", ";": "semicolon"}


def csv_delimiter(path: Path, key: str, encoding: str) -> str:
    """ "," unless the header has no comma but tabs or semicolons between its columns; then
    that, said (a one-column header stays ",")."""
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        header = handle.readline().rstrip("\r\n")
    if "," in header:
        return ","
    for delimiter, name in OTHER_DELIMITERS.items():
        if delimiter in header:
            columns = ", ".join(repr(c.strip('"')) for c in header.split(delimiter)[:5])
            say(
                f"{key} '{path}' is read as {name}-separated: its header has no comma but "
                f"{name}s between {columns}."
            )
            return delimiter
    return ","


def check_decodes(path: Path, key: str, encoding: str, encoding_option: str) -> None:
    """Raise a UserError naming the first byte of `path` that `encoding` cannot decode."""
    bad = first_undecodable(path, encoding)
    if bad is None:
        return
    offset, line, byte = bad
    with path.open("rb") as handle:
        start = handle.read(4)
    hint = (
        f" It starts with a UTF-16 byte-order mark: try --{encoding_option} utf-16, or save "
        f"it as UTF-8."
        if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        else f" Save it as UTF-8, or pass the encoding it was saved in with --{encoding_option} "
        f"(e.g. --{encoding_option} latin-1, or cp1252 for files saved by Excel on Windows)."
    )
    raise UserError(
        f"{key} '{path}' is not valid {encoding} text ({encoding_option}: {encoding}): byte "
        f"0x{byte:02x} at byte offset {offset:,} (line {line:,}) cannot be decoded.{hint}"
    )


def first_undecodable(path: Path, encoding: str) -> tuple[int, int, int] | None:
    """(byte offset, 1-based line, byte value) of the first byte `encoding` cannot decode."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed, lines = 0, 1  # bytes fully handed to the decoder before this chunk; lines so far
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            pending = decoder.getstate()[0]  # bytes of a character cut by the last chunk
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                offset = consumed - len(pending) + exc.start
                before = data[: exc.start]
                return offset, lines - pending.count(b"\n") + before.count(b"\n"), data[exc.start]
            if not chunk:
                return None
            consumed += len(chunk)
            lines += chunk.count(b"\n")


def load_hub(cfg: DataConfig) -> dict[str, datasets.Dataset]:
    loaded = hub_splits(cfg, streaming=False)
    wanted = {"train": cfg.train_split, "validation": cfg.validation_split, "test": cfg.test_split}
    return {ours: loaded[theirs] for ours, theirs in wanted.items() if theirs in loaded}


def open_hub_stream(
    cfg: DataConfig,
) -> tuple[datasets.IterableDataset, dict[str, datasets.Dataset]]:
    """The Hub set's training split as a stream (data.streaming), and its validation and test
    splits, when it has them, read whole (hold-outs are small)."""
    loaded = hub_splits(cfg, streaming=True)
    held = {"validation": cfg.validation_split, "test": cfg.test_split}
    return loaded[cfg.train_split], {
        ours: whole(loaded[theirs]) for ours, theirs in held.items() if theirs in loaded
    }


def whole(stream: datasets.IterableDataset) -> datasets.Dataset:
    return datasets.Dataset.from_list(list(stream), features=stream.features)


def hub_splits(cfg: DataConfig, streaming: bool) -> dict:
    """The Hub set's splits by name (streamed: nothing is downloaded until read); the training
    split must be among them."""
    streamed = {"streaming": True} if streaming else {}
    try:
        loaded = datasets.load_dataset(
            cfg.hub_id, cfg.hub_config, revision=cfg.hub_revision, **streamed
        )
    except Exception as exc:
        raise UserError(
            f"data.hub_id '{cfg.hub_id}' could not be loaded "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
            f"Check the name, config and revision, and that the Hub is reachable (or the set "
            f"is in the local datasets cache)."
        ) from None
    if cfg.train_split not in loaded:
        raise UserError(
            f"data.hub_id '{cfg.hub_id}' has no split '{cfg.train_split}' "
            f"(data.train_split); its splits: {', '.join(loaded)}."
        )
    return dict(loaded)


def describe_split(cfg: DataConfig, split: str) -> str:
    if cfg.train_dir:
        return f"folder '{getattr(cfg, f'{split}_dir')}' (data.{split}_dir)"
    if cfg.train_file:
        path = getattr(cfg, f"{split}_file")
        if path and is_saved_in_memory_data(Path(path)):
            return f"{split}_data handed over in Python (saved as '{path}')"
        return f"file '{path}' (data.{split}_file)"
    return f"{split} split of {cfg.builtin or cfg.hub_id}"


def check_columns(dataset: datasets.Dataset, columns: list[str], where: str) -> None:
    fix = "Point data.text_column / data.image_column / data.label_column at the right ones."
    require_columns(dataset, columns, f"The {where}", fix)


def require_columns(table: datasets.Dataset, columns: list[str], where: str, fix: str) -> None:
    """Every one of `columns` is in `table`, else a UserError listing the table's columns and
    `fix` (the options that name them), and a column whose name differs only in spaces or
    case (a header written 'text, label' names ' label')."""
    missing = [c for c in columns if c not in table.column_names]
    if not missing:
        return
    lookalikes = [
        f"column {found!r} differs from {wanted!r} only in spaces or case"
        for wanted in missing
        for found in table.column_names
        if found.strip().casefold() == wanted.strip().casefold()
    ]
    hint = (
        f" ({'; '.join(lookalikes)}: rename it in the file, or name it exactly as written)"
        if lookalikes
        else ""
    )
    raise UserError(
        f"{where} has no column {', '.join(map(repr, missing))}; its columns are "
        f"{', '.join(table.column_names)}{hint}. {fix}"
    )
