"""Streamed training data (`data.streaming: true`): the training rows are read as they are
trained on, never whole, so a file larger than memory (or a Hub set larger than the disk) trains
in bounded memory.

What is read ahead, once, in the stream's order, and then never trained on: the validation head
(`data.stream_validation_rows`, unless a validation file or Hub split is given) and the test
head after it (`data.stream_test_rows`, unless a test file or split is given). Then the first
`data.stream_head_rows` training rows, the head sample, are read ahead too (and trained on, as
part of the stream): the classes come from it and the held-out rows, and every reader of the
whole training split (class counts and weights, data-size advice, truncation, the overlap check,
the baselines, the overfitting watch's sample) reads it instead.

The training stream skips the held-out rows; its texts and labels are checked batch by batch
as they are read by the same rules as a loaded split (`StreamRows`), and a label outside the
known classes stops the run naming the row: a label is never mapped to another class or
dropped silently. Rows are mixed in a seeded shuffle buffer (`data.stream_shuffle_buffer`).

Under `accelerate launch` each process reads its own share of the training stream
(`per_process`), cut after the held-out rows, so every process holds out the same rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from datasets.distributed import split_dataset_by_node

from toolkit.config.schema import DataConfig
from toolkit.config.taxonomy import TargetKind
from toolkit.core.errors import UserError
from toolkit.core.launch import process_rank, world_size
from toolkit.data.labels import is_missing, label_name
from toolkit.data.load import LoadedData, checked_splits, encode_targets
from toolkit.data.sources import (
    FILE_BUILDERS,
    SPLITS,
    describe_split,
    load_file,
    open_hub_stream,
    open_stream,
    quiet_readers,
    unreadable,
)
from toolkit.data.splits import cap_sizes

REPORT_KEY = "streaming"  # LoadedData.report's entry, written to metrics.json
ROW = "ftk_stream_row"  # a row's position in the stream, while the rows read ahead are cut


@dataclass
class StreamedData:
    """A streamed run's data: the splits read ahead, and the training stream."""

    loaded: LoadedData  # validation / test (given, or heads) and train: the head sample
    stream: datasets.IterableDataset  # training rows after the hold-outs, labels encoded
    facts: dict[str, Any]  # what was read ahead and from where (run_config, metrics.json)


def load_streamed(
    cfg: DataConfig, columns: list[str], seed: int, target: TargetKind
) -> StreamedData:
    """The hold-outs and head sample read ahead, checked and encoded as `load_data` does, and
    the training stream after them. `columns`: the text columns the task reads."""
    stream, given = open_training_stream(cfg)
    held = {
        "validation": 0 if "validation" in given else cfg.stream_validation_rows,
        "test": 0 if "test" in given else test_head_rows(cfg),
    }
    skipped = sum(held.values())
    ahead = read_ahead(stream, skipped + cfg.stream_head_rows, cfg)
    # checked as the training file it is (messages name it and its rows), then cut
    ahead = ahead.add_column(ROW, list(range(len(ahead))))
    checked = checked_splits({**given, "train": ahead}, cfg, columns, target)
    keep = [*columns, cfg.label_column]
    raw = {
        split: ds.select_columns(keep)
        for split, ds in {**checked, **split_ahead(checked["train"], held, cfg)}.items()
    }
    encoded, names = encode_targets(raw, cfg, target, names_from=all_labels(raw, cfg))
    splits = cap_sizes(datasets.DatasetDict({s: encoded[s] for s in SPLITS if s in encoded}), cfg)
    facts = stream_facts(cfg, given, held, len(splits["train"]))
    source = (stream.features or {}).get(cfg.label_column)
    encode_rows = StreamRows(
        cfg,
        columns,
        names,
        target,
        first_row=skipped + 1,
        ids_of=source.names if isinstance(source, datasets.ClassLabel) else None,
    )
    training = (
        stream.skip(skipped)
        .select_columns(keep)
        .map(encode_rows, batched=True, with_indices=True, features=splits["train"].features)
        .shuffle(seed=seed, buffer_size=cfg.stream_shuffle_buffer)
    )
    training, shares = per_process(training, held_out=skipped > 0)
    if shares:
        facts["per_process"] = shares
    loaded = LoadedData(
        splits=splits,
        label_names=names,
        label_column=cfg.label_column,
        report={REPORT_KEY: facts},
        target=target,
    )
    return StreamedData(loaded, training, facts)


