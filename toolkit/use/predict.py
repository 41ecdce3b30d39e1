"""`ftk predict RUN`: label names and scores (top-k) for new texts or images, as CSV or JSONL;
for a regression run, the predicted value of each input (`pred_value`); for a multi-label run,
every label whose sigmoid score exceeds the decision threshold (`pred_labels`, `pred_scores`):
the threshold tuned on validation that the run saved in config.json, 0.5 for a model without
one, or `--threshold`; for a token classification run, the entities each input holds
(`entities`: words, type, word span, score).

Inputs: a CSV/TSV/JSON/JSONL/Parquet table with a text column (text runs), a folder of images
or one image file (image runs), or one text given on the command line. A token classification
run reads words: a column of token lists (the run's data.tokens_column, when the table has it),
or texts split on whitespace (so punctuation stays attached to its word: "Paris," is one word).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from toolkit.core.errors import UserError
from toolkit.core.log import say, warn
from toolkit.data.images import IMAGE_SUFFIXES, check_image_files, image_files
from toolkit.data.labels import is_missing
from toolkit.data.sources import FILE_BUILDERS, load_file
from toolkit.metrics.entities import entities
from toolkit.metrics.multilabel import sigmoid
from toolkit.use.inference import Run, load_run, predict_logits, softmax, word_logits

OUTPUT_FORMATS = (".csv", ".jsonl")


@dataclass
class Inputs:
    records: list[dict[str, Any]]  # what identifies each input in the output (its row, its path)
    items: list[Any]  # what the model reads: texts, (text, pair) tuples or image paths


def predict(
    run_dir: str | Path,
    input_path: Path | None = None,
    text: str | None = None,
    output: Path | None = None,
    top_k: int = 1,
    batch_size: int = 32,
    text_column: str | None = None,
    encoding: str | None = None,
    texts: Sequence[str] | None = None,
    show: bool = True,
    revision: str | None = None,
    threshold: float | None = None,
) -> list[dict[str, Any]]:
    """Predict every input; write `output` (CSV or JSONL by extension), else print a table
    (when `show`). `run_dir`: a run or checkpoint folder, or a Hub repo id (at `revision`).
    Inputs: `input_path`, one `text`, or a list of `texts` (from Python).
    `encoding`: of a text table (default: the run's data.encoding, else utf-8).
    `threshold`: a multi-label run's decision threshold (default: the run's own)."""
    if output is not None and output.suffix.lower() not in OUTPUT_FORMATS:
        raise UserError(f"--output '{output}' must end in {' or '.join(OUTPUT_FORMATS)}.")
    if top_k < 1:
        raise UserError(f"--top-k must be at least 1, got {top_k}.")
    run = load_run(run_dir, revision)
    check_threshold(run, threshold, top_k)
    if texts is not None:
        if input_path is not None or text is not None:
            raise UserError("Give one of input_path, text and texts.")
        inputs = text_list_inputs(run, list(texts))
    else:
        inputs = read_inputs(run, input_path, text, text_column, encoding)
    if run.target.kind.per_word:
        rows = entity_rows(run, inputs, batch_size, top_k)
    else:
        logits = predict_logits(run, inputs.items, batch_size)
        rows = output_rows(run, inputs.records, logits, top_k, threshold)
    if output is None:
        if show:
            print_rows(rows, inputs.items)
    else:
        write_rows(output, rows)
        say(f"Wrote {len(rows)} predictions to {output}")
    return rows


# ----------------------------------------------------------------------------- inputs


def read_inputs(
    run: Run,
    input_path: Path | None,
    text: str | None,
    text_column: str | None,
    encoding: str | None,
) -> Inputs:
    if (input_path is None) == (text is None):
        raise UserError(
            "Give exactly one of --input (a table of texts, an image folder or an "
            "image file) and --text (one text)."
        )
    if text is not None:
        require_modality(run, "text", "--text")
        if run.data_key("text_pair_column"):
            raise UserError(
                "This run classifies text pairs; --text gives one text. Put both "
                "texts in a table and pass it with --input."
            )
        return Inputs(records=[{"text": text}], items=[text])
    assert input_path is not None
    if input_path.is_dir():
        require_modality(run, "image", f"--input '{input_path}' (a folder)")
        return image_inputs(image_files(input_path), input_path)
    if input_path.suffix.lower() in IMAGE_SUFFIXES:
        require_modality(run, "image", f"--input '{input_path}' (an image)")
        return image_inputs([input_path] if input_path.is_file() else [], input_path)
    if input_path.suffix.lower() in FILE_BUILDERS:
        require_modality(run, "text", f"--input '{input_path}' (a table)")
        return table_inputs(run, input_path, text_column, encoding)
    raise UserError(
        f"--input '{input_path}' is neither a folder of images, an image "
        f"({', '.join(IMAGE_SUFFIXES)}) nor a table ({', '.join(FILE_BUILDERS)})."
    )


def text_list_inputs(run: Run, texts: list[str]) -> Inputs:
    require_modality(run, "text", "texts")
    if run.data_key("text_pair_column"):
        raise UserError(
            "This run classifies text pairs; give a table with both columns as the input."
        )
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise UserError(
            f"texts must be strings; item {bad[0]} is a {type(texts[bad[0]]).__name__}."
        )
    return Inputs(records=[{"text": t} for t in texts], items=texts)


def require_modality(run: Run, wanted: str, what: str) -> None:
    if run.modality != wanted:
        raise UserError(
            f"{what} holds {wanted}s, but the run in {run.name} classifies "
            f"{run.modality}s. Give it {run.modality} input."
        )


def image_inputs(paths: list[Path], where: Path) -> Inputs:
    if not paths:
        raise UserError(f"--input '{where}' holds no image files ({', '.join(IMAGE_SUFFIXES)}).")
    check_image_files(paths)
    return Inputs(records=[{"image": str(p)} for p in paths], items=paths)


def text_columns(run: Run, text_column: str | None) -> list[str]:
    pair = run.data_key("text_pair_column")
    return [text_column or run.data_key("text_column", "text")] + ([pair] if pair else [])


def read_table(run: Run, path: Path, key: str, encoding: str | None) -> Any:
    """A table of new data (a `datasets.Dataset`), read in `encoding`, by default the
    encoding the run's own data had (data.encoding)."""
    encoding = encoding or run.data_key("encoding") or "utf-8"
    return load_file(path, key, encoding, encoding_option="encoding")


