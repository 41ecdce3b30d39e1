"""`ftk predict RUN`: label names and scores (top-k) for new texts or images, as CSV or JSONL;
for a regression run, the predicted value of each input (`pred_value`); for a multi-label run,
every label whose sigmoid score exceeds the decision threshold (`pred_labels`, `pred_scores`):
the threshold tuned on validation that the run saved in config.json, 0.5 for a model without
one, or `--threshold`; for a token classification run with entity tags, the entities each
input holds (`entities`: words, type, word span, score), with plain tags (POS) a tag per word
(`pred_tags`, `pred_tag_scores`). What each row holds is the run's target's to say
(`predicted_rows`, tasks/targets.py).

Inputs (use/inputs.py): a CSV/TSV/JSON/JSONL/Parquet table with a text column (text runs), a
folder of images or one image file (image runs), or one text given on the command line; from
Python (use/python_inputs.py) also a DataFrame, a datasets.Dataset, row dicts, a list of texts
or of image paths. A token classification run reads words: a column of token lists (the run's
data.tokens_column, when the table has it), or texts split on whitespace (so punctuation stays
attached to its word: "Paris," is one word). Tables are read and checked by data/new_data.py,
as training reads its files.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.core.errors import UserError
from toolkit.core.log import say, warn
from toolkit.use.inference import Run, load_run, predict_logits, word_logits
from toolkit.use.inputs import read_inputs
from toolkit.use.options import COMMAND_LINE, Naming, PredictOptions, given_options
from toolkit.use.python_inputs import python_inputs, text_inputs

OUTPUT_FORMATS = (".csv", ".jsonl")


def predict(
    run_dir: str | Path,
    input_path: Path | None = None,
    text: str | None = None,
    texts: Sequence[str] | None = None,
    show: bool = True,
    options: PredictOptions | None = None,
    data: Any = None,
    **keywords: Any,
) -> list[dict[str, Any]]:
    """Predict every input; write `options.output` (CSV or JSONL by extension), else print a
    table (when `show`). `run_dir`: a run or checkpoint folder, or a Hub repo id (at
    `revision`). Inputs: `input_path`, one `text` or a list of `texts` (the command line's
    --input and --text), or from Python `data` (whatever use/python_inputs.py reads), each
    named so in messages.
    The options (use/options.py, PredictOptions) come whole or as keyword arguments."""
    options = given_options(PredictOptions, options, keywords)
    listed = texts is not None or data is not None  # else read_inputs words it as flags
    if listed and sum(x is not None for x in (input_path, text, texts, data)) > 1:
        raise UserError("Give one of input_path, text, texts and data.")
    naming = COMMAND_LINE  # messages name what the caller typed: flags, or Python arguments
    if data is not None:
        naming = Naming("data", python=True)
    output, top_k = options.output, options.top_k
    if output is not None and output.suffix.lower() not in OUTPUT_FORMATS:
        raise UserError(
            f"{naming.given('output', str(output))} must end in {' or '.join(OUTPUT_FORMATS)}."
        )
    if top_k < 1:
        raise UserError(f"{naming.option('top_k')} must be at least 1, got {top_k}.")
    run = load_run(run_dir, options.revision)
    check_threshold(run, options.threshold, top_k, naming)
    check_top_k(run, top_k, naming)
    if naming.python:
        inputs = python_inputs(run, data, naming.inputs, options.text_column, options.encoding)
    elif texts is not None:  # the command line's --text, given more than once
        inputs = text_inputs(run, list(texts), "--text")
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


# ----------------------------------------------------------------------------- checks


def check_threshold(
    run: Run, threshold: float | None, top_k: int, naming: Naming = COMMAND_LINE
) -> None:
    """--threshold only for a multi-label run (and in (0, 1)); --top-k not for one."""
    multi_label = run.target.kind.label_sets
    if threshold is not None and not multi_label:
        raise UserError(
            f"{naming.given('threshold', threshold)}: the run in '{run.path}' predicts one "
            f"{run.target.kind.predicts}, so there is no decision threshold; leave "
            f"{naming.option('threshold')} out (it is for multi-label runs)."
        )
    if threshold is not None and not 0 < threshold < 1:
        raise UserError(
            f"{naming.option('threshold')} must lie between 0 and 1 (a probability), got "
            f"{threshold}."
        )
    if multi_label and top_k != 1:
        raise UserError(
            f"{naming.given('top_k', top_k)}: the run in '{run.path}' is multi-label and lists "
            f"every label whose score exceeds its threshold; leave {naming.option('top_k')} "
            f"out and set {naming.option('threshold')} to get more or fewer labels."
        )


def check_top_k(run: Run, top_k: int, naming: Naming = COMMAND_LINE) -> None:
    """--top-k ranks classes: a run that tags words or predicts a number has none to rank."""
    if top_k == 1:
        return
    if run.target.kind.per_word:
        raise UserError(
            f"{naming.given('top_k', top_k)}: the run in '{run.path}' tags words (the entities "
            f"it finds, or a tag per word), not ranked labels; leave {naming.option('top_k')} out."
        )
    if run.target.kind.numeric:
        raise UserError(
            f"{naming.given('top_k', top_k)}: the run in '{run.path}' predicts one number per "
            f"input (regression), not ranked labels; leave {naming.option('top_k')} out."
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
