"""`ftk predict RUN`: label names and scores (top-k) for new texts or images, as CSV or JSONL;
for a regression run, the predicted value of each input (`pred_value`); for a multi-label run,
every label whose sigmoid score exceeds the decision threshold (`pred_labels`, `pred_scores`):
the threshold tuned on validation that the run saved in config.json, 0.5 for a model without
one, or `--threshold`; for a token classification run with entity tags, the entities each
input holds (`entities`: words, type, word span, score), with plain tags (POS) a tag per word
(`pred_tags`, `pred_tag_scores`). What each row holds is the run's target's to say
(`predicted_rows`, tasks/targets.py).

Inputs: a CSV/TSV/JSON/JSONL/Parquet table with a text column (text runs), a folder of images
or one image file (image runs), or one text given on the command line. A token classification
run reads words: a column of token lists (the run's data.tokens_column, when the table has it),
or texts split on whitespace (so punctuation stays attached to its word: "Paris," is one word).
Tables are read and checked by data/new_data.py, as training reads its files.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.config.taxonomy import IMAGE, TEXT, Modality
from toolkit.core.errors import UserError
from toolkit.core.log import say, warn
from toolkit.data.images import IMAGE_SUFFIXES, check_image_files, image_files
from toolkit.data.new_data import (
    holds_lists,
    listed_rows,
    read_table,
    row_texts,
)
from toolkit.data.sources import FILE_BUILDERS, require_columns
from toolkit.use.inference import Run, load_run, predict_logits, word_logits
from toolkit.use.options import PredictOptions, given_options

OUTPUT_FORMATS = (".csv", ".jsonl")


@dataclass
class Inputs:
    records: list[dict[str, Any]]  # what identifies each input in the output (its row, its path)
    items: list[Any]  # what the model reads: texts, (text, pair) tuples, word lists or paths


def predict(
    run_dir: str | Path,
    input_path: Path | None = None,
    text: str | None = None,
    texts: Sequence[str] | None = None,
    show: bool = True,
    options: PredictOptions | None = None,
    **keywords: Any,
) -> list[dict[str, Any]]:
    """Predict every input; write `options.output` (CSV or JSONL by extension), else print a
    table (when `show`). `run_dir`: a run or checkpoint folder, or a Hub repo id (at
    `revision`). Inputs: `input_path`, one `text`, or a list of `texts` (from Python).
    The options (use/options.py, PredictOptions) come whole or as keyword arguments."""
    options = given_options(PredictOptions, options, keywords)
    output, top_k = options.output, options.top_k
    if output is not None and output.suffix.lower() not in OUTPUT_FORMATS:
        raise UserError(f"--output '{output}' must end in {' or '.join(OUTPUT_FORMATS)}.")
    if top_k < 1:
        raise UserError(f"--top-k must be at least 1, got {top_k}.")
    run = load_run(run_dir, options.revision)
    check_threshold(run, options.threshold, top_k)
    check_top_k(run, top_k)
    if texts is not None:
        if input_path is not None or text is not None:
            raise UserError("Give one of input_path, text and texts.")
        inputs = text_list_inputs(run, list(texts))
    else:
        inputs = read_inputs(run, input_path, text, options.text_column, options.encoding)
    threshold = run.decision_threshold if options.threshold is None else options.threshold
    items = inputs.items
    logits: Any
    if run.target.kind.per_word:  # words: a list per input, or a text split on whitespace
        items = [item if isinstance(item, list) else str(item).split() for item in items]
        logits, cut = word_logits(run, items, options.batch_size)
        if cut:
            warn(
                f"{cut:,} word(s) lay past the run's max_length ({run.config.data.max_length} "
                f"word pieces); they were read in further windows, each opening with the "
                f"words before them as context."
            )
    else:
        logits = predict_logits(run, items, options.batch_size)
    rows = run.target.predicted_rows(
        inputs.records, items, logits, run.label_names, top_k, threshold
    )
    if output is None:
        if show:  # a tagger's inputs shown as the words it tagged
            print_rows(rows, items)
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
        require_modality(run, TEXT, "--text")
        if run.config.data.text_pair_column:
            raise UserError(
                "This run classifies text pairs; --text gives one text. Put both "
                "texts in a table and pass it with --input."
            )
        return Inputs(records=[{"text": text}], items=[text])
    assert input_path is not None
    if input_path.is_dir():
        require_modality(run, IMAGE, f"--input '{input_path}' (a folder)")
        return image_inputs(image_files(input_path), input_path)
    if input_path.suffix.lower() in IMAGE_SUFFIXES:
        require_modality(run, IMAGE, f"--input '{input_path}' (an image)")
        return image_inputs([input_path] if input_path.is_file() else [], input_path)
    if input_path.suffix.lower() in FILE_BUILDERS:
        require_modality(run, TEXT, f"--input '{input_path}' (a table)")
        return table_inputs(run, input_path, text_column, encoding)
    raise UserError(
        f"--input '{input_path}' is neither a folder of images, an image "
        f"({', '.join(IMAGE_SUFFIXES)}) nor a table ({', '.join(FILE_BUILDERS)})."
    )


def text_list_inputs(run: Run, texts: list[str]) -> Inputs:
    require_modality(run, TEXT, "texts")
    if run.config.data.text_pair_column:
        raise UserError(
            "This run classifies text pairs; give a table with both columns as the input."
        )
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise UserError(
            f"texts must be strings; item {bad[0]} is a {type(texts[bad[0]]).__name__}."
        )
    return Inputs(records=[{"text": t} for t in texts], items=texts)


def require_modality(run: Run, wanted: Modality, what: str) -> None:
    """`what` holds `wanted` inputs (texts or images); the run must read that kind (a token
    classification run reads texts, as words)."""
    if run.modality.reads_images != wanted.reads_images:
        has = IMAGE if run.modality.reads_images else TEXT
        raise UserError(
            f"{what} holds {wanted.name}s, but the run in {run.name} classifies "
            f"{has.name}s. Give it {has.name} input."
        )


def image_inputs(paths: list[Path], where: Path) -> Inputs:
    if not paths:
        raise UserError(f"--input '{where}' holds no image files ({', '.join(IMAGE_SUFFIXES)}).")
    check_image_files(paths)
    return Inputs(records=[{"image": str(p)} for p in paths], items=paths)


def text_columns(run: Run, text_column: str | None) -> list[str]:
    """The columns the model reads: the text (--text-column, else the run's), and the pair."""
    pair = run.config.data.text_pair_column
    return [text_column or run.config.data.text_column] + ([pair] if pair else [])


def table_inputs(run: Run, path: Path, text_column: str | None, encoding: str | None) -> Inputs:
    data = run.config.data
    table = read_table(path, "--input", encoding or data.encoding)
    if run.target.kind.per_word and text_column is None:
        text_column = data.tokens_column if data.tokens_column in table.column_names else None
    columns = text_columns(run, text_column)
    require_columns(table, columns, f"--input '{path}'", "Name the text column with --text-column.")
    if run.target.kind.per_word and holds_lists(table, columns[0]):
        return Inputs(records=table.to_list(), items=[list(map(str, w)) for w in table[columns[0]]])
    items, empty = row_texts(table, columns)
    if empty:  # every input keeps its output row, but the user hears of the empty ones
        warn(
            f"--input '{path}' has {len(empty):,} row(s) with an empty text (rows "
            f"{listed_rows(empty)}); their predictions are for an empty string."
        )
    return Inputs(records=table.to_list(), items=items)


# ----------------------------------------------------------------------------- checks


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


def check_top_k(run: Run, top_k: int) -> None:
    """--top-k ranks classes: a run that tags words or predicts a number has none to rank."""
    if top_k == 1:
        return
    if run.target.kind.per_word:
        raise UserError(
            f"--top-k {top_k}: the run in '{run.path}' tags words (the entities it finds, or "
            f"a tag per word), not ranked labels; leave --top-k out."
        )
    if run.target.kind.numeric:
        raise UserError(
            f"--top-k {top_k}: the run in '{run.path}' predicts one number per input "
            f"(regression), not ranked labels; leave --top-k out."
        )


# ----------------------------------------------------------------------------- outputs


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
        if "pred_tags" in row:  # plain tags: every word with its tag, as word/TAG
            print(" ".join(f"{w}/{t}" for w, t in zip(item, row["pred_tags"], strict=True)))
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