def row_texts(table: Any, columns: list[str]) -> tuple[list[Any], list[int]]:
    """What the model reads from every row (a text, or a (text, pair) tuple), and the rows
    (0-based) with an empty, blank or null text, which training would have dropped."""
    items, empty = [], []
    for row, values in enumerate(zip(*(table[c] for c in columns), strict=True)):
        if any(is_missing(v) for v in values):
            empty.append(row)
        texts = ["" if is_missing(v) else str(v) for v in values]
        items.append(texts[0] if len(texts) == 1 else tuple(texts))
    return items, empty


def listed_rows(rows: list[int]) -> str:
    """Rows as a user counts them (from 1, the first data row), at most ten."""
    return ", ".join(str(r + 1) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")


def table_inputs(run: Run, path: Path, text_column: str | None, encoding: str | None) -> Inputs:
    table = read_table(run, path, "--input", encoding)
    if run.target.kind.per_word and text_column is None:
        tokens = run.data_key("tokens_column", "tokens")
        text_column = tokens if tokens in table.column_names else None
    columns = text_columns(run, text_column)
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise UserError(
            f"--input '{path}' has no column {', '.join(map(repr, missing))}; its "
            f"columns are {', '.join(table.column_names)}. Name the text column "
            f"with --text-column."
        )
    if run.target.kind.per_word and table_holds_lists(table, columns[0]):
        return Inputs(records=table.to_list(), items=[list(map(str, w)) for w in table[columns[0]]])
    items, empty = row_texts(table, columns)
    if empty:  # every input keeps its output row, but the user hears of the empty ones
        warn(
            f"--input '{path}' has {len(empty):,} row(s) with an empty text (rows "
            f"{listed_rows(empty)}); their predictions are for an empty string."
        )
    return Inputs(records=table.to_list(), items=items)


def table_holds_lists(table: Any, column: str) -> bool:
    return isinstance(table.features[column], (datasets.List, datasets.Sequence))


# ----------------------------------------------------------------------------- outputs


def entity_rows(run: Run, inputs: Inputs, batch_size: int, top_k: int) -> list[dict[str, Any]]:
    """Each record plus `entities`: the tagged spans of its words (words split on whitespace
    for a text), each with its type, word span [start, end) and score (the mean probability of
    its words' tags)."""
    if top_k != 1:
        raise UserError(
            f"--top-k {top_k}: the run in '{run.path}' tags words and lists the entities it "
            f"finds, not ranked labels; leave --top-k out."
        )
    sentences = [item if isinstance(item, list) else str(item).split() for item in inputs.items]
    logits, cut = word_logits(run, sentences, batch_size)
    if cut:
        warn(
            f"{cut:,} word(s) lay past the run's max_length ({run.data_key('max_length', 256)} "
            f"word pieces) and were not read; they are tagged O."
        )
    return [
        {**record, "entities": sentence_entities(words, softmax(word_rows), run.label_names)}
        for record, words, word_rows in zip(inputs.records, sentences, logits, strict=True)
    ]


def sentence_entities(
    words: list[str], probabilities: np.ndarray, label_names: list[str]
) -> list[dict[str, Any]]:
    tags = [label_names[i] for i in probabilities.argmax(axis=-1)] if len(words) else []
    best = probabilities.max(axis=-1) if len(words) else probabilities
    return [
        {
            "text": " ".join(words[start : end + 1]),
            "type": kind,
            "start": start,
            "end": end + 1,
            "score": round(float(best[start : end + 1].mean()), 6),
        }
        for kind, start, end in entities(tags)
    ]


def check_threshold(run: Run, threshold: float | None, top_k: int) -> None:
    """--threshold only for a multi-label run (and in (0, 1)); --top-k not for one."""
    multi_label = run.target.kind.label_sets
    if threshold is not None and not multi_label:
        raise UserError(
            f"--threshold {threshold:g}: the run in '{run.path}' predicts one "
            f"{run.target.kind.predicts}, so there is "
            f"no decision threshold; leave --threshold out (it is for multi-label runs)."
        )
    if threshold is not None and not 0 < threshold < 1:
        raise UserError(f"--threshold must lie between 0 and 1 (a probability), got {threshold}.")
    if multi_label and top_k != 1:
        raise UserError(
            f"--top-k {top_k}: the run in '{run.path}' is multi-label and lists every label "
            f"whose score exceeds its threshold; leave --top-k out and set --threshold to "
            f"get more or fewer labels."
        )


def output_rows(
    run: Run,
    records: list[dict[str, Any]],
    logits: np.ndarray,
    top_k: int,
    threshold: float | None = None,
) -> list[dict[str, Any]]:
    """Classes (top-k labels and scores), the labels above the threshold (multi-label) or, for
    a regression run, the predicted value."""
    if run.target.kind.label_sets:
        decide_at = run.decision_threshold if threshold is None else threshold
        return label_set_rows(records, sigmoid(logits), run.label_names, decide_at)
    if run.target.kind.numeric:
        if top_k != 1:
            raise UserError(
                f"--top-k {top_k}: the run in '{run.path}' predicts one number per input "
                f"(regression), not ranked labels; leave --top-k out."
            )
        return value_rows(records, run.target.predictions(logits))
    return prediction_rows(records, softmax(logits), run.label_names, top_k)


def value_rows(records: list[dict[str, Any]], values: np.ndarray) -> list[dict[str, Any]]:
    """Each record plus pred_value, the model's output as it is."""
    return [
        {**record, "pred_value": float(value)}
        for record, value in zip(records, values, strict=True)
    ]


def prediction_rows(
    records: list[dict[str, Any]], probabilities: np.ndarray, label_names: list[str], top_k: int
) -> list[dict[str, Any]]:
    """Each record plus pred_label/pred_score (best class), then pred_label_2/pred_score_2, ..."""
    k = min(top_k, len(label_names))
    order = np.argsort(-probabilities, axis=-1, kind="stable")[:, :k]
    rows = []
    for record, ranked, probs in zip(records, order, probabilities, strict=False):
        row = dict(record)
        for rank, index in enumerate(ranked, start=1):
            suffix = "" if rank == 1 else f"_{rank}"
            row[f"pred_label{suffix}"] = label_names[index]
            row[f"pred_score{suffix}"] = round(float(probs[index]), 6)
        rows.append(row)
    return rows


def label_set_rows(
    records: list[dict[str, Any]], scores: np.ndarray, label_names: list[str], threshold: float
) -> list[dict[str, Any]]:
    """Each record plus pred_labels/pred_scores: every label above `threshold`, best first
    (empty lists when none is), and the threshold used."""
    rows = []
    for record, row_scores in zip(records, scores, strict=True):
        above = [i for i in np.argsort(-row_scores, kind="stable") if row_scores[i] > threshold]
        rows.append(
            {
                **record,
                "pred_labels": [label_names[i] for i in above],
                "pred_scores": [round(float(row_scores[i]), 6) for i in above],
                "threshold": threshold,
            }
        )
    return rows


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":  # lists (entities, tokens, label sets): JSON cells
        rows = [{k: as_cell(v) for k, v in row.items()} for row in rows]
    if path.suffix.lower() == ".jsonl":
        path.write_text(
            "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
        )
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["pred_label"])
        writer.writeheader()
        writer.writerows(rows)