def per_process(
    stream: datasets.IterableDataset, held_out: bool
) -> tuple[datasets.IterableDataset, str | None]:
    """This process's share of the training stream under a launch of several, and how it is
    cut (None: one process reads it all). Whole files when the source has several and their
    number divides by the processes (each reads only its own); else every process reads the
    stream and keeps every N-th row after the held-out ones (its shuffle buffer, seeded alike
    on every process, mixes the same rows, so the processes' rows never overlap). With rows
    held out, always the latter: datasets' skip() shared out among files would skip part of
    every file instead of the head."""
    processes = world_size()
    if processes == 1:
        return stream, None
    files = stream.num_shards
    whole_files = not held_out and files > 1 and files % processes == 0
    strategy = "shards" if whole_files else "examples"
    mine = split_dataset_by_node(
        stream, rank=process_rank(), world_size=processes, strategy=strategy
    )
    if whole_files:
        return mine, (
            f"each of the {processes} processes reads {files // processes:,} of the source's "
            f"{files:,} files, its own"
        )
    why = (
        "after the held-out rows (whole files are shared out only when no rows are held out)"
        if held_out
        else f"(the source is {files:,} file{'s' if files > 1 else ''}, not a multiple of "
        f"{processes}: whole files would be shared out unevenly)"
    )
    return mine, (
        f"each of the {processes} processes reads the whole training stream and keeps every "
        f"{ordinal(processes)} row, its own, {why}"
    )


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def split_ahead(
    ahead: datasets.Dataset, held: dict[str, int], cfg: DataConfig
) -> dict[str, datasets.Dataset]:
    """The rows read ahead (their stream positions in column ROW; rows with an empty text may
    have been dropped) cut into the held-out heads, validation then test, and the head sample
    of training rows after them."""
    skipped = sum(held.values())
    positions = np.asarray(ahead[ROW])
    if not len(positions) or positions.max() < skipped:
        raise UserError(
            f"The {describe_split(cfg, 'train')} holds no row after the {skipped:,} held out "
            f"({held['validation']:,} validation, data.stream_validation_rows; "
            f"{held['test']:,} test, data.stream_test_rows), so none is left to train on. "
            f"A file this small loads whole: set data.streaming: false."
        )
    parts, start = {}, 0
    for split, rows in [*held.items(), ("train", len(positions) + skipped)]:
        if rows:
            inside = (positions >= start) & (positions < start + rows)
            parts[split] = ahead.select(np.flatnonzero(inside))
            start += rows
    return parts


def open_training_stream(
    cfg: DataConfig,
) -> tuple[datasets.IterableDataset, dict[str, datasets.Dataset]]:
    """The training split as a stream, and the validation / test splits the source gives,
    read whole (a file or a Hub split: hold-outs are small)."""
    if cfg.hub_id:
        return open_hub_stream(cfg)
    assert cfg.train_file, "config/streaming.py refuses a stream without a file or Hub set"
    files = {"validation": cfg.validation_file, "test": cfg.test_file}
    given = {
        split: load_file(Path(path), f"data.{split}_file", cfg.encoding)
        for split, path in files.items()
        if path
    }
    return open_stream(Path(cfg.train_file), "data.train_file", cfg.encoding), given


def test_head_rows(cfg: DataConfig) -> int:
    """The test head's rows: data.stream_test_rows; else, when data.test_size asks for a test
    split (a share, which a stream of unknown length cannot give), as many as validation's."""
    if cfg.stream_test_rows:
        return cfg.stream_test_rows
    return cfg.stream_validation_rows if cfg.test_size else 0


