"""`ftk evaluate RUN --data SET`: the run's own metrics (run_config.yaml `metrics`) on new
labelled data: a table with text and label columns, or a folder of class subfolders of images.
A regression run reads a numeric label column and reports MSE as the loss, and its metrics
(rmse, mae, pearson, spearman). A token classification run reads a CoNLL-style file or a table
of token and tag lists (the run's data.tokens_column / data.tags_column, or --text-column /
--label-column) and reports the run's own scores: for entity tags entity-level ones (seqeval)
and per entity type, for plain tags (POS) word-level ones and per tag.

The data is read, checked and its labels encoded by data/new_data.py with training's rules,
through the run's target (`read_labels`); the target turns the logits into predictions (at the
run's tuned threshold where it has one) and says what the report holds beside the metrics
(`evaluation_report`, tasks/targets.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from toolkit.config.taxonomy import IMAGE, TEXT
from toolkit.core.errors import UserError
from toolkit.core.log import say, warn
from toolkit.core.run_files import write_json
from toolkit.data.new_data import (
    labelled_image_folder,
    raw_labels,
    read_table,
    row_texts,
    tagged_sentences,
    without_empty_texts,
)
from toolkit.data.sources import FILE_BUILDERS, require_columns
from toolkit.data.tagged import TagColumns
from toolkit.tasks.targets import Tags
from toolkit.use.inference import Run, load_run, predict_logits, word_logits
from toolkit.use.inputs import require_modality, text_columns
from toolkit.use.options import EvaluateOptions, Naming, given_options

EVALUATE_COMMAND_LINE = Naming("--data", python=False)


def evaluate_run(
    run_dir: str | Path,
    data_path: Path,
    options: EvaluateOptions | None = None,
    naming: Naming = EVALUATE_COMMAND_LINE,
    **keywords: Any,
) -> dict[str, Any]:
    """Metrics of the run's model on `data_path`; printed, and written as JSON to
    `options.output`. `run_dir`: a run or checkpoint folder, or a Hub repo id (at `revision`).
    The options (use/options.py, EvaluateOptions) come whole or as keyword arguments;
    `naming`: how a table's messages name the data and options (the Python API's words)."""
    options = given_options(EvaluateOptions, options, keywords)
    run = load_run(run_dir, options.revision)
    names = list(run.config.metrics)
    target = run.target  # classes, a number, a set of labels, or a tag per word
    if target.kind.per_word:
        return finish(evaluate_tagger(run, names, data_path, options), names, options.output)
    score = target.scorer(names, run.config.trust_metric_code)  # a bad metric fails now
    items, labels = labelled_inputs(run, data_path, options, naming)
    logits = predict_logits(run, items, options.batch_size, desc="Evaluating")
    threshold = run.decision_threshold  # a multi-label run's tuned one, or 0.5
    predicted = target.predictions(logits, threshold)
    results: dict[str, Any] = {"data": str(data_path), "examples": len(labels)}
    results["loss"] = target.loss(logits, labels)  # cross-entropy, MSE for a number, or BCE
    results.update(score(predicted, labels))
    results.update(target.evaluation_report(labels, predicted, run.label_names, threshold))
    return finish(results, names, options.output)


def finish(results: dict[str, Any], names: list[str], output: Path | None) -> dict[str, Any]:
    say(describe(results, names))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_json(output, results)
        say(f"Wrote {output}")
    return results


def evaluate_tagger(
    run: Run, names: list[str], path: Path, options: EvaluateOptions
) -> dict[str, Any]:
    """The scores of a token classification run on tagged sentences, as its tags read
    (entities or words): the words' tags are predicted on their first piece, as the run was
    trained and scored."""
    data = run.config.data
    columns = TagColumns(
        options.text_column or data.tokens_column, options.label_column or data.tags_column
    )
    encoding = options.encoding or data.encoding
    sentences, tag_rows = tagged_sentences(path, columns, encoding, run.label_names)
    logits, cut = word_logits(run, sentences, options.batch_size, desc="Evaluating")
    if cut:
        warn(
            f"{cut:,} word(s) lay past the run's max_length; they were read in further "
            f"windows, each opening with the words before them as context, as the run's test "
            f"split was."
        )
    target, label_names = run.target, run.label_names
    predicted = [target.predictions(rows) for rows in logits]
    results: dict[str, Any] = {"data": str(path), "examples": len(sentences)}
    results["loss"] = target.loss(np.concatenate(logits), np.concatenate(tag_rows))
    results.update(target.scorer(names, False, label_names)(predicted, tag_rows))
    results.update(target.evaluation_report(tag_rows, predicted, label_names, 0.5))
    return results


def labelled_inputs(
    run: Run, path: Path, options: EvaluateOptions, naming: Naming = EVALUATE_COMMAND_LINE
) -> tuple[list[Any], Any]:
    """(model inputs, encoded labels) from a table or a folder of class subfolders (a tagger's
    sentences are read by evaluate_tagger)."""
    data, where, target = run.config.data, naming.where(path), run.target
    assert not isinstance(target, Tags), "tags are read as sentences, not one label per row"
    if path.is_dir():
        require_modality(run, IMAGE, f"{where} (a folder)")
        if run.target.kind.label_sets:
            raise UserError(
                f"{where} is a folder of class subfolders, one label per image; the "
                f"run in {run.name} is multi-label. ftk evaluate scores multi-label runs on "
                f"text tables only for now."
            )
        paths, classes = labelled_image_folder(path)
        label = options.label_column or data.label_column
        return paths, target.read_labels(classes, run.label_names, data, where, label)
    if path.suffix.lower() not in FILE_BUILDERS:
        raise UserError(
            f"{where} must be a table ({', '.join(FILE_BUILDERS)}) or a "
            f"folder with one subfolder of images per class."
        )
    require_modality(run, TEXT, f"{where} (a table)")
    table = read_table(path, naming.inputs, options.encoding or data.encoding)
    label = options.label_column or data.label_column
    columns = text_columns(run, options.text_column)
    names = (
        "text_column='...' / label_column='...'"
        if naming.python
        else "--text-column / --label-column"
    )
    require_columns(table, [*columns, label], where, f"Name them with {names}.")
    items, empty = row_texts(table, columns)
    items, values = without_empty_texts(data, where, items, raw_labels(table, label), empty)
    return items, target.read_labels(values, run.label_names, data, where, label)


def describe(results: dict[str, Any], names: list[str]) -> str:
    lines = [f"Evaluated {results['examples']} examples of {results['data']}:"]
    lines += [f"  {name:<12} {results[name]:.4f}" for name in ["loss", *names]]
    return "\n".join(lines)