def as_cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value


def shown_input(item: Any) -> str:
    """An input as the console shows it after its prediction: a text, a pair, words, a path."""
    if isinstance(item, tuple):
        return " | ".join(map(str, item))
    if isinstance(item, list):
        return " ".join(map(str, item))
    return str(item)


def print_rows(rows: list[dict[str, Any]], items: list[Any]) -> None:
    """One line per prediction, then the input it is for (whatever column it came from)."""
    for row, item in zip(rows, items, strict=True):
        shown = shown_input(item)
        if "entities" in row:
            found = "; ".join(
                f"{e['type']} '{e['text']}' {e['score']:.4f}" for e in row["entities"]
            )
            print(f"{found or '(no entity)'}  | {shown[:70]}")
            continue
        if "pred_value" in row:
            print(f"{row['pred_value']:.6g}  | {shown[:70]}")
            continue
        if "pred_labels" in row:
            pairs = zip(row["pred_labels"], row["pred_scores"], strict=True)
            cells = "  ".join(f"{label} {score:.4f}" for label, score in pairs) or "(no label)"
            print(f"{cells}  | {shown[:70]}")
            continue
        ranked = [
            (row[k], row[k.replace("label", "score")]) for k in row if k.startswith("pred_label")
        ]
        cells = "  ".join(f"{label} {score:.4f}" for label, score in ranked)
        print(f"{cells}  | {shown[:70]}")