def read_ahead(stream: datasets.IterableDataset, rows: int, cfg: DataConfig) -> datasets.Dataset:
    """The stream's first `rows` rows as a table; a file the reader fails on is named as
    `load_file` names it."""
    try:
        with quiet_readers():
            head = list(stream.take(rows))
    except Exception as exc:  # the readers raise many types; all mean "cannot read this file"
        if not cfg.train_file:
            raise
        path = Path(cfg.train_file)
        builder = FILE_BUILDERS[path.suffix.lower()]  # open_stream checked the suffix
        raise unreadable(
            exc, path, "data.train_file", builder, cfg.encoding, "data.encoding"
        ) from None
    if not head:
        raise UserError(
            f"The {describe_split(cfg, 'train')} holds no rows; give a file with data in it."
        )
    return datasets.Dataset.from_list(head, features=stream.features)


def all_labels(raw: dict[str, datasets.Dataset], cfg: DataConfig) -> datasets.Dataset:
    """The labels of the head sample and of validation as one column: a streamed run's classes
    are those seen before training starts (a test label outside them is refused, as a loaded
    split's is: the model never trains on it)."""
    column = cfg.label_column
    tables = [raw[s].select_columns([column]) for s in ("train", "validation") if s in raw]
    try:
        return datasets.concatenate_datasets(tables)
    except ValueError:  # a given file's labels typed otherwise (ints vs strings): as texts
        values = [v for t in tables for v in t[column]]
        named = ["" if v is None else label_name(v) for v in values]
        return datasets.Dataset.from_dict({column: named})


def stream_facts(
    cfg: DataConfig, given: dict[str, datasets.Dataset], held: dict[str, int], head: int
) -> dict[str, Any]:
    """What a streamed run read ahead, and from where, for the console and metrics.json."""
    facts: dict[str, Any] = {"training": describe_split(cfg, "train"), "head_sample_rows": head}
    for split, rows in held.items():
        if split in given:
            facts[split] = f"given: {describe_split(cfg, split)}"
        elif rows:
            first = first_of(held, split)
            facts[split] = f"the stream's rows {first:,} to {first + rows - 1:,} (a fixed head)"
        else:
            facts[split] = "none"
    facts["shuffle_buffer_rows"] = cfg.stream_shuffle_buffer
    facts["read_from_the_head_sample"] = [
        "classes",
        "class counts and weights",
        "data-size advice (class shares only: the size is not judged)",
        "truncation",
        "overlap check (against the head sample only)",
        "baselines",
        "overfitting watch sample",
    ]
    return facts


def first_of(held: dict[str, int], split: str) -> int:
    """The 1-based stream row where the held-out `split` starts (validation first, then test)."""
    return 1 + (held["validation"] if split == "test" else 0)


def describe_stream(facts: dict[str, Any], cfg: DataConfig) -> list[str]:
    """The console lines that say what a streamed run read ahead and why."""
    validation = facts["validation"]
    lines = [
        f"Streaming: training rows are read from the {facts['training']} as they are trained "
        f"on, never whole; mixed in a seeded shuffle buffer of {cfg.stream_shuffle_buffer:,} "
        f"rows (data.stream_shuffle_buffer).",
        f"Streaming: validation is {validation}"
        + (
            " (data.stream_validation_rows): the same rows on every run over this file, not "
            "stratified, since a stream cannot be sampled without reading it whole; never "
            "trained on (the training stream skips them). data.validation_size does not apply."
            if validation.startswith("the stream")
            else "."
        ),
        f"Streaming: test is {facts['test']}" + test_note(facts["test"], cfg),
        f"Streaming: the classes, class counts and weights, data-size advice, truncation, the "
        f"overlap check, the baselines and the overfitting watch read the first "
        f"{facts['head_sample_rows']:,} training rows (data.stream_head_rows) and the "
        f"held-out rows, not the whole training split; a later label outside these classes "
        f"stops the run.",
    ]
    if cfg.empty_texts == "drop":
        lines.append(
            "Streaming: training rows with an empty text are dropped as they are read "
            "(data.empty_texts: drop), not counted ahead; set data.empty_texts: error to stop "
            "at the first."
        )
    if facts.get("per_process"):
        lines.append(
            f"Streaming: {facts['per_process']}. Each process's share repeats endlessly, "
            f"reshuffled each pass (the shuffle's seed + the pass), so every process trains "
            f"until max_steps and all stop at the same step: a share that ends first never "
            f"leaves the others waiting."
        )
    return lines


def test_note(test: str, cfg: DataConfig) -> str:
    if not test.startswith("the stream"):
        return "."
    if cfg.stream_test_rows:
        return " (data.stream_test_rows), never trained on."
    return (
        f" (data.test_size {cfg.test_size} asks for a test split, but a stream has no length "
        f"to take a share of: it holds as many rows as validation; data.stream_test_rows "
        f"sets them), never trained on."
    )


class StreamRows:
    """One batch of the training stream, checked and encoded as a loaded split is: rows with an
    empty text dropped (or an error, data.empty_texts), labels as class ids over the classes
    read ahead (or finite float32 numbers); anything else stops the run naming the row.
    A class, not a closure, so DataLoader workers can pickle it."""

    def __init__(
        self,
        cfg: DataConfig,
        text_columns: list[str],
        names: list[str],
        target: TargetKind,
        first_row: int,
        ids_of: list[str] | None = None,
    ) -> None:
        self.cfg = cfg
        self.text_columns = text_columns
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}
        self.numeric = target.numeric
        self.first_row = first_row  # the file's data row (from 1) of the stream's index 0
        self.ids_of = ids_of  # a Hub set's ClassLabel names: its labels arrive as ids

    def __call__(self, batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        rows = [self.first_row + i for i in indices]
        keep = [
            i
            for i in range(len(rows))
            if not any(is_missing(batch[c][i]) for c in self.text_columns)
        ]
        if len(keep) < len(rows) and self.cfg.empty_texts == "error":
            empty = next(r for i, r in enumerate(rows) if i not in keep)
            raise UserError(
                f"Row {empty:,} of the {describe_split(self.cfg, 'train')} (rows counted from "
                f"1, the first data row) has an empty text in column(s) "
                f"{', '.join(map(repr, self.text_columns))}. Fill in or remove it, or set "
                f"data.empty_texts: drop to drop such rows as they are read."
            )
        label = self.cfg.label_column
        out = {c: [batch[c][i] for i in keep] for c in self.text_columns}
        out[label] = [self.encode(batch[label][i], rows[i]) for i in keep]
        return out

    def encode(self, value: Any, row: int) -> Any:
        if self.numeric:
            return self.number(value, row)
        if self.ids_of is not None and isinstance(value, int):  # -1: a row without a label
            value = self.ids_of[value] if value >= 0 else None
        name = None if is_missing(value) else label_name(value)
        if name not in self.index:
            raise UserError(self.unknown_label(value, row))
        return self.index[name]

    def number(self, value: Any, row: int) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise UserError(
                f"Row {row:,} of the {describe_split(self.cfg, 'train')} has target "
                f"{value!r} in column '{self.cfg.label_column}', not a finite number; fix or "
                f"remove that row."
            )
        return number

    def unknown_label(self, value: Any, row: int) -> str:
        where = f"Row {row:,} of the {describe_split(self.cfg, 'train')}"
        if is_missing(value):
            return (
                f"{where} has no label in column '{self.cfg.label_column}'; a streamed run "
                f"stops at such a row: fill in or remove it."
            )
        shown = ", ".join(self.names[:20]) + (" ..." if len(self.names) > 20 else "")
        return (
            f"{where} has label {label_name(value)!r} in column '{self.cfg.label_column}', "
            f"which is not among the {len(self.names)} classes read ahead before training "
            f"({shown}: the held-out rows and the first {self.cfg.stream_head_rows:,} training "
            f"rows, data.stream_head_rows). A streamed model's classes are fixed when training "
            f"starts, and ftk never maps a label to another class or drops it. Raise "
            f"data.stream_head_rows so the head holds an example of it, put such an example "
            f"near the start of the file, or remove those rows."
        )
